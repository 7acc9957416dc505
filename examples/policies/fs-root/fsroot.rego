# Filesystem confinement: every path argument of a file tool must name a
# place under data.fs.root, written plainly. Anything that could step out
# is denied: "..", ".", "~", empty or doubled slashes, backslashes, NUL and
# control characters, percent-encoding, look-alikes of . / and \, and trips
# through /proc or /dev/fd.
#
# data.fs: {"root": "/srv/share", "path_keys": ["path", "source", "destination"]}
package drawbridge

import rego.v1

settings := object.union({"root": "/srv/share", "path_keys": ["path", "paths", "source", "destination"]}, configured)

default configured := {}

configured := data.fs

# fold is how a case-insensitive reader compares keys: the long s (U+017F)
# reads as s and the Kelvin sign as k, as Go's encoding/json folds them.
fold(s) := lower(upper(s))

# Every path the call names, whether one string or a list of them. Keys
# match whatever their case: an upstream that binds "Path" or "ſource" to
# path or source reads it.
path_values contains v if {
	some key, v in input.arguments
	fold(key) in {fold(k) | some k in settings.path_keys}
}

paths contains p if {
	some p in path_values
	is_string(p)
}

paths contains p if {
	some v in path_values
	not is_string(v)
	some p in v
}

violations contains sprintf("%v is not a string", [p]) if {
	some p in paths
	not is_string(p)
}

violations contains sprintf("%q is outside %s", [p, settings.root]) if {
	some p in paths
	is_string(p)
	not startswith(p, concat("", [settings.root, "/"]))
	p != settings.root
}

violations contains sprintf("%q has a %q segment", [p, seg]) if {
	some p in paths
	is_string(p)
	some seg in split(p, "/")
	seg in {"..", ".", "~"}
}

violations contains sprintf("%q is not written plainly", [p]) if {
	some p in paths
	is_string(p)
	regex.match(`//|\\|%|\x00|^~|/proc/|/dev/fd`, p)
}

# Characters a normalising layer (NFKC, a Windows code page, a shell) may
# turn into . / \ or a separator, and control characters.
violations contains sprintf("%q has a look-alike of . / or \\, or a control character", [p]) if {
	some p in paths
	is_string(p)
	regex.match(`[\x00-\x1f\x7f\x{2024}\x{2025}\x{2026}\x{2044}\x{2215}\x{2216}\x{29F5}\x{29F8}\x{29F9}\x{FE52}\x{FE68}\x{FF0E}\x{FF0F}\x{FF3C}\x{00A5}\x{20A9}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{FEFF}]`, p)
}

decision := {"action": "deny", "reason": concat("; ", sort(violations))} if {
	input.method == "tools/call"
	count(violations) > 0
} else := {"action": "allow", "reason": sprintf("paths stay under %s", [settings.root])}

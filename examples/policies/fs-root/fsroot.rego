# Filesystem confinement: every path argument of a file tool must name a
# place under data.fs.root, written plainly. Anything that could step out
# is denied: "..", ".", "~", empty or doubled slashes, backslashes, NUL,
# percent-encoding, and trips through /proc or /dev/fd.
#
# data.fs: {"root": "/srv/share", "path_keys": ["path", "source", "destination"]}
package drawbridge

import rego.v1

settings := object.union({"root": "/srv/share", "path_keys": ["path", "paths", "source", "destination"]}, configured)

default configured := {}

configured := data.fs

# Every path the call names, whether one string or a list of them. Keys
# match whatever their case: an upstream that binds "Path" to path reads it.
path_values contains v if {
	some key, v in input.arguments
	lower(key) in {lower(k) | some k in settings.path_keys}
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

decision := {"action": "deny", "reason": concat("; ", sort(violations))} if {
	input.method == "tools/call"
	count(violations) > 0
} else := {"action": "allow", "reason": sprintf("paths stay under %s", [settings.root])}

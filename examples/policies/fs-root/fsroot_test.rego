package drawbridge_test

import rego.v1

import data.drawbridge

read(path) := {"method": "tools/call", "tool": {"name": "read_file"}, "arguments": {"path": path}}

test_inside_root_allowed if {
	drawbridge.decision.action == "allow" with input as read("/srv/share/reports/q3.txt")
}

test_root_itself_allowed if {
	drawbridge.decision.action == "allow" with input as read("/srv/share")
}

test_dotdot_escape_denied if {
	d := drawbridge.decision with input as read("/srv/share/../../etc/passwd")
	d.action == "deny"
	contains(d.reason, "..")
}

test_outside_denied if {
	drawbridge.decision.action == "deny" with input as read("/etc/shadow")
}

test_prefix_trick_denied if {
	drawbridge.decision.action == "deny" with input as read("/srv/share-private/key")
}

test_relative_denied if {
	drawbridge.decision.action == "deny" with input as read("reports/../../../etc/passwd")
}

test_home_denied if {
	drawbridge.decision.action == "deny" with input as read("~/.ssh/id_ed25519")
}

test_encoded_dotdot_denied if {
	drawbridge.decision.action == "deny" with input as read("/srv/share/%2e%2e/%2e%2e/etc/passwd")
}

test_proc_symlink_denied if {
	drawbridge.decision.action == "deny" with input as read("/srv/share/proc/self/root/etc/passwd")
}

test_backslash_denied if {
	drawbridge.decision.action == "deny" with input as read("/srv/share\\..\\..\\etc")
}

test_one_bad_path_in_a_list_denied if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "read_multiple_files"}, "arguments": {"paths": ["/srv/share/a", "/srv/share/../b"]}}
}

test_move_checks_both_ends if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "move_file"}, "arguments": {"source": "/srv/share/a", "destination": "/tmp/a"}}
}

test_non_string_path_denied if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "read_multiple_files"}, "arguments": {"paths": [{"nested": "/etc"}]}}
}

test_root_from_data if {
	drawbridge.decision.action == "allow" with input as read("/home/me/notes.md") with data.fs as {"root": "/home/me"}
}

test_case_variant_key_denied if {
	d := drawbridge.decision with input as {"method": "tools/call", "tool": {"name": "read_file"}, "arguments": {"Path": "/etc/passwd"}}
	d.action == "deny"
	contains(d.reason, "/etc/passwd")
}

test_case_variant_list_denied if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "read_multiple_files"}, "arguments": {"PATHS": ["/srv/share/a", "/etc/shadow"]}}
}

denied(path) if drawbridge.decision.action == "deny" with input as read(path)

allowed(path) if drawbridge.decision.action == "allow" with input as read(path)

test_folded_key_denied if {
	# U+017F (long s) folds to s: a case-insensitive upstream reads "source".
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "move_file"}, "arguments": {"\u017fource": "/etc/shadow", "destination": "/srv/share/a"}}
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "read_file"}, "arguments": {"PaTh": "/etc/passwd"}}
}

test_encodings_denied if {
	denied("/srv/share/%2E%2E/etc/passwd")
	denied("/srv/share/%252e%252e/etc/passwd")
	denied("/srv/share/..%2fetc")
	denied("/srv/share/a\u0000.txt")
}

test_look_alikes_denied if {
	denied("/srv/share/\uff0e\uff0e/\uff0e\uff0e/etc/passwd")
	denied("/srv/share/..\uff0fetc")
	denied("/srv/share/..\u2215etc")
	denied("/srv/share/..\uff3cetc")
	denied("/srv/share/\u2025/etc")
	denied("/srv/share/a\u202e.txt")
}

test_whitespace_variants_denied if {
	denied("/srv/share/..\t/etc")
	denied("/srv/share/a\n/../../etc")
	denied(" /srv/share/a")
	denied("/srv/share/ /../..")
}

test_case_of_the_root_denied if {
	# On a case-insensitive file system this is the root; the policy asks for it as written.
	denied("/SRV/share/a")
}

test_other_spellings_denied if {
	denied("file:///etc/passwd")
	denied("/srv/share/../share/a")
	denied("/srv/share/a/..")
	denied("/srv/share//etc")
	denied("/srv/share/dev/fd/3")
}

test_legitimate_paths_allowed if {
	allowed("/srv/share/reports/2026 Q3 (final).txt")
	allowed("/srv/share/r\u00e9sum\u00e9.pdf")
	allowed("/srv/share/.config/settings.json")
	allowed("/srv/share/a..b")
}

# Drawbridge's default policy: "start with approvals".
#
#   - a call to a server the config does not name is denied;
#   - a tool named read-only is allowed: servers.<label>.tools.read_only in the
#     config (exact names and * globs), or data.read_only[<label>] in policy data;
#   - everything else needs a person's approval.
#
# Input and decision: see rego/README.md.
package drawbridge

import rego.v1

decision := {"action": "deny", "reason": concat("", ["server ", input.server, " is not configured"])} if {
	not data.config.servers[input.server]
} else := {"action": "allow", "reason": concat("", [input.tool.name, " is read-only"])} if {
	read_only
} else := {"action": "approve", "reason": concat("", [input.tool.name, " is not marked read-only"])}

read_only_patterns contains p if some p in data.config.servers[input.server].read_only

read_only_patterns contains p if some p in data.read_only[input.server]

# An exact name is a set lookup; only patterns with a * need glob matching.
read_only if input.tool.name in read_only_patterns

read_only if {
	some pattern in read_only_patterns
	contains(pattern, "*")
	glob.match(pattern, [], input.tool.name)
}

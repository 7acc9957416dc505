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

decision := {"action": "deny", "reason": sprintf("server %q is not configured", [input.server])} if {
	not data.config.servers[input.server]
} else := {"action": "allow", "reason": sprintf("%s is read-only", [input.tool.name])} if {
	read_only
} else := {"action": "approve", "reason": sprintf("%s is not marked read-only", [input.tool.name])}

read_only if {
	some pattern in data.config.servers[input.server].read_only
	glob.match(pattern, [], input.tool.name)
}

read_only if {
	some pattern in data.read_only[input.server]
	glob.match(pattern, [], input.tool.name)
}

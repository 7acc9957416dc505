# Per-client tool scopes: each client (the name of its Drawbridge token) may
# use only the tools listed for it, per server, by exact name or * glob.
# Clients and servers not listed get nothing.
#
# data.scopes: {"<client>": {"<server>": ["tool", "glob_*"]}}
package drawbridge

import rego.v1

scope := data.scopes[input.client.name][input.server]

decision := {"action": "allow", "reason": sprintf("in %s's scope", [input.client.name])} if {
	some pattern in scope
	glob.match(pattern, [], input.tool.name)
} else := {"action": "deny", "reason": sprintf("client %q may not use %s on %s", [input.client.name, input.tool.name, input.server])}

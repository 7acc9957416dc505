package drawbridge_test

import rego.v1

import data.drawbridge

call(client, server, tool) := {"method": "tools/call", "server": server, "tool": {"name": tool}, "arguments": {}, "client": {"name": client}}

test_in_scope_allowed if {
	drawbridge.decision.action == "allow" with input as call("openai-prod", "stripe", "list_charges")
}

test_out_of_scope_tool_denied if {
	d := drawbridge.decision with input as call("openai-prod", "stripe", "create_refund")
	d.action == "deny"
	contains(d.reason, "openai-prod")
}

test_other_server_denied if {
	drawbridge.decision.action == "deny" with input as call("openai-prod", "intercom", "reply")
}

test_wildcard_scope if {
	drawbridge.decision.action == "allow" with input as call("support-bot", "intercom", "reply_to_conversation")
}

test_unknown_client_denied if {
	drawbridge.decision.action == "deny" with input as call("stranger", "stripe", "list_charges")
}

test_hidden_at_list_time if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/list", "server": "hubspot", "tool": {"name": "delete_contact"}, "client": {"name": "openai-prod"}}
}

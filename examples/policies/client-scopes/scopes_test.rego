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

test_tool_name_variants_denied if {
	drawbridge.decision.action == "deny" with input as call("openai-prod", "stripe", "LIST_charges")
	drawbridge.decision.action == "deny" with input as call("openai-prod", "stripe", "\u217cist_charges")
	drawbridge.decision.action == "deny" with input as call("openai-prod", "stripe", " list_charges")
	drawbridge.decision.action == "deny" with input as call("openai-prod", "stripe", "xlist_charges")
}

test_client_and_server_names_exact if {
	drawbridge.decision.action == "deny" with input as call("OpenAI-Prod", "stripe", "list_charges")
	drawbridge.decision.action == "deny" with input as call("openai-prod ", "stripe", "list_charges")
	drawbridge.decision.action == "deny" with input as call("openai-prod", "Stripe", "list_charges")
	drawbridge.decision.action == "deny" with input as call("", "stripe", "list_charges")
	drawbridge.decision.action == "deny" with input as call("anonymous", "stripe", "list_charges")
}

test_glob_characters_in_a_name_are_literal if {
	drawbridge.decision.action == "deny" with input as call("openai-prod", "stripe", "create_refund*")
	drawbridge.decision.action == "allow" with input as call("openai-prod", "stripe", "list_[charges]")
}

test_glob_does_not_cross_a_dot if {
	# glob.match's default delimiter is ".": list_* does not reach list_x.delete.
	drawbridge.decision.action == "deny" with input as call("openai-prod", "stripe", "list_x.delete_all")
}

test_scopes_from_data if {
	drawbridge.decision.action == "allow" with input as call("ci", "github", "get_file") with data.scopes as {"ci": {"github": ["get_*"]}}
	drawbridge.decision.action == "deny" with input as call("openai-prod", "stripe", "list_charges") with data.scopes as {"ci": {"github": ["get_*"]}}
}

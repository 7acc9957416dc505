package drawbridge_test

import rego.v1

import data.drawbridge

config := {"servers": {
	"stripe": {"read_only": ["list_*", "retrieve_balance"]},
	"files": {"read_only": []},
}}

call(server, tool) := {"method": "tools/call", "server": server, "tool": {"name": tool}, "arguments": {}}

test_read_only_by_glob_allowed if {
	d := drawbridge.decision with input as call("stripe", "list_customers") with data.config as config
	d.action == "allow"
}

test_read_only_exact_allowed if {
	d := drawbridge.decision with input as call("stripe", "retrieve_balance") with data.config as config
	d.action == "allow"
}

test_read_only_from_policy_data if {
	d := drawbridge.decision with input as call("files", "read_file")
		with data.config as config
		with data.read_only as {"files": ["read_*"]}
	d.action == "allow"
}

test_other_tools_need_approval if {
	d := drawbridge.decision with input as call("stripe", "create_payment_link") with data.config as config
	d.action == "approve"
	contains(d.reason, "create_payment_link")
}

test_glob_is_not_a_prefix_match if {
	d := drawbridge.decision with input as call("stripe", "xlist_customers") with data.config as config
	d.action == "approve"
}

test_unknown_server_denied if {
	d := drawbridge.decision with input as call("evil", "list_customers") with data.config as config
	d.action == "deny"
	contains(d.reason, "evil")
}

test_list_time_same_rules if {
	d := drawbridge.decision with input as {"method": "tools/list", "server": "stripe", "tool": {"name": "list_charges"}}
		with data.config as config
	d.action == "allow"
}

test_tool_name_variants_need_approval if {
	every tool in ["LIST_customers", "List_customers", "\u217cist_customers", " list_customers", "list\u200b_customers", "retrieve_balance ", "Retrieve_balance"] {
		d := drawbridge.decision with input as call("stripe", tool) with data.config as config
		d.action == "approve"
	}
}

test_server_label_exact if {
	d := drawbridge.decision with input as call("Stripe", "list_customers") with data.config as config
	d.action == "deny"
}

test_glob_characters_in_a_name_are_literal if {
	d := drawbridge.decision with input as call("stripe", "retrieve_*") with data.config as config
	d.action == "approve"
}

package drawbridge_test

import rego.v1

import data.drawbridge

link(amount) := {"method": "tools/call", "server": "stripe", "tool": {"name": "create_payment_link"}, "arguments": {"amount": amount, "currency": "usd"}}

test_small_amount_allowed if {
	drawbridge.decision.action == "allow" with input as link(2000)
}

test_at_the_approval_line_allowed if {
	drawbridge.decision.action == "allow" with input as link(10000)
}

test_above_approval_line_held if {
	d := drawbridge.decision with input as link(10001)
	d.action == "approve"
	contains(d.reason, "10001")
}

test_above_cap_denied if {
	drawbridge.decision.action == "deny" with input as link(250000)
}

test_limits_from_data if {
	drawbridge.decision.action == "approve" with input as link(600) with data.payments as {"approve_above": 500, "deny_above": 1000}
}

test_missing_amount_denied if {
	d := drawbridge.decision with input as {"method": "tools/call", "tool": {"name": "create_refund"}, "arguments": {}}
	d.action == "deny"
}

test_string_amount_denied if {
	drawbridge.decision.action == "deny" with input as link("99999999")
}

test_negative_amount_denied if {
	drawbridge.decision.action == "deny" with input as link(-5)
}

test_listed_without_arguments if {
	drawbridge.decision.action == "allow" with input as {"method": "tools/list", "tool": {"name": "create_payment_link"}}
}

test_reads_allowed if {
	drawbridge.decision.action == "allow" with input as {"method": "tools/call", "tool": {"name": "list_customers"}, "arguments": {}}
}

test_unknown_tool_held if {
	drawbridge.decision.action == "approve" with input as {"method": "tools/call", "tool": {"name": "delete_customer"}, "arguments": {}}
}

test_case_variant_amount_denied if {
	d := drawbridge.decision with input as {"method": "tools/call", "tool": {"name": "create_payment_link"}, "arguments": {"amount": 500, "Amount": 999999}}
	d.action == "deny"
	contains(d.reason, "Amount")
}

test_only_case_variant_amount_denied if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "create_refund"}, "arguments": {"AMOUNT": 100}}
}

denied(args) if drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "create_payment_link"}, "arguments": args}

test_amount_encodings_denied if {
	denied({"amount": "2000"})
	denied({"amount": "0x7d0"})
	denied({"amount": ["2000"]})
	denied({"amount": {"value": 2000}})
	denied({"amount": true})
	denied({"amount": null})
	denied({"amount": 0})
	denied({"amount": 1999.5})
}

test_exponent_amount_judged if {
	drawbridge.decision.action == "allow" with input as link(2e3)
	drawbridge.decision.action == "deny" with input as link(1e6)
}

test_quantity_multiplies if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "create_payment_link"}, "arguments": {"amount": 5000, "quantity": 1000}}
	drawbridge.decision.action == "approve" with input as {"method": "tools/call", "tool": {"name": "create_payment_link"}, "arguments": {"amount": 5000, "quantity": 3}}
	denied({"amount": 500, "quantity": -1})
	denied({"amount": 500, "quantity": "9"})
	denied({"amount": 500, "Quantity": 1000})
}

test_amounts_elsewhere_denied if {
	d := drawbridge.decision with input as {"method": "tools/call", "tool": {"name": "create_invoice"}, "arguments": {"amount": 500, "line_items": [{"amount": 999999}]}}
	d.action == "deny"
	contains(d.reason, "line_items.0.amount")
	denied({"amount": 500, "unit_amount": 999999})
	denied({"amount": 500, "AMOUNT_total": 999999})
}

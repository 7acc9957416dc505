package drawbridge_test

import rego.v1

import data.drawbridge

call(args) := {"method": "tools/call", "tool": {"name": "send_message"}, "arguments": args}

test_plain_text_allowed if {
	drawbridge.decision.action == "allow" with input as call({"text": "The meeting moved to 3pm, room 204."})
}

test_email_held if {
	d := drawbridge.decision with input as call({"to": "jane.doe@example.com", "text": "hi"})
	d.action == "approve"
	contains(d.reason, "email")
}

test_nested_email_held if {
	drawbridge.decision.action == "approve" with input as call({"contact": {"emails": ["x", "bob@corp.example.org"]}})
}

test_phone_held if {
	d := drawbridge.decision with input as call({"body": "call me at +1 (415) 555-0132"})
	d.action == "approve"
	contains(d.reason, "phone")
}

test_both_named if {
	d := drawbridge.decision with input as call({"a": "a@b.io", "b": "+44 20 7946 0958"})
	d.reason == "the arguments carry a phone number and an email address"
}

test_short_numbers_allowed if {
	drawbridge.decision.action == "allow" with input as call({"order": "12345", "amount": 2000})
}

test_listing_not_held if {
	drawbridge.decision.action == "allow" with input as {"method": "tools/list", "tool": {"name": "send_message"}}
}

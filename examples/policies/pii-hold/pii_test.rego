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

held(args) if drawbridge.decision.action == "approve" with input as call(args)

allowed(args) if drawbridge.decision.action == "allow" with input as call(args)

test_email_in_a_key_held if {
	held({"jane.doe@example.com": "subscribed"})
}

test_phone_as_a_number_held if {
	held({"phone": 14155550132})
}

test_percent_encoded_email_held if {
	held({"url": "https://t.example/?to=jane.doe%40example.com"})
}

test_disguised_at_held if {
	held({"text": "write to jane.doe (at) example (dot) com"})
	held({"text": "jane.doe[at]example[.]com"})
	held({"text": "jane.doe\uff20example.com"})
	held({"text": "Jane.Doe@Example.COM"})
}

test_phone_with_tabs_and_newlines_held if {
	held({"text": "+1\t415\t555\t0132"})
	held({"text": "415\n555\n0132"})
	held({"text": "+1\u00a0415\u00a0555\u00a00132"})
}

test_full_width_digits_held if {
	held({"text": "\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff13\uff12"})
}

test_unicode_email_held if {
	held({"text": "m\u00fcller@b\u00fccher.de"})
}

test_ordinary_text_allowed if {
	allowed({"text": "meet me at the station, then look at the dot product"})
	allowed({"text": "version 1.2.3, 50% off, room 204"})
	allowed({"amount": 2000, "ratio": 0.5})
	allowed({"text": "100%"})
}

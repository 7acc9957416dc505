package drawbridge_test

import rego.v1

import data.drawbridge

at(t, tool) := {"method": "tools/call", "tool": {"name": tool}, "arguments": {}, "time": t}

test_weekday_daytime_write_allowed if {
	# Wednesday 10:30 UTC
	drawbridge.decision.action == "allow" with input as at("2026-11-25T10:30:00Z", "create_ticket")
}

test_weekday_night_write_denied if {
	d := drawbridge.decision with input as at("2026-11-25T22:00:00Z", "create_ticket")
	d.action == "deny"
	contains(d.reason, "outside business hours")
}

test_weekend_write_denied if {
	# Saturday noon
	drawbridge.decision.action == "deny" with input as at("2026-11-28T12:00:00Z", "create_ticket")
}

test_reads_any_time if {
	drawbridge.decision.action == "allow" with input as at("2026-11-28T03:00:00Z", "list_tickets")
}

test_zone_moves_the_window if {
	# 08:30 UTC is 17:30 in Tokyo: open there.
	drawbridge.decision.action == "allow" with input as at("2026-11-25T08:30:00Z", "create_ticket")
		with data.hours as {"zone": "Asia/Tokyo"}
}

test_closing_hour_is_closed if {
	drawbridge.decision.action == "deny" with input as at("2026-11-25T18:00:00Z", "create_ticket")
}

test_read_only_glob_is_case_and_letter_exact if {
	# Whatever the upstream calls it, only the exact glob match reads as read-only.
	drawbridge.decision.action == "deny" with input as at("2026-11-28T03:00:00Z", "GET_secrets")
	drawbridge.decision.action == "deny" with input as at("2026-11-28T03:00:00Z", "\u0261et_secrets")
	drawbridge.decision.action == "deny" with input as at("2026-11-28T03:00:00Z", "\uff47et_secrets")
	drawbridge.decision.action == "deny" with input as at("2026-11-28T03:00:00Z", " get_secrets")
	drawbridge.decision.action == "deny" with input as at("2026-11-28T03:00:00Z", "xget_secrets")
}

test_unreadable_time_closes if {
	d := drawbridge.decision with input as {"method": "tools/call", "tool": {"name": "create_ticket"}, "arguments": {}}
	d.action == "deny"
	drawbridge.decision.action == "deny" with input as at("2026-11-25T10:30:00Z", "create_ticket") with data.hours as {"zone": "Mars/Olympus"}
	drawbridge.decision.action == "deny" with input as at("not a time", "create_ticket")
}

test_offset_in_the_time_is_honoured if {
	# 10:30 at +09:00 is 01:30 UTC: closed in UTC.
	drawbridge.decision.action == "deny" with input as at("2026-11-25T10:30:00+09:00", "create_ticket")
}

test_malformed_hours_close if {
	drawbridge.decision.action == "deny" with input as at("2026-11-25T10:30:00Z", "create_ticket") with data.hours as {"open": "9", "close": "18"}
	drawbridge.decision.action == "deny" with input as at("2026-11-25T10:30:00Z", "create_ticket") with data.hours as {"open": 18, "close": 9}
}

# Business hours: tools that change things run only on weekdays between
# 09:00 and 18:00 in the configured time zone; read-only tools run any time.
# A tool is read-only only by its exact name matching a glob (case and all);
# a time or zone that cannot be read closes the window.
#
# data.hours: {"zone": "Europe/Paris", "open": 9, "close": 18,
#              "read_only": ["get_*", "list_*", "search_*"]}
package drawbridge

import rego.v1

settings := object.union(
	{"zone": "UTC", "open": 9, "close": 18, "read_only": ["get_*", "list_*", "search_*", "read_*"]},
	configured,
)

default configured := {}

configured := data.hours

now_ns := time.parse_rfc3339_ns(input.time)

weekday := time.weekday([now_ns, settings.zone])

hour := time.clock([now_ns, settings.zone])[0]

open_now if {
	not weekday in {"Saturday", "Sunday"}
	hour >= settings.open
	hour < settings.close
}

read_only if {
	some pattern in settings.read_only
	glob.match(pattern, [], input.tool.name)
}

decision := {"action": "allow", "reason": "read-only"} if {
	read_only
} else := {"action": "allow", "reason": "within business hours"} if {
	open_now
} else := {"action": "deny", "reason": sprintf("%s changes things and it is outside business hours (%s %02d:00, %s)", [input.tool.name, weekday, hour, settings.zone])} if {
	hour
} else := {"action": "deny", "reason": sprintf("%s changes things and the time of the call in zone %v cannot be read", [input.tool.name, settings.zone])}

# Payments cap: money-moving tools are allowed up to one amount, need a
# person's approval above it, and are denied above a hard cap. Amounts are in
# the currency's smallest unit (cents), as Stripe's API takes them.
#
# Limits come from data.payments (data.json here; override in the config's
# policy.data): approve_above and deny_above.
package drawbridge

import rego.v1

money_tools := {"create_payment_link", "create_payment_intent", "create_refund", "create_invoice", "create_price"}

limits := object.union({"approve_above": 10000, "deny_above": 100000}, configured)

default configured := {}

configured := data.payments

amount := input.arguments.amount

# Keys that a case-insensitive upstream would read as the amount. Drawbridge
# refuses keys that differ only in case from each other or from the tool's
# schema; this rule also holds where an upstream's schema does not name
# "amount" at all.
amount_aliases contains key if {
	some key, _ in input.arguments
	lower(key) == "amount"
	key != "amount"
}

decision := {"action": "deny", "reason": sprintf("argument %v: write the amount as \"amount\"", [concat(", ", amount_aliases)])} if {
	input.method == "tools/call"
	input.tool.name in money_tools
	count(amount_aliases) > 0
} else := {"action": "deny", "reason": sprintf("amount %v is missing or not a positive number", [object.get(input.arguments, "amount", null)])} if {
	input.method == "tools/call"
	input.tool.name in money_tools
	not valid_amount
} else := {"action": "deny", "reason": sprintf("amount %v is above the hard cap of %v", [amount, limits.deny_above])} if {
	input.tool.name in money_tools
	amount > limits.deny_above
} else := {"action": "approve", "reason": sprintf("amount %v is above %v", [amount, limits.approve_above])} if {
	input.tool.name in money_tools
	amount > limits.approve_above
} else := {"action": "allow", "reason": "within the payment limits"} if {
	input.tool.name in money_tools
} else := {"action": "allow", "reason": "read-only"} if {
	read_only
} else := {"action": "approve", "reason": sprintf("%s is not a known payments tool", [input.tool.name])}

valid_amount if {
	is_number(amount)
	amount > 0
}

read_only if startswith(input.tool.name, "list_")

read_only if startswith(input.tool.name, "retrieve_")

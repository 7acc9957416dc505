# Payments cap: money-moving tools are allowed up to one amount, need a
# person's approval above it, and are denied above a hard cap. Amounts are in
# the currency's smallest unit (cents), as Stripe's API takes them.
#
# A quantity multiplies the amount; an amount anywhere else in the
# arguments (unit_amount, line items) is not judged, so it is denied.
#
# Limits come from data.payments (data.json here; override in the config's
# policy.data): approve_above and deny_above.
package drawbridge

import rego.v1

money_tools := {"create_payment_link", "create_payment_intent", "create_refund", "create_invoice", "create_price"}

limits := object.union({"approve_above": 10000, "deny_above": 100000}, configured)

default configured := {}

configured := data.payments

# The amount judged: "amount", times "quantity" where the call gives one.
amount := input.arguments.amount * quantity

default quantity := 1

quantity := input.arguments.quantity

# fold is how a case-insensitive reader compares keys (the Kelvin sign reads
# as k, the long s as s), as Go's encoding/json folds them.
fold(s) := lower(upper(s))

# Keys that a case-insensitive upstream would read as the amount or the
# quantity. Drawbridge refuses keys that differ only in case from each other
# or from the tool's schema; this rule also holds where an upstream's schema
# does not name them at all.
amount_aliases contains key if {
	some key, _ in input.arguments
	fold(key) in {"amount", "quantity"}
	not key in {"amount", "quantity"}
}

# Amounts this policy does not judge: any other key that names an amount,
# at any depth (unit_amount, line_items[0].amount, …). A money tool that
# carries one is denied rather than let through on the top-level amount.
unjudged contains concat(".", [format_path(p) | some p in path]) if {
	walk(input.arguments, [path, _])
	count(path) > 0
	last := path[count(path) - 1]
	is_string(last)
	contains(fold(last), "amount")
	path != ["amount"]
}

format_path(p) := p if is_string(p)

format_path(p) := format_int(p, 10) if is_number(p)

decision := {"action": "deny", "reason": sprintf("argument %v: write \"amount\" and \"quantity\" in lower case", [concat(", ", sort(amount_aliases))])} if {
	input.method == "tools/call"
	input.tool.name in money_tools
	count(amount_aliases) > 0
} else := {"action": "deny", "reason": sprintf("argument %v: this policy judges only the top-level amount", [concat(", ", sort(unjudged))])} if {
	input.method == "tools/call"
	input.tool.name in money_tools
	count(unjudged) > 0
} else := {"action": "deny", "reason": sprintf("amount %v is missing or not a positive whole number", [object.get(input.arguments, "amount", null)])} if {
	input.method == "tools/call"
	input.tool.name in money_tools
	not valid_amount
} else := {"action": "deny", "reason": sprintf("quantity %v is not a positive whole number", [quantity])} if {
	input.method == "tools/call"
	input.tool.name in money_tools
	not valid_quantity
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

valid_amount if whole(input.arguments.amount)

valid_quantity if whole(quantity)

whole(n) if {
	is_number(n)
	n > 0
	n == floor(n)
}

read_only if startswith(input.tool.name, "list_")

read_only if startswith(input.tool.name, "retrieve_")

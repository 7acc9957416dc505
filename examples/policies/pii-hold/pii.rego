# Personal data: a call whose arguments carry an email address or a phone
# number, at any depth, waits for a person's approval.
package drawbridge

import rego.v1

email := `[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`

# E.164-ish: an optional +, then 9 to 15 digits with spaces, dots, dashes
# or parentheses between them.
phone := `\+?\(?[0-9][0-9 ().-]{7,}[0-9]`

found contains "an email address" if {
	walk(input.arguments, [_, v])
	is_string(v)
	regex.match(email, v)
}

found contains "a phone number" if {
	walk(input.arguments, [_, v])
	is_string(v)
	some m in regex.find_n(phone, v, -1)
	digits := regex.replace(m, `[^0-9]`, "")
	count(digits) >= 9
	count(digits) <= 15
}

decision := {"action": "approve", "reason": sprintf("the arguments carry %s", [concat(" and ", sort(found))])} if {
	count(found) > 0
} else := {"action": "allow", "reason": "no personal data in the arguments"}

# Personal data: a call whose arguments carry an email address or a phone
# number, at any depth, in a value or in a key, waits for a person's
# approval. Strings are also read percent-decoded (jane%40example.com), and
# the usual disguises are read through: full-width and small @, "(at)" and
# "[dot]", digits of any script, and spaces of any kind between them.
package drawbridge

import rego.v1

# Every string the arguments carry: values, keys, and numbers as written.
texts contains v if {
	walk(input.arguments, [_, v])
	is_string(v)
}

texts contains k if {
	walk(input.arguments, [path, _])
	some k in path
	is_string(k)
}

texts contains format_int(v, 10) if {
	walk(input.arguments, [_, v])
	is_number(v)
	v == floor(v)
}

# Percent-decoded too, where that decodes.
readings contains t if some t in texts

readings contains d if {
	some t in texts
	contains(t, "%")
	d := urlquery.decode(t)
}

# @ and its look-alikes and spelled-out forms; . likewise.
at := `(?:@|\x{FF20}|\x{FE6B}|\s*[\[\(\{<]\s*at\s*[\]\)\}>]\s*)`

dot := `(?:\.|\x{FF0E}|\x{FE52}|\s*[\[\(\{<]\s*(?:dot|\.)\s*[\]\)\}>]\s*)`

email := sprintf(`(?i)[\p{L}\p{N}._%%+-]+%s[\p{L}\p{N}-]+(?:%s[\p{L}\p{N}-]+)*%s\p{L}{2,}`, [at, dot, dot])

# E.164-ish: an optional +, then 9 to 15 digits (of any script) with spaces
# of any kind, dots, dashes or parentheses between them.
phone := `[+\x{FF0B}]?[(\x{FF08}]?\p{Nd}(?:[\p{Nd}\s\p{Zs}().\-\x{2010}-\x{2015}\x{FF08}\x{FF09}\x{FF0D}\x{FF0E}]){7,}\p{Nd}`

found contains "an email address" if {
	some t in readings
	regex.match(email, t)
}

found contains "a phone number" if {
	some t in readings
	some m in regex.find_n(phone, t, -1)
	digits := regex.replace(m, `[^\p{Nd}]`, "")
	count(digits) >= 9
	count(digits) <= 15
}

decision := {"action": "approve", "reason": sprintf("the arguments carry %s", [concat(" and ", sort(found))])} if {
	count(found) > 0
} else := {"action": "allow", "reason": "no personal data in the arguments"}

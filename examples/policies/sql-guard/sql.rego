# Destructive SQL: statements that destroy or re-grant are denied, DELETE and
# UPDATE without a WHERE are denied, those with one wait for approval, and
# several statements in one call are denied (a way to smuggle the rest).
#
# data.sql.query_keys: argument names that hold SQL.
package drawbridge

import rego.v1

default query_keys := ["sql", "query", "statement"]

query_keys := data.sql.query_keys

queries contains q if {
	some key in query_keys
	q := input.arguments[key]
	is_string(q)
}

# Comments removed and whitespace folded, upper case.
normal(q) := upper(regex.replace(regex.replace(q, `--[^\n]*|/\*[\s\S]*?\*/`, " "), `\s+`, " "))

destroys(q) if regex.match(`\b(DROP|TRUNCATE|ALTER|GRANT|REVOKE|ATTACH|DETACH|VACUUM INTO|COPY)\b`, normal(q))

stacked(q) if regex.match(`;\s*\S`, normal(q))

changes(q) if regex.match(`^\s*(WITH\b.*\b)?(DELETE|UPDATE)\b`, normal(q))

unqualified(q) if {
	changes(q)
	not regex.match(`\bWHERE\b`, normal(q))
}

decision := {"action": "deny", "reason": "several SQL statements in one call"} if {
	some q in queries
	stacked(q)
} else := {"action": "deny", "reason": "destructive SQL (DROP, TRUNCATE, ALTER, GRANT, …) is not allowed"} if {
	some q in queries
	destroys(q)
} else := {"action": "deny", "reason": "DELETE or UPDATE without WHERE would touch every row"} if {
	some q in queries
	unqualified(q)
} else := {"action": "approve", "reason": "a DELETE or UPDATE changes data"} if {
	some q in queries
	changes(q)
} else := {"action": "allow", "reason": "read or insert"}

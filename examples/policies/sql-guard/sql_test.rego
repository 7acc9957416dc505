package drawbridge_test

import rego.v1

import data.drawbridge

q(sql) := {"method": "tools/call", "tool": {"name": "execute_sql"}, "arguments": {"query": sql}}

test_select_allowed if {
	drawbridge.decision.action == "allow" with input as q("SELECT * FROM orders WHERE id = 4")
}

test_drop_denied if {
	drawbridge.decision.action == "deny" with input as q("drop table orders")
}

test_drop_hidden_in_comment_spacing_denied if {
	drawbridge.decision.action == "deny" with input as q("/* harmless */ DROP\n\tTABLE users")
}

test_truncate_denied if {
	drawbridge.decision.action == "deny" with input as q("TRUNCATE orders")
}

test_stacked_statements_denied if {
	d := drawbridge.decision with input as q("SELECT 1; DELETE FROM users")
	d.action == "deny"
	contains(d.reason, "several")
}

test_trailing_semicolon_fine if {
	drawbridge.decision.action == "allow" with input as q("SELECT 1;")
}

test_delete_without_where_denied if {
	drawbridge.decision.action == "deny" with input as q("DELETE FROM users")
}

test_delete_with_where_held if {
	drawbridge.decision.action == "approve" with input as q("delete from users where id = 7")
}

test_update_with_where_held if {
	drawbridge.decision.action == "approve" with input as q("UPDATE users SET name = 'x' WHERE id = 1")
}

test_grant_denied if {
	drawbridge.decision.action == "deny" with input as q("grant all on users to public")
}

test_column_named_like_keyword_allowed if {
	drawbridge.decision.action == "allow" with input as q("SELECT dropped_at FROM orders")
}

test_other_key if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "run"}, "arguments": {"sql": "DROP TABLE x"}}
}

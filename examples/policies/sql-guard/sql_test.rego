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

denied(sql) if drawbridge.decision.action == "deny" with input as q(sql)

held(sql) if drawbridge.decision.action == "approve" with input as q(sql)

allowed(sql) if drawbridge.decision.action == "allow" with input as q(sql)

reason(sql) := r if {
	r := drawbridge.decision.reason with input as q(sql)
}

# The four bypasses of issue 20.

test_comment_marker_in_a_string_denied if {
	d := drawbridge.decision with input as q("SELECT '--'; DROP TABLE users")
	d.action == "deny"
	contains(d.reason, "several")
}

test_upper_case_key_denied if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "run"}, "arguments": {"SQL": "DROP TABLE users"}}
}

test_mysql_executable_comment_denied if {
	d := drawbridge.decision with input as q("/*!50000 DROP TABLE users */")
	d.action == "deny"
	contains(d.reason, "destructive")
}

test_hash_comment_hides_where_denied if {
	d := drawbridge.decision with input as q("DELETE FROM users # WHERE id=1")
	d.action == "deny"
	contains(d.reason, "without WHERE")
}

# String literals: what is quoted is data, and quotes end where databases end them.

test_keywords_in_strings_allowed if {
	allowed("SELECT * FROM notes WHERE body = 'drop table; -- /* # */'")
	allowed("SELECT 'it''s', \"col;umn\", `we``ird` FROM t")
	allowed("INSERT INTO notes (body) VALUES ('DELETE FROM users')")
}

test_doubled_quote_does_not_end_the_string if {
	denied("SELECT 'a'''; DROP TABLE users; --'")
}

test_backslash_quote_denied if {
	# MySQL reads \' as a quote inside the string, PostgreSQL as its end.
	contains(reason("SELECT 'a\\'; DROP TABLE users; -- '"), "backslash")
	denied("SELECT 'C:\\'")
	denied("SELECT \"a\\\"; DROP TABLE users; -- \"")
}

test_postgres_escape_string_denied if {
	denied("SELECT E'\\''; DROP TABLE users; --'")
}

test_unterminated_quote_denied if {
	contains(reason("SELECT 'abc"), "does not close")
	denied("SELECT \"abc")
	denied("SELECT `abc")
	denied("SELECT 1 /* never closed")
}

test_where_in_a_string_is_not_a_where if {
	denied("DELETE FROM users WHERE'")
	denied("DELETE FROM users -- WHERE id = 1")
	denied("UPDATE users SET note = 'WHERE id = 1'")
}

test_quoted_where_is_a_name_denied if {
	# "where" and `where` are aliases: every row goes.
	denied("DELETE FROM users \"where\"")
	denied("DELETE FROM users `WHERE`")
}

test_dollar_quotes if {
	allowed("SELECT $$fine$$")
	denied("SELECT $$it's$$")

	# MySQL reads $$ as part of a name and runs what is inside.
	denied("SELECT $$ ; DROP TABLE users; $$")

	# PostgreSQL reads $$'$$ as a string and runs the rest.
	denied("SELECT $$'$$; DROP TABLE users; --'")
	contains(reason("SELECT $x$ DROP TABLE users $x$"), "$tag$")
}

test_brackets if {
	allowed("SELECT [order id] FROM [orders]")
	allowed("SELECT tags[1] FROM posts WHERE tags && ARRAY['a', 'b']")

	# SQL Server and SQLite read [x'] as a name and run the rest.
	denied("SELECT [x'] ; DROP TABLE users; --']")
	denied("SELECT [a--b] FROM t")
}

# Comment styles.

test_comment_styles_stripped if {
	allowed("SELECT 1 -- DROP TABLE users")
	allowed("SELECT 1 /* DROP TABLE users */")
	allowed("SELECT 1 # a note")
}

test_comment_between_keywords_denied if {
	denied("DROP/**/TABLE users")

	# DR/**/OP is two words to a database, as to the guard.
	held("DR/**/OP TABLE users")
	denied("DELETE/**/FROM/**/users")
}

test_executable_comment_variants_denied if {
	denied("/*!DROP TABLE users*/")
	denied("/*!50000DROP TABLE users*/")
	denied("SELECT 1 /*!, 2; DROP TABLE users */")
	denied("/*M!100100 DROP TABLE users */")
	denied("/*+ DROP */ SELECT 1")
	denied("DELETE FROM users /*!99999 WHERE id = 1 */")
}

test_executable_comment_with_a_quote_denied if {
	# Skipped by a MySQL older than the version: the quote does not count.
	contains(reason("SELECT 1 /*!99999 ' */ ; DROP TABLE users; -- '"), "/*!")
}

test_nested_comment_denied if {
	# PostgreSQL nests comments, MySQL and SQLite do not.
	contains(reason("SELECT 1 /* /* */ ' */ ; DROP TABLE users; -- '"), "inside a comment")
}

test_mysql_double_dash_needs_a_space if {
	# MySQL reads --1 as minus minus one and runs the next statement.
	denied("SELECT 1 --1; DROP TABLE users")
	allowed("SELECT 1 -- a comment")
	allowed("SELECT 1 --a comment")
}

test_hash_is_an_operator_outside_mysql if {
	# PostgreSQL reads # as XOR: the DROP after it runs there.
	denied("SELECT 1 # 2; DROP TABLE users")
	denied("SELECT 1 # DROP TABLE users")
	denied("SELECT 1 # '\n; DROP TABLE users; -- '")
}

test_carriage_return_ends_comments_differently if {
	denied("SELECT 1 -- x\rDROP TABLE users")
	denied("SELECT 1 # x\r' \n; DROP TABLE users; -- '")
}

# Key case and places: the SQL is found whatever its key's case or depth.

test_key_case_and_depth if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "run"}, "arguments": {"Query": "DROP TABLE users"}}
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "run"}, "arguments": {"STATEMENT": "TRUNCATE users"}}
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "run"}, "arguments": {"batch": {"sql": ["SELECT 1", "DROP TABLE users"]}}}

	# U+017F (long s) folds to s in case-insensitive readers.
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "run"}, "arguments": {"\u017fql": "DROP TABLE users"}}
}

test_query_keys_from_data if {
	drawbridge.decision.action == "deny" with input as {"method": "tools/call", "tool": {"name": "run"}, "arguments": {"command": "DROP TABLE users"}}
		with data.sql.query_keys as ["command"]
}

# Whitespace variants.

test_whitespace_variants_denied if {
	denied("DROP\tTABLE users")
	denied("DROP\nTABLE users")
	denied("\n\n  drop table users")
	denied("DELETE\tFROM\nusers")
	denied("DELETE FROM users\f")
}

test_invisible_and_unicode_spaces_denied if {
	# Whether U+00A0 splits words depends on the database: neither reading is safe.
	denied("DELETE FROM users\u00a0WHERE id = 1")
	denied("DR\u200bOP TABLE users")
	denied("SELECT 1\u0000; DROP TABLE users")
}

# Unicode look-alikes: databases read full-width letters as part of a name.

test_full_width_is_a_name if {
	held("\uff24\uff32\uff2f\uff30 TABLE users")
	denied("DELETE FROM users \uff37\uff28\uff25\uff32\uff25 id = 1")

	# Cyrillic е in "wherе": an alias to the database, not a WHERE.
	denied("DELETE FROM users wher\u0435 id = 1")
}

# Encodings: hex literals and CHAR() are values to a database, not code; they
# become code only through PREPARE or EXECUTE, which are not judged.

test_encoded_sql_is_a_value_or_held if {
	allowed("SELECT 0x44524f50205441424c45207573657273")
	allowed("SELECT CHAR(68, 82, 79, 80)")
	held("PREPARE s FROM 0x44524f50205441424c45207573657273")
	held("EXECUTE s")
	denied("SET @q = 0x44524f50; PREPARE s FROM @q; EXECUTE s")
}

test_url_encoding_is_not_decoded_by_databases if {
	# A database reads %44 as three characters: these are syntax errors there.
	held("%44ROP%20TABLE%20users")
	denied("DROP%20TABLE%20users")
}

# Statements inside statements.

test_modifying_cte_denied if {
	denied("WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d WHERE id = 1")
	denied("WITH a AS (SELECT 1) UPDATE users SET x = 1 WHERE id = 1")
}

test_where_only_in_a_subquery_denied if {
	denied("UPDATE users SET name = (SELECT name FROM t WHERE id = 1)")
	held("UPDATE users SET name = (SELECT name FROM t WHERE id = 1) WHERE id = 2")
}

test_explain_looks_through if {
	allowed("EXPLAIN SELECT * FROM users")
	denied("EXPLAIN ANALYZE DELETE FROM users")
}

test_dangerous_functions_denied if {
	denied("SELECT pg_read_file('/etc/passwd')")
	denied("SELECT \"pg_read_file\"('/etc/passwd')")
	denied("SELECT dblink_exec('host=x', 'DROP TABLE users')")
	denied("SELECT LOAD_FILE('/etc/passwd')")
	denied("SELECT * FROM users INTO OUTFILE '/var/www/x.php'")
}

# Statements the guard does not know wait for a person.

test_unknown_statements_held if {
	held("CREATE TABLE t (id int)")
	held("CALL purge_everything()")
	held("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE")
	held("PRAGMA writable_schema = ON")
	held("'just a string'")
}

# Legitimate calls stay allowed.

test_legitimate_reads_allowed if {
	allowed("SELECT u.id, u.email FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100 ORDER BY u.id LIMIT 10")
	allowed("WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '1 day') SELECT count(*) FROM recent")
	allowed("SELECT * FROM t FOR UPDATE")
	allowed("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a")
	allowed("SELECT * FROM café")
	allowed("select\n  id\nfrom\n  users\nwhere\n  id = $1")
	allowed("SHOW TABLES")
	allowed("(SELECT 1) UNION (SELECT 2)")
	allowed("SELECT 1;\n")
}

test_non_sql_arguments_ignored if {
	drawbridge.decision.action == "allow" with input as {"method": "tools/call", "tool": {"name": "send"}, "arguments": {"text": "DROP TABLE users"}}
	drawbridge.decision.action == "allow" with input as {"method": "tools/list", "tool": {"name": "execute_sql"}}
}

test_too_long_denied if {
	long := concat("", ["SELECT '", concat("", [" " | some _ in numbers.range(1, 10000)]), "'"])
	contains(reason(long), "not judged")
	drawbridge.decision.action == "allow" with input as q(long) with data.sql.max_length as 20000
}

test_bracketed_where_is_a_name_denied if {
	# SQL Server reads [where] as an alias: every row goes.
	denied("DELETE FROM users [where] id = 1")
	held("DELETE FROM [users] WHERE [id] = 1")
}

test_dashed_lines_allowed if {
	allowed("SELECT 1 ----------\n")
	allowed("SELECT 1 # see -- and # here")
	allowed("SELECT 'a\\\"b'")
}

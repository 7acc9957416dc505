# Destructive SQL: statements that destroy or re-grant are denied, DELETE and
# UPDATE without a WHERE are denied, those with one wait for approval, several
# statements in one call are denied (a way to smuggle the rest), reads and
# inserts are allowed, and any other statement waits for approval.
#
# The SQL is tokenized, not pattern-matched: string literals, quoted names
# and comments are recognised the way databases read them, and where
# databases disagree (a `#` is a comment in MySQL and an operator elsewhere;
# `/*! … */` is code in MySQL and a comment elsewhere; a backslash escapes a
# quote in MySQL only) the SQL is judged under every reading and the worst
# verdict wins. What no reading can tell apart the same way (a quote behind
# a backslash, nested comments, unterminated quotes) is denied.
#
# data.sql: {"query_keys": ["sql", "query", "statement"], "max_length": 10000,
#            "functions": ["PG_READ_FILE", …]}
#   query_keys: argument names that hold SQL (any case, at any depth);
#   max_length: longer SQL is denied unread;
#   functions: function calls denied wherever they appear.
package drawbridge

import rego.v1

default query_keys := ["sql", "query", "statement"]

query_keys := data.sql.query_keys

# fold is how a case-insensitive reader compares keys: the Kelvin sign reads
# as k and the long s as s, as Go's encoding/json and others fold them.
fold(s) := lower(upper(s))

folded_keys := {fold(k) | some k in query_keys}

# The SQL of the call: every string under a query key, or in a list under
# one, whatever the key's case and however deep. SQL longer than
# data.sql.max_length characters is denied unread: reading it would take
# longer than policy.timeout allows.
sql contains s if {
	walk(input.arguments, [path, s])
	is_string(s)
	sql_path(path)
}

default max_length := 10000

max_length := data.sql.max_length

queries contains s if {
	some s in sql
	count(s) <= max_length
}

too_long if {
	some s in sql
	count(s) > max_length
}

sql_path(path) if {
	key := path[count(path) - 1]
	is_string(key)
	fold(key) in folded_keys
}

sql_path(path) if {
	is_number(path[count(path) - 1])
	key := path[count(path) - 2]
	is_string(key)
	fold(key) in folded_keys
}

# The lexer: what is not code, leftmost first (a word with a $ in it is
# code: $$ starts a string only where a name does not go on). Between its
# matches is code. A lone quote, /* or $$ is where a literal or comment never
# closes.
lexer := concat("|", [
	`'(?:[^']|'')*'`,
	`"(?:[^"]|"")*"`,
	"`(?:[^`]|``)*`",
	`\$\$[\s\S]*?\$\$`,
	`\$[A-Za-z_\x{80}-\x{10FFFF}][A-Za-z0-9_\x{80}-\x{10FFFF}]*\$`,
	`/\*[\s\S]*?\*/`,
	`--[^\r\n]*`,
	`#[^\r\n]*`,
	`\[(?:[^\]]|\]\])*\]`,
	"['\"`]|/\\*|\\$\\$",
	`[A-Za-z0-9_\x{80}-\x{10FFFF}]+\$[A-Za-z0-9_$\x{80}-\x{10FFFF}]*`,
])

# What can start a literal or a comment in some database: text that one
# database reads as code and another as a comment may not hold any. In a line
# comment, another line comment ends where it does, at the end of the line.
starters := {
	"span": "['\"`#\\[]|--|/\\*|\\$[A-Za-z_]*\\$",
	"line": "['\"`\\[]|/\\*|\\$[A-Za-z_]*\\$",
}

starts := {"exec": "span", "dollar": "span", "ident": "span", "hash": "line", "dashes": "line"}

tokens := {q: lex(q) | some q in queries}

# lex(s) is s's code and its other tokens, in order: code pieces at even
# places.
lex(s) := [t | some i, piece in regex.split(lexer, s); some t in pair(piece, others[i])] if {
	others := array.concat(regex.find_n(lexer, s, -1), [""])
}

pair(piece, "") := [{"kind": "code", "text": piece}]

pair(piece, m) := [{"kind": "code", "text": piece}, {"kind": kind(m), "text": m}] if m != ""

kind(m) := "string" if {
	startswith(m, "'")
	count(m) > 1
} else := "ident" if {
	regex.match("^[\"`]", m)
	count(m) > 1
} else := "dollar" if {
	startswith(m, "$$")
	count(m) > 3
} else := "open" if {
	regex.match("^(['\"`]|/\\*$|\\$[^$0-9]*\\$)", m)
} else := "exec" if {
	regex.match(`^/\*(M?!|\+)`, m)
} else := "comment" if {
	startswith(m, "/*")
} else := "comment" if {
	regex.match(`^--([\x00-\x20]|$)`, m)
} else := "dashes" if {
	startswith(m, "--")
} else := "hash" if {
	startswith(m, "#")
} else := "bracket" if {
	startswith(m, "[")
} else := "code"

# The tokens that are not code, of every query.
special contains t if {
	some toks in tokens
	some t in toks
	t.kind != "code"
}

# Readings: "standard" (PostgreSQL, SQLite, SQL Server, ANSI) and "mysql"
# (MySQL and MariaDB: # and --x are comments or code the other way round,
# /*! … */ and /*+ … */ are code).
readings := {"standard", "mysql"}

code := {[q, r]: concat("", [render(t, r) | some t in toks]) |
	some q, toks in tokens
	some r in readings
}

# The readings that run a token's text as code where the other reads a
# comment or a string.
as_code := {"hash": {"standard"}, "dashes": {"mysql"}, "dollar": {"mysql"}}

render(t, r) := plain(t) if {
	t.kind in {"code", "string", "ident"}
} else := t.text if {
	r in as_code[t.kind]
} else := " ? " if {
	t.kind == "dollar"
} else := sprintf(" %s ", [regex.replace(body(t), `^([0-9]*)`, "$1 ")]) if {
	# MySQL runs the body; the version digits after /*! end before the code.
	t.kind == "exec"
	r == "mysql"
} else := concat("", ["[", concat("", [plain(u) | some u in lex(substring(t.text, 1, count(t.text) - 2))]), "]"]) if {
	# [name] is a name in SQL Server and SQLite and a subscript elsewhere;
	# read both ways it ends at the same ] only if what is inside holds no
	# comment and no quote that runs past it (checked below). Its words
	# count as code.
	t.kind == "bracket"
} else := " "

# Code as it is, strings as a placeholder, quoted names as a word that is no
# keyword.
plain(t) := t.text if {
	t.kind == "code"
} else := " ? " if {
	t.kind == "string"
} else := sprintf(" Q_%s ", [regex.replace(upper(substring(t.text, 1, count(t.text) - 2)), `[^A-Z0-9_]`, "_")]) if {
	t.kind == "ident"
} else := " "

# What the guard cannot read the same way every database does.
unreadable contains "a quote, comment or $$ string that does not close, or a $tag$ string" if {
	some t in special
	t.kind == "open"
}

unreadable contains "a backslash before a quote (an escape in MySQL, not elsewhere)" if {
	some t in special
	t.kind in {"string", "ident"}
	quote := substring(t.text, 0, 1)
	quote != "`"
	contains(t.text, concat("", ["\\", quote]))
}

unreadable contains "a comment inside a comment" if {
	some t in special
	t.kind in {"comment", "exec"}
	startswith(t.text, "/*")
	contains(substring(t.text, 2, -1), "/*")
}

# Text one database reads as code and another as a comment or a name: the
# readings agree on where it ends only while it holds no quote or comment.
unreadable contains sprintf("a quote or comment inside %s", [label[t.kind]]) if {
	some t in special
	regex.match(starters[starts[t.kind]], body(t))
}

label := {"exec": "/*! … */ or /*+ … */", "hash": "a # comment", "dashes": "a --comment", "dollar": "$$ … $$", "ident": "`…`"}

body(t) := substring(b, 0, count(b) - 2) if {
	t.kind == "exec"
	b := regex.replace(t.text, `^/\*(M?!|\+)`, "")
}

body(t) := substring(t.text, 1, -1) if t.kind == "hash"

body(t) := substring(t.text, 2, -1) if t.kind == "dashes"

body(t) := substring(t.text, 2, count(t.text) - 4) if t.kind == "dollar"

body(t) := replace(substring(t.text, 1, count(t.text) - 2), "``", "") if {
	t.kind == "ident"
	startswith(t.text, "`")
}

unreadable contains "a [ … ] that ends inside a quote or comment" if {
	some t in special
	t.kind == "bracket"
	some u in lex(substring(t.text, 1, count(t.text) - 2))
	not u.kind in {"code", "string", "ident"}
}

unreadable contains "a control, invisible or non-ASCII space character in the SQL" if {
	some text in code
	regex.match(`[\x00-\x08\x0b\x0e-\x1f\x7f\x{85}\x{a0}\x{1680}\x{180e}\x{2000}-\x{200f}\x{2028}-\x{202f}\x{205f}-\x{206f}\x{3000}\x{feff}]`, text)
}

unreadable contains "a carriage return not followed by a newline" if {
	some q in queries
	regex.match(`\r([^\n]|$)`, q)
}

unreadable contains "a NUL character" if {
	some q in queries
	contains(q, "\u0000")
}

# Each reading, upper case, non-ASCII as part of names (as databases read
# it), split into statements.
statements contains s if {
	some text in code
	some part in split(upper(regex.replace(text, `[^\x00-\x7f]`, "_")), ";")
	s := trim_space(regex.replace(part, `\s+`, " "))
	s != ""
}

several if {
	some key, _ in code
	parts := [p | some p in split(code[key], ";"); trim_space(p) != ""]
	count(parts) > 1
}

destructive := `\b(DROP|TRUNCATE|ALTER|GRANT|REVOKE|ATTACH|DETACH|COPY|RENAME|VACUUM\s+INTO|INTO\s+(OUTFILE|DUMPFILE)|LOAD\s+DATA)\b`

# Functions that run SQL given as text, or reach the server's files and
# processes.
default functions := [
	"DBLINK", "DBLINK_EXEC", "QUERY_TO_XML", "QUERY_TO_XML_AND_XMLSCHEMA", "QUERY_TO_XMLSCHEMA",
	"PG_READ_FILE", "PG_READ_BINARY_FILE", "PG_LS_DIR", "PG_STAT_FILE", "LO_IMPORT", "LO_EXPORT",
	"PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "LOAD_FILE", "SYS_EXEC", "SYS_EVAL",
	"XP_CMDSHELL", "SP_EXECUTESQL", "LOAD_EXTENSION", "READFILE", "WRITEFILE",
]

functions := data.sql.functions

function_call := sprintf(`\b(Q_)?(%s)\s*\(`, [concat("|", [upper(f) | some f in functions])])

# The verbs a statement may start with to run unasked; EXPLAIN and its
# options are looked through, to the statement they explain.
reads := {"SELECT", "VALUES", "TABLE", "SHOW", "DESCRIBE", "DESC", "WITH", "INSERT"}

looked_through := {"EXPLAIN", "ANALYZE", "ANALYSE", "VERBOSE", "QUERY", "PLAN", "EXTENDED"}

verb(s) := [w | some w in regex.find_n(`[A-Z_]+`, s, -1); not w in looked_through][0]

# A statement's text outside parentheses and brackets (up to 8 deep): a
# WHERE inside a subquery, or a [where] that SQL Server reads as a name, is
# not the statement's.
flat1(s) := regex.replace(s, `\([^()]*\)|\[[^\[\]]*\]`, " ")

flat(s) := flat1(flat1(flat1(flat1(flat1(flat1(flat1(flat1(s))))))))

denials contains sprintf("cannot read this SQL safely: %s", [concat("; ", sort(unreadable))]) if count(unreadable) > 0

denials contains sprintf("SQL over %d characters is not judged", [max_length]) if too_long

denials contains "several SQL statements in one call" if several

denials contains "destructive SQL (DROP, TRUNCATE, ALTER, GRANT, …) is not allowed" if {
	some s in statements
	regex.match(destructive, s)
}

denials contains "a function that runs SQL text or reaches the server's files is not allowed" if {
	some s in statements
	regex.match(function_call, s)
}

denials contains "a DELETE, UPDATE or MERGE inside another statement is not judged; send it on its own" if {
	some s in statements
	regex.match(`[()]\s*(DELETE|UPDATE|MERGE)\b`, s)
}

denials contains "DELETE or UPDATE without WHERE would touch every row" if {
	some s in statements
	verb(s) in {"DELETE", "UPDATE"}
	not regex.match(`\bWHERE\b`, flat(s))
}

denials contains "a DELETE or UPDATE nested more than 8 parentheses deep" if {
	some s in statements
	verb(s) in {"DELETE", "UPDATE"}
	regex.match(`[()]`, flat(s))
}

holds contains "a DELETE or UPDATE changes data" if {
	some s in statements
	verb(s) in {"DELETE", "UPDATE"}
}

holds contains sprintf("the guard does not judge %s statements", [v]) if {
	some s in statements
	v := verb(s)
	not v in reads
	not v in {"DELETE", "UPDATE"}
}

holds contains "a statement that does not start with a verb" if {
	some s in statements
	not verb(s)
}

decision := {"action": "deny", "reason": concat("; ", sort(denials))} if {
	count(denials) > 0
} else := {"action": "approve", "reason": concat("; ", sort(holds))} if {
	count(holds) > 0
} else := {"action": "allow", "reason": "read or insert"}

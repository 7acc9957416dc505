package proxy_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// smuggleHarness serves a raw upstream with a payments tool and a file
// tool, under one of the shipped example policies.
func smuggleHarness(t *testing.T, example string) (*harness, *mcptest.RawServer) {
	t.Helper()
	tools := `{"tools":[` +
		`{"name":"create_payment_link","inputSchema":{"type":"object","properties":{"amount":{"type":"integer"},"currency":{"type":"string"}}}},` +
		`{"name":"create_refund","inputSchema":{"type":"object"}},` +
		`{"name":"read_file","inputSchema":{"type":"object","properties":{"path":{"type":"string"}}}},` +
		`{"name":"read_any","inputSchema":{"type":"object"}}]}`
	up := mcptest.Raw(tools, func(json.RawMessage) string { return `{"content":[{"type":"text","text":"done"}]}` })
	t.Cleanup(up.Close)
	dir, _ := filepath.Abs("../examples/policies/" + example)
	return start(t, fmt.Sprintf("policy:\n  dir: %s\napproval: {timeout: 50ms}\nservers:\n  up:\n    url: %s\n", dir, up.URL)), up
}

// TestArgumentSmuggling: what the upstream receives is exactly what the
// policy judged. Repeated keys, keys differing only in case (from each
// other or from the tool's schema) and numbers a double does not hold are
// refused with an error that names them, under the shipped payments and
// fs-root examples; the upstream never sees them.
func TestArgumentSmuggling(t *testing.T) {
	for _, tt := range []struct {
		name, example, tool, args, want string
	}{
		{"duplicate amount", "payments", "create_payment_link", `{"amount":500,"amount":999999}`, `duplicate key \"amount\"`},
		{"escaped duplicate", "payments", "create_payment_link", `{"amount":500,"\u0061mount":999999}`, `duplicate key \"amount\"`},
		{"case sibling", "payments", "create_payment_link", `{"amount":500,"Amount":999999}`, `differ only in case`},
		{"case of a schema parameter", "fs-root", "read_file", `{"Path":"/etc/passwd"}`, `differs only in case from the tool's parameter \"path\"`},
		{"kelvin sign", "fs-root", "read_file", `{"pat\u0068":"/srv/share/a","\u212aey":1,"key":2}`, `differ only in case`},
		{"number past a double", "payments", "create_payment_link", `{"amount":9007199254740993}`, `not exactly representable`},
		{"lone surrogate", "payments", "create_payment_link", `{"amount":1,"currency":"\ud800"}`, `lone surrogate`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, up := smuggleHarness(t, tt.example)
			_, body := h.post("up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tt.tool+`","arguments":`+tt.args+`}}`)
			if !strings.Contains(string(body), tt.want) || !strings.Contains(string(body), `"error"`) {
				t.Errorf("answer %s, want an error with %s", body, tt.want)
			}
			if calls := up.Calls(); len(calls) > 0 {
				t.Errorf("the upstream received %s", calls)
			}
		})
	}
}

// TestCaseVariantPolicies: where no schema names the key, the example
// policies themselves read keys whatever their case.
func TestCaseVariantPolicies(t *testing.T) {
	for _, tt := range []struct{ example, tool, args, want string }{
		{"payments", "create_refund", `{"AMOUNT":999999}`, "Denied by policy: argument AMOUNT"},
		{"fs-root", "read_any", `{"Path":"/etc/passwd"}`, `Denied by policy: \"/etc/passwd\" is outside /srv/share`},
	} {
		h, up := smuggleHarness(t, tt.example)
		_, body := h.post("up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tt.tool+`","arguments":`+tt.args+`}}`)
		if !strings.Contains(string(body), tt.want) {
			t.Errorf("%s %s: answer %s, want %s", tt.tool, tt.args, body, tt.want)
		}
		if calls := up.Calls(); len(calls) > 0 {
			t.Errorf("the upstream received %s", calls)
		}
	}
}

// TestUpstreamGetsWhatThePolicySaw: an allowed call reaches the upstream
// re-encoded from the one reading every stage had: escapes decoded, space
// gone, numbers and key order as written.
func TestUpstreamGetsWhatThePolicySaw(t *testing.T) {
	h, up := smuggleHarness(t, "payments")
	_, body := h.post("up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_payment_link","arguments":{ "currency" : "\u0075sd", "amount" : 2000 }}}`)
	if !strings.Contains(string(body), "done") {
		t.Fatalf("answer %s", body)
	}
	calls := up.Calls()
	if len(calls) != 1 || !strings.Contains(string(calls[0]), `"arguments":{"currency":"usd","amount":2000}`) {
		t.Fatalf("the upstream received %s", calls)
	}
	row := ledgerCalls(t, h, 1)[0]
	if string(row.Arguments) != `{"amount":2000,"currency":"usd"}` {
		t.Errorf("ledger arguments %s", row.Arguments)
	}
}

// TestArgumentsAgainstSchema: under validate_arguments a call whose
// arguments do not match the tool's (pinned) input schema is refused, naming
// what is wrong, before the policy or the upstream see it; a schema that
// refers to another document (a file, a URL) refuses every call rather than
// be fetched.
func TestArgumentsAgainstSchema(t *testing.T) {
	tools := `{"tools":[{"name":"pay","inputSchema":{"type":"object","properties":{"amount":{"type":"integer","maximum":100}},"required":["amount"],"additionalProperties":false}},` +
		`{"name":"sneaky","inputSchema":{"$ref":"file:///etc/passwd"}}]}`
	up := mcptest.Raw(tools, func(json.RawMessage) string { return `{"content":[{"type":"text","text":"paid"}]}` })
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s\n    validate_arguments: true\n", up.URL))
	for _, tt := range []struct{ tool, args, want string }{
		{"pay", `{"amount":"5"}`, "do not match the tool's input schema"},
		{"pay", `{"amount":500}`, "maximum"},
		{"pay", `{"amount":5,"to":"elsewhere"}`, "additional"},
		{"pay", `{}`, "missing"},
		{"sneaky", `{}`, "may not refer to other documents"},
	} {
		_, body := h.post("up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tt.tool+`","arguments":`+tt.args+`}}`)
		if !strings.Contains(string(body), tt.want) || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s %s = %s, want an error with %q", tt.tool, tt.args, body, tt.want)
		}
	}
	if n := up.Count("tools/call"); n != 0 {
		t.Errorf("%d calls reached the upstream", n)
	}
	if r := h.call("up", "pay", map[string]any{"amount": 5}); r.IsError || r.text() != "paid" {
		t.Errorf("a conforming call = %+v", r)
	}
}

// TestSQLGuardBypassesThroughProxy: the four sql-guard bypasses of issue 20
// (a comment marker in a string, an upper-case key, a MySQL executable
// comment, a # comment hiding a WHERE) are denied end to end under the
// shipped example, and the database server never receives them.
func TestSQLGuardBypassesThroughProxy(t *testing.T) {
	tools := `{"tools":[{"name":"execute_sql","inputSchema":{"type":"object"}}]}`
	up := mcptest.Raw(tools, func(json.RawMessage) string { return `{"content":[{"type":"text","text":"ran"}]}` })
	t.Cleanup(up.Close)
	dir, _ := filepath.Abs("../examples/policies/sql-guard")
	h := start(t, fmt.Sprintf("policy:\n  dir: %s\nservers:\n  db:\n    url: %s\n", dir, up.URL))
	for _, args := range []string{
		`{"query":"SELECT '--'; DROP TABLE users"}`,
		`{"SQL":"DROP TABLE users"}`,
		`{"query":"/*!50000 DROP TABLE users */"}`,
		`{"query":"DELETE FROM users # WHERE id=1"}`,
	} {
		_, body := h.post("db", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_sql","arguments":`+args+`}}`)
		if !strings.Contains(string(body), "Denied by policy") {
			t.Errorf("%s: answer %s, want a deny", args, body)
		}
	}
	if calls := up.Calls(); len(calls) > 0 {
		t.Errorf("the database server received %s", calls)
	}
	if r := h.call("db", "execute_sql", map[string]any{"query": "SELECT id FROM users WHERE id = 1"}); r.IsError || r.text() != "ran" {
		t.Errorf("a plain SELECT = %+v", r)
	}
}

package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/policy"
)

// writePolicy writes files (name → content) to a new directory.
func writePolicy(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const header = "package drawbridge\n\nimport rego.v1\n\n"

func call(tool string, args string) *policy.Input {
	return &policy.Input{Method: "tools/call", Server: "stripe", Tool: policy.Tool{Name: tool},
		Arguments: json.RawMessage(args), Client: policy.Client{Name: "tester"}, Time: time.Now()}
}

// TestDecide covers each kind of answer a policy can give, well-formed or
// not: every malformed one is a deny saying "policy error".
func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		rego       string
		wantAction string
		wantReason string
		wantErr    string
	}{
		{"allow", `decision := {"action": "allow", "reason": "fine"}`, "allow", "fine", ""},
		{"deny", `decision := {"action": "deny", "reason": "no"}`, "deny", "no", ""},
		{"approve", `decision := {"action": "approve", "reason": "ask"}`, "approve", "ask", ""},
		{"reason optional", `decision := {"action": "allow"}`, "allow", "", ""},
		{"undefined", `decision := {"action": "allow"} if input.never`, "deny", "policy error", "undefined"},
		{"not an object", `decision := "allow"`, "deny", "policy error", "not an object"},
		{"unknown action", `decision := {"action": "maybe"}`, "deny", "policy error", "not allow, deny or approve"},
		{"reason not a string", `decision := {"action": "allow", "reason": 7}`, "deny", "policy error", "reason is not a string"},
		{"evaluation error", "decision := {\"action\": \"allow\"} if input.server == \"stripe\"\n\ndecision := {\"action\": \"deny\"} if input.tool.name == \"pay\"",
			"deny", "policy error", "evaluation failed"},
		{"timeout", `decision := {"action": "allow", "reason": sprintf("%d", [count([x | some x in numbers.range(1, 100000000)])])}`,
			"deny", "policy error", "longer than policy.timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := policy.New(context.Background(), policy.Options{Dir: writePolicy(t, map[string]string{"p.rego": header + tt.rego})})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			begin := time.Now()
			d, err := e.Decide(context.Background(), call("pay", `{"amount": 1}`))
			if d.Action != tt.wantAction || !strings.Contains(d.Reason, tt.wantReason) {
				t.Errorf("Decide = %+v, want %s %q", d, tt.wantAction, tt.wantReason)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != "" && (!errors.Is(err, policy.ErrPolicy) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want ErrPolicy with %q", err, tt.wantErr)
			}
			if time.Since(begin) > 2*time.Second {
				t.Errorf("Decide took %s", time.Since(begin))
			}
		})
	}
}

// TestInputDocument checks what a policy sees: every documented field,
// with the tool definition and arguments as JSON values.
func TestInputDocument(t *testing.T) {
	dir := writePolicy(t, map[string]string{"p.rego": header + `
decision := {"action": "allow", "reason": json.marshal(input)}
`})
	e, err := policy.New(context.Background(), policy.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	in := &policy.Input{
		Method: "tools/call", Server: "stripe",
		Tool: policy.Tool{Name: "create_payment_link", Description: "Make a link.",
			Annotations: json.RawMessage(`{"readOnlyHint":false}`), InputSchema: json.RawMessage(`{"type":"object"}`)},
		Arguments: json.RawMessage(`{"amount": 2000, "currency": "usd"}`),
		Client:    policy.Client{Name: "openai-prod", Address: "203.0.113.7"},
		Session:   "s1", Time: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC),
		Request: policy.Request{ID: "req_1", ProtocolVersion: "2025-06-18", UserAgent: "openai-mcp/1.0.0"},
	}
	d, err := e.Decide(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"arguments":{"amount":2000,"currency":"usd"},"client":{"address":"203.0.113.7","name":"openai-prod"},"method":"tools/call","request":{"id":"req_1","protocol_version":"2025-06-18","user_agent":"openai-mcp/1.0.0"},"server":"stripe","session":"s1","time":"2026-11-26T05:00:00Z","tool":{"annotations":{"readOnlyHint":false},"description":"Make a link.","input_schema":{"type":"object"},"name":"create_payment_link"}}`
	if d.Reason != want {
		t.Fatalf("input =\n%s\nwant\n%s", d.Reason, want)
	}
	in.Arguments = nil
	in.Method = "tools/list"
	d, _ = e.Decide(context.Background(), in)
	if strings.Contains(d.Reason, `"arguments"`) {
		t.Fatalf("list-time input has arguments: %s", d.Reason)
	}
}

// TestLoadRefusals: policies that must not serve are refused at load, with
// an error that says why.
func TestLoadRefusals(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		opts    policy.Options
		wantErr string
	}{
		{"http.send", map[string]string{"p.rego": header + `decision := http.send({"method": "GET", "url": "http://127.0.0.1:1"}).body`},
			policy.Options{}, "http.send"},
		{"opa.runtime", map[string]string{"p.rego": header + `decision := {"action": "allow", "reason": opa.runtime().env.HOME}`},
			policy.Options{}, "opa.runtime"},
		{"unused variable (strict)", map[string]string{"p.rego": header + "decision := {\"action\": \"allow\"} if {\n\tx := 1\n\ttrue\n}"},
			policy.Options{}, "assigned var x unused"},
		{"syntax", map[string]string{"p.rego": header + `decision := {`}, policy.Options{}, "p.rego"},
		{"failing test", map[string]string{"p.rego": header + `decision := {"action": "allow"}`,
			"p_test.rego": "package drawbridge_test\n\nimport rego.v1\n\ntest_deny if data.drawbridge.decision.action == \"deny\""},
			policy.Options{}, "1 of 1 tests failed"},
		{"no rego", map[string]string{"data.json": `{}`}, policy.Options{}, "no .rego files"},
		{"bad allow_builtins", map[string]string{"p.rego": header + `decision := {"action": "allow"}`},
			policy.Options{AllowBuiltins: []string{"time.now_ns"}}, "not a restricted builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir = writePolicy(t, tt.files)
			_, err := policy.New(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
	t.Run("http.send when allowed by name", func(t *testing.T) {
		dir := writePolicy(t, map[string]string{"p.rego": header + `decision := {"action": "allow"} if http.send({"method": "GET", "url": input.tool.name}).status_code == 200`})
		if _, err := policy.New(context.Background(), policy.Options{Dir: dir, AllowBuiltins: []string{"http.send"}}); err != nil {
			t.Fatalf("New with allow_builtins: %v", err)
		}
	})
}

// TestDataSources: data.json, data.yaml in a subfolder, inline data and
// the config all reach the policy.
func TestDataSources(t *testing.T) {
	dir := writePolicy(t, map[string]string{
		"p.rego":           header + `decision := {"action": "allow", "reason": concat(",", [data.a, data.limits.b, data.inline, data.config.servers.stripe.read_only[0]])}`,
		"data.json":        `{"a": "from-json"}`,
		"limits/data.yaml": "b: from-yaml\n",
	})
	e, err := policy.New(context.Background(), policy.Options{Dir: dir, Data: map[string]any{"inline": "from-config"},
		Config: map[string]any{"servers": map[string]any{"stripe": map[string]any{"read_only": []any{"list_*"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(context.Background(), call("x", `{}`))
	if err != nil || d.Reason != "from-json,from-yaml,from-config,list_*" {
		t.Fatalf("Decide = %+v %v", d, err)
	}
}

// TestHotReload: an edit takes effect without a restart; a broken edit
// keeps the old policy serving and is reported.
func TestHotReload(t *testing.T) {
	dir := writePolicy(t, map[string]string{"p.rego": header + `decision := {"action": "allow", "reason": "v1"}`})
	e, err := policy.New(context.Background(), policy.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	reason := func() string {
		d, _ := e.Decide(context.Background(), call("x", `{}`))
		return d.Reason
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for reason() != want {
			if time.Now().After(deadline) {
				t.Fatalf("decision reason = %q, want %q", reason(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(header+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`decision := {"action": "deny", "reason": "v2"}`)
	waitFor("v2")
	write(`decision := {"action": "deny", "reason": ` /* broken */)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, err := e.Status(); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("broken edit not reported by Status")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := reason(); got != "v2" {
		t.Fatalf("after a broken edit the decision is %q, want the old policy's v2", got)
	}
	write(`decision := {"action": "allow", "reason": "v3"}`)
	waitFor("v3")
	if gen, _, err := e.Status(); err != nil || gen != 3 {
		t.Fatalf("Status = generation %d, %v; want 3, nil", gen, err)
	}
}

// TestShippedPolicies runs rego/*_test.rego as drawbridge policy test does.
func TestShippedPolicies(t *testing.T) {
	var out bytes.Buffer
	if code := policy.Test(context.Background(), "", "", true, &out, nil); code != 0 {
		t.Fatalf("policy tests exit %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "PASS") {
		t.Fatalf("no PASS in the report:\n%s", out.String())
	}
}

// TestTestExitCodes: 0 on pass, 2 on a failing test (with its print()
// output), 1 when the policy does not load.
func TestTestExitCodes(t *testing.T) {
	pass := writePolicy(t, map[string]string{"p.rego": header + `decision := {"action": "allow"}`,
		"p_test.rego": "package drawbridge_test\n\nimport rego.v1\n\ntest_allow if data.drawbridge.decision.action == \"allow\"\n\ntest_other if true"})
	fail := writePolicy(t, map[string]string{"p.rego": header + `decision := {"action": "allow"}`,
		"p_test.rego": "package drawbridge_test\n\nimport rego.v1\n\ntest_deny if {\n\tprint(\"saw\", data.drawbridge.decision.action)\n\tdata.drawbridge.decision.action == \"deny\"\n}"})
	broken := writePolicy(t, map[string]string{"p.rego": header + `decision := {`})
	for _, tt := range []struct {
		dir, filter string
		want        int
		out         string
	}{
		{pass, "", 0, "PASS: 2/2"},
		{pass, "test_allow", 0, "PASS: 1/1"},
		{fail, "", 2, "saw allow"},
		{broken, "", 1, "p.rego"},
	} {
		var out bytes.Buffer
		if code := policy.Test(context.Background(), tt.dir, tt.filter, false, &out, nil); code != tt.want || !strings.Contains(out.String(), tt.out) {
			t.Errorf("Test(%s, %q) = %d, want %d with %q:\n%s", filepath.Base(tt.dir), tt.filter, code, tt.want, tt.out, out.String())
		}
	}
}

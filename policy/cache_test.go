package policy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestDecisionCacheEligibility: a policy's decisions are cached only when
// its rules read nothing of the input but constant paths into method,
// server, client and tool, and call nothing non-deterministic. The key is
// made of exactly what the rules read.
func TestDecisionCacheEligibility(t *testing.T) {
	const header = "package drawbridge\n\nimport rego.v1\n\n"
	tests := []struct {
		name string
		rego string
		want []string // key fields; nil: not cached
	}{
		{"server and tool name", `decision := {"action": "allow"} if { input.server == "a"; input.tool.name == "b" }`,
			[]string{"server", "tool.name"}},
		{"nested in a data ref", `decision := {"action": "allow"} if data.servers[input.server].open`, []string{"server"}},
		{"tool annotations: the whole definition", `decision := {"action": "allow"} if input.tool.annotations.readOnlyHint`,
			[]string{"tool"}},
		{"client name", `decision := {"action": "allow"} if input.client.name == "ci"`, []string{"client.name"}},
		{"whole client and its name", "decision := {\"action\": \"allow\"} if input.client.name == \"ci\"\n\nx := input.client",
			[]string{"client"}},
		{"constant decision", `decision := {"action": "allow"}`, []string{}},
		{"arguments", `decision := {"action": "allow"} if input.arguments.amount < 100`, nil},
		{"arguments in a helper function", "f(x) if input.arguments.to == x\n\ndecision := {\"action\": \"allow\"} if f(\"me\")", nil},
		{"input time", `decision := {"action": "allow"} if input.time > "2026"`, nil},
		{"request id", `decision := {"action": "allow"} if input.request.id != ""`, nil},
		{"leaks", `decision := {"action": "deny"} if count(input.leaks) > 0`, nil},
		{"session", `decision := {"action": "allow"} if input.session != ""`, nil},
		{"input as a whole", `decision := {"action": "allow"} if { x := input; x.server == "a" }`, nil},
		{"input walked", `decision := {"action": "allow"} if { walk(input, [_, v]); v == "x" }`, nil},
		{"input by a variable key", `decision := {"action": "allow"} if { some k; input[k] == "a" }`, nil},
		{"object.get on input", `decision := {"action": "allow"} if object.get(input, "server", "") == "a"`, nil},
		{"time.now_ns", `decision := {"action": "allow"} if time.now_ns() > 0`, nil},
		{"nested time.now_ns", `decision := {"action": "allow"} if time.weekday(time.now_ns()) != "Sunday"`, nil},
		{"rand.intn", `decision := {"action": "allow"} if rand.intn("x", 10) > 4`, nil},
		{"output rule reads the result", "decision := {\"action\": \"allow\"}\n\noutput := {\"action\": \"deny\"} if input.result.isError",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, map[string]string{"p.rego": header + tt.rego})
			dc := e.cur.Load().cache
			if tt.want == nil {
				if dc != nil {
					t.Fatalf("cached with key %v; want evaluated every time", fieldNames(dc))
				}
				return
			}
			if dc == nil {
				t.Fatalf("not cached; want key %v", tt.want)
			}
			if got := fieldNames(dc); !slices.Equal(got, tt.want) {
				t.Fatalf("key %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDecisionCacheShippedAndExamples: the shipped default is cached by
// server and tool name; each example that reads arguments or the clock is
// not.
func TestDecisionCacheShippedAndExamples(t *testing.T) {
	shipped, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fieldNames(shipped.cur.Load().cache); !slices.Equal(got, []string{"server", "tool.name"}) {
		t.Errorf("shipped default: key %v, want [server tool.name]", got)
	}
	for dir, cached := range map[string]bool{"payments": false, "business-hours": false, "fs-root": false,
		"sql-guard": false, "pii-hold": false, "client-scopes": true} {
		e, err := New(context.Background(), Options{Dir: filepath.Join("..", "examples", "policies", dir)})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.cur.Load().cache != nil; got != cached {
			t.Errorf("%s: cached = %v, want %v (key %v)", dir, got, cached, fieldNames(e.cur.Load().cache))
		}
	}
}

// TestDecisionCacheAnswers: cached or not, every input gets the decision
// the policy gives it: different clients, tools and arguments are never
// answered from one another's evaluation, and a reload starts afresh.
func TestDecisionCacheAnswers(t *testing.T) {
	ctx := context.Background()
	const header = "package drawbridge\n\nimport rego.v1\n\n"
	byClient := header + `decision := {"action": "allow", "reason": input.client.name} if input.client.name == "ci"
else := {"action": "deny", "reason": concat("/", [input.client.name, input.tool.name])}`
	dir := t.TempDir()
	path := filepath.Join(dir, "p.rego")
	if err := os.WriteFile(path, []byte(byClient), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := New(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	in := func(client, tool, args string) *Input {
		return &Input{Method: "tools/call", Server: "s", Tool: Tool{Name: tool}, Client: Client{Name: client},
			Arguments: json.RawMessage(args), Time: time.Now()}
	}
	for range 3 { // the first round evaluates, the next ones are answered from the cache
		for _, c := range []struct{ client, tool, action, reason string }{
			{"ci", "a", "allow", "ci"}, {"bot", "a", "deny", "bot/a"}, {"bot", "b", "deny", "bot/b"}, {"ci", "b", "allow", "ci"},
		} {
			d, err := e.Decide(ctx, in(c.client, c.tool, `{}`))
			if err != nil || d.Action != c.action || d.Reason != c.reason {
				t.Fatalf("%s %s: %+v %v; want %s %q", c.client, c.tool, d, err, c.action, c.reason)
			}
		}
	}

	// Tool definitions an upstream crafts to run together ("list" + "x\x00y"
	// and "list\x00x" + "y") are two definitions, with two decisions.
	if err := os.WriteFile(path, []byte(header+`decision := {"action": "allow", "reason": concat("|", [input.tool.name, input.tool.description])}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for _, tool := range []Tool{{Name: "list", Description: "x\x00y"}, {Name: "list\x00x", Description: "y"}} {
			i := in("ci", "", `{}`)
			i.Tool = tool
			if d, _ := e.Decide(ctx, i); d.Reason != tool.Name+"|"+tool.Description {
				t.Fatalf("tool %q: reason %q", tool.Name, d.Reason)
			}
		}
	}

	// Arguments-based: never cached, so a second call with other arguments
	// gets its own decision.
	if err := os.WriteFile(path, []byte(header+`decision := {"action": "allow"} if input.arguments.amount < 100
else := {"action": "deny", "reason": "too much"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ args, action string }{{`{"amount": 5}`, "allow"}, {`{"amount": 500}`, "deny"}, {`{"amount": 5}`, "allow"}} {
		if d, _ := e.Decide(ctx, in("ci", "pay", c.args)); d.Action != c.action {
			t.Fatalf("after reload, %s: %+v, want %s", c.args, d, c.action)
		}
	}
}

func fieldNames(dc *decisionCache) []string {
	if dc == nil {
		return nil
	}
	return append([]string{}, dc.paths...)
}

func newEngine(t *testing.T, files map[string]string) *Engine {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return e
}

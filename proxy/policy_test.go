package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

const regoHeader = "package drawbridge\n\nimport rego.v1\n\n"

// decisions is a policy with one rule per tool of mcptest's server.
const decisions = regoHeader + `
decision := {"action": "allow", "reason": "echo is harmless"} if input.tool.name in {"echo", "raw_schema"}

decision := {"action": "deny", "reason": "adding is forbidden"} if input.tool.name == "add"

decision := {"action": "approve", "reason": "headers are sensitive"} if input.tool.name == "headers"

decision := {"action": "deny", "reason": "never listed"} if input.tool.name == "danger_delete"

decision := {"action": "allow", "reason": sprintf("%d", [input.arguments.n])} if input.tool.name == "fail"

decision := {"action": "allow", "reason": sprintf("%d", [count([x | some x in numbers.range(1, 100000000)])])} if {
	input.tool.name == "slow"
	input.method == "tools/call"
}

decision := {"action": "allow", "reason": "listed"} if {
	input.tool.name in {"fail", "slow"}
	input.method == "tools/list"
}

# rpc_fail: two rules disagree, an evaluation error.
decision := {"action": "allow"} if input.tool.name == "rpc_fail"

decision := {"action": "deny"} if {
	input.tool.name == "rpc_fail"
	input.method == "tools/call"
}
`

func policyHarness(t *testing.T, rego string, extra string) (*harness, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(rego), 0o644); err != nil {
		t.Fatal(err)
	}
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	return start(t, fmt.Sprintf("policy:\n  dir: %s\n%sapproval: {timeout: 100ms}\nservers:\n  up:\n    url: %s/mcp\n", dir, extra, up.URL)), dir
}

// TestPolicyOnTheCall: each decision reaches the model as it should, and
// what the policy denies is also hidden from the list.
func TestPolicyOnTheCall(t *testing.T) {
	h, _ := policyHarness(t, decisions, "")
	names := h.toolNames("up")
	for _, hidden := range []string{"add", "danger_delete", "env"} {
		if slices.Contains(names, hidden) {
			t.Errorf("tools/list = %v, want %s hidden", names, hidden)
		}
	}
	for _, shown := range []string{"echo", "headers", "fail", "slow", "rpc_fail"} {
		if !slices.Contains(names, shown) {
			t.Errorf("tools/list = %v, want %s shown", names, shown)
		}
	}
	tests := []struct {
		tool     string
		args     map[string]any
		wantText string
		wantErr  bool
	}{
		{"echo", map[string]any{"text": "allowed"}, "allowed", false},
		{"add", map[string]any{"a": 1, "b": 2}, "Denied by policy: adding is forbidden", true},
		{"headers", nil, "Approval apr_", true},
		{"env", nil, "Denied by policy: policy error", true},      // undefined
		{"rpc_fail", nil, "Denied by policy: policy error", true}, // evaluation error
		{"slow", map[string]any{"ms": 1}, "Denied by policy: policy error", true},
		{"danger_delete", nil, "Denied by policy: never listed", true},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			begin := time.Now()
			res := h.call("up", tt.tool, tt.args)
			if res.IsError != tt.wantErr || !strings.HasPrefix(res.text(), tt.wantText) {
				t.Fatalf("call = %+v, want %q (error %v)", res, tt.wantText, tt.wantErr)
			}
			if d := time.Since(begin); d > 2*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
	logs := h.Logs.String()
	for _, want := range []string{"is undefined for this input", "evaluation failed", "longer than policy.timeout"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks the policy error detail %q", want)
		}
	}
}

// TestPolicyHotReloadThroughProxy: an edit changes decisions without a
// restart; a broken edit keeps the old policy and shows in the admin listener's /readyz.
func TestPolicyHotReloadThroughProxy(t *testing.T) {
	h, dir := policyHarness(t, regoHeader+`decision := {"action": "allow", "reason": "v1"}`, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := h.Engine.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	if res := h.call("up", "echo", map[string]any{"text": "x"}); res.IsError {
		t.Fatalf("v1 call = %+v", res)
	}
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(regoHeader+body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`decision := {"action": "deny", "reason": "v2 says no"}`)
	eventually(t, "the new policy to decide", func() bool {
		return strings.Contains(h.call("up", "echo", map[string]any{"text": "x"}).text(), "v2 says no")
	})
	write(`decision := {"action": "allow", "reason": `)
	eventually(t, "/readyz to report the broken reload", func() bool {
		_, report := readiness(t, h)
		var body struct {
			Policy struct {
				OK     bool   `json:"ok"`
				Detail string `json:"detail"`
			} `json:"policy"`
		}
		_ = json.Unmarshal(report, &body)
		return !body.Policy.OK && strings.Contains(body.Policy.Detail, "last reload failed")
	})
	if got := h.call("up", "echo", map[string]any{"text": "x"}).text(); !strings.Contains(got, "v2 says no") {
		t.Fatalf("after a broken edit: %q, want the v2 policy still deciding", got)
	}
	if !strings.Contains(h.Logs.String(), "policy reload failed; the previous policy keeps serving") {
		t.Fatal("broken reload not logged")
	}
}

// TestShadowMode: decisions are computed and logged; calls proceed.
func TestShadowMode(t *testing.T) {
	h, _ := policyHarness(t, regoHeader+`decision := {"action": "deny", "reason": "would deny"}`, "  mode: shadow\n")
	if names := h.toolNames("up"); !slices.Contains(names, "echo") {
		t.Fatalf("shadow mode hid tools: %v", names)
	}
	if res := h.call("up", "echo", map[string]any{"text": "through"}); res.IsError || res.text() != "through" {
		t.Fatalf("shadow call = %+v, want it to proceed", res)
	}
	if logs := h.Logs.String(); !strings.Contains(logs, "shadow decision") || !strings.Contains(logs, "would deny") {
		t.Fatal("shadow decision not logged")
	}
}

// TestDefaultPolicy: with no policy.dir the shipped policy decides: tools
// named read-only in the config run, the rest wait for approval.
func TestDefaultPolicy(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("policy:\n  mode: enforce\napproval: {timeout: 100ms}\nservers:\n  up:\n    url: %s/mcp\n    tools:\n      read_only: [echo, \"raw_*\"]\n", up.URL))
	if res := h.call("up", "echo", map[string]any{"text": "ok"}); res.IsError {
		t.Fatalf("echo = %+v", res)
	}
	if res := h.call("up", "raw_schema", nil); res.IsError {
		t.Fatalf("raw_schema (glob) = %+v", res)
	}
	res := h.call("up", "add", map[string]any{"a": 1, "b": 1})
	if !res.IsError || !strings.Contains(res.text(), "is pending; ask the operator") {
		t.Fatalf("add = %+v, want held for approval", res)
	}
	if names := h.toolNames("up"); !slices.Contains(names, "add") {
		t.Fatalf("approve-decided tools must stay listed: %v", names)
	}
}

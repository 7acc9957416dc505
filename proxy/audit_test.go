package proxy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// ledgerCalls reads the calls view, waiting until at least n rows with an
// end time are there (completions are written just after the answer).
func ledgerCalls(t *testing.T, h *harness, n int) []audit.Call {
	t.Helper()
	var calls []audit.Call
	eventually(t, fmt.Sprintf("%d finished calls in the ledger", n), func() bool {
		r, err := audit.OpenReader(context.Background(), h.Cfg.Audit.Path)
		if err != nil {
			return false
		}
		defer r.Close()
		calls, err = r.Calls(context.Background(), audit.Filter{})
		finished := 0
		for _, c := range calls {
			if c.Status != "" {
				finished++
			}
		}
		return err == nil && finished >= n
	})
	return calls
}

func byStatus(calls []audit.Call) map[string][]audit.Call {
	m := map[string][]audit.Call{}
	for _, c := range calls {
		m[c.Status] = append(m[c.Status], c)
	}
	return m
}

// TestEveryStatusInCallsView produces each status with a real scenario and
// finds it in the calls view, with the fields a reviewer needs.
func TestEveryStatusInCallsView(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte(regoHeader+`
decision := {"action": "deny", "reason": "adding is forbidden"} if input.tool.name == "add"
else := {"action": "allow", "reason": "fine"}
`), 0o644)
	h := start(t, fmt.Sprintf(`policy:
  dir: %s
servers:
  up:
    url: %s/mcp
    tools: {deny: [danger_delete]}
  quick:
    url: %s/mcp
    timeout: 300ms
  down:
    url: http://%s/mcp
    timeout: 1s
`, dir, up.URL, up.URL, dead))

	h.call("up", "echo", map[string]any{"text": "hello ledger"}, "Mcp-Session-Id", "sess-1")
	h.call("up", "fail", nil)
	h.call("up", "add", map[string]any{"a": 1, "b": 2})
	h.call("up", "danger_delete", nil)
	h.rpc("up", "tools/call", map[string]any{"name": "rpc_fail", "arguments": map[string]any{}})
	h.call("down", "echo", map[string]any{"text": "x"})
	h.toolNames("quick")
	h.call("quick", "slow", map[string]any{"ms": 5000})
	h.call("up", "ecoh", nil)
	h.post("up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":`)
	h.post("up", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, "Authorization", "")
	h.toolNames("up")
	// cancelled: the client goes away during a slow call.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, "POST", h.URL+"/mcp/up",
		strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"slow","arguments":{"ms":3000}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.Token)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the cancelled request completed")
	}
	cancel()

	calls := ledgerCalls(t, h, 13)
	got := byStatus(calls)
	for status, check := range map[string]func(audit.Call) bool{
		audit.StatusOK: func(c audit.Call) bool {
			return c.Tool == "echo" && c.Decision == "allow" && c.Reason == "fine" && c.Client == "tester" &&
				string(c.Arguments) == `{"text":"hello ledger"}` && strings.Contains(c.Result, "hello ledger") &&
				c.DurationMS != nil && c.UpstreamMS != nil && c.PolicyUS != nil && c.SessionID == "sess-1" &&
				c.ProtocolVersion == "2025-06-18" && c.RequestID != "" && c.EndedAt >= c.StartedAt && c.PolicyMode == "enforce"
		},
		audit.StatusToolError: func(c audit.Call) bool { return c.Tool == "fail" && strings.Contains(c.Result, "on purpose") },
		audit.StatusDenied: func(c audit.Call) bool {
			return c.Tool == "add" && c.Reason == "adding is forbidden" && c.UpstreamMS == nil
		},
		audit.StatusUpstreamError: func(c audit.Call) bool { return c.Tool == "rpc_fail" && strings.Contains(c.Error, "on purpose") },
		audit.StatusTimeout: func(c audit.Call) bool {
			return c.Server == "quick" && strings.Contains(c.Error, "no answer within 300ms")
		},
		audit.StatusCancelled:  func(c audit.Call) bool { return c.Tool == "slow" && c.Server == "up" },
		audit.StatusBadRequest: func(c audit.Call) bool { return c.Tool == "ecoh" && strings.Contains(c.Error, "Did you mean: echo") },
		audit.StatusUnauthenticated: func(c audit.Call) bool {
			return c.Server == "up" && strings.Contains(c.Error, "missing client token")
		},
	} {
		found := false
		for _, c := range got[status] {
			found = found || check(c)
		}
		if !found {
			t.Errorf("no %s call as expected in the calls view; %s rows: %+v", status, status, got[status])
		}
	}
	// Two more each: config-denied danger_delete and the down upstream, the
	// malformed body, the tools/list.
	checks := map[string]bool{}
	for _, c := range calls {
		switch {
		case c.Tool == "danger_delete" && c.Status == audit.StatusDenied && strings.HasPrefix(c.Reason, "config:"):
			checks["config deny"] = true
		case c.Server == "down" && c.Status == audit.StatusUpstreamError && strings.Contains(c.Error, "connection refused"):
			checks["down"] = true
		case c.Status == audit.StatusBadRequest && strings.Contains(c.Error, "not valid JSON"):
			checks["malformed"] = true
		case c.Method == "tools/list" && c.Status == audit.StatusOK && strings.Contains(c.Result, `"echo"`):
			checks["list"] = true
		}
	}
	for _, k := range []string{"config deny", "down", "malformed", "list"} {
		if !checks[k] {
			t.Errorf("ledger lacks the %s case", k)
		}
	}
	// The same view answers the README's sqlite3 queries.
	if _, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", h.Cfg.Audit.Path,
			"SELECT tool, reason FROM calls WHERE decision = 'deny' AND status = 'denied' AND date(started_at) = date('now') ORDER BY tool").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "add|adding is forbidden") {
			t.Errorf("sqlite3 denied-calls query = %v %s", err, out)
		}
	}
}

// TestWriteAhead: the decision is on disk before the upstream sees the call.
func TestWriteAhead(t *testing.T) {
	var ledgerPath atomic.Value
	s := mcptest.NewServer("up")
	s.AddTool(mcp.NewTool("check_ledger"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		r, err := audit.OpenReader(ctx, ledgerPath.Load().(string))
		if err != nil {
			return mcp.NewToolResultText("no ledger: " + err.Error()), nil
		}
		defer r.Close()
		calls, err := r.Calls(ctx, audit.Filter{Tool: "check_ledger"})
		if err != nil || len(calls) != 1 || calls[0].Decision != "allow" || calls[0].Status != "" {
			return mcp.NewToolResultText(fmt.Sprintf("not recorded first: %v %+v", err, calls)), nil
		}
		return mcp.NewToolResultText("recorded before the call"), nil
	})
	up := mcptest.Streamable(s)
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n", up.URL))
	ledgerPath.Store(h.Cfg.Audit.Path)
	if got := h.call("up", "check_ledger", nil).text(); got != "recorded before the call" {
		t.Fatalf("upstream saw: %s", got)
	}
}

// TestAuditFailureRefusesCalls: when the ledger cannot be written, calls are
// refused with a clear error and never reach the upstream, unless the
// operator chose audit.on_error: allow.
func TestAuditFailureRefusesCalls(t *testing.T) {
	mcptest.NeedSQLite3(t)
	for _, onError := range []string{"deny", "allow"} {
		t.Run(onError, func(t *testing.T) {
			var calls atomic.Int32
			hooks := &server.Hooks{}
			hooks.AddBeforeCallTool(func(context.Context, any, *mcp.CallToolRequest) { calls.Add(1) })
			up := mcptest.Streamable(mcptest.NewServer("up", server.WithHooks(hooks)))
			t.Cleanup(up.Close)
			h := start(t, fmt.Sprintf("audit:\n  on_error: %s\nservers:\n  up:\n    url: %s/mcp\n", onError, up.URL))
			h.call("up", "echo", map[string]any{"text": "before"})
			out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", h.Cfg.Audit.Path,
				"CREATE TRIGGER full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;").CombinedOutput()
			if err != nil {
				t.Fatalf("sqlite3: %v %s", err, out)
			}
			res := h.call("up", "echo", map[string]any{"text": "during"})
			switch onError {
			case "deny":
				if !res.IsError || !strings.Contains(res.text(), "audit log cannot be written") || calls.Load() != 1 {
					t.Fatalf("call = %+v (upstream calls %d), want refused before the upstream", res, calls.Load())
				}
				if !strings.Contains(h.Logs.String(), "database or disk is full") {
					t.Fatal("the cause is not in the log")
				}
				// Space returns: calls run and are recorded again, on an
				// unbroken chain.
				if out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", h.Cfg.Audit.Path, "DROP TRIGGER full").CombinedOutput(); err != nil {
					t.Fatalf("sqlite3: %v %s", err, out)
				}
				if res := h.call("up", "echo", map[string]any{"text": "after"}); res.IsError || res.text() != "after" {
					t.Fatalf("after recovery = %+v", res)
				}
				r, err := audit.OpenReader(context.Background(), h.Cfg.Audit.Path)
				if err != nil {
					t.Fatal(err)
				}
				v, err := r.Verify(context.Background(), audit.VerifyOptions{})
				r.Close()
				if err != nil || v.Problem != "" {
					t.Fatalf("chain after recovery: %+v %v", v, err)
				}
			case "allow":
				if res.IsError || res.text() != "during" || calls.Load() != 2 {
					t.Fatalf("call = %+v (upstream calls %d), want it to proceed", res, calls.Load())
				}
			}
		})
	}
}

// TestLedgerRedaction: sensitive argument keys and configured credentials
// never reach the ledger file, in any form.
func TestLedgerRedaction(t *testing.T) {
	const canary = "sk_live_canary_7f3a9b"
	t.Setenv("UP_KEY", canary)
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("audit:\n  redact_keys: [ssn_number]\nservers:\n  up:\n    url: %s/mcp\n    headers: {Authorization: \"Bearer ${env:UP_KEY}\"}\n", up.URL))
	h.call("up", "echo", map[string]any{"text": "key is " + canary, "password": "hunter2",
		"nested": map[string]any{"Token": "abc123", "ssn_number": "123-45-6789"}})
	h.call("up", "leak", nil)
	h.rpc("up", "tools/call", map[string]any{"name": "leak_error", "arguments": map[string]any{}})
	calls := ledgerCalls(t, h, 3)
	var echo audit.Call
	for _, c := range calls {
		if c.Tool == "echo" {
			echo = c
		}
	}
	want := `{"nested":{"Token":"[REDACTED]","ssn_number":"[REDACTED]"},"password":"[REDACTED]","text":"key is [REDACTED:up.Authorization]"}`
	if string(echo.Arguments) != want {
		t.Fatalf("arguments = %s, want %s", echo.Arguments, want)
	}
	h.Audit.Close() // flush, then look at every byte on disk
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(h.Cfg.Audit.Path + suffix)
		for _, needle := range []string{canary, "hunter2", "abc123", "123-45-6789"} {
			if strings.Contains(string(b), needle) {
				t.Errorf("audit.db%s contains %q", suffix, needle)
			}
		}
	}
}

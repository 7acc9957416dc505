package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// approvalHarness serves mcptest's tools with the shipped policy (echo
// read-only, the rest held) and the admin API on a loopback test server.
func approvalHarness(t *testing.T, extra string) (*harness, *httptest.Server) {
	t.Helper()
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("policy: {mode: enforce}\n%sservers:\n  up:\n    url: %s/mcp\n    tools: {read_only: [echo]}\n", extra, up.URL))
	admin := httptest.NewServer(approval.Handler(h.Broker, "admin-secret"))
	t.Cleanup(admin.Close)
	return h, admin
}

func adminCall(t *testing.T, admin *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, admin.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer admin-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pendingID waits for a pending approval of tool and returns its id.
func pendingID(t *testing.T, admin *httptest.Server, tool string) string {
	t.Helper()
	var id string
	eventually(t, "a pending approval of "+tool, func() bool {
		_, body := adminCall(t, admin, "GET", "/api/approvals", "")
		var list []state.Approval
		json.Unmarshal([]byte(body), &list)
		for _, a := range list {
			if a.Tool == tool {
				id = a.ID
				return true
			}
		}
		return false
	})
	return id
}

// callAsync runs a call in the background.
func callAsync(h *harness, tool string, args map[string]any) chan toolResult {
	ch := make(chan toolResult, 1)
	go func() { ch <- h.call("up", tool, args) }()
	return ch
}

// TestApprovalHeld: the call waits; approving through the admin API lets it
// through with its result; denying gives the model the operator's reason.
func TestApprovalHeld(t *testing.T) {
	h, admin := approvalHarness(t, "")
	if code, _ := adminCall(t, admin, "GET", "/api/approvals", ""); code != 200 {
		t.Fatalf("admin API = %d", code)
	}
	req, _ := http.NewRequest("GET", admin.URL+"/api/approvals", nil)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Fatalf("admin API without the token = %d, want 401", resp.StatusCode)
	}

	res := callAsync(h, "add", map[string]any{"a": 20, "b": 22})
	id := pendingID(t, admin, "add")
	if code, body := adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", `{"by": "alice"}`); code != 200 {
		t.Fatalf("approve = %d %s", code, body)
	}
	if got := <-res; got.IsError || got.text() != "42" {
		t.Fatalf("approved call = %+v", got)
	}

	res = callAsync(h, "add", map[string]any{"a": 1, "b": 1})
	id = pendingID(t, admin, "add")
	adminCall(t, admin, "POST", "/api/approvals/"+id+"/deny", `{"reason": "not today", "by": "bob"}`)
	if got := <-res; !got.IsError || got.text() != "Denied by operator: not today" {
		t.Fatalf("denied call = %+v", got)
	}
	if code, _ := adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", ""); code != 404 {
		t.Fatalf("approving a settled approval = %d, want 404", code)
	}

	calls := ledgerCalls(t, h, 2)
	var approved, denied bool
	for _, c := range calls {
		approved = approved || (c.Tool == "add" && c.Status == audit.StatusOK && c.ApprovedBy == "alice" && strings.HasPrefix(c.ApprovalID, "apr_"))
		denied = denied || (c.Tool == "add" && c.Status == audit.StatusDenied && c.ApprovalID == id)
	}
	if !approved || !denied {
		t.Fatalf("ledger: approved %v denied %v; calls %+v", approved, denied, calls)
	}
}

// TestApprovalTimeoutThenGrant: nobody answers in time, so the model is told
// to retry; an approval given late becomes a grant for exactly that call.
func TestApprovalTimeoutThenGrant(t *testing.T) {
	h, admin := approvalHarness(t, "approval: {timeout: 200ms, grant_ttl: 1m}\n")
	got := h.call("up", "add", map[string]any{"a": 2, "b": 3})
	if !got.IsError || !strings.Contains(got.text(), "is pending; ask the operator to approve it, then retry the same call") {
		t.Fatalf("unanswered call = %+v", got)
	}
	id := pendingID(t, admin, "add")
	if !strings.Contains(got.text(), id) {
		t.Fatalf("the message %q does not name %s", got.text(), id)
	}
	adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", "")
	if got := h.call("up", "add", map[string]any{"b": 3, "a": 2}); got.IsError || got.text() != "5" {
		t.Fatalf("retry with the same arguments (reordered) = %+v, want it granted", got)
	}
	for _, tt := range []struct {
		tool string
		args map[string]any
		kv   []string
	}{
		{"add", map[string]any{"a": 2, "b": 4}, nil},
		{"env", nil, nil},
	} {
		if got := h.call("up", tt.tool, tt.args, tt.kv...); !got.IsError || !strings.Contains(got.text(), "is pending") {
			t.Fatalf("%s %v = %+v, want held again: a grant covers only the same call", tt.tool, tt.args, got)
		}
	}
	other, _ := h.State.CreateToken(context.Background(), "other", nil, 0)
	if got := h.call("up", "add", map[string]any{"a": 2, "b": 3}, "Authorization", "Bearer "+other); !got.IsError {
		t.Fatalf("another client with the same call = %+v, want held", got)
	}
	calls := ledgerCalls(t, h, 5)
	var timedOut, granted bool
	for _, c := range calls {
		timedOut = timedOut || (c.Status == audit.StatusApprovalTimeout && c.ApprovalID == id)
		granted = granted || (c.Status == audit.StatusOK && c.ApprovalID == id && c.Tool == "add")
	}
	if !timedOut || !granted {
		t.Fatalf("ledger: approval_timeout %v, granted call %v", timedOut, granted)
	}
}

// TestApprovalRemember: --remember keeps the grant past grant_ttl.
func TestApprovalRemember(t *testing.T) {
	h, admin := approvalHarness(t, "approval: {timeout: 100ms, grant_ttl: 200ms}\n")
	h.call("up", "add", map[string]any{"a": 1, "b": 1})
	id := pendingID(t, admin, "add")
	adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", `{"remember": "1h"}`)
	time.Sleep(300 * time.Millisecond)
	if got := h.call("up", "add", map[string]any{"a": 1, "b": 1}); got.IsError {
		t.Fatalf("after grant_ttl, with remember = %+v", got)
	}
}

// TestTwoApprovalsOtherOrder: two held calls, settled in the reverse order.
func TestTwoApprovalsOtherOrder(t *testing.T) {
	h, admin := approvalHarness(t, "")
	first := callAsync(h, "add", map[string]any{"a": 1, "b": 2})
	idFirst := pendingID(t, admin, "add")
	second := callAsync(h, "env", nil)
	idSecond := pendingID(t, admin, "env")
	adminCall(t, admin, "POST", "/api/approvals/"+idSecond+"/deny", `{"reason": "second denied"}`)
	if got := <-second; got.text() != "Denied by operator: second denied" {
		t.Fatalf("second = %+v", got)
	}
	adminCall(t, admin, "POST", "/api/approvals/"+idFirst+"/approve", "")
	if got := <-first; got.text() != "3" {
		t.Fatalf("first = %+v", got)
	}
}

// TestApprovalsExpireOnRestart: pending approvals left by a previous run
// expire at start, and the ledger says so.
func TestApprovalsExpireOnRestart(t *testing.T) {
	h, admin := approvalHarness(t, "approval: {timeout: 100ms}\n")
	h.call("up", "add", map[string]any{"a": 1, "b": 1})
	id := pendingID(t, admin, "add")
	restarted := approval.New(approval.Options{DB: h.State, OnEvent: func(event string, a state.Approval) {
		h.Audit.Enqueue(&audit.Event{Kind: audit.KindApproval, Method: "approval/" + event, ApprovalID: a.ID})
	}})
	defer restarted.Start(context.Background())()
	if list, _ := restarted.Pending(context.Background()); len(list) != 0 {
		t.Fatalf("pending after restart = %+v", list)
	}
	eventually(t, "the expiry in the ledger", func() bool {
		r, err := audit.OpenReader(context.Background(), h.Cfg.Audit.Path)
		if err != nil {
			return false
		}
		defer r.Close()
		evs, _ := r.ApprovalEvents(context.Background(), id)
		var methods []string
		for _, e := range evs {
			methods = append(methods, e.Method)
		}
		return strings.Contains(strings.Join(methods, ","), "approval/created") && strings.Contains(strings.Join(methods, ","), "approval/expired")
	})
}

// TestApprovalWebhook: a new approval is POSTed, Slack-shaped, with the
// command that approves it.
func TestApprovalWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body.Text)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	h, admin := approvalHarness(t, fmt.Sprintf("approval: {timeout: 100ms, webhook_url: %q}\n", hook.URL))
	h.call("up", "add", map[string]any{"a": 1, "b": 1})
	id := pendingID(t, admin, "add")
	eventually(t, "the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1 && strings.Contains(got[0], "drawbridge approvals approve "+id) && strings.Contains(got[0], "up/add")
	})
}

// TestApprovalProgress: a client that gave a progress token and accepts an
// event stream hears progress notifications while the call waits, then the
// answer, on the same stream.
func TestApprovalProgress(t *testing.T) {
	h, _ := approvalHarness(t, "approval: {timeout: 1s}\n")
	resp, body := h.post("up", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_meta":{"progressToken":"tok-9"}}}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q, want an event stream", ct)
	}
	events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	if len(events) < 3 {
		t.Fatalf("%d events, want progress then the response:\n%s", len(events), body)
	}
	for _, ev := range events[:len(events)-1] {
		if !strings.Contains(ev, `"method":"notifications/progress"`) || !strings.Contains(ev, `"progressToken":"tok-9"`) ||
			!strings.Contains(ev, "waiting for a person to approve apr_") {
			t.Fatalf("event %q is not a progress notification", ev)
		}
	}
	if last := events[len(events)-1]; !strings.Contains(last, `"id":5`) || !strings.Contains(last, "is pending") {
		t.Fatalf("last event %q is not the response", last)
	}
	// Without a progress token: a plain JSON answer.
	resp, _ = h.post("up", `{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"add","arguments":{"a":5,"b":5}}}`)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("without a progress token, Content-Type = %q", ct)
	}
}

// TestRevokedWhileHeld: a call whose token is revoked while it waits for
// approval does not run when approved later.
func TestRevokedWhileHeld(t *testing.T) {
	h, admin := approvalHarness(t, "approval: {timeout: 30s}\n")
	tok, err := h.State.CreateToken(context.Background(), "alice", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the token cache rechecks every 100 ms
	res := make(chan toolResult, 1)
	go func() { res <- h.call("up", "add", map[string]any{"a": 1, "b": 1}, "Authorization", "Bearer "+tok) }()
	id := pendingID(t, admin, "add")
	if err := h.State.RevokeToken(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the token cache rechecks every 100 ms
	if code, body := adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", `{}`); code != http.StatusOK {
		t.Fatalf("approve = %d %s", code, body)
	}
	r := <-res
	if !r.IsError || !strings.Contains(r.text(), "revoked or expired while approval") {
		t.Fatalf("call of a revoked token = %+v, want it refused", r)
	}
}

// TestGrantNotInheritedByName: a grant belongs to the token that was
// approved; a new token created under a revoked token's name starts
// without it.
func TestGrantNotInheritedByName(t *testing.T) {
	h, admin := approvalHarness(t, "approval: {timeout: 300ms, grant_ttl: 1h}\n")
	ctx := context.Background()
	first, _ := h.State.CreateToken(ctx, "bob", nil, 0)
	time.Sleep(150 * time.Millisecond) // the token cache rechecks every 100 ms
	args := map[string]any{"a": 40, "b": 2}
	go h.call("up", "add", args, "Authorization", "Bearer "+first)
	id := pendingID(t, admin, "add")
	if code, body := adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", `{}`); code != http.StatusOK {
		t.Fatalf("approve = %d %s", code, body)
	}
	eventually(t, "the grant to work for the approved token", func() bool {
		r := h.call("up", "add", args, "Authorization", "Bearer "+first)
		return !r.IsError && r.text() == "42"
	})
	_ = h.State.RevokeToken(ctx, "bob")
	second, err := h.State.CreateToken(ctx, "bob", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if r := h.call("up", "add", args, "Authorization", "Bearer "+second); !r.IsError || !strings.Contains(r.text(), "is pending") {
		t.Fatalf("the new bob's call = %+v, want it held, not granted", r)
	}
}

// TestHeldCallStartsAtArrival: a call held for approval is recorded with
// the time it arrived, not the time it was decided.
func TestHeldCallStartsAtArrival(t *testing.T) {
	h, admin := approvalHarness(t, "approval: {timeout: 30s}\n")
	arrived := time.Now()
	res := callAsync(h, "add", map[string]any{"a": 20, "b": 22})
	id := pendingID(t, admin, "add")
	time.Sleep(800 * time.Millisecond)
	adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", `{}`)
	if r := <-res; r.text() != "42" {
		t.Fatalf("approved call = %+v", r)
	}
	for _, c := range ledgerCalls(t, h, 1) {
		if c.Tool != "add" {
			continue
		}
		started, _ := time.Parse(time.RFC3339Nano, c.StartedAt)
		ended, _ := time.Parse(time.RFC3339Nano, c.EndedAt)
		if started.Sub(arrived) > 500*time.Millisecond || ended.Sub(started) < 700*time.Millisecond {
			t.Errorf("started_at %s, ended_at %s for a call that arrived at %s and waited 800ms", c.StartedAt, c.EndedAt, arrived.UTC().Format(time.RFC3339Nano))
		}
	}
}

package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// TestHTTPUpstreamFaults: an upstream that answers a call with a 500,
// broken JSON, a cut-off event stream, a reset connection, silence or a
// flood gets the model a tool error naming it, the ledger a failed call,
// and Drawbridge goes on serving: the next call to the same upstream, once
// it behaves, succeeds.
func TestHTTPUpstreamFaults(t *testing.T) {
	var flooded atomic.Int64
	faults := []struct {
		name, status string
		fault        func(w http.ResponseWriter, r *http.Request)
	}{
		{"500", "upstream_error", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }},
		{"invalid JSON", "upstream_error", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"jsonrpc":"2.0","id":`))
		}},
		{"truncated SSE", "upstream_error", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\","))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}},
		{"connection reset", "upstream_error", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}},
		{"never answers", "timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"flood", "upstream_error", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"`))
			chunk := []byte(strings.Repeat("A", 1<<20))
			for range 1024 { // up to 1 GiB, until Drawbridge stops reading
				if _, err := w.Write(chunk); err != nil {
					return
				}
				flooded.Add(int64(len(chunk)))
			}
		}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			up := mcptest.Raw(`{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`, func(json.RawMessage) string {
				return `{"content":[{"type":"text","text":"fine"}]}`
			})
			t.Cleanup(up.Close)
			up.SetFault(f.fault)
			timeout := "2s"
			if f.name == "flood" {
				timeout = "60s" // 64 MB read under the race detector takes a while
			}
			h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s\n    transport: streamable-http\n    timeout: %s\n", up.URL, timeout))
			h.toolNames("up")
			r := h.call("up", "echo", nil)
			if !r.IsError || !strings.Contains(r.text(), `Upstream "up" failed`) {
				t.Fatalf("call = %+v, want a tool error naming the upstream", r)
			}
			up.SetFault(nil)
			if r := h.call("up", "echo", nil); r.IsError || r.text() != "fine" {
				t.Fatalf("the next call = %+v, want it served", r)
			}
			rows := ledgerCalls(t, h, 3)
			if st := byStatus(rows); len(st[f.status]) != 1 || len(st["ok"]) != 2 {
				t.Errorf("ledger statuses %v, want one %s and two ok (the list and the call)", keys(st), f.status)
			}
		})
	}
	if n := flooded.Load(); n > 256<<20 {
		t.Errorf("the flooding upstream wrote %d MB before Drawbridge stopped reading, want about the 64 MB message cap", n>>20)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestClientGoneWhileHeld: a client that disconnects while its call waits
// for approval gets the call recorded as cancelled, and the approval stays
// pending: approved later, it grants the retried call.
func TestClientGoneWhileHeld(t *testing.T) {
	h, admin := approvalHarness(t, "approval: {timeout: 30s, grant_ttl: 1h}\n")
	h.toolNames("up")
	req, _ := http.NewRequest("POST", h.URL+"/mcp/up", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":2}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.Token)
	client := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the held call answered within 500ms")
	}
	id := pendingID(t, admin, "add")
	eventually(t, "the call recorded as cancelled", func() bool {
		r, err := audit.OpenReader(context.Background(), h.Cfg.Audit.Path)
		if err != nil {
			return false
		}
		defer r.Close()
		calls, _ := r.Calls(context.Background(), audit.Filter{Tool: "add"})
		return len(calls) == 1 && calls[0].Status == audit.StatusCancelled && calls[0].ApprovalID == id
	})
	if code, body := adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", `{}`); code != http.StatusOK {
		t.Fatalf("approve = %d %s", code, body)
	}
	if r := h.call("up", "add", map[string]any{"a": 2, "b": 2}); r.IsError || r.text() != "4" {
		t.Fatalf("retried call = %+v, want it granted", r)
	}
}

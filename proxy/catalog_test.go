package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

func countingServer(lists *atomic.Int32, opts ...server.ServerOption) *server.MCPServer {
	hooks := &server.Hooks{}
	hooks.AddBeforeListTools(func(context.Context, any, *mcp.ListToolsRequest) { lists.Add(1) })
	return mcptest.NewServer("counted", append(opts, server.WithHooks(hooks))...)
}

func newTool(name string) (mcp.Tool, server.ToolHandlerFunc) {
	return mcp.NewTool(name, mcp.WithDescription("added later")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(name + " ran"), nil
		}
}

// TestToolsListFromMemory: many tools/list calls cost one upstream list.
func TestToolsListFromMemory(t *testing.T) {
	var lists atomic.Int32
	up := mcptest.Streamable(countingServer(&lists))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n", up.URL))
	for range 20 {
		h.toolNames("up")
		h.call("up", "echo", map[string]any{"text": "x"})
	}
	if n := lists.Load(); n != 1 {
		t.Fatalf("upstream saw %d tools/list calls for 20 lists and 20 calls, want 1", n)
	}
}

// TestListChangedRefresh: notifications/tools/list_changed from the upstream
// refreshes the cached list, over both HTTP transports.
func TestListChangedRefresh(t *testing.T) {
	for _, kind := range []string{"streamable", "sse"} {
		t.Run(kind, func(t *testing.T) {
			var lists atomic.Int32
			s := countingServer(&lists)
			ts, path := mcptest.Streamable(s), "/mcp"
			if kind == "sse" {
				ts, path = mcptest.SSE(s), "/sse"
			}
			t.Cleanup(ts.Close)
			h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s%s\n    cache_ttl: 1h\n", ts.URL, path))
			if slices.Contains(h.toolNames("up"), "fresh_tool") {
				t.Fatal("fresh_tool listed before it exists")
			}
			s.AddTool(newTool("fresh_tool"))
			eventually(t, "the new tool to be listed", func() bool { return slices.Contains(h.toolNames("up"), "fresh_tool") })
			if got := h.call("up", "fresh_tool", nil).text(); got != "fresh_tool ran" {
				t.Fatalf("fresh_tool = %q", got)
			}
		})
	}
}

// TestTTLRefresh: an upstream that sends no notifications is re-listed once
// the cache TTL has passed, and not before.
func TestTTLRefresh(t *testing.T) {
	var lists atomic.Int32
	s := countingServer(&lists, server.WithToolCapabilities(false))
	up := mcptest.Streamable(s)
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n    cache_ttl: 400ms\n", up.URL))
	h.toolNames("up")
	s.AddTool(newTool("later_tool"))
	if slices.Contains(h.toolNames("up"), "later_tool") {
		t.Fatal("later_tool listed before the TTL passed: the list is not cached")
	}
	time.Sleep(450 * time.Millisecond)
	if !slices.Contains(h.toolNames("up"), "later_tool") {
		t.Fatal("later_tool not listed after the TTL")
	}
}

// TestCallRefreshesOnMiss: a call to a tool the cache does not know yet
// refreshes the list once instead of refusing.
func TestCallRefreshesOnMiss(t *testing.T) {
	var lists atomic.Int32
	s := countingServer(&lists, server.WithToolCapabilities(false))
	up := mcptest.Streamable(s)
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n    cache_ttl: 1h\n", up.URL))
	h.toolNames("up")
	s.AddTool(newTool("surprise"))
	if got := h.call("up", "surprise", nil); got.IsError || got.text() != "surprise ran" {
		t.Fatalf("call = %+v, want the new tool to run", got)
	}
}

// futureResult is a tools/call result with bytes a re-encoder would change:
// HTML characters, escapes, a key order that is not sorted.
const futureResult = `{"content":[{"type":"text","text":"from the future <b>&</b> \u00e9"}],"zeta":1,"alpha":{"b":2,"a":1}}`

// futureUpstream speaks JSON-only Streamable HTTP and negotiates like a
// server whose newest version is newer than Drawbridge's: it answers
// initialize with the client's version when it supports it.
func futureUpstream(versions ...string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"params"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil {
			http.Error(w, "no", http.StatusMethodNotAllowed)
			return
		}
		if m.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var res any = map[string]any{}
		switch m.Method {
		case "initialize":
			v := versions[0]
			if slices.Contains(versions, m.Params.ProtocolVersion) {
				v = m.Params.ProtocolVersion
			}
			res = map[string]any{"protocolVersion": v, "capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo": map[string]any{"name": "future", "version": "9"}}
		case "tools/list":
			res = map[string]any{"tools": []any{map[string]any{"name": "echo", "inputSchema": map[string]any{"type": "object"}}}}
		case "tools/call":
			res = json.RawMessage(futureResult)
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": res})
	}))
}

// TestNewerUpstreamNegotiatesDown: an upstream whose newest protocol is newer
// than Drawbridge's still works; one that speaks only an unknown version is
// refused with an error that says so.
func TestNewerUpstreamNegotiatesDown(t *testing.T) {
	newer := futureUpstream("2099-01-01", "2026-07-28", "2025-11-25", "2025-06-18")
	t.Cleanup(newer.Close)
	only := futureUpstream("2099-01-01")
	t.Cleanup(only.Close)
	h := start(t, fmt.Sprintf("servers:\n  newer:\n    url: %s\n  only:\n    url: %s\n    transport: streamable-http\n", newer.URL, only.URL))
	_, body := h.post("newer", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}`)
	if want := `{"jsonrpc":"2.0","id":1,"result":` + futureResult + `}`; string(body) != want {
		t.Fatalf("newer upstream call = %s, want the result byte-for-byte: %s", body, want)
	}
	r := h.rpc("only", "tools/list", nil)
	if r.Error == nil || !strings.Contains(r.Error.Message, `"2099-01-01"`) {
		t.Fatalf("only-new upstream = %+v, want an error naming the version", r.Error)
	}
}

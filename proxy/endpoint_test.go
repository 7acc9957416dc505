package proxy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

func streamableHarness(t *testing.T, extra string) *harness {
	t.Helper()
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	return start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n%s", up.URL, extra))
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// TestProtocolVersions covers every version a real client may send, by
// header: missing means 2025-03-26; unknown is a 400 naming the supported.
func TestProtocolVersions(t *testing.T) {
	h := streamableHarness(t, "")
	tests := []struct {
		name, header string
		wantStatus   int
	}{
		{"missing header", "", 200},
		{"2025-03-26", "2025-03-26", 200},
		{"2025-06-18", "2025-06-18", 200},
		{"2025-11-25", "2025-11-25", 200},
		{"2026-07-28", "2026-07-28", 200},
		{"unsupported", "1999-01-01", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.post("up", `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`, "MCP-Protocol-Version", tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 400 {
				var r rpcResponse
				_ = json.Unmarshal(body, &r)
				if r.Error == nil || r.Error.Code != -32022 || !strings.Contains(string(r.Error.Data), "2025-06-18") {
					t.Fatalf("body = %s, want UnsupportedProtocolVersionError listing the supported versions", body)
				}
				return
			}
			if !strings.Contains(string(body), `"name":"echo"`) {
				t.Fatalf("tools/list = %s, want echo", body)
			}
		})
	}
}

// TestInitializeNegotiates checks initialize answers the client's version
// when supported, the latest legacy one otherwise, and issues a session id.
func TestInitializeNegotiates(t *testing.T) {
	h := streamableHarness(t, "")
	for _, tt := range []struct{ asked, want string }{
		{"2025-03-26", "2025-03-26"}, {"2025-06-18", "2025-06-18"}, {"2025-11-25", "2025-11-25"}, {"2030-01-01", "2025-11-25"},
	} {
		resp, body := h.post("up", fmt.Sprintf(initBody, tt.asked))
		if !strings.Contains(string(body), `"protocolVersion":"`+tt.want+`"`) {
			t.Errorf("initialize(%s) = %s, want version %s", tt.asked, body, tt.want)
		}
		if resp.Header.Get("Mcp-Session-Id") == "" {
			t.Errorf("initialize(%s): no Mcp-Session-Id", tt.asked)
		}
	}
}

// TestOpenAISequence replays what OpenAI's MCP client is known to do: probe
// with GET, try the stateless server/discover, fall back to initialize, list
// tools, DELETE the session, then call a tool with the dead session id.
func TestOpenAISequence(t *testing.T) {
	h := streamableHarness(t, "")
	resp, _ := h.do(http.MethodGet, "up", "", "Accept", "text/event-stream")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
		t.Fatalf("GET = %d (Allow %q), want 405 with Allow", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, body := h.post("up", `{"jsonrpc":"2.0","id":0,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`,
		"MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "server/discover")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"supportedVersions"`) || resp.Header.Get("Mcp-Session-Id") != "" {
		t.Fatalf("server/discover = %d %s (session %q), want supportedVersions and no session", resp.StatusCode, body, resp.Header.Get("Mcp-Session-Id"))
	}
	resp, body = h.post("up", fmt.Sprintf(initBody, "2025-06-18"))
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || session == "" {
		t.Fatalf("initialize = %d %s, want a session", resp.StatusCode, body)
	}
	h.post("up", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "Mcp-Session-Id", session)
	if names := h.toolNames("up"); len(names) == 0 {
		t.Fatal("tools/list is empty")
	}
	resp, _ = h.do(http.MethodDelete, "up", "", "Mcp-Session-Id", session)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE = %d, want 2xx", resp.StatusCode)
	}
	got := h.call("up", "echo", map[string]any{"text": "after delete"}, "Mcp-Session-Id", session)
	if got.IsError || got.text() != "after delete" {
		t.Fatalf("call with the deleted session = %+v, want success", got)
	}
}

// TestSessionIDsIgnored checks that a call succeeds with no session id, an
// id never issued, and one reused by another client.
func TestSessionIDsIgnored(t *testing.T) {
	h := streamableHarness(t, "")
	for _, sid := range []string{"", "never-issued-123", "mcs_000000000000000000000000"} {
		got := h.call("up", "echo", map[string]any{"text": "x"}, "Mcp-Session-Id", sid)
		if got.IsError {
			t.Errorf("session %q: %v", sid, got.text())
		}
	}
}

// TestBatchSmuggling: batches are honoured only under 2025-03-26, which
// requires servers to accept them; later versions removed them, so a batch
// there is refused whole, not partly run.
func TestBatchSmuggling(t *testing.T) {
	h := streamableHarness(t, "")
	batch := `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},` +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"in batch"}}},{"jsonrpc":"2.0","id":3,"method":"bogus"}]`
	resp, body := h.post("up", batch, "MCP-Protocol-Version", "2025-03-26")
	var rs []rpcResponse
	if err := json.Unmarshal(body, &rs); err != nil || resp.StatusCode != 200 {
		t.Fatalf("2025-03-26 batch = %d %s, want an array", resp.StatusCode, body)
	}
	if len(rs) != 3 || rs[0].Error != nil || !strings.Contains(string(rs[1].Result), "in batch") || rs[2].Error == nil || rs[2].Error.Code != -32601 {
		t.Fatalf("batch responses = %s, want ping ok, echo ok, bogus -32601 (no entry for the notification)", body)
	}
	for _, v := range []string{"2025-06-18", "2025-11-25", "2026-07-28"} {
		resp, body := h.post("up", batch, "MCP-Protocol-Version", v)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "-32600") || strings.Contains(string(body), "in batch") {
			t.Errorf("%s batch = %d %s, want 400 -32600 and nothing run", v, resp.StatusCode, body)
		}
	}
	resp, body = h.post("up", `[]`, "MCP-Protocol-Version", "2025-03-26")
	if resp.StatusCode != 400 || !strings.Contains(string(body), "-32600") {
		t.Errorf("empty batch = %d %s, want -32600", resp.StatusCode, body)
	}
}

// TestResponseFormats: JSON or SSE per Accept; 406 and 415 for the rest;
// notifications get 202.
func TestResponseFormats(t *testing.T) {
	h := streamableHarness(t, "")
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	resp, body := h.post("up", ping, "Accept", "text/event-stream")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || !strings.HasPrefix(string(body), "event: message\ndata: {") {
		t.Errorf("SSE-only Accept: %s %q, want an event stream", ct, body)
	}
	resp, _ = h.post("up", ping, "Accept", "application/json")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("JSON Accept: Content-Type %s", ct)
	}
	resp, _ = h.post("up", ping, "Accept", "text/html")
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("Accept text/html = %d, want 406", resp.StatusCode)
	}
	resp, _ = h.post("up", ping, "Content-Type", "text/plain")
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("Content-Type text/plain = %d, want 415", resp.StatusCode)
	}
	resp, body = h.post("up", `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if resp.StatusCode != http.StatusAccepted || len(body) != 0 {
		t.Errorf("notification = %d %q, want 202 and no body", resp.StatusCode, body)
	}
}

// TestModernHeaderMismatch: under 2026-07-28 the mirrored headers must agree
// with the body, so nothing routing on headers can be told one thing while
// the body does another.
func TestModernHeaderMismatch(t *testing.T) {
	h := streamableHarness(t, "")
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"danger_delete","arguments":{}}}`
	tests := []struct{ name, header, value string }{
		{"method", "Mcp-Method", "tools/list"},
		{"name", "Mcp-Name", "echo"},
		{"base64 name", "Mcp-Name", "=?base64?ZWNobw==?="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.post("up", call, "MCP-Protocol-Version", "2026-07-28", tt.header, tt.value)
			if resp.StatusCode != 400 || !strings.Contains(string(body), "-32020") || strings.Contains(string(body), "deleted") {
				t.Fatalf("mismatched %s = %d %s, want 400 HeaderMismatch and nothing run", tt.header, resp.StatusCode, body)
			}
		})
	}
	resp, body := h.post("up", strings.Replace(call, "danger_delete", "echo", 1), "MCP-Protocol-Version", "2026-07-28",
		"Mcp-Method", "tools/call", "Mcp-Name", "=?base64?ZWNobw==?=")
	if resp.StatusCode != 200 || strings.Contains(string(body), "-32020") {
		t.Fatalf("matching headers = %d %s, want 200", resp.StatusCode, body)
	}
	resp, _ = h.do(http.MethodDelete, "up", "", "MCP-Protocol-Version", "2026-07-28")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE under 2026-07-28 = %d, want 405", resp.StatusCode)
	}
	resp, body = h.post("up", `{"jsonrpc":"2.0","id":1,"method":"bogus/method"}`, "MCP-Protocol-Version", "2026-07-28")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "-32601") {
		t.Fatalf("unknown method under 2026-07-28 = %d %s, want 404 -32601", resp.StatusCode, body)
	}
}

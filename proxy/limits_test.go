package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// closedWithin reports whether the server ends conn (EOF or reset) within
// d, reading and dropping whatever it sends first.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	ne, ok := err.(net.Error)
	return !(ok && ne.Timeout())
}

// TestSlowBodyCutOff: a client that sends headers and then trickles (or
// stops sending) its body is cut off after body_timeout, whether it has a
// token or not.
func TestSlowBodyCutOff(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("body_timeout: 300ms\nservers:\n  up:\n    url: %s/mcp\n", up.URL))
	for _, token := range []string{h.Token, "not-a-token"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /mcp/up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
			"Authorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n{\"jsonrpc\":", token)
		if !closedWithin(conn, 5*time.Second) {
			t.Errorf("token %q: a stalled body held the connection for 5s (body_timeout 300ms)", token[:4])
		}
		conn.Close()
	}
}

// TestClientThatNeverReads: a client that sends a call and never reads its
// 16 MB answer is cut off after write_timeout instead of holding the
// handler; the ledger still has the call.
func TestClientThatNeverReads(t *testing.T) {
	big := strings.Repeat("x", 16<<20)
	up := mcptest.Raw(`{"tools":[{"name":"dump","inputSchema":{"type":"object"}}]}`, func(json.RawMessage) string {
		return `{"content":[{"type":"text","text":"` + big + `"}]}`
	})
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("write_timeout: 300ms\nservers:\n  up:\n    url: %s\n    timeout: 60s\n    max_output_bytes: 67108864\n", up.URL))
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"dump","arguments":{}}}`
	fmt.Fprintf(conn, "POST /mcp/up HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n"+
		"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", h.Token, len(body), body)
	// The answer is on its way once its completion is recorded (scrubbing
	// 16 MB takes a while under the race detector).
	deadline := time.Now().Add(90 * time.Second)
	for len(finished(t, h)) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ := io.Copy(io.Discard, bufio.NewReader(conn))
	if n >= int64(len(big)) {
		t.Errorf("read %d bytes after stalling 2s: the server kept the write open (write_timeout 300ms)", n)
	}
}

// TestApprovalOutlivesWriteTimeout: write_timeout bounds each write, not
// the request: a call held for approval longer than it still gets its
// result.
func TestApprovalOutlivesWriteTimeout(t *testing.T) {
	h, admin := approvalHarness(t, "write_timeout: 200ms\nbody_timeout: 200ms\napproval: {timeout: 30s}\n")
	res := callAsync(h, "add", map[string]any{"a": 2, "b": 3})
	id := pendingID(t, admin, "add")
	time.Sleep(700 * time.Millisecond)
	if code, body := adminCall(t, admin, "POST", "/api/approvals/"+id+"/approve", `{}`); code != http.StatusOK {
		t.Fatalf("approve = %d %s", code, body)
	}
	select {
	case r := <-res:
		if r.IsError || r.text() != "5" {
			t.Fatalf("approved call = %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the approved call never answered")
	}
}

// TestConnectionCapPerAddress: past max_conns_per_address open connections
// from one address, more are closed at once; closing one makes room.
func TestConnectionCapPerAddress(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("max_conns_per_address: 3\nservers:\n  up:\n    url: %s/mcp\n", up.URL))
	addr := strings.TrimPrefix(h.URL, "http://")
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	extra, _ := net.Dial("tcp", addr)
	if !closedWithin(extra, 3*time.Second) {
		t.Error("a fourth connection was kept open past max_conns_per_address: 3")
	}
	held[0].Close()
	time.Sleep(100 * time.Millisecond)
	if names := h.toolNames("up"); len(names) == 0 {
		t.Error("after one closed, a new connection got no tools")
	}
	for _, c := range held[1:] {
		if closedWithin(c, 100*time.Millisecond) {
			t.Error("a connection within the cap was closed")
		}
		c.Close()
	}
}

// TestStrangerCostsBoundedDisk: unauthenticated requests with huge paths,
// session ids and protocol headers, and a body with a 3 MB tool name, are
// recorded with every field cut to its bound, so a stranger cannot grow the
// ledger by what it sends.
func TestStrangerCostsBoundedDisk(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n", up.URL))
	huge := strings.Repeat("A", 300<<10)
	for range 30 {
		req, _ := http.NewRequest("POST", h.URL+"/mcp/up/"+huge, strings.NewReader("{}"))
		req.Header.Set("Mcp-Session-Id", huge)
		req.Header.Set("MCP-Protocol-Version", huge)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	name := strings.Repeat("n", 3<<20)
	start := time.Now()
	_, body := h.post("up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+name+`","arguments":{}}}`)
	if !strings.Contains(string(body), "tool name is 3145728 bytes") {
		t.Errorf("3 MB tool name: answer %.200s", body)
	}
	t.Logf("3 MB tool name answered in %v", time.Since(start))
	rows := ledgerCalls(t, h, 31)
	total := 0
	for _, c := range rows {
		b, _ := json.Marshal(c)
		total += len(b)
	}
	if total > 31*4<<10 {
		t.Errorf("31 strangers' requests stored %d bytes of rows, want at most 4 KiB each", total)
	}
}

// TestUnknownToolsRefetchOnce: a batch of 300 made-up tool names costs the
// upstream at most one extra tools/list, not one each.
func TestUnknownToolsRefetchOnce(t *testing.T) {
	up := mcptest.Raw(`{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`, func(json.RawMessage) string {
		return `{"content":[]}`
	})
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s\n    cache_ttl: 1h\n", up.URL))
	time.Sleep(1100 * time.Millisecond) // the list is older than the refetch interval: one refetch is allowed
	h.toolNames("up")
	var batch []string
	for i := range 300 {
		batch = append(batch, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"made_up_%d","arguments":{}}}`, i, i))
	}
	_, body := h.post("up", "["+strings.Join(batch, ",")+"]", "MCP-Protocol-Version", "2025-03-26")
	if !strings.Contains(string(body), "Unknown tool") {
		t.Fatalf("batch answer %.300s", body)
	}
	if n := up.Count("tools/list"); n > 2 {
		t.Errorf("300 unknown names cost %d upstream tools/list calls, want at most 2 (the first list and one refetch)", n)
	}
}

// finished reads the ledger's finished calls now, without waiting.
func finished(t *testing.T, h *harness) []audit.Call {
	r, err := audit.OpenReader(context.Background(), h.Cfg.Audit.Path)
	if err != nil {
		return nil
	}
	defer r.Close()
	calls, _ := r.Calls(context.Background(), audit.Filter{})
	var out []audit.Call
	for _, c := range calls {
		if c.Status != "" {
			out = append(out, c)
		}
	}
	return out
}

// TestUpstreamErrorSaidOnce: an error the MCP client library wraps in its
// own words twice reaches the model with them once.
func TestUpstreamErrorSaidOnce(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	h := start(t, fmt.Sprintf("servers:\n  down:\n    url: http://%s/mcp\n    transport: streamable-http\n    timeout: 2s\n", dead))
	r := h.call("down", "echo", nil)
	if !r.IsError || strings.Count(r.text(), "failed to send request") > 1 || strings.Contains(r.text(), "initialize: initialize") {
		t.Errorf("error text %q says something twice", r.text())
	}
}

package proxy_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// TestDenyByCaseOrLookalike: tools.deny holds whatever case or look-alike
// letters an upstream names the tool with, on the list and on the call.
func TestDenyByCaseOrLookalike(t *testing.T) {
	tools := `{"tools":[{"name":"Delete_All","inputSchema":{"type":"object"}},{"name":"d\u0435lete_files","inputSchema":{"type":"object"}},` +
		`{"name":"ＤＥＬＥＴＥ_x","inputSchema":{"type":"object"}},{"name":"echo","inputSchema":{"type":"object"}},{"name":"ECHO","inputSchema":{"type":"object"}}]}`
	up := mcptest.Raw(tools, func(json.RawMessage) string { return `{"content":[{"type":"text","text":"ran"}]}` })
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s\n    tools: {deny: [\"delete_*\"]}\n", up.URL))
	if names := h.toolNames("up"); !slices.Equal(names, []string{"echo", "ECHO"}) {
		t.Errorf("tools/list = %v, want only echo and ECHO", names)
	}
	for _, name := range []string{"Delete_All", "d\u0435lete_files", "ＤＥＬＥＴＥ_x"} {
		if r := h.call("up", name, nil); !r.IsError || !strings.Contains(r.text(), "denied by tools.deny") {
			t.Errorf("call %s = %+v", name, r)
		}
	}
	if up.Count("tools/call") != 0 {
		t.Error("a denied tool reached the upstream")
	}
	if !strings.Contains(h.Logs.String(), "differ only by case or look-alike letters") {
		t.Error("echo and ECHO were not reported")
	}
}

// TestNotificationCallRecorded: a tools/call sent as a notification (no
// id) is not run, and the ledger says so instead of dropping it silently.
func TestNotificationCallRecorded(t *testing.T) {
	up := mcptest.Raw(`{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`, func(json.RawMessage) string { return `{"content":[]}` })
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s\n", up.URL))
	resp, _ := h.post("up", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{}}}`)
	if resp.StatusCode != 202 {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	rows := ledgerCalls(t, h, 1)
	if rows[0].Status != "bad_request" || !strings.Contains(rows[0].Error, `"tools/call" sent as a notification (no id): not run`) {
		t.Errorf("ledger row = %+v", rows[0])
	}
	if up.Count("tools/call") != 0 {
		t.Error("the notification ran upstream")
	}
}

// TestReadyzChecksHost: /readyz answers only an allowed Host, like the MCP
// endpoint: a DNS-rebinding page on loopback learns nothing of upstreams.
func TestReadyzChecksHost(t *testing.T) {
	up := mcptest.Raw(`{"tools":[]}`, func(json.RawMessage) string { return `{}` })
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s\n", up.URL))
	req, _ := http.NewRequest("GET", h.URL+"/readyz", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || strings.Contains(string(body), "servers") {
		t.Errorf("readyz under Host evil.example = %d %s", resp.StatusCode, body)
	}
}

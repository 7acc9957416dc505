package proxy_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/golden"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// requestIDRE finds what differs between runs: request and call ids, the
// test server's port.
var requestIDRE = regexp.MustCompile(`req_[0-9a-f]+-[0-9]+|call_[0-9a-f]+-[0-9]+|127\.0\.0\.1:[0-9]+`)

// TestWireGolden: what clients see on the wire — a served tools/list and
// each error body — is what testdata/wire/*.txt hold (go test ./proxy -run
// WireGolden -update rewrites them after a deliberate change).
func TestWireGolden(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("max_body_bytes: 1024\nservers:\n  up:\n    url: %s/mcp\n    tools: {read_only: [echo], deny: [danger_delete]}\n", up.URL))
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`
	for _, tt := range []struct {
		name, label, body string
		kv                []string
	}{
		{"tools-list", "up", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil},
		{"no-token", "up", call, []string{"Authorization", ""}},
		{"bad-token", "up", call, []string{"Authorization", "Bearer dbt_wrong"}},
		{"unknown-server", "nope", call, nil},
		{"too-large", "up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + strings.Repeat("x", 2048) + `"}}}`, nil},
		{"content-type", "up", call, []string{"Content-Type", "text/plain"}},
		{"accept", "up", call, []string{"Accept", "text/html"}},
		{"protocol-version", "up", call, []string{"MCP-Protocol-Version", "1999-01-01"}},
		{"not-json", "up", `{"jsonrpc":`, nil},
		{"ambiguous-json", "up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"env"}}`, nil},
		{"batch-refused", "up", "[" + call + "]", nil},
		{"unknown-method", "up", `{"jsonrpc":"2.0","id":1,"method":"tools/destroy"}`, nil},
		{"unknown-tool", "up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ecko","arguments":{}}}`, nil},
		{"denied-tool", "up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"danger_delete","arguments":{}}}`, nil},
		{"bad-arguments", "up", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[1]}}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.post(tt.label, tt.body, tt.kv...)
			got := fmt.Sprintf("HTTP %d\n%s\n", resp.StatusCode, requestIDRE.ReplaceAllString(strings.TrimSpace(string(body)), "<id>"))
			golden.Check(t, filepath.Join("testdata", "wire", tt.name+".txt"), got)
		})
	}
}

package proxy_test

import (
	"fmt"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// BenchmarkCallEcho measures one tools/call of echo through Drawbridge to an
// in-process Streamable HTTP upstream (raw HTTP client, JSON answers).
func BenchmarkCallEcho(b *testing.B) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	b.Cleanup(up.Close)
	h := start(b, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n", up.URL))
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"benchmark payload"}}}`
	h.post("up", body)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.post("up", body)
	}
}

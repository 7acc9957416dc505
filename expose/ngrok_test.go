package expose_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/expose"
)

// TestNgrokOnline opens a real ngrok endpoint and serves a request through
// it. It needs ngrok's cloud and an authtoken, so it runs only where
// NGROK_AUTHTOKEN is set; the configuration it takes (public.tunnel: ngrok
// requires public.api_key) is checked offline in config's tests.
func TestNgrokOnline(t *testing.T) {
	token := os.Getenv("NGROK_AUTHTOKEN")
	if token == "" {
		t.Skip("NGROK_AUTHTOKEN is not set: this test needs ngrok's cloud (not reachable here); set it to run it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := expose.ListenNgrok(ctx, token, os.Getenv("NGROK_DOMAIN"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	go http.Serve(n, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "through ngrok") }))
	resp, err := http.Get(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "through ngrok" {
		t.Fatalf("GET %s = %q", n.URL, b)
	}
}

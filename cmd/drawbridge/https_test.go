package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// TestHTTPSWithACME: serve obtains a certificate from an ACME directory
// (Pebble on loopback) for public.domain; an MCP client that verifies it
// against the CA's root runs a whole session over that listener
// (initialize, tools/list, tools/call), and a call answered as an event
// stream arrives event by event, not all at the end.
func TestHTTPSWithACME(t *testing.T) {
	acme := mcptest.Pebble(t)
	public := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf(`approval: {timeout: 2s}
servers:
  kid:
    command: %s
    tools: {read_only: [echo]}
public:
  domain: mcp.drawbridge.test
  email: ops@drawbridge.test
  listen: %s
  http_listen: "off"
  acme_ca: %s
  acme_ca_root: %s
`, filepath.Join(binDir, "testupstream"), public, acme.Directory, acme.DirectoryRoot))
	_, tok, _ := cli(t, "", "token", "create", "openai", "-c", cfg)
	tok = strings.TrimSpace(tok)
	d := serve(t, cfg)
	if logs := d.waitLog(logHas("EXPOSED")); !strings.Contains(logs, "EXPOSED") || !strings.Contains(logs, "https://mcp.drawbridge.test") {
		t.Errorf("no start-up line saying what is exposed where:\n%s", logs)
	}
	// The public name resolves to the listener, as DNS would make it.
	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: acme.Roots(t), MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, public)
		}}}
	base := "https://mcp.drawbridge.test:" + strings.Split(public, ":")[1]

	c, err := client.NewStreamableHttpClient(base+"/mcp/kid", transport.WithHTTPBasicClient(httpClient),
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tok}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "tls-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize over TLS: %v", err)
	}
	if tools, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil || len(tools.Tools) == 0 {
		t.Fatalf("tools/list over TLS: %v %v", tools, err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "echo", map[string]any{"text": "over TLS"}
	if res, err := c.CallTool(ctx, req); err != nil || res.IsError || mcp.GetTextFromContent(res.Content[0]) != "over TLS" {
		t.Fatalf("tools/call over TLS: %+v %v", res, err)
	}

	// A held call with a progress token, as an event stream: progress
	// events while it waits, then the answer.
	body := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_meta":{"progressToken":"p1"}}}`
	hr, _ := http.NewRequest("POST", base+"/mcp/kid", strings.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "text/event-stream")
	hr.Header.Set("Authorization", "Bearer "+tok)
	hr.Header.Set("MCP-Protocol-Version", "2025-06-18")
	resp, err := httpClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var arrivals []time.Duration
	var kinds []string
	start := time.Now()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			arrivals = append(arrivals, time.Since(start))
			kind := "result"
			if strings.Contains(line, "notifications/progress") {
				kind = "progress"
			}
			kinds = append(kinds, kind)
		}
	}
	if len(kinds) < 2 || kinds[0] != "progress" || kinds[len(kinds)-1] != "result" {
		t.Fatalf("events %v, want progress before the result", kinds)
	}
	if arrivals[len(arrivals)-1]-arrivals[0] < 300*time.Millisecond {
		t.Errorf("events arrived at %v: all at the end, not one by one", arrivals)
	}
	t.Logf("event stream over TLS: %v at %v", kinds, arrivals)
	// The certificate's state and expiry are metrics.
	m := scrape(t, d, filepath.Join(filepath.Dir(cfg), "data"))
	exp := regexp.MustCompile(`(?m)^drawbridge_certificate_expiry_timestamp_seconds (\S+)$`).FindStringSubmatch(m)
	if exp == nil || !strings.Contains(m, `drawbridge_check_ok{check="certificate"} 1`) {
		t.Fatalf("certificate metrics missing:\n%s", m)
	}
	if v, _ := strconv.ParseFloat(exp[1], 64); time.Unix(int64(v), 0).Before(time.Now().Add(24 * time.Hour)) {
		t.Errorf("certificate expiry %s is not a future date", exp[1])
	}
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// TestReadyzThroughTunnel: a request that comes down a tunnel (from
// loopback, under the tunnel's Host) to the MCP listener's /readyz learns
// only whether Drawbridge is ready: not the upstream URLs, their dial
// errors, the policy's path or the ledger's state. The admin listener's
// /readyz gives those, with the admin token only.
func TestReadyzThroughTunnel(t *testing.T) {
	api, conns, _ := fakeLocaltunnel(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	policyDir, err := filepath.Abs("../../proxy/testdata/allow")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`data_dir: %s
policy: {dir: %s}
servers:
  kid:
    command: %s
  down:
    url: http://%s/mcp
    timeout: 2s
public:
  tunnel: localtunnel
  localtunnel_host: %s
`, data, policyDir, filepath.Join(binDir, "testupstream"), dead, api.URL))
	d := serve(t, cfg)
	adminToken, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	admin := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.admin+"/readyz", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The admin listener has the details once the dead upstream was tried.
	var report string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, report = admin(strings.TrimSpace(string(adminToken))); strings.Contains(report, "refused") {
			break
		}
	}
	for _, want := range []string{"refused", policyDir, `"audit"`, `"servers"`, `"kid"`} {
		if !strings.Contains(report, want) {
			t.Errorf("admin /readyz lacks %q: %s", want, report)
		}
	}
	if code, body := admin(""); code != http.StatusUnauthorized || strings.Contains(body, "refused") {
		t.Errorf("admin /readyz without the admin token = %d %s, want 401 and no detail", code, body)
	}

	var c net.Conn
	select {
	case c = <-conns:
	case <-time.After(20 * time.Second):
		t.Fatalf("no tunnel connection opened:\n%s", d.logString())
	}
	defer c.Close()
	fmt.Fprint(c, "GET /readyz HTTP/1.1\r\nHost: brave-fox.loca.lt\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(string(b)) != `{"ready":false}` {
		t.Errorf("/readyz through the tunnel = %d %s, want 503 and only the status", resp.StatusCode, b)
	}
	for _, secret := range []string{dead, "refused", policyDir, "audit", "kid", "down"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("/readyz through the tunnel gives away %q: %s", secret, b)
		}
	}
}

// TestAdminSlowloris: connections to the admin listener that trickle a
// POST /login body are cut off after body_timeout and those past
// max_conns_per_address are closed at once, like the MCP listener's, while
// the console's live approval stream outlives both timeouts.
func TestAdminSlowloris(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	data := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`auth: none
data_dir: %s
body_timeout: 500ms
write_timeout: 500ms
max_conns_per_address: 10
approval: {timeout: 60s}
servers:
  up:
    url: %s/mcp
    tools: {read_only: [echo]}
`, data, up.URL))
	d := serve(t, cfg)

	const n = 20
	var wg sync.WaitGroup
	read := make([]int64, n)
	held := make([]bool, n)
	until := time.Now().Add(20 * time.Second)
	for i := range n {
		conn, err := net.Dial("tcp", d.admin)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"Content-Length: 100000\r\n\r\ntoken=")
		stop := make(chan struct{})
		go func() { // a byte every 100ms, for as long as the server takes them
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(stop)
			_ = conn.SetReadDeadline(until)
			var err error
			read[i], err = io.Copy(io.Discard, conn)
			ne, ok := err.(net.Error)
			held[i] = ok && ne.Timeout()
		}()
	}
	wg.Wait()
	refused := 0
	for i := range n {
		if held[i] {
			t.Errorf("connection %d trickling its body was held for 20s (body_timeout 500ms)", i)
		}
		if read[i] == 0 {
			refused++
		}
	}
	// Within the cap each is answered (400) as its body times out; past
	// it each is closed unanswered.
	if refused < n-10 {
		t.Errorf("%d of %d connections were closed unanswered, want at least the %d past max_conns_per_address: 10", refused, n, n-10)
	}

	// The console's event stream outlives body_timeout and write_timeout.
	token, _ := os.ReadFile(filepath.Join(data, "admin.token"))
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login, err := noFollow.Post("http://"+d.admin+"/login", "application/x-www-form-urlencoded",
		strings.NewReader("token="+strings.TrimSpace(string(token))))
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	if len(login.Cookies()) == 0 {
		t.Fatalf("login = %s, no session cookie", login.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.admin+"/approvals/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(login.Cookies()[0])
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewScanner(resp.Body)
	if !events.Scan() || !strings.HasPrefix(events.Text(), "retry:") {
		t.Fatalf("event stream = %s %q, want it to open with retry:", resp.Status, events.Text())
	}
	time.Sleep(1500 * time.Millisecond) // three times each timeout
	c := mcpClient(t, d, "up", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // held for approval; ends with the test
		call := mcp.CallToolRequest{}
		call.Params.Name, call.Params.Arguments = "add", map[string]any{"a": 1, "b": 2}
		_, _ = c.CallTool(ctx, call)
	}()
	for events.Scan() {
		if events.Text() == "event: change" {
			return
		}
	}
	t.Fatalf("the event stream ended without the held call's change event (%v)", events.Err())
}

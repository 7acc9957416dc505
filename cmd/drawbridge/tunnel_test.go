package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
)

// controlPlane is a fake of OpenAI's Secure MCP Tunnel control plane,
// written from openai/tunnel-client's docs/protocol.md: it hands out queued
// commands on /poll (204 when there are none) and records /response posts.
type controlPlane struct {
	*httptest.Server
	key, tunnel string
	mu          sync.Mutex
	queue       []map[string]any
	replies     map[string]tunnelReply // by request_id
	problems    []string
}

type tunnelReply struct {
	Shard string
	Body  map[string]any
	Raw   string
}

func newControlPlane(t *testing.T, key, tunnel string) *controlPlane {
	cp := &controlPlane{key: key, tunnel: tunnel, replies: map[string]tunnelReply{}}
	cp.Server = httptest.NewServer(http.HandlerFunc(cp.serve))
	t.Cleanup(cp.Close)
	return cp
}

func (cp *controlPlane) serve(w http.ResponseWriter, r *http.Request) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+cp.key {
		cp.problems = append(cp.problems, "request without the tunnel key: "+r.URL.Path)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Header.Get("X-Tunnel-Client-Name") == "" {
		cp.problems = append(cp.problems, "no X-Tunnel-Client-Name")
	}
	switch r.URL.Path {
	case "/v1/tunnels/" + cp.tunnel + "/poll":
		if len(cp.queue) == 0 {
			cp.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			cp.mu.Lock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		cmds := cp.queue
		cp.queue = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"commands": cmds})
	case "/v1/tunnels/" + cp.tunnel + "/response":
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		id, _ := body["request_id"].(string)
		if strings.Contains(string(b), "shard-"+id) {
			cp.problems = append(cp.problems, "shard token in the response body of "+id)
		}
		cp.replies[id] = tunnelReply{Shard: r.Header.Get("X-Tunnel-Shard-Token"), Body: body, Raw: string(b)}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	default:
		http.NotFound(w, r)
	}
}

// send queues a command; rpc nil makes a session_termination.
func (cp *controlPlane) send(id, kind string, rpc any, headers map[string][]string, timeout any) {
	cmd := map[string]any{"request_id": id, "shard_token": "shard-" + id, "command_type": kind, "channel": "main",
		"created_at": time.Now().UTC().Format(time.RFC3339), "headers": headers}
	if rpc != nil {
		cmd["jsonrpc"] = rpc
	}
	if timeout != nil {
		cmd["response_timeout"] = timeout
	}
	cp.mu.Lock()
	cp.queue = append(cp.queue, cmd)
	cp.mu.Unlock()
}

func (cp *controlPlane) reply(t *testing.T, id string) tunnelReply {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		cp.mu.Lock()
		r, ok := cp.replies[id]
		cp.mu.Unlock()
		if ok {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no response posted for %s", id)
	return tunnelReply{}
}

// TestOpenAITunnel: Drawbridge polls the tunnel's control plane itself and
// runs every command through its own MCP endpoint: the token check, the
// policy (a held call answers "pending" within the command's
// response_timeout), the ledger; a notification is acknowledged, a session
// termination answered 204, an expired command dropped unanswered, an
// unknown command type skipped; the shard token travels only in the header.
func TestOpenAITunnel(t *testing.T) {
	cp := newControlPlane(t, "tunnel-key-canary-1", "tunnel_123")
	cfg := writeConfig(t, fmt.Sprintf(`servers:
  kid:
    command: %s
    tools: {read_only: [echo], deny: [env]}
public:
  tunnel: openai
  tunnel_id: tunnel_123
  api_key: ${secret:TUNNEL_KEY}
  control_plane: %s
`, filepath.Join(binDir, "testupstream"), cp.URL))
	if code, _, errOut := cli(t, "tunnel-key-canary-1", "secret", "set", "TUNNEL_KEY", "-c", cfg); code != 0 {
		t.Fatalf("secret set = %d %s", code, errOut)
	}
	_, tok, _ := cli(t, "", "token", "create", "openai", "-c", cfg)
	auth := map[string][]string{"Authorization": {"Bearer " + strings.TrimSpace(tok)}, "Mcp-Protocol-Version": {"2025-06-18"}}
	d := serve(t, cfg)

	rpc := func(id int, method string, params any) map[string]any {
		m := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
		if params != nil {
			m["params"] = params
		}
		return m
	}
	cp.send("req_init", "jsonrpc", rpc(1, "initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "openai", "version": "1"}}), auth, "30s")
	cp.send("req_list", "jsonrpc", rpc(2, "tools/list", nil), auth, nil)
	cp.send("req_echo", "jsonrpc", rpc(3, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "via tunnel"}}), auth, "30s")
	cp.send("req_held", "jsonrpc", rpc(4, "tools/call", map[string]any{"name": "add", "arguments": map[string]any{"a": 1, "b": 2}}), auth, "3s")
	cp.send("req_denied", "jsonrpc", rpc(8, "tools/call", map[string]any{"name": "env", "arguments": map[string]any{}}), auth, "30s")
	cp.send("req_anon", "jsonrpc", rpc(5, "tools/list", nil), nil, "30s")
	cp.send("req_note", "jsonrpc", map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}, auth, nil)
	cp.send("req_end", "session_termination", nil, map[string][]string{"Mcp-Session-Id": {"mcs_x"}, "Authorization": auth["Authorization"]}, nil)
	cp.send("req_late", "jsonrpc", rpc(6, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "too late"}}), auth, "0s")
	cp.send("req_odd", "telepathy", rpc(7, "ping", nil), auth, nil)

	check := func(id, typ string, code int, contains string) tunnelReply {
		t.Helper()
		r := cp.reply(t, id)
		if r.Shard != "shard-"+id || r.Body["resp_type"] != typ || r.Body["resp_code"] != float64(code) || r.Body["channel"] != "main" ||
			!strings.Contains(r.Raw, contains) {
			t.Errorf("%s: shard %q, body %s; want %s %d with %q", id, r.Shard, r.Raw, typ, code, contains)
		}
		return r
	}
	check("req_init", "jsonrpc_response", 200, `"protocolVersion"`)
	check("req_list", "jsonrpc_response", 200, `"echo"`)
	check("req_echo", "jsonrpc_response", 200, `via tunnel`)
	held := time.Now()
	check("req_held", "jsonrpc_response", 200, `is pending; ask the operator`)
	t.Logf("held call answered %v after its echo, within its 3s response_timeout", time.Since(held))
	check("req_denied", "jsonrpc_response", 200, `denied by tools.deny`)
	check("req_anon", "jsonrpc_response", 401, `missing client token`)
	check("req_note", "notify_ack", 202, `"request_id":"req_note"`)
	check("req_end", "session_termination_response", 204, `"request_id":"req_end"`)
	time.Sleep(500 * time.Millisecond)
	cp.mu.Lock()
	_, late := cp.replies["req_late"]
	_, odd := cp.replies["req_odd"]
	problems := cp.problems
	cp.mu.Unlock()
	if late || odd {
		t.Errorf("answered an expired command (%v) or an unknown command type (%v)", late, odd)
	}
	if len(problems) > 0 {
		t.Errorf("protocol problems: %v", problems)
	}
	// Every call is in the ledger, as if it came over HTTP.
	path := filepath.Join(filepath.Dir(cfg), "data", "audit.db")
	r, err := audit.OpenReader(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := r.Calls(t.Context(), audit.Filter{})
	r.Close()
	byTool := map[string]string{}
	for _, c := range calls {
		byTool[c.Method+" "+c.Tool] = c.Status
	}
	if byTool["tools/call echo"] != "ok" || byTool["tools/call add"] != "approval_timeout" || byTool["tools/list "] != "ok" {
		t.Errorf("ledger: %v", byTool)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "tunnel-key-canary-1") || strings.Contains(d.logs.String(), "tunnel-key-canary-1") {
		t.Error("the tunnel API key reached the ledger or the log")
	}
}

// TestCloudflaredTunnel: serve starts cloudflared (a stand-in that behaves
// like it), reads the trycloudflare.com URL from its output, allows that
// Host, and a client reaching Drawbridge through the tunnel gets answers
// with its token; without one it is refused. A missing cloudflared is a
// clear error saying how to get it.
func TestCloudflaredTunnel(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "cloudflared")
	if out, err := exec.Command("go", "build", "-o", fake, "../../internal/mcptest/fakecloudflared").CombinedOutput(); err != nil {
		t.Fatalf("build fake cloudflared: %v %s", err, out)
	}
	portFile := filepath.Join(t.TempDir(), "port")
	t.Setenv("FAKE_CLOUDFLARED_PORTFILE", portFile)
	cfg := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\n    tools: {read_only: [echo]}\npublic:\n  tunnel: cloudflared\n  cloudflared: %s\n",
		filepath.Join(binDir, "testupstream"), fake))
	_, tok, _ := cli(t, "", "token", "create", "openai", "-c", cfg)
	d := serve(t, cfg)
	var edge []byte
	for i := 0; i < 100 && len(edge) == 0; i++ {
		edge, _ = os.ReadFile(portFile)
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(d.waitLog(logHas("EXPOSED")), "https://quiet-river-fake-tunnel.trycloudflare.com") {
		t.Errorf("the tunnel URL is not announced:\n%s", d.logString())
	}
	call := func(token string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+string(edge)+"/mcp/kid",
			strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"through the tunnel"}}}`))
		req.Header.Set("Content-Type", "application/json")
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
	if code, body := call(strings.TrimSpace(tok)); code != 200 || !strings.Contains(body, "through the tunnel") {
		t.Errorf("through the tunnel = %d %s", code, body)
	}
	if code, _ := call(""); code != http.StatusUnauthorized {
		t.Errorf("without a token through the tunnel = %d, want 401", code)
	}

	missing := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\npublic:\n  tunnel: cloudflared\n  cloudflared: no-such-cloudflared\n",
		filepath.Join(binDir, "testupstream")))
	code, _, errOut := cli(t, "", "serve", "-c", missing, "--listen", freeAddr(t), "--admin-listen", freeAddr(t))
	if code == 0 || !strings.Contains(errOut, "is not installed or not on PATH: install it from Cloudflare") {
		t.Errorf("serve without cloudflared = %d %q", code, errOut)
	}
}

// fakeLocaltunnel is a localtunnel server written from the protocol: its
// API assigns https://brave-fox.loca.lt with two connections, and conns
// yields each connection serve opens to it (requests from "the internet"
// are written down them, so they reach serve from loopback).
func fakeLocaltunnel(t *testing.T) (api *httptest.Server, conns chan net.Conn, assigned *atomic.Int32) {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	conns = make(chan net.Conn, 16)
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	assigned = &atomic.Int32{}
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.URL.Query()["new"]; !ok {
			http.NotFound(w, r)
			return
		}
		assigned.Add(1)
		fmt.Fprintf(w, `{"id":"fake","port":%d,"max_conn_count":2,"url":"https://brave-fox.loca.lt"}`, tcp.Addr().(*net.TCPAddr).Port)
	}))
	t.Cleanup(api.Close)
	return api, conns, assigned
}

// TestLocaltunnel: serve asks a localtunnel server (a fake written from the
// protocol) for a tunnel, keeps its connections open, answers requests sent
// down them, allows the assigned Host, and reopens a connection that drops.
func TestLocaltunnel(t *testing.T) {
	api, conns, assigned := fakeLocaltunnel(t)
	cfg := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\n    tools: {read_only: [echo]}\npublic:\n  tunnel: localtunnel\n  localtunnel_host: %s\n",
		filepath.Join(binDir, "testupstream"), api.URL))
	_, tok, _ := cli(t, "", "token", "create", "openai", "-c", cfg)
	d := serve(t, cfg)
	through := func(c net.Conn, token string) *http.Response {
		t.Helper()
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"via localtunnel"}}}`
		fmt.Fprintf(c, "POST /mcp/kid HTTP/1.1\r\nHost: brave-fox.loca.lt\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
			token, len(body), body)
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var first net.Conn
	select {
	case first = <-conns:
	case <-time.After(20 * time.Second):
		t.Fatalf("no tunnel connection opened:\n%s", d.logString())
	}
	resp := through(first, strings.TrimSpace(tok))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "via localtunnel") {
		t.Fatalf("through the tunnel = %d %s", resp.StatusCode, b)
	}
	first.Close()
	// Two were held open; the closed one is reopened.
	for i := 0; i < 2; i++ {
		select {
		case c := <-conns:
			defer c.Close()
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d more connections; the dropped one was not reopened", i)
		}
	}
	if !strings.Contains(d.waitLog(logHas("https://brave-fox.loca.lt")), "https://brave-fox.loca.lt") || assigned.Load() != 1 {
		t.Errorf("announced URL missing or %d assignments:\n%s", assigned.Load(), d.logString())
	}
}

package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// TestClientTokens: no token → 401 with WWW-Authenticate; unknown, revoked
// or expired → 401; scoped to another server → 403.
func TestClientTokens(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  a:\n    url: %s/mcp\n  b:\n    url: %s/mcp\n", up.URL, up.URL))
	ctx := context.Background()
	onlyB, err := h.State.CreateToken(ctx, "only-b", []string{"b"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	revoked, _ := h.State.CreateToken(ctx, "gone", nil, 0)
	if err := h.State.RevokeToken(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	expired, _ := h.State.CreateToken(ctx, "brief", nil, time.Millisecond)
	time.Sleep(5 * time.Millisecond)

	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	tests := []struct {
		name, label, auth string
		want              int
	}{
		{"valid", "a", "Bearer " + h.Token, 200},
		{"missing", "a", "", 401},
		{"not bearer", "a", "Basic " + h.Token, 401},
		{"unknown", "a", "Bearer dbt_nottherightone", 401},
		{"revoked", "a", "Bearer " + revoked, 401},
		{"expired", "a", "Bearer " + expired, 401},
		{"scoped, other server", "a", "Bearer " + onlyB, 403},
		{"scoped, its server", "b", "Bearer " + onlyB, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.post(tt.label, ping, "Authorization", tt.auth)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer")
			}
			if tt.want != 200 && strings.Contains(string(body), "known servers") {
				t.Fatalf("refused request learned the server list: %s", body)
			}
		})
	}
}

// TestTokenPassthrough: the client's Authorization (its Drawbridge token),
// cookies and other headers never reach the upstream; the configured
// credential does, and only to its own upstream.
func TestTokenPassthrough(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	sse := mcptest.SSE(mcptest.NewServer("sse"))
	t.Cleanup(sse.Close)
	t.Setenv("STRIPE_KEY", "sk_test_canary_51HxYz")
	h := start(t, fmt.Sprintf(`servers:
  stripe:
    url: %s/mcp
    headers:
      Authorization: Bearer ${env:STRIPE_KEY}
      X-Api-Version: "2024-06-20"
  other:
    url: %s/sse
    headers:
      x-api-key: other-key-abcdef
`, up.URL, sse.URL))
	got := map[string]http.Header{}
	for _, label := range []string{"stripe", "other"} {
		res := h.call(label, "headers", nil, "Cookie", "session=client-cookie", "X-Custom", "client-value")
		var hdr http.Header
		if err := json.Unmarshal([]byte(res.text()), &hdr); err != nil {
			// The scrubber redacts the credential inside the echoed header
			// JSON too; decode what is left.
			t.Fatalf("%s: headers = %s: %v", label, res.text(), err)
		}
		got[label] = hdr
	}
	// What the model sees is scrubbed, so compare what arrived by presence.
	if v := got["stripe"].Get("Authorization"); v != "[REDACTED:stripe.Authorization]" {
		t.Errorf("stripe Authorization as echoed = %q, want the (scrubbed) configured credential", v)
	}
	if v := got["stripe"].Get("X-Api-Version"); v != "[REDACTED:stripe.X-Api-Version]" {
		t.Errorf("stripe X-Api-Version = %q, want the configured header (scrubbed: header values are credentials)", v)
	}
	if got["other"].Get("Authorization") != "" || got["other"].Get("X-Api-Key") != "[REDACTED:other.x-api-key]" {
		t.Errorf("other upstream headers = %v, want only its own x-api-key", got["other"])
	}
	for label, hdr := range got {
		for name, vals := range hdr {
			for _, v := range vals {
				if strings.Contains(v, h.Token) || strings.Contains(v, "client-cookie") || strings.Contains(v, "client-value") {
					t.Errorf("%s received client header %s: %s", label, name, v)
				}
			}
		}
		if hdr.Get("Cookie") != "" || hdr.Get("X-Custom") != "" {
			t.Errorf("%s received Cookie or X-Custom: %v", label, hdr)
		}
	}
	// The upstream really got the secret: it answers with it, and the
	// scrubber takes it out of the answer in plain and base64 form.
	leak := h.call("stripe", "leak", nil).text()
	if leak != "plain=[REDACTED:stripe.Authorization] b64=[REDACTED:stripe.Authorization]" {
		t.Errorf("leak = %q, want both forms redacted", leak)
	}
	r := h.rpc("stripe", "tools/call", map[string]any{"name": "leak_error", "arguments": map[string]any{}})
	if r.Error == nil || strings.Contains(r.Error.Message, "canary") || !strings.Contains(r.Error.Message, "[REDACTED:stripe.Authorization]") {
		t.Errorf("leak_error = %+v, want an error with the credential redacted", r.Error)
	}
	if strings.Contains(h.Logs.String(), "sk_test_canary") {
		t.Error("the credential reached the log")
	}
}

// TestToolFiltering: a tool outside allow or inside deny is absent from
// tools/list and refused on tools/call with a tool error naming it.
func TestToolFiltering(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf(`servers:
  denyonly:
    url: %[1]s/mcp
    tools:
      deny: [danger_*, leak*]
  allowlist:
    url: %[1]s/mcp
    tools:
      allow: [echo, "a*"]
      deny: [add]
`, up.URL))
	tests := []struct {
		label         string
		shown, hidden []string
	}{
		{"denyonly", []string{"echo", "add", "headers"}, []string{"danger_delete", "leak", "leak_error"}},
		{"allowlist", []string{"echo"}, []string{"add", "headers", "danger_delete"}},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			names := h.toolNames(tt.label)
			for _, n := range tt.shown {
				if !slices.Contains(names, n) {
					t.Errorf("tools/list = %v, want %s shown", names, n)
				}
			}
			for _, n := range tt.hidden {
				if slices.Contains(names, n) {
					t.Errorf("tools/list = %v, want %s hidden", names, n)
				}
				res := h.call(tt.label, n, nil)
				if !res.IsError || !strings.Contains(res.text(), `"`+n+`"`) || strings.Contains(res.text(), "deleted everything") {
					t.Errorf("call %s = %+v, want a tool error naming it", n, res)
				}
			}
		})
	}
}

// TestDNSRebinding: a Host or Origin outside the allowed lists gets 403; a
// configured tunnel hostname works.
func TestDNSRebinding(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("allowed_hosts: [mcp.example.com]\nallowed_origins: [https://app.example.com]\nservers:\n  up:\n    url: %s/mcp\n", up.URL))
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	tests := []struct {
		name, host, origin string
		want               int
	}{
		{"loopback", "", "", 200},
		{"tunnel host", "mcp.example.com", "", 200},
		{"rebinding host", "evil.example.net", "", 403},
		{"rebinding origin", "", "http://evil.example.net", 403},
		{"allowed origin", "", "https://app.example.com", 200},
		{"local origin", "", "http://localhost:6274", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", h.URL+"/mcp/up", strings.NewReader(ping))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+h.Token)
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

// TestBadInput: each kind of bad request gets its own clear answer.
func TestBadInput(t *testing.T) {
	h := streamableHarness(t, "")
	t.Run("body over the cap", func(t *testing.T) {
		big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + strings.Repeat("x", 5<<20) + `"}}}`
		resp, body := h.post("up", big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "limit") {
			t.Fatalf("= %d %s, want 413", resp.StatusCode, body)
		}
	})
	rpcErr := func(body string, code int) {
		t.Helper()
		resp, raw := h.post("up", body)
		var r rpcResponse
		_ = json.Unmarshal(raw, &r)
		if r.Error == nil || r.Error.Code != code {
			t.Fatalf("%s = %d %s, want error %d", body, resp.StatusCode, raw, code)
		}
	}
	t.Run("malformed JSON", func(t *testing.T) { rpcErr(`{"jsonrpc":"2.0","id":1,`, -32700) })
	t.Run("not an object", func(t *testing.T) { rpcErr(`"hello"`, -32600) })
	t.Run("wrong jsonrpc", func(t *testing.T) { rpcErr(`{"jsonrpc":"1.0","id":1,"method":"ping"}`, -32600) })
	t.Run("object id", func(t *testing.T) { rpcErr(`{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, -32600) })
	t.Run("params not object", func(t *testing.T) { rpcErr(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"echo"}`, -32600) })
	t.Run("call without name", func(t *testing.T) { rpcErr(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, -32602) })
	t.Run("arguments not object", func(t *testing.T) {
		rpcErr(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[1]}}`, -32602)
	})
	t.Run("unknown method", func(t *testing.T) { rpcErr(`{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage"}`, -32601) })
	t.Run("unknown label", func(t *testing.T) {
		resp, body := h.post("nope", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
		if resp.StatusCode != 404 || !strings.Contains(string(body), `known servers: up`) {
			t.Fatalf("= %d %s, want 404 naming the known servers", resp.StatusCode, body)
		}
	})
	t.Run("unknown tool", func(t *testing.T) {
		res := h.call("up", "ecoh", nil)
		if !res.IsError || !strings.Contains(res.text(), "Did you mean: echo") {
			t.Fatalf("= %+v, want a tool error suggesting echo", res)
		}
	})
}

// TestUpstreamFaults: an upstream that is down, refuses or is too slow gets
// an answer naming it and the cause, within the timeout; nothing hangs.
func TestUpstreamFaults(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	refusing := mcptest.StatusServer(http.StatusForbidden)
	t.Cleanup(refusing.Close)
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	t.Setenv("DEAD_KEY", "dead-upstream-credential-9f2")
	h := start(t, fmt.Sprintf(`servers:
  down:
    url: http://%s/mcp
    timeout: 2s
    headers: {Authorization: "Bearer ${env:DEAD_KEY}"}
  refusing:
    url: %s/mcp
    transport: streamable-http
    timeout: 2s
  slow:
    url: %s/mcp
    timeout: 300ms
`, dead, refusing.URL, up.URL))
	for _, tt := range []struct{ label, want string }{
		{"down", "connection refused"},
		{"refusing", "403"},
	} {
		t.Run(tt.label, func(t *testing.T) {
			begin := time.Now()
			r := h.rpc(tt.label, "tools/list", nil)
			if r.Error == nil || !strings.Contains(r.Error.Message, tt.label) || !strings.Contains(r.Error.Message, tt.want) {
				t.Fatalf("tools/list = %+v, want an error naming %s and %q", r.Error, tt.label, tt.want)
			}
			if strings.Contains(r.Error.Message, "dead-upstream-credential") {
				t.Fatal("error carries the credential")
			}
			if d := time.Since(begin); d > 3*time.Second {
				t.Fatalf("took %s, want within the 2s timeout", d)
			}
			res := h.call(tt.label, "echo", map[string]any{"text": "x"})
			if !res.IsError || !strings.Contains(res.text(), tt.label) {
				t.Fatalf("tools/call = %+v, want a tool error naming the upstream", res)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		h.toolNames("slow") // connect first, so only the call is timed
		begin := time.Now()
		res := h.call("slow", "slow", map[string]any{"ms": 5000})
		if d := time.Since(begin); d > 2*time.Second {
			t.Fatalf("took %s, want about the 300ms timeout", d)
		}
		if !res.IsError || !strings.Contains(res.text(), "no answer within 300ms") {
			t.Fatalf("= %+v, want a timeout tool error", res)
		}
	})
	t.Run("readyz", func(t *testing.T) {
		resp, err := http.Get(h.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		public, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || strings.TrimSpace(string(public)) != `{"ready":false}` {
			t.Fatalf("MCP listener's readyz = %d %s, want 503 and only the status", resp.StatusCode, public)
		}
		code, report := readiness(t, h)
		var body struct {
			Ready   bool `json:"ready"`
			Servers map[string]struct {
				Ready  bool   `json:"ready"`
				Detail string `json:"detail"`
			} `json:"servers"`
		}
		_ = json.Unmarshal(report, &body)
		if code != 503 || body.Ready || body.Servers["down"].Ready || !body.Servers["slow"].Ready ||
			!strings.Contains(body.Servers["down"].Detail, "refused") {
			t.Fatalf("readiness = %d %s, want 503 with down not ready and slow ready", code, report)
		}
	})
}

// readiness reads the detailed report the admin listener serves
// (Server.Readiness), from a loopback listener of its own.
func readiness(t *testing.T, h *harness) (int, []byte) {
	t.Helper()
	admin := httptest.NewServer(h.Srv.Readiness())
	defer admin.Close()
	resp, err := http.Get(admin.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestHealthz answers without a token.
func TestHealthz(t *testing.T) {
	h := streamableHarness(t, "")
	resp, err := http.Get(h.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	h.toolNames("up")
	resp, _ = http.Get(h.URL + "/readyz")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz with a connected upstream = %d", resp.StatusCode)
	}
}

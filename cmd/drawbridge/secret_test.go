package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// recorder wraps an upstream and notes the credential each request carried,
// with the request body, so a test can see which client's call got which.
type recorder struct {
	mu   sync.Mutex
	seen []string // "Authorization | X-Signature | body"
}

func (rec *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Header.Get("Authorization")+" | "+r.Header.Get("X-Signature")+" | "+string(body))
		rec.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (rec *recorder) authFor(marker string) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	for _, s := range rec.seen {
		if strings.Contains(s, marker) {
			out = append(out, strings.SplitN(s, " | ", 2)[0])
		}
	}
	return out
}

// forms are the encodings a leaked credential could take.
func forms(v string) []string {
	return []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		hex.EncodeToString([]byte(v)), url.QueryEscape(v)}
}

// TestCanarySecretsNeverLeak runs a whole session with canary credentials
// and looks for them, in every form, everywhere they could escape to.
func TestCanarySecretsNeverLeak(t *testing.T) {
	const shared, bobs = "sk_live_CANARY_shared_9f8e7d", "sk_live_CANARY_bob_1a2b3c"
	rec := &recorder{}
	up := httptest.NewServer(rec.wrap(mcptest.StreamableHandler(mcptest.NewServer("up"))))
	defer up.Close()
	dir := t.TempDir()
	policyDir := filepath.Join(dir, "policy")
	os.MkdirAll(policyDir, 0o700)
	os.WriteFile(filepath.Join(policyDir, "p.rego"), []byte(hdr+`
decision := {"action": "deny", "reason": sprintf("arguments carry stored secret %s", [concat(",", input.leaks)])} if {
	count(object.get(input, "leaks", [])) > 0
	input.tool.name == "headers"
} else := {"action": "allow", "reason": "ok"}
`), 0o600)
	cfg := writeConfig(t, fmt.Sprintf(`policy:
  dir: %s
servers:
  api:
    url: %s/mcp
    headers:
      Authorization: Bearer ${secret:API_KEY}
    auth:
      hmac: {header: X-Signature, key: "${secret:API_KEY}"}
`, policyDir, up.URL))
	// A config naming a secret that is not stored fails check and serve.
	code, _, errOut := cli(t, "", "check", "-c", cfg)
	if code != 1 || !strings.Contains(errOut, "servers.api.headers.Authorization: ${secret:API_KEY}: no such secret") {
		t.Fatalf("check with a missing secret = %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "", "secret", "set", "API_KEY", "-c", cfg, "sk_live_on_argv"); code != 2 {
		t.Fatalf("secret set with the value on argv = %d %q, want a usage error", code, errOut)
	}
	if code, _, errOut := cli(t, shared+"\n", "secret", "set", "API_KEY", "-c", cfg); code != 0 {
		t.Fatalf("secret set = %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, bobs, "secret", "set", "API_KEY", "--client", "bob", "-c", cfg); code != 0 {
		t.Fatalf("secret set --client bob = %d %q", code, errOut)
	}
	code, list, _ := cli(t, "", "secret", "list", "-c", cfg)
	if code != 0 || !strings.Contains(list, "API_KEY") || !strings.Contains(list, "bob") || !strings.Contains(list, "api") || strings.Contains(list, "CANARY") {
		t.Fatalf("secret list = %d %q", code, list)
	}
	if code, _, errOut := cli(t, "", "check", "-c", cfg); code != 0 {
		t.Fatalf("check = %d %q", code, errOut)
	}
	_, alice, _ := cli(t, "", "token", "create", "alice", "-c", cfg)
	_, bob, _ := cli(t, "", "token", "create", "bob", "-c", cfg)

	d := serve(t, cfg)
	var received bytes.Buffer
	post := func(token, body string) {
		req, _ := http.NewRequest("POST", "http://"+d.addr+"/mcp/api", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		received.Write(b)
	}
	call := func(token, tool, args string) {
		post(token, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tool+`","arguments":`+args+`}}`)
	}
	post(alice, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	for _, who := range []struct{ token, name string }{{alice, "alice"}, {bob, "bob"}} {
		call(who.token, "echo", `{"text":"from `+who.name+`"}`)
		call(who.token, "leak", `{}`)
		call(who.token, "leak_error", `{}`)
	}
	// Exfiltration: the model sends the credential it should never know.
	call(alice, "echo", `{"text":"`+shared+` `+base64.StdEncoding.EncodeToString([]byte(shared))+`"}`)
	before := received.Len()
	call(alice, "headers", `{"x":"`+shared+`"}`)
	if !strings.Contains(received.String()[before:], "arguments carry stored secret API_KEY") {
		t.Fatalf("the policy did not see input.leaks: %s", received.String()[before:])
	}

	// The right credential reached the upstream for the right client.
	if got := rec.authFor("from alice"); len(got) != 1 || got[0] != "Bearer "+shared {
		t.Fatalf("alice's call carried %q, want the shared key", got)
	}
	if got := rec.authFor("from bob"); len(got) != 1 || got[0] != "Bearer "+bobs {
		t.Fatalf("bob's call carried %q, want bob's own key", got)
	}
	rec.mu.Lock()
	for _, s := range rec.seen {
		if !strings.Contains(strings.SplitN(s, " | ", 3)[1], "=") {
			t.Errorf("a request to the upstream carried no HMAC signature: %q", s)
		}
	}
	rec.mu.Unlock()

	time.Sleep(300 * time.Millisecond) // completions are written just after the answers
	_, export, _ := cli(t, "", "audit", "export", "--format", "jsonl", "-c", cfg)
	if !strings.Contains(export, "[REDACTED:API_KEY]") {
		t.Fatalf("the ledger shows no redaction; export:\n%s", export)
	}
	if err := signalAndWait(t, d, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v", err)
	}
	places := map[string]string{"client responses": received.String(), "log": d.logs.String(), "audit export": export}
	filepath.WalkDir(filepath.Join(filepath.Dir(cfg), "data"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.HasPrefix(e.Name(), "secrets.db") {
			b, _ := os.ReadFile(p)
			places[p] = string(b)
		}
		return nil
	})
	for _, canary := range []string{shared, bobs} {
		for _, form := range forms(canary) {
			for where, text := range places {
				if strings.Contains(text, form) {
					t.Errorf("%s contains the canary in the form %q", where, form)
				}
			}
		}
	}
	t.Logf("searched %d places for 2 canaries in %d forms each", len(places), len(forms(shared)))
}

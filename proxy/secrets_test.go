package proxy_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

func vaultWith(t *testing.T, values map[[2]string]string) (*secrets.Store, *secrets.Vault) {
	t.Helper()
	store, err := secrets.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for k, v := range values {
		if err := store.Set(context.Background(), k[0], k[1], secrets.New(v)); err != nil {
			t.Fatal(err)
		}
	}
	v, err := secrets.NewVault(context.Background(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return store, v
}

// headerLog records the credentials each upstream request carried: the
// ground truth, which the model never sees.
type headerLog struct {
	mu   sync.Mutex
	last map[string]http.Header // by path
}

func (l *headerLog) server() *httptest.Server {
	next := mcptest.StreamableHandler(mcptest.NewServer("up"))
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			l.mu.Lock()
			l.last[r.URL.Query().Get("as")] = r.Header.Clone()
			l.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	}))
}

func (l *headerLog) get(as string) http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[as]
}

// TestCredentialPatterns: Bearer from a secret, per-client secrets, Basic
// from two secrets, several headers at once; a missing secret stops the
// request instead of sending it bare; a change to the store is picked up
// without a restart; the model sees none of it.
func TestCredentialPatterns(t *testing.T) {
	log := &headerLog{last: map[string]http.Header{}}
	up := log.server()
	t.Cleanup(up.Close)
	store, vault := vaultWith(t, map[[2]string]string{
		{"TOKEN", ""}: "shared-token-111", {"TOKEN", "bob"}: "bobs-token-222",
		{"USER", ""}: "acct-user-333", {"PASS", ""}: "acct-pass-444",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go vault.Watch(ctx, 20*time.Millisecond)
	h := startWith(t, fmt.Sprintf(`servers:
  bearer:
    url: %[1]s/mcp?as=bearer
    headers:
      Authorization: Bearer ${secret:TOKEN}
      X-Account: ${secret:USER}
  basic:
    url: %[1]s/mcp?as=basic
    auth:
      basic: {username: "${secret:USER}", password: "${secret:PASS}"}
  missing:
    url: %[1]s/mcp?as=missing
    headers: {Authorization: "Bearer ${secret:NOT_STORED}"}
`, up.URL), harnessOpts{vault: vault})
	bobToken, _ := h.State.CreateToken(context.Background(), "bob", nil, 0)

	check := func(what, as, header, want string) {
		t.Helper()
		if got := log.get(as).Get(header); got != want {
			t.Errorf("%s: upstream got %s %q, want %q", what, header, got, want)
		}
	}
	if got := h.call("bearer", "leak", nil).text(); strings.Contains(got, "token") {
		t.Errorf("the model saw a credential: %q", got)
	}
	check("bearer", "bearer", "Authorization", "Bearer shared-token-111")
	check("several headers", "bearer", "X-Account", "acct-user-333")
	h.call("bearer", "echo", map[string]any{"text": "x"}, "Authorization", "Bearer "+bobToken)
	check("bob's own secret", "bearer", "Authorization", "Bearer bobs-token-222")

	if got := h.call("basic", "leak", nil).text(); strings.Contains(got, "YWNjdC11c2Vy") || !strings.Contains(got, "[REDACTED:basic.Authorization]") {
		t.Errorf("basic leak = %q, want the Basic credential redacted", got)
	}
	check("basic", "basic", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("acct-user-333:acct-pass-444")))

	res := h.call("missing", "echo", map[string]any{"text": "x"})
	if !res.IsError || !strings.Contains(res.text(), "secret NOT_STORED is not set") || log.get("missing") != nil {
		t.Errorf("missing secret = %+v (upstream saw %v), want the call refused before it left", res, log.get("missing"))
	}

	if err := store.Set(context.Background(), "TOKEN", "", secrets.New("rotated-token-999")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rotated token to be sent", func() bool {
		got := h.call("bearer", "leak", nil).text()
		if strings.Contains(got, "rotated-token-999") {
			t.Fatalf("the rotated token reached the model: %q", got)
		}
		return log.get("bearer").Get("Authorization") == "Bearer rotated-token-999"
	})
}

// TestRotateKeyWhileServing: after secret rotate-key by another process,
// a running proxy follows the new key: a secret set afterwards is guarded
// (an upstream echoing it is redacted) without a restart. Under a key from
// the environment, which a running process cannot re-read, every call is
// refused, saying why, until a restart.
func TestRotateKeyWhileServing(t *testing.T) {
	for _, fromEnv := range []bool{false, true} {
		t.Run(fmt.Sprintf("key from env %v", fromEnv), func(t *testing.T) {
			dir := t.TempDir()
			if fromEnv {
				t.Setenv(secrets.KeyEnv, secrets.NewKey().Encoded().Reveal())
			}
			store, err := secrets.Open(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			_ = store.Set(context.Background(), "OLD", "", secrets.New("old-secret-value-1"))
			vault, err := secrets.NewVault(context.Background(), store, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			go vault.Watch(ctx, 20*time.Millisecond)
			up := mcptest.Streamable(mcptest.NewServer("up"))
			t.Cleanup(up.Close)
			h := startWith(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n", up.URL), harnessOpts{vault: vault})
			if r := h.call("up", "echo", map[string]any{"text": "old-secret-value-1"}); r.text() != "[REDACTED:OLD]" {
				t.Fatalf("before rotation: %q", r.text())
			}

			other, err := secrets.Open(context.Background(), dir) // drawbridge secret rotate-key, another process
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.RotateKey(context.Background()); err != nil {
				t.Fatal(err)
			}
			_ = other.Set(context.Background(), "NEW", "", secrets.New("new-secret-value-2"))
			other.Close()

			var last string
			eventually(t, "the proxy to follow the rotation or refuse", func() bool {
				last = h.call("up", "echo", map[string]any{"text": "new-secret-value-2"}).text()
				if fromEnv {
					return strings.Contains(last, "cannot read its current secrets")
				}
				return last == "[REDACTED:NEW]"
			})
			if strings.Contains(last, "new-secret-value-2") {
				t.Fatalf("the new secret reached the client: %q", last)
			}
		})
	}
}

// TestOwnCredentialsGuarded shows that Drawbridge's own credentials, read
// from the environment or a file for tracing.headers and public.api_key,
// join the leak guard: an upstream that has learnt them and answers with
// them (plain, or encoded) gets them redacted, alone or as the whole value
// the template expands to.
func TestOwnCredentialsGuarded(t *testing.T) {
	const otlp, tunnel, vaulted = "otlp-canary-5b7c9d1e", "tunnel-env-canary-3a4f", "vault-part-777"
	keyFile := filepath.Join(t.TempDir(), "otlp.key")
	if err := os.WriteFile(keyFile, []byte("file-canary-8e2d4c6a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LG_OTLP", otlp)
	t.Setenv("LG_TUNNEL", tunnel)
	says := map[string]string{"otlp": otlp, "file": base64.StdEncoding.EncodeToString([]byte("file-canary-8e2d4c6a")),
		"tunnel": tunnel, "whole": tunnel + "." + vaulted}
	up := mcptest.Raw(`{"tools":[{"name":"say","inputSchema":{"type":"object"}}]}`, func(params json.RawMessage) string {
		var p struct {
			Arguments struct{ What string } `json:"arguments"`
		}
		_ = json.Unmarshal(params, &p)
		text, _ := json.Marshal("it is " + says[p.Arguments.What])
		return `{"content":[{"type":"text","text":` + string(text) + `}]}`
	})
	t.Cleanup(up.Close)
	_, vault := vaultWith(t, map[[2]string]string{{"TUNNEL_KEY", ""}: vaulted})
	h := startWith(t, fmt.Sprintf(`tracing:
  headers:
    Authorization: Bearer ${env:LG_OTLP}
    X-Key: ${file:%s}
public:
  api_key: ${env:LG_TUNNEL}.${secret:TUNNEL_KEY}
servers:
  up:
    url: %s/mcp
`, keyFile, up.URL), harnessOpts{vault: vault})
	for what, want := range map[string]string{"otlp": "[REDACTED:tracing.headers.Authorization]",
		"file": "[REDACTED:tracing.headers.X-Key]", "tunnel": "[REDACTED:public.api_key]", "whole": "[REDACTED:public.api_key]"} {
		if got := h.call("up", "say", map[string]any{"what": what}).text(); got != "it is "+want {
			t.Errorf("%s: the client got %q, want %q", what, got, "it is "+want)
		}
	}
}

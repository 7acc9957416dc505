package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/secrets/secret"
)

func load(t *testing.T, yaml string) (*config.Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drawbridge.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.Load(path)
}

// TestUnknownKeys: every unknown key is reported with its path, at any depth.
func TestUnknownKeys(t *testing.T) {
	_, err := load(t, "lisen: x\nservers:\n  a:\n    url: http://h\n    tools: {alow: [x]}\n    auth: {basic: {user: u}}\npolicy: {mod: shadow}\n")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"lisen: unknown key", "servers.a.tools.alow: unknown key", "servers.a.auth.basic.user: unknown key", "policy.mod: unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestDefaultsAndPaths: defaults are applied and relative paths resolve
// against the config file's folder.
func TestDefaultsAndPaths(t *testing.T) {
	cfg, err := load(t, "data_dir: state\nservers:\n  kid:\n    command: ./bin/server\n  up:\n    url: https://example.com/mcp\n")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(cfg.Path)
	checks := []struct{ name, got, want string }{
		{"listen", cfg.Listen, "127.0.0.1:8750"},
		{"data_dir", cfg.DataDir, filepath.Join(dir, "state")},
		{"audit.path", cfg.Audit.Path, filepath.Join(dir, "state", "audit.db")},
		{"command", cfg.Servers["kid"].Command, filepath.Join(dir, "bin", "server")},
		{"cwd", cfg.Servers["kid"].Cwd, dir},
		{"transport", string(cfg.Servers["up"].Transport), "auto"},
		{"pin", string(cfg.Servers["up"].Tools.Pin), "tofu"},
		{"auth", string(cfg.Auth), "token"},
		{"policy.mode", string(cfg.Policy.Mode), "enforce"},
		{"audit.on_error", string(cfg.Audit.OnError), "deny"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.Servers["up"].Timeout.D().Seconds() != 30 || cfg.Policy.Timeout.D().Milliseconds() != 100 {
		t.Errorf("timeouts = %v, %v", cfg.Servers["up"].Timeout.D(), cfg.Policy.Timeout.D())
	}
}

// TestSecretRefs: ${secret:…} references are listed with their key paths
// and left for the vault; env references are read at load.
func TestSecretRefs(t *testing.T) {
	t.Setenv("ACCOUNT", "acct-1")
	cfg, err := load(t, `servers:
  a:
    url: https://example.com
    headers: {Authorization: "Bearer ${secret:TOKEN}", X-Account: "${env:ACCOUNT}"}
    auth:
      hmac: {header: X-Sig, key: "${secret:SIGNING}"}
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cfg.SecretRefs() {
		got = append(got, r.Path+"="+r.Name)
	}
	want := "servers.a.headers.Authorization=TOKEN,servers.a.auth.hmac.key=SIGNING"
	if strings.Join(got, ",") != want {
		t.Fatalf("SecretRefs = %v, want %s", got, want)
	}
	if v := cfg.Servers["a"].Headers["X-Account"].Resolved(); len(v) != 1 || v[0].Reveal() != "acct-1" {
		t.Fatalf("env reference = %v", v)
	}
}

// TestValidateOnlyReports: Validate changes nothing and reads no
// environment variable; ResolveReferences is the step that does, naming
// each reference it cannot read by key path.
func TestValidateOnlyReports(t *testing.T) {
	const doc = `public: {tunnel: openai, tunnel_id: tun_1, server: a, api_key: "${secret:OPENAI_TUNNEL_KEY}"}
tracing: {endpoint: "http://127.0.0.1:4318", headers: {X-Env: "${env:DRAWBRIDGE_TEST_UNSET}"}}
servers:
  a:
    url: http://127.0.0.1:1/mcp
    headers: {X-Key: "${env:DRAWBRIDGE_TEST_UNSET}", Authorization: "Bearer ${secret:T}"}
    auth: {hmac: {header: X-Sig, key: "${secret:K}", algorithm: sha256, encoding: hex}}
  b:
    command: ./server
    env: {TOKEN: "${file:missing-token.txt}"}
`
	parse := func() *config.Config {
		c, err := config.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDefaults()
		return c
	}
	c, pristine := parse(), parse()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate read a reference: %v", err)
	}
	if !reflect.DeepEqual(c, pristine) {
		t.Fatal("Validate changed the config")
	}
	err := c.ResolveReferences()
	for _, want := range []string{"servers.a.headers.X-Key: ${env:DRAWBRIDGE_TEST_UNSET}", "servers.b.env.TOKEN: ${file:missing-token.txt}",
		"tracing.headers.X-Env: ${env:DRAWBRIDGE_TEST_UNSET}"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ResolveReferences = %v, want %q", err, want)
		}
	}
	if _, err := c.Servers["a"].Headers["X-Key"].Expand(nil); err == nil {
		t.Error("an unresolved ${env:} expanded")
	}
	t.Setenv("DRAWBRIDGE_TEST_UNSET", "from-env")
	c = parse()
	c.Servers["b"].Env = nil
	if err := c.ResolveReferences(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Servers["a"].Headers["X-Key"].Expand(nil); err != nil || v != "from-env" {
		t.Errorf("X-Key = %q, %v", v, err)
	}
	if got := c.Servers["a"].Headers["X-Key"].String(); got != "${env:DRAWBRIDGE_TEST_UNSET}" {
		t.Errorf("String() = %q: a template prints as written, never resolved", got)
	}
}

// FuzzParse: no input makes the parser panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("servers:\n  a:\n    url: http://h\n"))
	f.Add([]byte("listen: [\n"))
	f.Add([]byte("servers: {a: {tools: {allow: [1, {x: y}]}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := config.Parse(data); err == nil && c == nil {
			t.Fatal("nil config without an error")
		}
	})
}

// FuzzTemplate: ${…} expansion never panics, never lets CR, LF or NUL into
// a header value, and a ${secret:NAME} is always replaced by the secret.
func FuzzTemplate(f *testing.F) {
	f.Add("Bearer ${secret:TOKEN}")
	f.Add("${secret:A}${secret:B} x ${env:HOME}")
	f.Add("${secret:X")
	f.Add("a\r\nInjected: 1")
	f.Fuzz(func(t *testing.T, value string) {
		yaml := "servers:\n  a:\n    url: http://127.0.0.1:1\n    headers:\n      X-H: " + strconv.Quote(value) + "\n"
		c, err := config.Parse([]byte(yaml))
		if err != nil || c == nil {
			return
		}
		if err := errors.Join(c.Validate(), c.ResolveReferences()); err != nil {
			return
		}
		s := c.Servers["a"]
		tpl, ok := s.Headers["X-H"]
		if !ok {
			return
		}
		got, err := tpl.Expand(func(name string) (secret.Secret, bool) { return secret.New("v-" + name), true })
		if err != nil {
			return
		}
		if strings.ContainsAny(got, "\r\n\x00") && !strings.ContainsAny(value, "\r\n\x00") {
			t.Fatalf("expanding %q gave %q", value, got)
		}
		if strings.Contains(value, "${env:") || strings.Contains(value, "${file:") {
			return
		}
		want := regexp.MustCompile(`\$\{secret:([^}]*)\}`).ReplaceAllString(value, "v-$1")
		if got != want {
			t.Fatalf("expanding %q gave %q, want %q", value, got, want)
		}
	})
}

// TestControlPlaneInClear: the openai tunnel's control plane must be https,
// since the tunnel's API key is sent to it; plain http is a config error
// naming the key and quoting the value, except to a loopback host.
func TestControlPlaneInClear(t *testing.T) {
	for _, tt := range []struct {
		name, url string
		ok        bool
	}{
		{"https", "https://api.openai.com", true},
		{"https elsewhere", "https://tunnel.internal.example:8443/base", true},
		{"http loopback v4", "http://127.0.0.1:9000", true},
		{"http loopback 127/8", "http://127.8.9.10", true},
		{"http loopback v6", "http://[::1]:9000", true},
		{"http localhost", "http://LOCALHOST:9000", true},
		{"http remote", "http://api.openai.com", false},
		{"http private address", "http://10.0.0.5:8080", false},
		{"http lookalike", "http://127.0.0.1.evil.example", false},
		{"http localhost lookalike", "http://localhost.evil.example", false},
		{"no scheme", "api.openai.com", false},
		{"ws", "ws://127.0.0.1:9000", false},
		{"no host", "https://", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, "servers:\n  a:\n    url: http://127.0.0.1:1/mcp\npublic: {tunnel: openai, tunnel_id: t, "+
				"api_key: \"${secret:KEY}\", control_plane: \""+tt.url+"\"}\n")
			if tt.ok && err != nil {
				t.Fatalf("control_plane %q: %v, want accepted", tt.url, err)
			}
			want := "public.control_plane: " + strconv.Quote(tt.url)
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Fatalf("control_plane %q: %v, want an error starting %s", tt.url, err, want)
			}
		})
	}
	_, err := load(t, "servers:\n  a:\n    url: http://127.0.0.1:1/mcp\npublic: {tunnel: openai, tunnel_id: t, "+
		"api_key: \"${secret:KEY}\", control_plane: \"http://user:hunter2@api.example.com\"}\n")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("control_plane with a password: %v, want refused without the password", err)
	}
}

// TestPublicSafeByDefault: going public cannot be combined with auth:
// none, the public domain becomes an allowed Host, and every public setting
// that cannot work is named.
func TestPublicSafeByDefault(t *testing.T) {
	dir := t.TempDir()
	write := func(yaml string) (*config.Config, error) {
		path := filepath.Join(dir, "drawbridge.yaml")
		os.WriteFile(path, []byte("servers:\n  a:\n    url: http://127.0.0.1:1/mcp\n"+yaml), 0o600)
		return config.Load(path)
	}
	cfg, err := write("public: {domain: mcp.example.com, email: ops@example.com}\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Public.Listen != ":443" || cfg.Public.HTTPListen != ":80" || !slices.Contains(cfg.AllowedHosts, "mcp.example.com") {
		t.Errorf("defaults: listen %q, http_listen %q, allowed_hosts %v", cfg.Public.Listen, cfg.Public.HTTPListen, cfg.AllowedHosts)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"auth: none\npublic: {tunnel: cloudflared}\n", "auth: none cannot be used with public"},
		{"public: {tunnel: carrier-pigeon}\n", "public.tunnel: must be ngrok, cloudflared, localtunnel or openai"},
		{"public: {tunnel: openai}\n", "public.tunnel_id: the openai tunnel needs its id"},
		{"public: {tunnel: ngrok}\n", "public.api_key: ngrok needs its authtoken"},
		{"public: {tunnel: openai, tunnel_id: t, api_key: plain-key-in-the-file}\n", "public.api_key: keep it in the vault"},
		{"public: {domain: mcp.example.com, tls: {cert_file: a, key_file: b}}\n", "choose one"},
		{"public: {domain: not_a_host}\n", "public.domain"},
		{"public: {domain: mcp.example.com, acme_ca: http://insecure/dir}\n", "public.acme_ca: must be an https URL"},
	} {
		if _, err := write(tt.yaml); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

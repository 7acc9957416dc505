package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	code, out, _ := cli(t, "", "version")
	if code != 0 || !regexp.MustCompile(`^drawbridge \d+\.\d+\.\d+ `).MatchString(out) {
		t.Fatalf("version = %d %q", code, out)
	}
}

// TestCheck: a valid file passes; a broken one fails with every problem,
// each with its key path.
func TestCheck(t *testing.T) {
	good := writeConfig(t, "servers:\n  up:\n    url: http://127.0.0.1:9/mcp\n")
	if code, out, errOut := cli(t, "", "check", "-c", good); code != 0 || !strings.Contains(out, "ok:") {
		t.Fatalf("check good = %d %q %q", code, out, errOut)
	}
	bad := writeConfig(t, `listen: nowhere
auth: maybe
bogus_top: 1
servers:
  "bad label!":
    url: ftp://example.com
  both:
    url: http://127.0.0.1:9/mcp
    command: ./x
    tools: {allow: [a], denny: [b]}
  hdr:
    url: http://127.0.0.1:9/mcp
    headers:
      X-Key: ${env:DRAWBRIDGE_TEST_MISSING_VAR}
      Bad Name: x
  crlf:
    url: http://127.0.0.1:9/mcp
    headers:
      X-Inject: "a\r\nEvil: 1"
`)
	code, _, errOut := cli(t, "", "check", "-c", bad)
	if code != 1 {
		t.Fatalf("check bad exit = %d, want 1", code)
	}
	for _, want := range []string{
		"bogus_top: unknown key",
		"servers.both.tools.denny: unknown key",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
	// Unknown keys stop decoding; fix them and the rest is reported at once.
	bad2 := writeConfig(t, strings.NewReplacer("bogus_top: 1\n", "", "denny", "deny").Replace(mustRead(t, bad)))
	_, _, errOut = cli(t, "", "check", "-c", bad2)
	for _, want := range []string{
		"listen: ", "auth: must be token or none",
		"servers.bad label!: label may hold only",
		"servers.bad label!.url: must be an http or https URL",
		"servers.both: set url or command, not both",
		"servers.hdr.headers.X-Key: ${env:DRAWBRIDGE_TEST_MISSING_VAR}: environment variable",
		"servers.hdr.headers.Bad Name: not a valid HTTP header name",
		"servers.crlf.headers.X-Inject: value contains CR, LF",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
}

// TestAuthNoneOffLoopback: auth: none is refused unless the listener is on
// loopback, by check and by serve, saying why.
func TestAuthNoneOffLoopback(t *testing.T) {
	cfg := writeConfig(t, "listen: 0.0.0.0:8750\nauth: none\nservers:\n  up:\n    url: http://127.0.0.1:9/mcp\n")
	for _, cmd := range []string{"check", "serve"} {
		code, _, errOut := cli(t, "", cmd, "-c", cfg)
		if code != 1 || !strings.Contains(errOut, "auth: none is allowed only when listen is on loopback") {
			t.Errorf("%s = %d %q, want a refusal saying why", cmd, code, errOut)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTokenCommands: create prints the token alone on stdout, list never
// shows it, revoke stops it working on a running proxy at once.
func TestTokenCommands(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\n    tools: {read_only: [echo]}\n  other:\n    command: %s\n",
		filepath.Join(binDir, "testupstream"), filepath.Join(binDir, "testupstream")))
	code, tok, errOut := cli(t, "", "token", "create", "alice", "--servers", "kid", "--expires", "30d", "-c", cfg)
	tok = strings.TrimSpace(tok)
	if code != 0 || !regexp.MustCompile(`^dbt_[A-Za-z0-9_-]{43}$`).MatchString(tok) || !strings.Contains(errOut, "shown once") {
		t.Fatalf("token create = %d %q %q", code, tok, errOut)
	}
	if code, _, errOut := cli(t, "", "token", "create", "alice", "-c", cfg); code != 1 || !strings.Contains(errOut, "exists") {
		t.Fatalf("duplicate create = %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "", "token", "create", "bob", "--servers", "nope", "-c", cfg); code != 1 || !strings.Contains(errOut, `unknown server "nope"`) {
		t.Fatalf("create with unknown server = %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "", "token", "create", "bob", "--expires", "soon", "-c", cfg); code != 2 || !strings.Contains(errOut, "--expires") {
		t.Fatalf("create with bad --expires = %d %q", code, errOut)
	}
	code, list, _ := cli(t, "", "token", "list", "-c", cfg)
	if code != 0 || !strings.Contains(list, "alice") || !strings.Contains(list, "kid") || strings.Contains(list, tok) {
		t.Fatalf("token list = %d %q", code, list)
	}
	var toks []struct {
		Name      string     `json:"name"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	_, js, _ := cli(t, "", "token", "list", "--json", "-c", cfg)
	decodeJSON(t, js, &toks)
	if len(toks) != 1 || toks[0].ExpiresAt == nil || time.Until(*toks[0].ExpiresAt) < 29*24*time.Hour {
		t.Fatalf("token list --json = %s", js)
	}
	dataFiles, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "data", "*"))
	for _, f := range dataFiles {
		if strings.Contains(mustRead(t, f), tok) {
			t.Fatalf("%s holds the token itself", f)
		}
	}

	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", tok)
	if got, _ := callText(t, c, "echo", map[string]any{"text": "hi"}); got != "hi" {
		t.Fatalf("echo with the new token = %q", got)
	}
	if code, _, _ := cli(t, "", "token", "revoke", "alice", "-c", cfg); code != 0 {
		t.Fatal("revoke failed")
	}
	// A running proxy rechecks state.db at least every 100ms.
	revoked := time.Now()
	for {
		resp, body := postRaw(t, d, "kid", tok)
		if resp == 401 {
			break
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("a second after revoke = %d %s, want 401", resp, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _, errOut := cli(t, "", "token", "revoke", "alice", "-c", cfg); code != 1 || !strings.Contains(errOut, "no such token") {
		t.Fatalf("revoke twice = %d %q", code, errOut)
	}
}

// TestGracefulShutdown: on SIGTERM an in-flight call finishes, the process
// exits 0 and its stdio children are gone.
func TestGracefulShutdown(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf("auth: none\nshutdown_grace: 10s\nservers:\n  kid:\n    command: %s\n    tools: {read_only: [slow]}\n", filepath.Join(binDir, "testupstream")))
	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", "")
	if names := toolNames(t, c); !slices.Contains(names, "slow") {
		t.Fatalf("tools = %v", names)
	}
	children := childrenOf(d.cmd.Process.Pid)
	if len(children) == 0 {
		t.Fatal("no stdio child running")
	}
	result := make(chan string, 1)
	go func() {
		got, _ := callText(t, c, "slow", map[string]any{"ms": 800})
		result <- got
	}()
	time.Sleep(200 * time.Millisecond)
	if err := signalAndWait(t, d, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, d.logs)
	}
	if got := <-result; got != "done" {
		t.Fatalf("in-flight call = %q, want it to finish", got)
	}
	for _, pid := range children {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("child %d still running", pid)
		}
	}
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		var child int
		if len(fields) > 1 && fields[1] == fmt.Sprint(pid) {
			fmt.Sscan(e.Name(), &child)
			out = append(out, child)
		}
	}
	return out
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/golden"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestHelpConventions: help goes to stdout and exits 0, in every form; each
// command's help has its flags and examples; --version works; a typo gets
// the closest command; an unknown flag is reported once, with the command's
// prefix; a missing config says how to get one.
func TestHelpConventions(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if code, out, errOut := cli(t, "", args...); code != 0 || !strings.Contains(out, "commands:") || errOut != "" {
			t.Errorf("%v = %d %q %q", args, code, out, errOut)
		}
	}
	for name := range commands {
		for _, args := range [][]string{{"help", name}, {name, "-h"}, {name, "--help"}} {
			code, out, errOut := cli(t, "", args...)
			if code != 0 || !strings.Contains(out, "usage:") || !strings.Contains(out, "examples:") || !strings.Contains(out, "flags:") || errOut != "" {
				t.Errorf("%v = %d %q %q", args, code, out, errOut)
			}
		}
		if helps[name].summary == "" {
			t.Errorf("%s has no summary", name)
		}
	}
	if code, out, _ := cli(t, "", "--version"); code != 0 || !strings.HasPrefix(out, "drawbridge ") {
		t.Errorf("--version = %d %q", code, out)
	}
	if code, _, errOut := cli(t, "", "serv"); code != 2 || !strings.Contains(errOut, `did you mean "serve"?`) {
		t.Errorf("serv = %d %q", code, errOut)
	}
	code, _, errOut := cli(t, "", "check", "--bogus")
	if code != 2 || strings.Count(errOut, "flag provided but not defined") != 1 || !strings.HasPrefix(errOut, "drawbridge check: ") {
		t.Errorf("check --bogus = %d %q", code, errOut)
	}
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if code, _, errOut := cli(t, "", "check", "-c", missing); code != 1 || !strings.Contains(errOut, "pass -c FILE, or run drawbridge init") {
		t.Errorf("check of a missing file = %d %q", code, errOut)
	}
}

// TestInit: init writes a commented config for the named bundled servers
// and the shipped policy with its test, prints the next commands (with the
// -c the user gave), the result loads, and a second run refuses to
// overwrite; an unknown server names the ones there are.
func TestInit(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "team", "drawbridge.yaml")
	code, _, errOut := cli(t, "", "init", "-c", cfg, "--server", "stripe", "--server", "deepwiki")
	if code != 0 || !strings.Contains(errOut, "drawbridge secret set STRIPE_SECRET_KEY -c "+cfg) || !strings.Contains(errOut, "drawbridge serve -c "+cfg) {
		t.Fatalf("init = %d %q", code, errOut)
	}
	b, _ := os.ReadFile(cfg)
	if !strings.Contains(string(b), "stripe:") || !strings.Contains(string(b), "deepwiki:") || !strings.Contains(string(b), "# ") {
		t.Errorf("config written:\n%s", b)
	}
	if code, out, _ := cli(t, "", "policy", "test", filepath.Join(filepath.Dir(cfg), "policies")); code != 0 || !strings.Contains(out, "PASS") {
		t.Errorf("the written policy's tests = %d %q", code, out)
	}
	if code, _, errOut := cli(t, "", "check", "-c", cfg); code != 1 || !strings.Contains(errOut, "STRIPE_SECRET_KEY") || strings.Contains(errOut, "yaml") && strings.Contains(errOut, "line") {
		t.Errorf("check of the written config = %d %q (want only the missing secret)", code, errOut)
	}
	if code, _, errOut := cli(t, "", "init", "-c", cfg); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second init = %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "", "init", "-c", filepath.Join(t.TempDir(), "x.yaml"), "--server", "strpe"); code != 2 || !strings.Contains(errOut, "choose from cloudflare") {
		t.Errorf("init --server strpe = %d %q", code, errOut)
	}
}

// TestRefuseWhatCannotBeMeant: arguments that can only be mistakes are
// usage errors (exit 2) that say what is valid.
func TestRefuseWhatCannotBeMeant(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\n", filepath.Join(binDir, "testupstream")))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"tools", "accept", "nope"}, `unknown server "nope"; known: kid`},
		{[]string{"tools", "accept", "kid", "nope"}, `no tool "nope" seen on server "kid"`},
		{[]string{"policy", "eval", "--server", "nope", "--tool", "t"}, `--server "nope" is not a server`},
		{[]string{"responses-config", "--url", "mcp.example.com"}, "needs a scheme and a host"},
		{[]string{"responses-config", "--client", "ghost"}, `--client "ghost" has no token`},
		{[]string{"audit", "tail", "-n", "0"}, "-n must be 1 or more"},
		{[]string{"audit", "tail", "-n", "-5"}, "-n must be 1 or more"},
		{[]string{"serve", "--log-format", "yaml"}, "--log-format must be text or json"},
		{[]string{"audit", "prune", "--before", "2999-01-01"}, "is in the future"},
	} {
		code, _, errOut := cli(t, "", append(tt.args, "-c", cfg)...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v = %d %q, want exit 2 with %q", tt.args, code, errOut, tt.want)
		}
	}
	code, _, errOut := cli(t, "x-secret-value", "secret", "set", "K", "--client", "ghost", "-c", cfg)
	if code != 0 || !strings.Contains(errOut, `no client token is named "ghost"`) {
		t.Errorf("secret set --client ghost = %d %q, want it stored with a warning", code, errOut)
	}
}

// TestCarefulPrune: audit prune says what it would delete with --dry-run,
// refuses to delete without --yes when nobody can be asked, and deletes
// with it.
func TestCarefulPrune(t *testing.T) {
	cfg := auditConfig(t)
	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", "")
	callText(t, c, "echo", map[string]any{"text": "old news"})
	time.Sleep(300 * time.Millisecond)
	code, out, _ := cli(t, "", "audit", "prune", "--before", "0s", "--dry-run", "-c", cfg)
	if code != 0 || !strings.Contains(out, "would prune") || !strings.Contains(out, "events from") {
		t.Fatalf("--dry-run = %d %q", code, out)
	}
	if code, _, errOut := cli(t, "", "audit", "prune", "--before", "0s", "-c", cfg); code != 2 || !strings.Contains(errOut, "pass --yes") {
		t.Fatalf("prune without --yes = %d %q", code, errOut)
	}
	if code, out, _ := cli(t, "", "audit", "prune", "--before", "0s", "--yes", "-c", cfg); code != 0 || !strings.Contains(out, "pruned") {
		t.Fatalf("prune --yes = %d %q", code, out)
	}
	if code, out, _ := cli(t, "", "audit", "verify", "-c", cfg); code != 0 {
		t.Fatalf("verify after prune = %d %q", code, out)
	}
}

// TestJSONEverywhere: every listing and report takes --json and prints
// JSON (audit tail: one object per line) that scripts can read.
func TestJSONEverywhere(t *testing.T) {
	cfg := auditConfig(t)
	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", "")
	callText(t, c, "echo", map[string]any{"text": "json"})
	time.Sleep(300 * time.Millisecond)
	cli(t, "v-secret-123", "secret", "set", "K", "-c", cfg)
	for _, args := range [][]string{
		{"secret", "list"}, {"token", "list"}, {"tools"}, {"tools", "diff", "kid", "echo"}, {"audit", "stats"},
		{"audit", "verify"}, {"version"}, {"approvals", "--admin", d.admin},
	} {
		code, out, errOut := cli(t, "", append(append(args, "--json"), "-c", cfg)...)
		var v any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Errorf("%v --json = %d %q %q", args, code, out, errOut)
		}
		if strings.Contains(out, "v-secret-123") {
			t.Errorf("%v --json printed a secret value", args)
		}
	}
	code, out, _ := cli(t, "", "audit", "tail", "--json", "-c", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var call map[string]any
		if json.Unmarshal([]byte(l), &call) != nil || call["call_id"] == nil {
			t.Errorf("audit tail --json line %q", l)
		}
	}
	if code != 0 || len(lines) < 1 || !strings.Contains(out, `"tool":"echo"`) {
		t.Errorf("audit tail --json = %d, %d lines", code, len(lines))
	}
}

// TestCheckCatchesEverything: one check reports, together, every problem
// serve would refuse: each bad duration, a repeated key with its lines, a
// mistyped key with the one meant, a block indented one level too far out,
// a port out of range, an unfinished reference, a missing secret, and a
// policy whose test fails or that calls a refused builtin.
func TestCheckCatchesEverything(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package drawbridge\nimport rego.v1\ndecision := {\"action\": \"allow\", \"reason\": \"x\"}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p_test.rego"), []byte("package drawbridge_test\nimport rego.v1\nimport data.drawbridge\ntest_deny if drawbridge.decision.action == \"deny\"\n"), 0o644)
	cfg := writeConfig(t, fmt.Sprintf(`listen: 127.0.0.1:99999
policy: {dir: %s}
servers:
  stripe:
    url: https://mcp.stripe.com
    timeuot: 30s
    timeout: 5x
    cache_ttl: 3q
    headers:
      Authorization: Bearer ${secret:STRIPE_KEY}
      X-Other: ${secret:OTHER
  tools:
    allow: [x]
  b:
    url: https://x.example
    url: https://y.example
`, dir))
	code, _, errOut := cli(t, "", "check", "-c", cfg)
	for _, want := range []string{`"5x" is not a duration`, `"3q" is not a duration`, `mapping key "url" already defined at line 15`,
		"timeuot: unknown key (line 6); did you mean timeout?", "`tools` is under `servers`, not under one of its entries",
		"has a port outside 0-65535", "looks like an unfinished reference", "tests failed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
	if code != 1 {
		t.Errorf("check = %d, want 1", code)
	}
	os.WriteFile(filepath.Join(dir, "p_test.rego"), []byte("package drawbridge_test\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package drawbridge\nimport rego.v1\ndecision := {\"action\": \"allow\", \"reason\": r} if { r := http.send({\"method\": \"get\", \"url\": \"http://x\"}).body }\n"), 0o644)
	ok := writeConfig(t, fmt.Sprintf("policy: {dir: %s}\nservers:\n  s:\n    url: https://x.example\n    headers: {Authorization: \"Bearer ${secret:MISSING}\"}\n", dir))
	code, _, errOut = cli(t, "", "check", "-c", ok)
	if code != 1 || !strings.Contains(errOut, "http.send") || !strings.Contains(errOut, "drawbridge secret set MISSING -c "+ok) {
		t.Errorf("check of a network policy and a missing secret = %d:\n%s", code, errOut)
	}
}

// TestCompletion: the completion scripts ask drawbridge itself, which
// completes commands, subcommands, flags, and from the config and state.db
// server labels, tool names and pending approval ids; the bash script works
// in bash.
func TestCompletion(t *testing.T) {
	cfg := auditConfig(t)
	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", "")
	toolNames(t, c)
	go func() { // held: a pending approval; its answer does not matter
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = "add", map[string]any{"a": 1, "b": 2}
		_, _ = c.CallTool(context.Background(), req)
	}()
	var pending []string
	for i := 0; i < 100 && len(pending) == 0; i++ {
		pending = complete(t.Context(), []string{"approvals", "approve", "-c", cfg, "apr_"})
		time.Sleep(20 * time.Millisecond)
	}
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"to"}, "token,tools"},
		{[]string{"token", ""}, "create,list,revoke"},
		{[]string{"tools", "-c", cfg, "k"}, "kid"},
		{[]string{"tools", "accept", "kid", "-c", cfg, "ec"}, "echo"},
		{[]string{"policy", "eval", "-c", cfg, "--server", ""}, "kid"},
		{[]string{"audit", "tail", "--dec"}, "--decision"},
		{[]string{"init", "--server", "str"}, "stripe"},
	} {
		if got := strings.Join(complete(t.Context(), tt.words), ","); got != tt.want {
			t.Errorf("complete(%q) = %q, want %q", tt.words, got, tt.want)
		}
	}
	if len(pending) != 1 || !strings.HasPrefix(pending[0], "apr_") {
		t.Errorf("pending approval ids = %v", pending)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if code, out, _ := cli(t, "", "completion", sh); code != 0 || !strings.Contains(out, "drawbridge __complete") {
			t.Errorf("completion %s = %d %q", sh, code, out)
		}
	}
	script := `source <(drawbridge completion bash); COMP_WORDS=(drawbridge tok); COMP_CWORD=1; _drawbridge; echo "${COMPREPLY[*]}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "token" {
		t.Errorf("bash completion of 'drawbridge tok' = %q %v", out, err)
	}
}

// TestHelpGolden: the top-level help and each command's help are what
// testdata/help/*.txt hold (go test ./cmd/drawbridge -run HelpGolden -update
// rewrites them after a deliberate change).
func TestHelpGolden(t *testing.T) {
	for _, name := range append([]string{""}, sortedKeys(helps)...) {
		args := []string{"help", name}
		file := name
		if name == "" {
			args, file = []string{"--help"}, "drawbridge"
		}
		_, out, _ := cli(t, "", args...)
		golden.Check(t, filepath.Join("testdata", "help", file+".txt"), out)
	}
}

// TestResponsesConfigGolden: the tools array responses-config prints for
// the test upstream under the shipped policy is what
// testdata/responses-config.json holds (-update rewrites it).
func TestResponsesConfigGolden(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\n    tools: {read_only: [echo, add], deny: [env, crash]}\n",
		filepath.Join(binDir, "testupstream")))
	code, out, errOut := cli(t, "", "responses-config", "--url", "https://mcp.example.com", "-c", cfg)
	if code != 0 {
		t.Fatalf("responses-config = %d %q", code, errOut)
	}
	golden.Check(t, filepath.Join("testdata", "responses-config.json"), out)
}

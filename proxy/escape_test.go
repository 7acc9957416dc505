package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// escaped writes s with every character as a \uXXXX escape: what a JSON
// decoder turns back into s.
func escaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// dataHolds reports whether any file under dir (the SQLite files and their
// write-ahead logs) holds v in plain bytes.
func dataHolds(t *testing.T, dir, v string) []string {
	t.Helper()
	var found []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(v)) {
				found = append(found, p)
			}
		}
		return nil
	})
	return found
}

// TestEscapedSecretLeak: an upstream that writes its own credential with
// JSON escapes (every character, or only the first) in tool results,
// structuredContent keys, tool names and descriptions gets it redacted:
// the decoded answer the client reads, the ledger and state.db hold none
// of it.
func TestEscapedSecretLeak(t *testing.T) {
	const canary = "sk_live_escape_5Tq9Wm2Z"
	all, first := escaped(canary), escaped(canary[:1])+canary[1:]
	tools := `{"tools":[{"name":"pay","description":"pays with ` + all + `","inputSchema":{"type":"object"}},` +
		`{"name":"` + first + `","description":"named after the key","inputSchema":{"type":"object"}}]}`
	up := mcptest.Raw(tools, func(json.RawMessage) string {
		return `{"content":[{"type":"text","text":"key ` + first + `"}],"structuredContent":{"` + all + `":"` + all + `"}}`
	})
	t.Cleanup(up.Close)
	t.Setenv("RAW_KEY", canary)
	h := start(t, fmt.Sprintf("servers:\n  raw:\n    url: %s\n    headers: {Authorization: \"Bearer ${env:RAW_KEY}\"}\n", up.URL))

	_, list := h.post("raw", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	_, call := h.post("raw", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"pay","arguments":{}}}`)
	for what, raw := range map[string][]byte{"tools/list": list, "tools/call": call} {
		var decoded any
		if err := json.Unmarshal(raw, &decoded); err != nil {
			t.Fatalf("%s: %v: %s", what, err, raw)
		}
		plain, _ := json.Marshal(decoded) // what the client reads, re-encoded without escapes
		if strings.Contains(string(plain), canary) || !strings.Contains(string(plain), "[REDACTED:raw.Authorization]") {
			t.Errorf("%s: the client reads %s", what, plain)
		}
	}
	ledgerCalls(t, h, 2)
	h.stop()
	if files := dataHolds(t, h.Cfg.DataDir, canary); len(files) > 0 {
		t.Errorf("the credential is stored in plain text in %v", files)
	}
}

// TestOutputGuardReassembly: a secret with a control character between its
// letters is not put back together by the output guard (which strips the
// character): the client gets it redacted, and the ledger records exactly
// the result the client got.
func TestOutputGuardReassembly(t *testing.T) {
	const canary = "sk_live_Zq8TnR4vX2mPq9"
	split := canary[:12] + `\u0007` + canary[12:]
	up := mcptest.Raw(`{"tools":[{"name":"pay","inputSchema":{"type":"object"}}]}`, func(json.RawMessage) string {
		return `{"content":[{"type":"text","text":"key ` + split + ` \u001b[31mred\u001b[0m"}]}`
	})
	t.Cleanup(up.Close)
	t.Setenv("RAW_KEY", canary)
	h := start(t, fmt.Sprintf("servers:\n  raw:\n    url: %s\n    headers: {Authorization: \"Bearer ${env:RAW_KEY}\"}\n", up.URL))
	r := h.rpc("raw", "tools/call", map[string]any{"name": "pay", "arguments": map[string]any{}})
	var got toolResult
	_ = json.Unmarshal(r.Result, &got)
	if strings.Contains(got.text(), canary) || got.text() != "key [REDACTED:raw.Authorization] red" {
		t.Errorf("the client reads %q", got.text())
	}
	calls := ledgerCalls(t, h, 1)
	if calls[0].Result != string(r.Result) {
		t.Errorf("ledger result %s\nis not what was sent: %s", calls[0].Result, r.Result)
	}
}

// TestEscapedSecretInArguments: a stored secret a client sends with JSON
// escapes is named in input.leaks, so a policy that refuses leaks refuses
// it, and the upstream never receives it.
func TestEscapedSecretInArguments(t *testing.T) {
	const canary = "sk_live_args_8Hh3Kk1Q"
	up := mcptest.Raw(`{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`, func(json.RawMessage) string {
		return `{"content":[{"type":"text","text":"ok"}]}`
	})
	t.Cleanup(up.Close)
	dir := t.TempDir()
	rego := "package drawbridge\nimport rego.v1\n" +
		"decision := {\"action\": \"deny\", \"reason\": concat(\",\", input.leaks)} if count(input.leaks) > 0\n" +
		"else := {\"action\": \"allow\", \"reason\": \"no leaks\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(rego), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RAW_KEY", canary)
	h := start(t, fmt.Sprintf("policy:\n  dir: %s\nservers:\n  raw:\n    url: %s\n    headers: {Authorization: \"Bearer ${env:RAW_KEY}\"}\n", dir, up.URL))
	for _, form := range []string{escaped(canary), escaped(canary[:2]) + canary[2:]} {
		_, body := h.post("raw", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"`+form+`"}}}`)
		if !strings.Contains(string(body), "Denied by policy: raw.Authorization") {
			t.Errorf("arguments %s: answer %s, want the leak named and refused", form, body)
		}
	}
	if calls := up.Calls(); len(calls) > 0 {
		t.Errorf("the upstream received %s", calls)
	}
	for _, c := range ledgerCalls(t, h, 2) {
		if strings.Contains(string(c.Arguments), canary) {
			t.Errorf("ledger arguments %s hold the secret", c.Arguments)
		}
	}
}

// TestSensitiveValueEverywhereInRecord: a value sent under a sensitive key
// is redacted wherever else it appears in the same call's record: another
// argument, and the result.
func TestSensitiveValueEverywhereInRecord(t *testing.T) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n", up.URL))
	h.call("up", "echo", map[string]any{"password": "hunter2xyz", "text": "login with password=hunter2xyz"})
	row := ledgerCalls(t, h, 1)[0]
	if strings.Contains(string(row.Arguments), "hunter2xyz") || strings.Contains(row.Result, "hunter2xyz") {
		t.Errorf("the password stayed in the record: arguments %s, result %s", row.Arguments, row.Result)
	}
	if !strings.Contains(row.Result, "password=[REDACTED:password]") {
		t.Errorf("result %s, want the value redacted by its key's name", row.Result)
	}
}

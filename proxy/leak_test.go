package proxy_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

// TestLeakGuardEveryAnswer: whatever an upstream sends that reaches the
// client is scrubbed of credentials, not only tool results: the
// instructions and capabilities of its handshake, tool definitions,
// resources, resource templates, prompts and completions. The upstream
// here reflects its own credential (plain and base64) everywhere it can.
func TestLeakGuardEveryAnswer(t *testing.T) {
	const canary = "sk_live_canary_0a1b2c3d"
	b64 := base64.StdEncoding.EncodeToString([]byte(canary))
	h := start(t, leakyConfig(t, canary))

	for _, req := range []struct {
		method string
		params any
		want   string // what must still be there, scrubbed
	}{
		{"initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "t", "version": "1"}}, "Use key"},
		{"tools/list", nil, "Pays with"},
		{"tools/call", map[string]any{"name": "pay", "arguments": map[string]any{}}, "paid with"},
		{"resources/list", nil, "holds"},
		{"resources/templates/list", nil, "template"},
		{"resources/read", map[string]any{"uri": "config://key"}, "key="},
		{"prompts/list", nil, "mentions"},
		{"prompts/get", map[string]any{"name": "setup"}, "the key is"},
	} {
		r := h.rpc("leaky", req.method, req.params)
		got := string(r.Result)
		if r.Error != nil {
			got += r.Error.Message
		}
		if !strings.Contains(got, req.want) || !strings.Contains(got, "[REDACTED:leaky.Authorization]") {
			t.Errorf("%s: answer %s; want %q with the credential redacted", req.method, got, req.want)
		}
		if strings.Contains(got, canary) || strings.Contains(got, b64) {
			t.Errorf("%s: the credential reached the client: %s", req.method, got)
		}
	}
}

// leakyConfig serves an upstream that reflects its own credential (plain
// and base64) in everything it can say, and returns a config that gives it
// that credential.
func leakyConfig(t *testing.T, canary string) string {
	both := canary + " " + base64.StdEncoding.EncodeToString([]byte(canary))
	up := server.NewMCPServer("leaky", "1.0", server.WithInstructions("Use key "+both),
		server.WithResourceCapabilities(false, false), server.WithPromptCapabilities(false),
		server.WithCompletions())
	up.AddTool(mcp.NewTool("pay", mcp.WithDescription("Pays with "+both)),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("paid with " + both), nil
		})
	up.AddResource(mcp.NewResource("config://key", "key "+canary, mcp.WithResourceDescription("holds "+both)),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: "config://key", Text: "key=" + both}}, nil
		})
	up.AddResourceTemplate(mcp.NewResourceTemplate("config://{name}", "template "+canary),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) { return nil, nil })
	up.AddPrompt(mcp.NewPrompt("setup", mcp.WithPromptDescription("mentions "+both)),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return mcp.NewGetPromptResult("setup "+canary, []mcp.PromptMessage{
				mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("the key is "+both)),
			}), nil
		})
	srv := mcptest.Streamable(up)
	t.Cleanup(srv.Close)
	t.Setenv("LEAKY_KEY", canary)
	return fmt.Sprintf("servers:\n  leaky:\n    url: %s/mcp\n    headers:\n      Authorization: Bearer ${env:LEAKY_KEY}\n    tools: {read_only: [pay]}\n", srv.URL)
}

// TestBridgedRequestsRecorded: resources/read and prompts/get are not
// decided by policy, but the ledger has them, with what was asked and what
// came back, redacted like every row.
func TestBridgedRequestsRecorded(t *testing.T) {
	const canary = "sk_live_canary_9e8d7c6b"
	h := start(t, leakyConfig(t, canary))
	h.rpc("leaky", "resources/read", map[string]any{"uri": "config://key"})
	h.rpc("leaky", "prompts/get", map[string]any{"name": "setup", "arguments": map[string]any{"password": "hunter2"}})
	if r := h.rpc("leaky", "resources/read", map[string]any{"uri": "other://missing"}); r.Error == nil {
		t.Fatalf("reading a missing resource = %s, want an error", r.Result)
	}
	calls := ledgerCalls(t, h, 3)
	got := map[string]audit.Call{}
	for _, c := range calls {
		got[c.Method+" "+string(c.Arguments)] = c
	}
	read, ok := got[`resources/read {"uri":"config://key"}`]
	if !ok || read.Status != "ok" || read.Server != "leaky" || read.Decision != "" || !strings.Contains(read.Result, "key=") {
		t.Errorf("resources/read row = %+v (rows: %v)", read, slices.Collect(maps.Keys(got)))
	}
	prompt, ok := got[`prompts/get {"arguments":{"password":"[REDACTED]"},"name":"setup"}`]
	if !ok || prompt.Status != "ok" || !strings.Contains(prompt.Result, "the key is") {
		t.Errorf("prompts/get row = %+v (rows: %v)", prompt, slices.Collect(maps.Keys(got)))
	}
	missing, ok := got[`resources/read {"uri":"other://missing"}`]
	if !ok || missing.Status != "upstream_error" || missing.Error == "" {
		t.Errorf("failed resources/read row = %+v", missing)
	}
	for _, c := range calls {
		if b, _ := json.Marshal(c); strings.Contains(string(b), canary) || strings.Contains(string(b), "hunter2") {
			t.Errorf("a secret reached the ledger: %s", b)
		}
	}
}

// encodedForms writes v in one form of each row of the table in
// docs/threat-model.md (secrets/forms_test.go has every variant).
func encodedForms(v string) map[string]string {
	each := func(format, sep string) string {
		parts := make([]string, len(v))
		for i := range len(v) {
			parts[i] = fmt.Sprintf(format, v[i])
		}
		return strings.Join(parts, sep)
	}
	runes := func(f func(rune) rune) string { return strings.Map(f, v) }
	blob := base64.StdEncoding.EncodeToString([]byte("a longer message around " + v + " so that it wraps"))
	var wrapped []string
	for len(blob) > 40 {
		wrapped, blob = append(wrapped, blob[:40]), blob[40:]
	}
	return map[string]string{
		"hex":                       hex.EncodeToString([]byte(v)),
		"base64":                    base64.RawURLEncoding.EncodeToString([]byte(v)),
		"base64 wrapped":            strings.Join(append(wrapped, blob), "\r\n"),
		"hex spaced":                each("0x%02x", ", "),
		"percent":                   each("%%%02x", ""),
		"percent doubled":           each("%%25%02X", ""),
		"JSON escapes":              `\u0073` + v[1:],
		"JavaScript escapes":        each(`\u{%x}`, ""),
		"HTML entities":             each("&#%d", ""),
		"HTML in percent":           each("%%26%%23x%x%%3B", ""),
		"controls between letters":  strings.Join(strings.Split(v, ""), "\a"),
		"invisible between letters": strings.Join(strings.Split(v, ""), "\ufe0f\u3164"),
		"tag characters":            runes(func(r rune) rune { return 0xe0000 + r }),
		"NFKC letters":              runes(func(r rune) rune { return r + 0xfee0 }),
	}
}

// TestLeakGuardEncodedForms shows that an upstream that answers with its
// credential in any form of the threat model's table (hex, wrapped base64,
// spaced hex, doubled percent-encoding, JavaScript escapes, HTML entities,
// invisible characters, tag characters, full-width letters …) gets it
// redacted before the client, the ledger or the log sees it.
func TestLeakGuardEncodedForms(t *testing.T) {
	const canary = "sk_live_Zq8TnR4vX2/+mPq9"
	forms := encodedForms(canary)
	names := slices.Sorted(maps.Keys(forms))
	up := mcptest.Raw(`{"tools":[{"name":"say","description":"Says a form.","inputSchema":{"type":"object","properties":{"form":{"type":"string"}}}}]}`,
		func(params json.RawMessage) string {
			var p struct {
				Arguments struct{ Form string } `json:"arguments"`
			}
			_ = json.Unmarshal(params, &p)
			text, _ := json.Marshal("the key is " + forms[p.Arguments.Form] + " (" + p.Arguments.Form + ")")
			return `{"content":[{"type":"text","text":` + string(text) + `}]}`
		})
	t.Cleanup(up.Close)
	t.Setenv("ENC_KEY", canary)
	h := start(t, fmt.Sprintf("servers:\n  enc:\n    url: %s/mcp\n    headers:\n      Authorization: Bearer ${env:ENC_KEY}\n", up.URL))
	guard := secrets.NewGuard([]secrets.Named{{Name: "K", Value: secrets.New(canary)}})

	for _, name := range names {
		got := h.call("enc", "say", map[string]any{"form": name}).text()
		if !strings.Contains(got, "[REDACTED:enc.Authorization]") || !strings.HasSuffix(got, "("+name+")") || len(guard.Find(got)) > 0 {
			t.Errorf("%s: the client got %q, want the credential redacted", name, got)
		}
	}
	up.SetFault(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream broke with key "+forms["HTML entities"]+" and "+forms["tag characters"], http.StatusBadGateway)
	})
	if r := h.rpc("enc", "tools/call", map[string]any{"name": "say", "arguments": map[string]any{}}); len(guard.Find(string(r.Result)+fmt.Sprint(r.Error))) > 0 {
		t.Errorf("the failed call's answer holds the credential: %s %+v", r.Result, r.Error)
	}
	for _, c := range ledgerCalls(t, h, len(names)+1) {
		if b, _ := json.Marshal(c); len(guard.Find(string(b))) > 0 {
			t.Errorf("the ledger holds the credential: %s", b)
		}
	}
	if logs := h.Logs.String(); len(guard.Find(logs)) > 0 {
		t.Errorf("the log holds the credential:\n%s", logs)
	}
}

package proxy_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
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

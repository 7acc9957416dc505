package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// responsesTool is the Responses API's mcp tool, as its schema defines it;
// decoding with unknown fields refused checks the printed shape.
type responsesTool struct {
	Type            string            `json:"type"`
	ServerLabel     string            `json:"server_label"`
	ServerURL       string            `json:"server_url"`
	Headers         map[string]string `json:"headers"`
	AllowedTools    []string          `json:"allowed_tools"`
	RequireApproval json.RawMessage   `json:"require_approval"`
}

func TestResponsesConfig(t *testing.T) {
	dir := policyDir(t, map[string]string{"p.rego": hdr + `
decision := {"action": "deny", "reason": "hidden"} if input.tool.name in {"leak", "leak_error", "env", "headers"}
else := {"action": "allow", "reason": "harmless"} if input.tool.name == "echo"
else := {"action": "approve", "reason": "big sums"} if {
	input.tool.name == "add"
	input.arguments.a > 100
} else := {"action": "allow", "reason": "listed"} if input.method == "tools/list"
else := {"action": "approve", "reason": "ask"}
`})
	cfg := writeConfig(t, fmt.Sprintf("policy:\n  dir: %s\nservers:\n  kid:\n    command: %s\n", dir, filepath.Join(binDir, "testupstream")))
	cli(t, "", "token", "create", "openai-prod", "-c", cfg) // --client names a token
	code, out, errOut := cli(t, "", "responses-config", "-c", cfg, "--url", "https://db.example.com/", "--client", "openai-prod")
	if code != 0 {
		t.Fatalf("responses-config = %d %q", code, errOut)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	dec.DisallowUnknownFields()
	var tools []responsesTool
	if err := dec.Decode(&tools); err != nil || len(tools) != 1 {
		t.Fatalf("output %s: %v", out, err)
	}
	tl := tools[0]
	if tl.Type != "mcp" || tl.ServerLabel != "kid" || tl.ServerURL != "https://db.example.com/mcp/kid" ||
		tl.Headers["Authorization"] != "Bearer <drawbridge token of openai-prod>" {
		t.Fatalf("entry = %+v", tl)
	}
	if slices.Contains(tl.AllowedTools, "leak") || !slices.Contains(tl.AllowedTools, "echo") || !slices.Contains(tl.AllowedTools, "add") {
		t.Fatalf("allowed_tools = %v", tl.AllowedTools)
	}
	var ra struct {
		Never, Always struct {
			ToolNames []string `json:"tool_names"`
		}
	}
	if err := json.Unmarshal(tl.RequireApproval, &ra); err != nil {
		t.Fatalf("require_approval = %s", tl.RequireApproval)
	}
	// echo is allowed whatever the arguments: the API need not ask. add
	// depends on its arguments: the API asks, Drawbridge decides.
	if !slices.Contains(ra.Never.ToolNames, "echo") || !slices.Contains(ra.Always.ToolNames, "slow") {
		t.Fatalf("require_approval = %s", tl.RequireApproval)
	}
}

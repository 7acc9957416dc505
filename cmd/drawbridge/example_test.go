package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestQuickstart runs the README's first command — drawbridge serve on
// examples/quickstart — and uses it as a real MCP client would.
func TestQuickstart(t *testing.T) {
	data := t.TempDir() // the example's own data/ may hold grants from earlier runs
	d := serve(t, "../../examples/quickstart/drawbridge.yaml", "--data-dir", data)
	c := mcpClient(t, d, "demo", "")
	names := toolNames(t, c)
	if !slices.Contains(names, "echo") || slices.Contains(names, "delete_all_files") {
		t.Fatalf("quickstart tools = %v, want echo and not delete_all_files", names)
	}
	if got, isErr := callText(t, c, "echo", map[string]any{"message": "hello"}); got != "hello" || isErr {
		t.Fatalf("echo = %q", got)
	}
	got, isErr := callText(t, c, "delete_all_files", nil)
	if !isErr || !strings.Contains(got, "tools.deny") {
		t.Fatalf("delete_all_files = %q (error %v), want refused by tools.deny", got, isErr)
	}
	// The shipped policy: not read-only, so it waits for a person, who
	// approves it with the CLI.
	result := make(chan string, 1)
	go func() {
		got, _ := callText(t, c, "current_time", nil)
		result <- got
	}()
	cfg := "../../examples/quickstart/drawbridge.yaml"
	id := pendingApproval(t, "-c", cfg, "--admin", d.admin, "--data-dir", data)
	if code, _, errOut := cli(t, "", "approvals", "approve", id, "-c", cfg, "--admin", d.admin, "--data-dir", data); code != 0 {
		t.Fatalf("approvals approve = %d %q", code, errOut)
	}
	if got := <-result; !strings.HasPrefix(got, "20") {
		t.Fatalf("current_time after approval = %q, want the time", got)
	}
}

// postRaw posts a ping with a bearer token and returns the status and body.
func postRaw(t *testing.T, d *daemon, label, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+d.addr+"/mcp/"+label, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

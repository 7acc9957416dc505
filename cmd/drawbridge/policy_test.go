package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func policyDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const hdr = "package drawbridge\n\nimport rego.v1\n\n"

// TestPolicyTestCommand: opa test's report and exit status.
func TestPolicyTestCommand(t *testing.T) {
	code, out, _ := cli(t, "", "policy", "test", "../../rego", "-v")
	if code != 0 || !strings.Contains(out, "PASS") || !strings.Contains(out, "test_unknown_server_denied") {
		t.Fatalf("policy test rego/ = %d\n%s", code, out)
	}
	failing := policyDir(t, map[string]string{
		"p.rego":      hdr + `decision := {"action": "allow"}`,
		"p_test.rego": "package drawbridge_test\n\nimport rego.v1\n\ntest_wants_deny if {\n\tprint(\"action is\", data.drawbridge.decision.action)\n\tdata.drawbridge.decision.action == \"deny\"\n}\n\ntest_other if true\n",
	})
	code, out, _ = cli(t, "", "policy", "test", failing)
	if code != 2 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "action is allow") {
		t.Fatalf("failing policy test = %d, want 2 with the print() output\n%s", code, out)
	}
	code, out, _ = cli(t, "", "policy", "test", failing, "--run", "test_other")
	if code != 0 || !strings.Contains(out, "PASS: 1/1") {
		t.Fatalf("--run test_other = %d\n%s", code, out)
	}
	code, out, _ = cli(t, "", "policy", "test", policyDir(t, map[string]string{"p.rego": hdr + "decision := {"}))
	if code != 1 {
		t.Fatalf("broken policy test = %d, want 1\n%s", code, out)
	}
}

// TestPolicyEvalCommand: the decision for a hypothetical call, made with the
// tool's real definition fetched from the configured upstream.
func TestPolicyEvalCommand(t *testing.T) {
	dir := policyDir(t, map[string]string{"p.rego": hdr + `
decision := {"action": "deny", "reason": sprintf("%s: %s", [input.tool.description, input.arguments.text])} if {
	print("client", input.client.name, "asked for", input.tool.name)
	input.tool.name == "echo"
}
`})
	cfg := writeConfig(t, fmt.Sprintf("policy:\n  dir: %s\nservers:\n  kid:\n    command: %s\n", dir, filepath.Join(binDir, "testupstream")))
	code, out, errOut := cli(t, "", "policy", "eval", "-c", cfg, "--server", "kid", "--tool", "echo", "--args", `{"text": "hi"}`, "--client", "alice")
	var d struct{ Action, Reason string }
	decodeJSON(t, out, &d)
	if code != 0 || d.Action != "deny" || d.Reason != "Echo the text back.: hi" {
		t.Fatalf("policy eval = %d %+v (stderr %q), want the upstream's description in the decision", code, d, errOut)
	}
	code, out, _ = cli(t, "", "policy", "eval", "-c", cfg, "--server", "kid", "--tool", "echo", "--args", `{"text": "hi"}`, "--client", "alice", "--explain")
	if code != 0 || !strings.Contains(out, "client alice asked for echo") || !strings.Contains(out, "# trace") || !strings.Contains(out, "Enter data.drawbridge.decision") {
		t.Fatalf("--explain = %d\n%s", code, out)
	}
	if !strings.Contains(out, "# input") || !strings.Contains(out, `"input_schema"`) || !strings.Contains(out, `"text": "hi"`) {
		t.Fatalf("--explain does not show the input as the policy saw it:\n%s", out)
	}
	code, out, _ = cli(t, "", "policy", "eval", "-c", cfg, "--server", "kid", "--tool", "echo", "--args", `{"text": "hi"}`, "--explain=fails")
	if code != 0 || strings.Contains(out, "Enter data.drawbridge.decision") {
		t.Fatalf("--explain=fails = %d, shows more than failures:\n%s", code, out)
	}
	if code, _, errOut := cli(t, "", "policy", "eval", "-c", cfg, "--server", "kid", "--tool", "echo", "--explain=most"); code != 2 || !strings.Contains(errOut, "full, notes or fails") {
		t.Fatalf("--explain=most = %d %q", code, errOut)
	}
	code, out, _ = cli(t, "", "policy", "eval", "-c", cfg, "--server", "kid", "--tool", "nope")
	decodeJSON(t, out, &d)
	if code != 0 || d.Action != "deny" || !strings.Contains(out, "policy_error") {
		t.Fatalf("undefined decision = %d %s, want deny with policy_error", code, out)
	}
	if code, _, errOut := cli(t, "", "policy", "eval", "-c", cfg, "--server", "kid", "--tool", "echo", "--args", "[1]"); code != 2 || !strings.Contains(errOut, "--args") {
		t.Fatalf("bad --args = %d %q", code, errOut)
	}
}

// TestServeRefusesNetworkPolicy: a policy that calls http.send does not load,
// so serve refuses to start, naming it.
func TestServeRefusesNetworkPolicy(t *testing.T) {
	dir := policyDir(t, map[string]string{"p.rego": hdr + `decision := http.send({"method": "GET", "url": "http://127.0.0.1:9"}).body`})
	cfg := writeConfig(t, fmt.Sprintf("auth: none\npolicy:\n  dir: %s\nservers:\n  up:\n    url: http://127.0.0.1:9/mcp\n", dir))
	code, _, errOut := cli(t, "", "serve", "-c", cfg, "--listen", freeAddr(t))
	if code != 1 || !strings.Contains(errOut, "http.send") {
		t.Fatalf("serve = %d %q, want a refusal naming http.send", code, errOut)
	}
}

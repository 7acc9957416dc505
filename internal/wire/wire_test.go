package wire

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// TestBoundaries: config depends on nothing of ours but leaf helpers (so
// it links no SQLite), and the proxy links neither state nor approval: it
// knows them only through its own interfaces, adapted here.
func TestBoundaries(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", "github.com/drawbridge-mcp/drawbridge/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		var ours []string
		for _, d := range strings.Fields(string(out)) {
			if rest, ok := strings.CutPrefix(d, "github.com/drawbridge-mcp/drawbridge/"); ok {
				ours = append(ours, rest)
			}
		}
		return ours
	}
	for _, d := range deps("config") {
		if !slices.Contains([]string{"config", "internal/duration", "internal/editdist", "secrets/secret"}, d) {
			t.Errorf("config depends on %s", d)
		}
	}
	for _, d := range deps("proxy") {
		if d == "state" || d == "approval" {
			t.Errorf("proxy depends on %s", d)
		}
	}
}

// TestUnknownVerdictQuarantines: a verdict the proxy does not know is a
// change, never trust.
func TestUnknownVerdictQuarantines(t *testing.T) {
	if verdict(state.Verdict(99)) != proxy.PinChanged {
		t.Fatal("an unknown verdict was not treated as a change")
	}
	if verdict(state.Trusted) != proxy.PinTrusted || verdict(state.New) != proxy.PinNew {
		t.Fatal("verdicts mapped wrongly")
	}
	if r := ruling(state.Approval{ID: "apr_1"}, "timeout"); r.Status != proxy.RulingPending {
		t.Fatalf("a timed-out hold ruled %q", r.Status)
	}
}

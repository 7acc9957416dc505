package console

import (
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// TestSQLiteQueryQuotes: the copied sqlite3 command selects exactly what
// the page shows, whatever quotes or shell characters a filter holds.
func TestSQLiteQueryQuotes(t *testing.T) {
	tool := `it's $(rm -rf ~) "x"`
	q := sqliteQuery("/tmp/a b/audit.db", audit.Filter{Tool: tool, Server: "up", Last: 50, Offset: 100,
		Since: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)})
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// The shell reads it back into exactly the arguments meant.
	out, err := exec.Command(sh, "-c", "printf '%s\\n' "+strings.TrimPrefix(q, "sqlite3 ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{"-readonly", "-box", "/tmp/a b/audit.db",
		`SELECT * FROM calls WHERE server = 'up' AND tool = 'it''s $(rm -rf ~) "x"' AND started_at >= '2026-12-01T09:30:00Z' ORDER BY started_at DESC, call_id DESC LIMIT 50 OFFSET 100;`}
	if strings.Join(args, "|") != strings.Join(want, "|") {
		t.Fatalf("shell reads %q\nwant %q", args, want)
	}
}

// TestHostAndOrigin: only loopback names are answered, and a POST from
// another origin (or an opaque one) is refused.
func TestHostAndOrigin(t *testing.T) {
	for host, ok := range map[string]bool{"127.0.0.1:8751": true, "localhost:8751": true, "[::1]:8751": true, "LOCALHOST": true,
		"127.1.2.3:80": true, "evil.example:8751": false, "127.0.0.1.evil.example": false, "": false} {
		if loopbackHost(host) != ok {
			t.Errorf("loopbackHost(%q) = %v", host, !ok)
		}
	}
	for origin, ok := range map[string]bool{"": true, "http://127.0.0.1:8751": true, "http://evil.example": false,
		"null": false, "http://127.0.0.1:9999": false, "https://127.0.0.1:8751": false} {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8751/tokens", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if sameOrigin(r) != ok {
			t.Errorf("sameOrigin(Origin: %q) = %v", origin, !ok)
		}
	}
}

// TestHostileNamesEscaped: what clients and upstreams choose (tool names,
// arguments, reasons) is text on the page, never markup, and a name with a
// slash stays one path segment in links.
func TestHostileNamesEscaped(t *testing.T) {
	c, err := New(Options{Config: &config.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	evil := `<script>alert(1)</script>`
	var b strings.Builder
	err = c.pages["approvals"].ExecuteTemplate(&b, "pending", map[string]any{"CSRF": "tok", "Remember": rememberChoices,
		"Pending": []pendingView{{Approval: state.Approval{ID: "apr_1/../x", Client: evil, Server: "up", Tool: evil,
			Arguments: `{"q":"` + strings.ReplaceAll(evil, `"`, `\"`) + `"}`, Reason: evil}, Deadline: time.Now()}}})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>") {
		t.Fatalf("markup from a client reached the page:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;") || !strings.Contains(page, `action="/approvals/apr_1%2F..%2Fx/approve"`) {
		t.Fatalf("page:\n%s", page)
	}
}

// Package examples_test loads and exercises every example, so examples never
// rot: each policy's own tests pass, each policy serves under Drawbridge's
// engine, and each config loads.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/wire"
	"github.com/drawbridge-mcp/drawbridge/policy"
)

func TestPolicies(t *testing.T) {
	dirs, err := filepath.Glob("policies/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
				t.Errorf("no README.md: %v", err)
			}
			var out bytes.Buffer
			if code := policy.Test(context.Background(), dir, "", false, &out, nil); code != 0 {
				t.Fatalf("policy tests exit %d:\n%s", code, out.String())
			}
			if _, err := policy.New(context.Background(), policy.Options{Dir: dir}); err != nil {
				t.Fatalf("serve it: %v", err)
			}
		})
	}
	if n < 6 {
		t.Fatalf("found %d example policies, want the 6 documented", n)
	}
}

func TestQuickstartConfigLoads(t *testing.T) {
	cfg, err := config.Load("quickstart/drawbridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Servers["demo"]; !ok || cfg.Auth != "none" {
		t.Fatalf("quickstart config = %+v", cfg)
	}
	if _, err := wire.Policy(context.Background(), cfg, nil); err != nil {
		t.Fatalf("quickstart policy: %v", err)
	}
}

// TestServerBlocks loads every examples/servers block as a config, checks
// it names a URL over https and that every credential comes from a stored
// secret or the environment, never the file itself.
func TestServerBlocks(t *testing.T) {
	files, _ := filepath.Glob("servers/*.yaml")
	if len(files) < 12 {
		t.Fatalf("found %d server blocks, want the 12 the guide names", len(files))
	}
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", "acct-test")
	t.Setenv("PIPEDREAM_PROJECT_ID", "proj-test")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := config.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Servers) != 1 {
				t.Fatalf("%d servers, want one block", len(cfg.Servers))
			}
			for label, s := range cfg.Servers {
				if !strings.HasPrefix(s.URL, "https://") {
					t.Errorf("%s: url %q is not https", label, s.URL)
				}
				if label != "deepwiki" && len(cfg.SecretRefs()) == 0 {
					t.Errorf("%s: no ${secret:…} credential", label)
				}
				if len(s.Tools.ReadOnly) == 0 {
					t.Errorf("%s: no read_only suggestion", label)
				}
			}
			if _, err := wire.Policy(context.Background(), cfg, nil); err != nil {
				t.Fatalf("default policy over this block: %v", err)
			}
		})
	}
}

// TestSQLGuardBypasses shows that the shipped sql-guard, run by the real
// engine, denies the four bypasses of issue 20: a comment marker inside a
// string literal, the SQL under an upper-case key, a MySQL executable
// comment, and a # comment hiding the WHERE of a DELETE.
func TestSQLGuardBypasses(t *testing.T) {
	e, err := policy.New(context.Background(), policy.Options{Dir: "policies/sql-guard"})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{
		`{"query":"SELECT '--'; DROP TABLE users"}`,
		`{"SQL":"DROP TABLE users"}`,
		`{"query":"/*!50000 DROP TABLE users */"}`,
		`{"query":"DELETE FROM users # WHERE id=1"}`,
	} {
		in := &policy.Input{Method: "tools/call", Server: "db", Tool: policy.Tool{Name: "execute_sql"}, Arguments: json.RawMessage(args)}
		d, err := e.Decide(context.Background(), in)
		if err != nil || d.Action != "deny" {
			t.Errorf("Decide(%s) = %+v, %v; want a deny", args, d, err)
		}
	}
}

// BenchmarkSQLGuard measures one sql-guard decision on a typical query and
// on an INSERT near the default length limit (without policy.timeout, to
// see how far under it the decision stays).
func BenchmarkSQLGuard(b *testing.B) {
	e, err := policy.New(context.Background(), policy.Options{Dir: "policies/sql-guard", Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	var rows []string
	for i := 0; len(strings.Join(rows, ", ")) < 9900; i++ {
		rows = append(rows, fmt.Sprintf(`(%d, 'name %d', \"x\", 3.5)`, i, i))
	}
	for _, bb := range []struct{ name, sql string }{
		{"typical", "SELECT u.id, u.email FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100 AND u.name <> 'x' -- recent\nORDER BY u.id LIMIT 10"},
		{"insert-10000", "INSERT INTO t VALUES " + strings.Join(rows, ", ")[:9900]},
	} {
		args, _ := json.Marshal(map[string]string{"query": bb.sql})
		in := &policy.Input{Method: "tools/call", Server: "db", Tool: policy.Tool{Name: "execute_sql"}, Arguments: args}
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Decide(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

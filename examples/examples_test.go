// Package examples_test loads and exercises every example, so examples never
// rot: each policy's own tests pass, each policy serves under Drawbridge's
// engine, and each config loads.
package examples_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/config"
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
	if _, err := policy.NewFromConfig(context.Background(), cfg, nil); err != nil {
		t.Fatalf("quickstart policy: %v", err)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/examples"
	"github.com/drawbridge-mcp/drawbridge/rego"
)

// runInit writes a commented drawbridge.yaml for the servers named (from
// the bundled blocks) and a policies/ folder with the shipped default
// policy and its test, refusing to overwrite anything.
func runInit(_ context.Context, e env, args []string) error {
	f := newFlags("init", e)
	var servers multiFlag
	f.Var(&servers, "server", "a bundled server block to include (repeatable): "+strings.Join(bundled(), ", "))
	if _, err := f.parse(args); err != nil {
		return err
	}
	path := *f.config
	dir := filepath.Dir(path)
	policies := filepath.Join(dir, "policies")
	for _, p := range []string{path, policies} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s already exists: init writes only new files (move it away, or pass -c another.yaml)", p)
		}
	}
	var blocks []string
	for _, s := range servers {
		b, err := fs.ReadFile(examples.Servers, "servers/"+s+".yaml")
		if err != nil {
			return fmt.Errorf("%w: --server %q is not a bundled block; choose from %s", errUsage, s, strings.Join(bundled(), ", "))
		}
		blocks = append(blocks, string(b))
	}
	if err := os.MkdirAll(policies, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"drawbridge.rego", "drawbridge_test.rego"} {
		b, err := fs.ReadFile(rego.FS, name)
		if err == nil {
			err = os.WriteFile(filepath.Join(policies, name), b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", policies, err)
		}
	}
	if err := os.WriteFile(path, []byte(initConfig(blocks)), 0o600); err != nil {
		return err
	}
	c := ""
	if path != "drawbridge.yaml" {
		c = " -c " + path
	}
	fmt.Fprintf(e.stderr, "wrote %s and %s/ (the shipped policy and its test). Next:\n", path, policies)
	for _, s := range secretsOf(blocks) {
		fmt.Fprintf(e.stderr, "  drawbridge secret set %s%s\n", s, c)
	}
	fmt.Fprintf(e.stderr, "  drawbridge token create openai%s\n  drawbridge check%s\n  drawbridge serve%s\n", c, c, c)
	return nil
}

// initConfig is a commented config around the chosen server blocks.
func initConfig(blocks []string) string {
	var b strings.Builder
	b.WriteString(`# drawbridge.yaml — written by drawbridge init. Every key is in the README.
listen: 127.0.0.1:8750        # the MCP listener (loopback; see "Going public" to be reachable)
data_dir: ./data              # state.db, audit.db, secrets.db, relative to this file
auth: token                   # every MCP request carries a client token (drawbridge token create NAME)

policy:
  dir: ./policies             # the shipped default ("start with approvals") and its test; edit, then drawbridge policy test

approval:
  timeout: 45s                # a held call answers "pending" before OpenAI gives up (~60 s)

`)
	if len(blocks) == 0 {
		b.WriteString("servers: {}   # add blocks: drawbridge init --server stripe, or see examples/servers\n")
		return b.String()
	}
	b.WriteString("servers:\n")
	for _, blk := range blocks {
		for _, line := range strings.Split(strings.TrimRight(blk, "\n"), "\n") {
			if line == "servers:" {
				continue
			}
			if strings.HasPrefix(line, "#") {
				b.WriteString("  " + line + "\n")
				continue
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// secretsOf names the ${secret:NAME} references in the blocks, each once.
func secretsOf(blocks []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, blk := range blocks {
		for _, part := range strings.Split(blk, "${secret:")[1:] {
			if name, _, ok := strings.Cut(part, "}"); ok && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// bundled lists the server blocks init knows.
func bundled() []string {
	entries, _ := fs.ReadDir(examples.Servers, "servers")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	*m = append(*m, v)
	return nil
}

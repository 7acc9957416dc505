package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpConventions: help goes to stdout and exits 0, in every form; each
// command's help has its flags and examples; --version works; a typo gets
// the closest command; an unknown flag is reported once, with the command's
// prefix; a missing config says how to get one.
func TestHelpConventions(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if code, out, errOut := cli(t, "", args...); code != 0 || !strings.Contains(out, "commands:") || errOut != "" {
			t.Errorf("%v = %d %q %q", args, code, out, errOut)
		}
	}
	for name := range commands {
		for _, args := range [][]string{{"help", name}, {name, "-h"}, {name, "--help"}} {
			code, out, errOut := cli(t, "", args...)
			if code != 0 || !strings.Contains(out, "usage:") || !strings.Contains(out, "examples:") || !strings.Contains(out, "flags:") || errOut != "" {
				t.Errorf("%v = %d %q %q", args, code, out, errOut)
			}
		}
		if helps[name].summary == "" {
			t.Errorf("%s has no summary", name)
		}
	}
	if code, out, _ := cli(t, "", "--version"); code != 0 || !strings.HasPrefix(out, "drawbridge ") {
		t.Errorf("--version = %d %q", code, out)
	}
	if code, _, errOut := cli(t, "", "serv"); code != 2 || !strings.Contains(errOut, `did you mean "serve"?`) {
		t.Errorf("serv = %d %q", code, errOut)
	}
	code, _, errOut := cli(t, "", "check", "--bogus")
	if code != 2 || strings.Count(errOut, "flag provided but not defined") != 1 || !strings.HasPrefix(errOut, "drawbridge check: ") {
		t.Errorf("check --bogus = %d %q", code, errOut)
	}
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if code, _, errOut := cli(t, "", "check", "-c", missing); code != 1 || !strings.Contains(errOut, "pass -c FILE, or run drawbridge init") {
		t.Errorf("check of a missing file = %d %q", code, errOut)
	}
}

// TestInit: init writes a commented config for the named bundled servers
// and the shipped policy with its test, prints the next commands (with the
// -c the user gave), the result loads, and a second run refuses to
// overwrite; an unknown server names the ones there are.
func TestInit(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "team", "drawbridge.yaml")
	code, _, errOut := cli(t, "", "init", "-c", cfg, "--server", "stripe", "--server", "deepwiki")
	if code != 0 || !strings.Contains(errOut, "drawbridge secret set STRIPE_SECRET_KEY -c "+cfg) || !strings.Contains(errOut, "drawbridge serve -c "+cfg) {
		t.Fatalf("init = %d %q", code, errOut)
	}
	b, _ := os.ReadFile(cfg)
	if !strings.Contains(string(b), "stripe:") || !strings.Contains(string(b), "deepwiki:") || !strings.Contains(string(b), "# ") {
		t.Errorf("config written:\n%s", b)
	}
	if code, out, _ := cli(t, "", "policy", "test", filepath.Join(filepath.Dir(cfg), "policies")); code != 0 || !strings.Contains(out, "PASS") {
		t.Errorf("the written policy's tests = %d %q", code, out)
	}
	if code, _, errOut := cli(t, "", "check", "-c", cfg); code != 1 || !strings.Contains(errOut, "STRIPE_SECRET_KEY") || strings.Contains(errOut, "yaml") && strings.Contains(errOut, "line") {
		t.Errorf("check of the written config = %d %q (want only the missing secret)", code, errOut)
	}
	if code, _, errOut := cli(t, "", "init", "-c", cfg); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second init = %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "", "init", "-c", filepath.Join(t.TempDir(), "x.yaml"), "--server", "strpe"); code != 2 || !strings.Contains(errOut, "choose from cloudflare") {
		t.Errorf("init --server strpe = %d %q", code, errOut)
	}
}

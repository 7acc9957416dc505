package main

import (
	"context"
	"fmt"
	"strings"
)

// runCheck validates a config file and reports every problem, one per line.
func runCheck(_ context.Context, e env, args []string) error {
	f := newFlags("check", e)
	if _, err := f.parse(args); err != nil {
		return err
	}
	cfg, err := f.load()
	if err != nil {
		first, rest, _ := strings.Cut(err.Error(), "\n")
		fmt.Fprintln(e.stderr, first)
		for _, line := range strings.Split(rest, "\n") {
			fmt.Fprintln(e.stderr, "  "+line)
		}
		return exitError{1}
	}
	fmt.Fprintf(e.stdout, "ok: %s: %d servers (%s)\n", cfg.Path, len(cfg.Servers), strings.Join(cfg.Labels(), ", "))
	return nil
}

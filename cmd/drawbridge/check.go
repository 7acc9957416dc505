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
		fmt.Fprintln(e.stderr, "config is not valid:")
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(e.stderr, "  "+line)
		}
		return exitError{1}
	}
	fmt.Fprintf(e.stdout, "ok: %s: %d servers (%s)\n", cfg.Path, len(cfg.Servers), strings.Join(cfg.Labels(), ", "))
	return nil
}

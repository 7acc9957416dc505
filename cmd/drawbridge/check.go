package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// runCheck validates a config file and reports every problem, one per line.
func runCheck(ctx context.Context, e env, args []string) error {
	f := newFlags("check", e)
	if _, err := f.parse(args); err != nil {
		return err
	}
	cfg, err := f.load()
	if err == nil {
		err = checkSecrets(ctx, cfg)
	}
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

// checkSecrets reports every ${secret:NAME} that is not stored, without
// creating a secrets.db or a key.
func checkSecrets(ctx context.Context, cfg *config.Config) error {
	if len(cfg.SecretRefs()) == 0 {
		return nil
	}
	store, vault, err := openVault(ctx, cfg, nil, false)
	if err != nil {
		return fmt.Errorf("config %s is not valid:\n%w", cfg.Path, err)
	}
	if store != nil {
		defer store.Close()
	}
	if err := missingSecrets(cfg, vault); err != nil {
		return fmt.Errorf("config %s is not valid:\n%w", cfg.Path, err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/wire"
)

// runCheck reports, in one pass, everything serve would refuse: the
// config's problems (every one), references to secrets that are not
// stored, and a policy that does not compile or whose tests fail.
func runCheck(ctx context.Context, e env, args []string) error {
	f := newFlags("check", e)
	if _, err := f.parse(args); err != nil {
		return err
	}
	cfg, err := f.load()
	if cfg != nil {
		err = errors.Join(err, checkSecrets(ctx, cfg), checkPolicy(ctx, cfg))
	}
	if err != nil {
		lines := strings.Split(err.Error(), "\n")
		first := fmt.Sprintf("config %s is not valid:", *f.config)
		if cfg == nil || !strings.HasPrefix(lines[0], "config ") {
			first = lines[0]
			lines = lines[1:]
		}
		fmt.Fprintln(e.stderr, first)
		for _, line := range lines {
			if line != "" && !strings.HasPrefix(line, "config ") {
				fmt.Fprintln(e.stderr, "  "+strings.TrimPrefix(line, "  "))
			}
		}
		return exitError{1}
	}
	fmt.Fprintf(e.stdout, "ok: %s: %d servers (%s)\n", cfg.Path, len(cfg.Servers), strings.Join(cfg.Labels(), ", "))
	return nil
}

// checkPolicy compiles the policy and runs its tests, as serve does.
func checkPolicy(ctx context.Context, cfg *config.Config) error {
	if _, err := wire.Policy(ctx, cfg, slog.New(slog.DiscardHandler)); err != nil {
		return fmt.Errorf("policy: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
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
		return err
	}
	if store != nil {
		defer store.Close()
	}
	return missingSecrets(cfg, vault)
}

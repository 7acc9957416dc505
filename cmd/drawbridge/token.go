package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/duration"
)

// runToken manages client tokens in state.db. "create" prints the token
// alone on stdout (so scripts can capture it) and everything else on stderr.
func runToken(ctx context.Context, e env, args []string) error {
	f := newFlags("token", e)
	servers := f.String("servers", "", "comma-separated `labels` the token may use (create; default all)")
	expires := f.String("expires", "", "lifetime, e.g. 30d, 12h (create; default never)")
	asJSON := f.Bool("json", false, "print JSON (list)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: token create NAME [--servers a,b] [--expires 30d] | token list | token revoke NAME", errUsage)
	}
	cfg, db, err := f.openState(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	switch verb := pos[0]; {
	case verb == "create" && len(pos) == 2:
		var ttl time.Duration
		if *expires != "" {
			if ttl, err = duration.Parse(*expires); err != nil || ttl <= 0 {
				return fmt.Errorf("%w: --expires %q: use a lifetime such as 30d or 12h", errUsage, *expires)
			}
		}
		labels := splitList(*servers)
		for _, l := range labels {
			if _, ok := cfg.Servers[l]; !ok {
				return fmt.Errorf("--servers: unknown server %q; known: %s", l, strings.Join(cfg.Labels(), ", "))
			}
		}
		tok, err := db.CreateToken(ctx, pos[1], labels, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, tok)
		fmt.Fprintf(e.stderr, "created token %q; it is shown once, store it now (Drawbridge keeps only its hash)\n", pos[1])
		return nil
	case verb == "list" && len(pos) == 1:
		toks, err := db.ListTokens(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, toks)
		}
		t := newTable(e.stdout, "NAME", "SERVERS", "CREATED", "EXPIRES")
		for _, tok := range toks {
			scope, exp := "all", "never"
			if len(tok.Servers) > 0 {
				scope = strings.Join(tok.Servers, ",")
			}
			if tok.ExpiresAt != nil {
				exp = tok.ExpiresAt.Format(time.RFC3339)
			}
			t.row(tok.Name, scope, tok.CreatedAt.Format(time.RFC3339), exp)
		}
		return t.flush()
	case verb == "revoke" && len(pos) == 2:
		if err := db.RevokeToken(ctx, pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "revoked token %q\n", pos[1])
		return nil
	default:
		return fmt.Errorf("%w: token create NAME | token list | token revoke NAME", errUsage)
	}
}

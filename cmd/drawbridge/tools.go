package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/textdiff"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/state"
)

const toolsUsage = "tools [SERVER] | tools diff SERVER TOOL | tools accept SERVER [TOOL...] | tools accept SERVER TOOL --hash HASH"

// runTools shows and settles tool trust: what each upstream advertised when
// the proxy last listed it, whether it is served, and what changed.
func runTools(ctx context.Context, e env, args []string) error {
	f := newFlags("tools", e)
	hash := f.String("hash", "", "accept: only if the tool's definition is still the one `tools diff` showed with this hash")
	asJSON := f.Bool("json", false, "list, diff: print JSON")
	exitCode := f.Bool("exit-code", false, "diff: exit 1 when the definition changed since it was pinned")
	yes := f.Bool("yes", false, "accept: every changed or new tool of the server without asking")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	cfg, db, err := f.openState(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case len(pos) <= 1:
		server := ""
		if len(pos) == 1 {
			server = pos[0]
			if _, ok := cfg.Servers[server]; !ok {
				return fmt.Errorf("unknown server %q; known: %s", server, strings.Join(cfg.Labels(), ", "))
			}
		}
		pins, err := db.Pins(ctx, server)
		if err != nil {
			return err
		}
		t := newTable(e.stdout, "SERVER", "TOOL", "STATUS", "PINNED", "ADVERTISED HINTS", "SERVED HINTS")
		rows := []toolRow{}
		for _, p := range pins {
			sc, ok := cfg.Servers[p.Server]
			if !ok {
				continue
			}
			status := "visible"
			switch {
			case proxy.Filtered(sc, p.Tool) != "":
				status = "filtered (" + proxy.Filtered(sc, p.Tool) + ")"
			case proxy.Ambiguity(p.SeenDef) != "":
				status = "quarantined (" + proxy.Ambiguity(p.SeenDef) + ")"
			case sc.Tools.Pin == config.PinOff:
			case p.Standing() == "new":
				status = "quarantined (new; accept to serve)"
			case p.Standing() == "changed":
				status = "quarantined (changed; see tools diff)"
			}
			adv, served := proxy.ServedAnnotations(p.SeenDef, p.Tool, sc)
			t.row(p.Server, p.Tool, status, short(p.PinnedHash), orNone(adv), orNone(served))
			rows = append(rows, toolRow{p.Server, p.Tool, status, p.PinnedHash, p.SeenHash, adv, served})
		}
		if *asJSON {
			return printJSON(e.stdout, rows)
		}
		return t.flush()
	case pos[0] == "diff" && len(pos) == 3:
		p, ok, err := db.Pin(ctx, pos[1], pos[2])
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no tool %q seen on server %q", pos[2], pos[1])
		}
		if *asJSON {
			err := printJSON(e.stdout, map[string]any{"server": p.Server, "tool": p.Tool, "changed": p.PinnedHash != p.SeenHash,
				"pinned_hash": p.PinnedHash, "seen_hash": p.SeenHash, "pinned": rawJSON(p.PinnedDef), "seen": rawJSON(p.SeenDef),
				"diff": textdiff.JSON(p.PinnedDef, p.SeenDef)})
			if err == nil && *exitCode && p.PinnedHash != p.SeenHash {
				return exitError{1}
			}
			return err
		}
		if p.PinnedHash == p.SeenHash {
			fmt.Fprintf(e.stdout, "%s/%s: unchanged since it was pinned (%s)\n", esc(p.Server), esc(p.Tool), short(p.PinnedHash))
			return nil
		}
		fmt.Fprintf(e.stdout, "--- %s/%s as pinned (%s)\n+++ %s/%s as advertised now (%s)\n", esc(p.Server), esc(p.Tool),
			short(p.PinnedHash), esc(p.Server), esc(p.Tool), p.SeenHash)
		fmt.Fprint(e.stdout, escLines(textdiff.JSON(p.PinnedDef, p.SeenDef)))
		fmt.Fprintf(e.stderr, "to accept exactly this definition: drawbridge tools accept %s %s --hash %s\n", esc(p.Server), esc(p.Tool), p.SeenHash)
		if *exitCode {
			return exitError{1}
		}
		return nil
	case pos[0] == "accept" && len(pos) >= 2:
		if err := knownTools(ctx, db, cfg, pos[1], pos[2:]); err != nil {
			return err
		}
		if *hash != "" {
			if len(pos) != 3 {
				return fmt.Errorf("%w: --hash accepts one tool: tools accept SERVER TOOL --hash HASH", errUsage)
			}
			if err := db.AcceptReviewed(ctx, pos[1], pos[2], *hash); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "accepted %s/%s as reviewed (%s); a running proxy serves it within a second\n", esc(pos[1]), esc(pos[2]), *hash)
			return nil
		}
		if len(pos) == 2 && !*yes {
			if err := confirmAcceptAll(ctx, e, db, pos[1]); err != nil {
				return err
			}
		}
		n, err := db.Accept(ctx, pos[1], pos[2:])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "accepted %d tool definition(s) on %s; a running proxy serves them within a second\n", n, esc(pos[1]))
		return nil
	}
	return fmt.Errorf("%w: %s", errUsage, toolsUsage)
}

// knownTools refuses a server the config does not have, or a tool never
// seen on it, naming what there is.
func knownTools(ctx context.Context, db *state.DB, cfg *config.Config, server string, tools []string) error {
	if _, ok := cfg.Servers[server]; !ok {
		return fmt.Errorf("%w: unknown server %q; known: %s", errUsage, server, strings.Join(cfg.Labels(), ", "))
	}
	pins, err := db.Pins(ctx, server)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var names []string
	for _, p := range pins {
		seen[p.Tool] = true
		names = append(names, p.Tool)
	}
	for _, t := range tools {
		if !seen[t] {
			return fmt.Errorf("%w: no tool %q seen on server %q (seen: %s)", errUsage, t, server, strings.Join(names, ", "))
		}
	}
	return nil
}

// confirmAcceptAll lists what accepting a whole server would trust and
// asks on a terminal; elsewhere it needs --yes.
func confirmAcceptAll(ctx context.Context, e env, db *state.DB, server string) error {
	pins, err := db.Pins(ctx, server)
	if err != nil {
		return err
	}
	var pending []string
	for _, p := range pins {
		if p.PinnedHash != p.SeenHash {
			pending = append(pending, p.Tool)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	what := fmt.Sprintf("%d tool definition(s) on %s: %s", len(pending), server, esc(strings.Join(pending, ", ")))
	return confirm(e, "accept "+what, "this would accept "+what+"; name them, or pass --yes", "nothing accepted")
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "-"
	}
	return h
}

func orNone(b json.RawMessage) string {
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// toolRow is one tool of `tools --json`.
type toolRow struct {
	Server          string          `json:"server"`
	Tool            string          `json:"tool"`
	Status          string          `json:"status"`
	PinnedHash      string          `json:"pinned_hash"`
	SeenHash        string          `json:"seen_hash"`
	AdvertisedHints json.RawMessage `json:"advertised_hints"`
	ServedHints     json.RawMessage `json:"served_hints"`
}

// rawJSON is s as a JSON value when it is one, else as a string.
func rawJSON(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/wire"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// mcpTool is one entry of the Responses API's tools array, type mcp.
type mcpTool struct {
	Type            string            `json:"type"`
	ServerLabel     string            `json:"server_label"`
	ServerURL       string            `json:"server_url,omitempty"`
	TunnelID        string            `json:"tunnel_id,omitempty"`
	Headers         map[string]string `json:"headers"`
	AllowedTools    []string          `json:"allowed_tools"`
	RequireApproval any               `json:"require_approval"`
}

// runResponsesConfig prints the Responses API tools array for every server,
// agreeing with the policy: a tool the policy hides from this client is not
// in allowed_tools; a tool the policy allows whatever the arguments is
// require_approval never (the API need not ask); everything else is always
// (the API asks, and Drawbridge still decides on the arguments).
func runResponsesConfig(ctx context.Context, e env, args []string) error {
	f := newFlags("responses-config", e)
	base := f.String("url", "", "the `URL` the Responses API reaches Drawbridge at (default: http://<listen>)")
	client := f.String("client", "", "the client token `name` the request will use (the policy decides per client)")
	if _, err := f.parse(args); err != nil {
		return err
	}
	if u, err := url.Parse(*base); *base != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		return fmt.Errorf("%w: --url %q needs a scheme and a host, like https://mcp.example.com", errUsage, *base)
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	if *client != "" {
		if known, err := tokenNames(ctx, cfg); err == nil && !slices.Contains(known, *client) {
			return fmt.Errorf("%w: --client %q has no token (drawbridge token create %s); the policy decides per token name", errUsage, *client, *client)
		}
	}
	if *base == "" {
		if *base, err = publicBase(cfg); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	engine, err := wire.Policy(ctx, cfg, log)
	if err != nil {
		return err
	}
	v, closeVault, err := readVault(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeVault()
	token := "<drawbridge token>"
	if *client != "" {
		token = "<drawbridge token of " + *client + ">"
	}
	out := []mcpTool{}
	for _, label := range cfg.Labels() {
		tctx, cancel := context.WithTimeout(ctx, cfg.Servers[label].Timeout.D())
		tools, err := proxy.FetchTools(tctx, cfg.Servers[label], log, v)
		cancel()
		if err != nil {
			fmt.Fprintf(e.stderr, "note: %s left out: its tools could not be listed: %v\n", label, err)
			continue
		}
		entry := mcpTool{Type: "mcp", ServerLabel: label, Headers: map[string]string{"Authorization": "Bearer " + token}, AllowedTools: []string{}}
		if cfg.Public.Tunnel == config.TunnelOpenAI && *base == "" {
			if label != cfg.Public.Server {
				continue
			}
			entry.TunnelID = cfg.Public.TunnelID
		} else {
			entry.ServerURL = strings.TrimRight(*base, "/") + "/mcp/" + label
		}
		var never, always []string
		for _, t := range tools {
			in := &policy.Input{Method: "tools/list", Server: label, Tool: t, Client: policy.Client{Name: *client}, Time: time.Now()}
			if d, _ := engine.Decide(ctx, in); d.Action == policy.Deny {
				continue
			}
			entry.AllowedTools = append(entry.AllowedTools, t.Name)
			in.Method, in.Arguments = "tools/call", json.RawMessage(`{}`)
			if d, _ := engine.Decide(ctx, in); d.Action == policy.Allow {
				never = append(never, t.Name)
			} else {
				always = append(always, t.Name)
			}
		}
		switch {
		case len(always) == 0:
			entry.RequireApproval = "never"
		case len(never) == 0:
			entry.RequireApproval = "always"
		default:
			entry.RequireApproval = map[string]any{"never": map[string]any{"tool_names": never}, "always": map[string]any{"tool_names": always}}
		}
		out = append(out, entry)
	}
	return printJSON(e.stdout, out)
}

// tokenNames lists the client token names in the config's state.db.
func tokenNames(ctx context.Context, cfg *config.Config) ([]string, error) {
	db, err := state.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	toks, err := db.ListTokens(ctx)
	var names []string
	for _, t := range toks {
		names = append(names, t.Name)
	}
	return names, err
}

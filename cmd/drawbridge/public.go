package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/expose"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

// exposure is what serve makes reachable beyond this machine (public:).
type exposure struct {
	// url is the public base URL; "" for the openai tunnel.
	url string
	// listener, when set, serves the MCP handler too (HTTPS).
	listener net.Listener
	// https, when set, is the HTTPS listener (its certificate's expiry is a
	// metric).
	https *expose.HTTPS
	// tunnel, when set, runs once the handler exists.
	tunnel  *expose.OpenAITunnel
	closers []func() error
}

// openExposure sets up cfg.Public before the proxy is built: a tunnel's
// hostname becomes an allowed Host, and checks gets the readiness of the
// certificate or the tunnel for /readyz.
func openExposure(ctx context.Context, cfg *config.Config, local net.Listener, vault *secrets.Vault, log *slog.Logger,
	checks map[string]func() (bool, string)) (*exposure, error) {
	p := &cfg.Public
	x := &exposure{}
	// apiKey reads the tunnel's key from the vault, for each use.
	apiKey := func() (string, error) {
		return p.APIKey.Expand(func(name string) (secrets.Secret, bool) { return vault.Resolve(name, "") })
	}
	switch {
	case p.HTTPS():
		h, err := expose.ListenHTTPS(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		x.url, x.listener, x.https = h.URL, h, h
		x.closers = append(x.closers, h.Close)
		checks["certificate"] = h.Check
	case p.Tunnel == config.TunnelCloudflared:
		c, err := expose.StartCloudflared(ctx, p.Cloudflared, local.Addr().String(), log)
		if err != nil {
			return nil, err
		}
		x.reachedAt(cfg, c.URL, c.Close)
	case p.Tunnel == config.TunnelNgrok:
		token, err := apiKey()
		if err != nil {
			return nil, fmt.Errorf("public.api_key: %w", err)
		}
		n, err := expose.ListenNgrok(ctx, token, p.NgrokDomain, log)
		if err != nil {
			return nil, err
		}
		x.listener = n
		x.reachedAt(cfg, n.URL, nil) // the server's Shutdown closes the listener
	case p.Tunnel == config.TunnelLocaltunnel:
		lt, err := expose.StartLocaltunnel(ctx, p.LocaltunnelHost, local.Addr().String(), log)
		if err != nil {
			return nil, err
		}
		x.reachedAt(cfg, lt.URL, lt.Close)
	case p.Tunnel == config.TunnelOpenAI:
		x.tunnel = &expose.OpenAITunnel{Base: p.ControlPlane, TunnelID: p.TunnelID, Label: p.Server, Log: log, Key: apiKey}
		checks["tunnel"] = x.tunnel.Check
	}
	return x, nil
}

// start begins what needs the MCP handler and announces, loudly, what is
// exposed where, with the Responses API tools ready to paste.
func (x *exposure) start(ctx context.Context, cfg *config.Config, h http.Handler, serve func(net.Listener), log *slog.Logger, out io.Writer) {
	if x.listener != nil {
		go serve(x.listener)
	}
	if x.tunnel != nil {
		x.tunnel.Handler = h
		go x.tunnel.Run(ctx)
	}
	where := x.url
	if x.tunnel != nil {
		where = "OpenAI Secure MCP Tunnel " + cfg.Public.TunnelID + " (no public listener)"
	}
	if where == "" {
		return
	}
	log.Warn("EXPOSED: the MCP endpoint is reachable from outside this machine; client tokens are required, "+
		"the admin API stays on "+cfg.Admin.Listen, "at", where)
	fmt.Fprintln(out, "Responses API tools (for allowed_tools and require_approval from your policy, run drawbridge responses-config):")
	_ = printJSON(out, responsesTools(cfg, x.url, "<drawbridge token>"))
}

// responsesTools is the skeleton of the tools array for base (or the
// openai tunnel when cfg has one), every server, with token.
func responsesTools(cfg *config.Config, base, token string) []mcpTool {
	var out []mcpTool
	for _, label := range cfg.Labels() {
		t := mcpTool{Type: "mcp", ServerLabel: label, Headers: map[string]string{"Authorization": "Bearer " + token},
			AllowedTools: []string{}, RequireApproval: "always"}
		if cfg.Public.Tunnel == config.TunnelOpenAI {
			if label != cfg.Public.Server {
				continue
			}
			t.TunnelID = cfg.Public.TunnelID
		} else {
			t.ServerURL = base + "/mcp/" + label
		}
		out = append(out, t)
	}
	return out
}

// reachedAt records a tunnel's public URL, allows its host, and keeps what
// stops the tunnel.
func (x *exposure) reachedAt(cfg *config.Config, publicURL string, stop func() error) {
	x.url = publicURL
	if stop != nil {
		x.closers = append(x.closers, stop)
	}
	if u, err := url.Parse(publicURL); err == nil {
		cfg.AllowedHosts = append(cfg.AllowedHosts, u.Hostname())
	}
}

func (x *exposure) close() {
	for _, c := range x.closers {
		_ = c()
	}
}

// publicBase is the base URL responses-config uses when none is given:
// the public one when it is known before serving.
func publicBase(cfg *config.Config) (string, error) {
	p := &cfg.Public
	switch {
	case p.HTTPS():
		return expose.HTTPSBase(p)
	case p.Tunnel == config.TunnelOpenAI:
		return "", nil
	case p.Tunnel != "":
		return "", fmt.Errorf("the %s tunnel's URL is known once serve runs (it prints it): pass --url", p.Tunnel)
	}
	return "http://" + cfg.Listen, nil
}

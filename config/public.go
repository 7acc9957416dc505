package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Tunnels Drawbridge can expose itself through.
const (
	TunnelNgrok       = "ngrok"
	TunnelCloudflared = "cloudflared"
	TunnelLocaltunnel = "localtunnel"
	TunnelOpenAI      = "openai"
)

// DefaultControlPlane is where OpenAI's Secure MCP Tunnel is polled.
const DefaultControlPlane = "https://api.openai.com"

// Public exposes the MCP listener beyond this machine: automatic HTTPS for
// a domain (ACME, or the user's own certificate), or a tunnel. Any setting
// here forces client tokens on (auth: none is a config error), keeps the
// admin API off every public listener (it has its own, loopback only) and
// adds the public hostname to the allowed Hosts.
type Public struct {
	// Domain gets a certificate by ACME, obtained and renewed in the
	// background (storage: data_dir/certs).
	Domain string `yaml:"domain"`
	// Email is the ACME account's contact.
	Email string `yaml:"email"`
	// Listen is the HTTPS listener. Default :443.
	Listen string `yaml:"listen"`
	// HTTPListen answers ACME HTTP-01 challenges and redirects everything
	// else to https. Default :80; "off" turns it off (TLS-ALPN-01 still
	// works on Listen).
	HTTPListen string `yaml:"http_listen"`
	// ACMECA is another ACME directory (a staging CA, a private one).
	// Default: Let's Encrypt.
	ACMECA string `yaml:"acme_ca"`
	// ACMECARoot is a PEM file of roots to trust for ACMECA. Relative to
	// the config file.
	ACMECARoot string `yaml:"acme_ca_root"`
	// TLS is the user's own certificate instead of ACME, reloaded when the
	// files change.
	TLS *PublicTLS `yaml:"tls"`
	// Tunnel is ngrok, cloudflared, localtunnel or openai (OpenAI's Secure
	// MCP Tunnel, polled by Drawbridge itself: no public listener at all).
	Tunnel string `yaml:"tunnel"`
	// TunnelID is the openai tunnel's id.
	TunnelID string `yaml:"tunnel_id"`
	// APIKey authenticates to the tunnel's control plane: the openai
	// tunnel's API key, ngrok's authtoken. Use ${secret:NAME}.
	APIKey Template `yaml:"api_key"`
	// Server is the label the openai tunnel serves. Default: the only one.
	Server string `yaml:"server"`
	// ControlPlane is the openai tunnel's API base. Default
	// https://api.openai.com. It must be https (the tunnel's API key is
	// sent to it), unless its host is loopback (127.0.0.0/8, ::1,
	// localhost): a local test double.
	ControlPlane string `yaml:"control_plane"`
	// Cloudflared is the cloudflared executable. Default: cloudflared on
	// PATH.
	Cloudflared string `yaml:"cloudflared"`
	// LocaltunnelHost is the localtunnel server. Default localtunnel.me.
	LocaltunnelHost string `yaml:"localtunnel_host"`
	// NgrokDomain is a reserved ngrok domain. Default: a random one.
	NgrokDomain string `yaml:"ngrok_domain"`
}

// PublicTLS is a certificate the user provides.
type PublicTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether anything is exposed.
func (p *Public) Enabled() bool { return p.Domain != "" || p.TLS != nil || p.Tunnel != "" }

// HTTPS reports whether Drawbridge terminates TLS itself.
func (p *Public) HTTPS() bool { return p.Domain != "" || p.TLS != nil }

func (c *Config) publicDefaults() {
	p := &c.Public
	if p.HTTPS() && p.Listen == "" {
		p.Listen = ":443"
	}
	if p.Domain != "" && p.HTTPListen == "" {
		p.HTTPListen = ":80"
	}
	if p.Tunnel == TunnelOpenAI && p.ControlPlane == "" {
		p.ControlPlane = DefaultControlPlane
	}
	if p.Tunnel == TunnelLocaltunnel && p.LocaltunnelHost == "" {
		p.LocaltunnelHost = "localtunnel.me"
	}
	if p.Tunnel == TunnelOpenAI && p.Server == "" && len(c.Servers) == 1 {
		p.Server = c.Labels()[0]
	}
	if p.Tunnel == TunnelCloudflared && p.Cloudflared == "" {
		p.Cloudflared = "cloudflared"
	}
	if p.ACMECARoot != "" {
		p.ACMECARoot = c.Resolve(p.ACMECARoot)
	}
	if p.TLS != nil {
		p.TLS.CertFile, p.TLS.KeyFile = c.Resolve(p.TLS.CertFile), c.Resolve(p.TLS.KeyFile)
	}
	if p.Domain != "" && !slices.Contains(c.AllowedHosts, p.Domain) {
		c.AllowedHosts = append(c.AllowedHosts, p.Domain)
	}
}

// validatePublic reports the public block's problems.
func (c *Config) validatePublic(bad func(path, format string, args ...any)) {
	p := &c.Public
	if !p.Enabled() {
		return
	}
	if c.Auth == AuthNone {
		bad("auth", "none cannot be used with public: anyone who reaches %s could use your upstream credentials; "+
			"use auth: token and drawbridge token create NAME", c.Public.where())
	}
	if p.Domain != "" && p.TLS != nil {
		bad("public", "domain (ACME) and tls (your own certificate) are two ways to get a certificate: choose one")
	}
	if p.HTTPS() && p.Tunnel != "" {
		bad("public.tunnel", "a tunnel and HTTPS on this machine are two ways to be reached: choose one")
	}
	if p.Domain != "" && (strings.ContainsAny(p.Domain, "/:* ") || !strings.Contains(p.Domain, ".")) {
		bad("public.domain", "%q is not a host name like mcp.example.com", p.Domain)
	}
	for key, addr := range map[string]string{"public.listen": p.Listen, "public.http_listen": p.HTTPListen} {
		if addr != "" && addr != "off" {
			if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
				bad(key, "%q is not host:port (e.g. :443)", addr)
			}
		}
	}
	if p.ACMECA != "" {
		if u, err := url.Parse(p.ACMECA); err != nil || u.Scheme != "https" {
			bad("public.acme_ca", "must be an https URL of an ACME directory")
		}
	}
	if p.TLS != nil && (p.TLS.CertFile == "" || p.TLS.KeyFile == "") {
		bad("public.tls", "needs cert_file and key_file")
	}
	switch p.Tunnel {
	case "", TunnelCloudflared, TunnelLocaltunnel:
	case TunnelNgrok:
		if p.APIKey.IsZero() {
			bad("public.api_key", "ngrok needs its authtoken: api_key: ${secret:NGROK_AUTHTOKEN}")
		}
	case TunnelOpenAI:
		if p.TunnelID == "" {
			bad("public.tunnel_id", "the openai tunnel needs its id (from the OpenAI dashboard)")
		}
		if p.APIKey.IsZero() {
			bad("public.api_key", "the openai tunnel needs its API key: api_key: ${secret:OPENAI_TUNNEL_KEY}")
		}
		if _, ok := c.Servers[p.Server]; !ok {
			bad("public.server", "the openai tunnel serves one server: name one of %s", strings.Join(c.Labels(), ", "))
		}
	default:
		bad("public.tunnel", "must be ngrok, cloudflared, localtunnel or openai, not %q", p.Tunnel)
	}
	if p.ControlPlane != "" && !safeControlPlane(p.ControlPlane) {
		shown := p.ControlPlane
		if u, err := url.Parse(shown); err == nil && u.User != nil {
			shown = u.Redacted() // a password in the URL is not repeated
		}
		bad("public.control_plane", "%q must be an https URL (the tunnel's API key is sent to it); "+
			"plain http only to a loopback host (127.0.0.1, [::1], localhost)", shown)
	}
	if !p.APIKey.IsZero() && len(p.APIKey.SecretNames()) == 0 {
		bad("public.api_key", "keep it in the vault: ${secret:NAME} (drawbridge secret set NAME)")
	}
}

// safeControlPlane reports whether the tunnel's key may be sent to base:
// over https to any host, or over http to loopback only, where the key
// never leaves the machine.
func safeControlPlane(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		return IsLoopback(net.JoinHostPort(u.Hostname(), "0"))
	}
	return false
}

// where says what a public setting exposes, for messages.
func (p *Public) where() string {
	switch {
	case p.Domain != "":
		return "https://" + p.Domain
	case p.TLS != nil:
		return "the HTTPS listener " + p.Listen
	}
	return fmt.Sprintf("the %s tunnel", p.Tunnel)
}

package proxy

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// hostPolicy defends against DNS rebinding: a page on another site that
// resolves its own name to 127.0.0.1 sends its own Host and Origin, which
// are not on these lists.
type hostPolicy struct {
	hosts   []string // host or host:port, lower case
	origins map[string]bool
}

func newHostPolicy(cfg *config.Config) hostPolicy {
	p := hostPolicy{origins: map[string]bool{}}
	p.hosts = []string{"localhost", "127.0.0.1", "::1"}
	if h, _, err := net.SplitHostPort(cfg.Listen); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		p.hosts = append(p.hosts, strings.ToLower(h))
	}
	for _, h := range cfg.AllowedHosts {
		p.hosts = append(p.hosts, strings.ToLower(strings.Trim(h, "[]")))
	}
	for _, o := range cfg.AllowedOrigins {
		p.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return p
}

// check returns why a request is refused, or "".
func (p hostPolicy) check(r *http.Request) string {
	if !p.hostAllowed(r.Host) {
		return "host " + r.Host + " is not allowed; add it to allowed_hosts"
	}
	origin := r.Header.Get("Origin")
	if origin == "" || p.origins[strings.ToLower(origin)] {
		return ""
	}
	if u, err := url.Parse(origin); err == nil && isLoopbackHost(u.Hostname()) {
		return "" // a page served from this machine
	}
	return "origin " + origin + " is not allowed; add it to allowed_origins"
}

func (p hostPolicy) hostAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	for _, allowed := range p.hosts {
		if allowed == host || allowed == hostport {
			return true
		}
	}
	return false
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// labelRE is OpenAI's server_label rule.
var labelRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// headerNameRE is an HTTP field name (RFC 9110 token).
var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// Validate returns every problem in c, each with its key path, joined. It
// only reports: it changes nothing and reads no environment variable or
// referenced file (ResolveReferences does that).
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
	}
	for _, a := range []struct{ key, addr string }{{"listen", c.Listen}, {"admin.listen", c.Admin.Listen}} {
		if why := badAddress(a.addr); why != "" {
			bad(a.key, "%q %s", a.addr, why)
		}
	}
	if c.Auth != AuthToken && c.Auth != AuthNone {
		bad("auth", "must be token or none, not %q", c.Auth)
	}
	c.validatePublic(bad)
	if c.Auth == AuthNone && !IsLoopback(c.Listen) {
		bad("auth", "none is allowed only when listen is on loopback (it is %q): anyone who reaches the "+
			"listener could use your upstream credentials; use auth: token and drawbridge token create NAME", c.Listen)
	}
	if c.MaxBodyBytes < 0 {
		bad("max_body_bytes", "must be positive")
	}
	if c.BodyTimeout < 0 {
		bad("body_timeout", "must be positive")
	}
	if c.WriteTimeout < 0 {
		bad("write_timeout", "must be positive")
	}
	if c.MaxConnsPerAddress < 0 {
		bad("max_conns_per_address", "must be positive")
	}
	for i, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" {
			bad(fmt.Sprintf("allowed_origins[%d]", i), "%q is not an origin like https://example.com", o)
		}
	}
	if !IsLoopback(c.Admin.Listen) {
		bad("admin.listen", "must be a loopback address (it approves calls), not %q", c.Admin.Listen)
	}
	if u, err := url.Parse(c.Audit.Witness.URL); c.Audit.Witness.URL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http")) {
		bad("audit.witness.url", "must be an http or https URL")
	}
	if t := c.Tracing; t.Endpoint != "" {
		if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("tracing.endpoint", "must be the collector's OTLP/HTTP URL, e.g. http://127.0.0.1:4318")
		}
		if r := t.SampleRatio; r != nil && (*r < 0 || *r > 1) {
			bad("tracing.sample_ratio", "must be between 0 and 1")
		}
		for _, name := range slices.Sorted(maps.Keys(t.Headers)) {
			if !headerNameRE.MatchString(name) {
				bad("tracing.headers."+name, "not a valid HTTP header name")
			} else if err := t.Headers[name].Err(); err != nil {
				bad("tracing.headers."+name, "%v", err)
			}
		}
	}
	if u, err := url.Parse(c.Approval.WebhookURL); c.Approval.WebhookURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http")) {
		bad("approval.webhook_url", "must be an http or https URL")
	}
	if c.Audit.Sync != SyncNormal && c.Audit.Sync != SyncFull {
		bad("audit.sync", "must be normal or full, not %q", c.Audit.Sync)
	}
	if c.Audit.OnError != OnErrorDeny && c.Audit.OnError != OnErrorAllow {
		bad("audit.on_error", "must be deny or allow, not %q", c.Audit.OnError)
	}
	if c.Audit.MaxResultBytes < 0 {
		bad("audit.max_result_bytes", "must be positive")
	}
	if c.Audit.Retention < 0 {
		bad("audit.retention", "must be positive")
	}
	if c.Policy.Mode != ModeEnforce && c.Policy.Mode != ModeShadow {
		bad("policy.mode", "must be enforce or shadow, not %q", c.Policy.Mode)
	}
	if c.Policy.Timeout < 0 {
		bad("policy.timeout", "must be positive")
	}
	if c.Policy.Dir != "" {
		if st, err := os.Stat(c.Policy.Dir); err != nil || !st.IsDir() {
			bad("policy.dir", "%s is not a readable directory", c.Policy.Dir)
		}
	}
	if len(c.Servers) == 0 {
		bad("servers", "at least one server is required")
	}
	for _, label := range c.Labels() {
		errs = append(errs, c.validateServer(label)...)
	}
	return errors.Join(errs...)
}

// Labels returns the server labels, sorted.
func (c *Config) Labels() []string {
	labels := make([]string, 0, len(c.Servers))
	for l := range c.Servers {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	return labels
}

func (c *Config) validateServer(label string) []error {
	var errs []error
	p := "servers." + label
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", join(p, key), fmt.Sprintf(format, args...)))
	}
	s := c.Servers[label]
	if !labelRE.MatchString(label) {
		bad("", "label may hold only letters, digits, _ and -")
	}
	if s == nil {
		bad("", "empty server: set url or command")
		return errs
	}
	switch {
	case s.URL != "" && s.Command != "":
		bad("", "set url or command, not both")
	case s.URL == "" && s.Command == "":
		bad("", "set url (remote server) or command (stdio server)")
	case s.URL != "":
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url", "must be an http or https URL")
		}
		if s.Transport != TransportAuto && s.Transport != TransportStreamable && s.Transport != TransportSSE {
			bad("transport", "must be auto, streamable-http or sse, not %q", s.Transport)
		}
		if len(s.Args) > 0 || len(s.Env) > 0 || s.Cwd != "" {
			bad("", "args, env and cwd apply to command servers only")
		}
		errs = append(errs, c.validateAuth(p, s)...)
	default:
		if s.Transport != "" {
			bad("transport", "applies to url servers only")
		}
		if len(s.Headers) > 0 || s.Auth.Basic != nil || s.Auth.HMAC != nil {
			bad("", "headers and auth apply to url servers only (give a stdio server its credentials through env)")
		}
	}
	if s.Timeout < 0 {
		bad("timeout", "must be positive")
	}
	if s.Tools.Pin != PinTOFU && s.Tools.Pin != PinStrict && s.Tools.Pin != PinOff {
		bad("tools.pin", "must be tofu, strict or off, not %q", s.Tools.Pin)
	}
	if s.MaxOutputBytes < 0 {
		bad("max_output_bytes", "must be positive")
	}
	if s.CacheTTL < 0 {
		bad("cache_ttl", "must be positive")
	}
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		key := "headers." + name
		if !headerNameRE.MatchString(name) {
			bad(key, "not a valid HTTP header name")
		}
		if strings.EqualFold(name, "Host") || strings.EqualFold(name, "Content-Length") {
			bad(key, "may not be set")
		}
		if err := s.Headers[name].Err(); err != nil {
			bad(key, "%v", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Env)) {
		if err := s.Env[name].Err(); err != nil {
			bad("env."+name, "%v", err)
		}
	}
	for _, list := range []struct {
		key   string
		names []string
	}{{"tools.allow", s.Tools.Allow}, {"tools.deny", s.Tools.Deny}, {"tools.read_only", s.Tools.ReadOnly},
		{"tools.destructive", s.Tools.Destructive}} {
		for i, g := range list.names {
			if strings.TrimSpace(g) == "" {
				bad(fmt.Sprintf("%s[%d]", list.key, i), "empty tool name")
			}
		}
	}
	return errs
}

// IsLoopback reports whether a listen address is on loopback only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validateAuth(p string, s *Server) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.auth.%s: %s", p, key, fmt.Sprintf(format, args...)))
	}
	tmpl := func(key string, t Template) {
		if t.IsZero() {
			bad(key, "required")
		} else if err := t.Err(); err != nil {
			bad(key, "%v", err)
		}
	}
	if b := s.Auth.Basic; b != nil {
		tmpl("basic.username", b.Username)
		tmpl("basic.password", b.Password)
		if _, ok := s.Headers["Authorization"]; ok {
			bad("basic", "conflicts with headers.Authorization")
		}
	}
	if h := s.Auth.HMAC; h != nil {
		if !headerNameRE.MatchString(h.Header) {
			bad("hmac.header", "must be an HTTP header name")
		}
		tmpl("hmac.key", h.Key)
		if h.Algorithm != HMACSHA256 && h.Algorithm != HMACSHA1 {
			bad("hmac.algorithm", "must be sha256 or sha1, not %q", h.Algorithm)
		}
		if h.Encoding != HMACBase64 && h.Encoding != HMACHex {
			bad("hmac.encoding", "must be base64 or hex, not %q", h.Encoding)
		}
	}
	return errs
}

// badAddress says what is wrong with a host:port listen address ("" when
// nothing is).
func badAddress(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not host:port"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "has a port outside 0-65535"
	}
	return ""
}

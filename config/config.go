// Package config owns drawbridge.yaml: its schema, defaults and validation.
//
// It is pure data. Load decodes a file (unknown keys rejected), applies
// defaults, resolves relative paths against the file's folder and validates,
// returning every problem at once with its key path. The field comments are
// the reference documentation for each key.
package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Config is the whole of drawbridge.yaml.
type Config struct {
	// Listen is the address of the MCP listener. Default 127.0.0.1:8750.
	Listen string `yaml:"listen"`
	// DataDir holds state.db (client tokens) and, later, audit.db and
	// secrets.db. Relative to the config file. Default ./data.
	DataDir string `yaml:"data_dir"`
	// Auth is "token" (default: every MCP request carries
	// Authorization: Bearer <client token>) or "none", which serve accepts
	// only while every listener is on loopback.
	Auth AuthMode `yaml:"auth"`
	// AllowedHosts lists the Host header values the MCP listener answers
	// (DNS-rebinding defence). Default: localhost, 127.0.0.1, [::1] and the
	// listen address. Add a tunnel's public hostname here. Entries may carry
	// a port ("example.com:8443"); without one, any port matches.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowedOrigins lists the browser Origin values accepted. A request
	// without an Origin header is accepted; one with an Origin outside this
	// list gets 403. Default: none.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxBodyBytes caps a request body. Default 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// BodyTimeout is how long a client may take to send a request body
	// once its headers are in, on every listener (the admin one too).
	// Default 30s.
	BodyTimeout Duration `yaml:"body_timeout"`
	// WriteTimeout is how long one write to a client may block: a client
	// that stops reading its response is cut off after it. Event streams
	// and calls waiting for approval live as long as they need; each write
	// gets its own deadline. Every listener, the admin one too. Default
	// 30s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// MaxConnsPerAddress caps the open connections from one remote address
	// on each listener (the admin listener's callers all share loopback's);
	// more are closed at once. Behind a tunnel every client shares the
	// tunnel's address: raise it there. Default 256.
	MaxConnsPerAddress int `yaml:"max_conns_per_address"`
	// ShutdownGrace is how long in-flight calls may finish after SIGINT or
	// SIGTERM. Default 10s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// Public exposes the MCP listener beyond this machine: HTTPS or a
	// tunnel. See Public.
	Public Public `yaml:"public"`
	// Admin is the loopback-only listener of the admin API (approvals),
	// which the CLI talks to, the web console and /metrics.
	Admin Admin `yaml:"admin"`
	// Tracing sends OpenTelemetry traces; off unless tracing.endpoint is set.
	Tracing Tracing `yaml:"tracing"`
	// Approval configures calls a policy holds for a person.
	Approval Approval `yaml:"approval"`
	// Audit is the ledger every call is written to.
	Audit Audit `yaml:"audit"`
	// Policy is the Rego policy that decides every call.
	Policy Policy `yaml:"policy"`
	// Servers maps a label (OpenAI's server_label rule: letters, digits, _
	// and -) to an upstream. Served at /mcp/<label>.
	Servers map[string]*Server `yaml:"servers"`

	// Path is the file this was loaded from; Dir its folder.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
}

// Server is one upstream MCP server.
type Server struct {
	// URL of a remote server (http or https). Exactly one of URL and Command.
	URL string `yaml:"url"`
	// Transport for URL: "auto" (default: Streamable HTTP, falling back to
	// the legacy HTTP+SSE transport as the MCP spec describes),
	// "streamable-http" or "sse".
	Transport Transport `yaml:"transport"`
	// Command starts a local stdio server. Relative to the config file when
	// it contains a slash; otherwise looked up in PATH.
	Command string `yaml:"command"`
	// Args for Command.
	Args []string `yaml:"args"`
	// Env is the child's whole environment: Drawbridge's own environment is
	// never passed on. Values may use ${env:NAME}.
	Env map[string]Template `yaml:"env"`
	// Cwd is the child's working directory, relative to the config file.
	// Default: the config file's folder.
	Cwd string `yaml:"cwd"`
	// Headers are added to every request to URL, innermost, after the call
	// is allowed. Values may use ${secret:NAME} (resolved per call, for the
	// calling client: its own scoped secret when there is one), ${env:NAME}
	// and ${file:PATH}. Never sent anywhere else.
	Headers map[string]Template `yaml:"headers"`
	// Auth builds credentials that are more than a header template.
	Auth Auth `yaml:"auth"`
	// Timeout bounds one upstream call, connection included. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// CacheTTL is how long a tool list is served from memory before it is
	// fetched again (it is also refreshed on notifications/tools/list_changed).
	// Default 5m.
	CacheTTL Duration `yaml:"cache_ttl"`
	// Tools filters what this upstream offers.
	Tools ToolFilter `yaml:"tools"`
	// TrustAnnotations keeps the upstream's own annotation hints where
	// tools.read_only and tools.destructive say nothing. Default false:
	// hints are claims by the upstream (a tool that writes can say
	// readOnlyHint: true, and the Responses API trusts that), so they are
	// removed.
	TrustAnnotations bool `yaml:"trust_annotations"`
	// ValidateArguments checks every call's arguments against the tool's
	// input schema, as pinned, and refuses a call that does not conform
	// (naming where). A schema Drawbridge cannot compile refuses every call
	// of the tool: this is a guard, it fails closed. Schemas may not refer
	// to other documents ($ref to a URL or a file).
	ValidateArguments bool `yaml:"validate_arguments"`
	// MaxOutputBytes cuts a tool result larger than this, with a marker.
	// Default 1 MiB.
	MaxOutputBytes int `yaml:"max_output_bytes"`

	// Label is the key under servers.
	Label string `yaml:"-"`
}

// Auth is a computed credential for a URL server.
type Auth struct {
	// Basic sends Authorization: Basic base64(username:password).
	Basic *BasicAuth `yaml:"basic"`
	// HMAC signs each request: the header carries the HMAC of the request
	// URL followed by its body, under key (Twilio-style request signing).
	HMAC *HMACAuth `yaml:"hmac"`
}

// BasicAuth is HTTP Basic authentication from two values.
type BasicAuth struct {
	Username Template `yaml:"username"` // e.g. ${secret:TWILIO_ACCOUNT_SID}
	Password Template `yaml:"password"` // e.g. ${secret:TWILIO_AUTH_TOKEN}
}

// HMACAuth is a request signature header.
type HMACAuth struct {
	// Header carries the signature, e.g. X-Twilio-Signature.
	Header string `yaml:"header"`
	// Key is e.g. ${secret:TWILIO_AUTH_TOKEN}.
	Key Template `yaml:"key"`
	// Algorithm is sha256 (default) or sha1.
	Algorithm HMACAlgorithm `yaml:"algorithm"`
	// Encoding is base64 (default) or hex.
	Encoding HMACEncoding `yaml:"encoding"`
}

// SecretRef is a ${secret:NAME} reference and where it stands.
type SecretRef struct {
	Path string // key path, e.g. servers.stripe.headers.Authorization
	Name string
}

// SecretRefs lists every ${secret:NAME} reference, by key path.
func (c *Config) SecretRefs() []SecretRef {
	var out []SecretRef
	c.eachTemplate(func(path string, t *Template) {
		for _, n := range t.SecretNames() {
			out = append(out, SecretRef{Path: path, Name: n})
		}
	})
	return out
}

// ResolveReferences reads every ${env:NAME} and ${file:PATH} reference,
// once, and reports each one that cannot be read, with its key path. It is
// the one step that reads the environment; Load runs it after Validate.
func (c *Config) ResolveReferences() error {
	var errs []error
	c.eachTemplate(func(path string, t *Template) {
		if t.Err() != nil {
			return // Validate reports it
		}
		r, err := t.resolve(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			return
		}
		*t = r
	})
	return errors.Join(errs...)
}

// eachTemplate calls fn with every template in the config and its key
// path, in a stable order; what fn stores through the pointer is kept.
func (c *Config) eachTemplate(fn func(path string, t *Template)) {
	inMap := func(prefix string, m map[string]Template) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			t := m[k]
			fn(prefix+k, &t)
			m[k] = t
		}
	}
	for _, label := range c.Labels() {
		s := c.Servers[label]
		if s == nil {
			continue
		}
		p := "servers." + label
		inMap(p+".headers.", s.Headers)
		inMap(p+".env.", s.Env)
		if b := s.Auth.Basic; b != nil {
			fn(p+".auth.basic.username", &b.Username)
			fn(p+".auth.basic.password", &b.Password)
		}
		if h := s.Auth.HMAC; h != nil {
			fn(p+".auth.hmac.key", &h.Key)
		}
	}
	fn("public.api_key", &c.Public.APIKey)
	inMap("tracing.headers.", c.Tracing.Headers)
}

// ToolFilter selects tools by exact name or * glob.
type ToolFilter struct {
	// Allow, when not empty, is the only tools served.
	Allow []string `yaml:"allow"`
	// Deny tools are never served, even when allowed.
	Deny []string `yaml:"deny"`
	// ReadOnly names the tools the operator vouches for as read-only. The
	// default policy allows these without approval; policies see the list
	// at data.config.servers.<label>.read_only; clients are told
	// readOnlyHint: true for them.
	ReadOnly []string `yaml:"read_only"`
	// Destructive names tools clients are told destructiveHint: true for.
	Destructive []string `yaml:"destructive"`
	// Pin is how tool definitions are trusted: tofu (default: a tool is
	// pinned when first seen, and quarantined if its definition changes),
	// strict (new tools are quarantined too, until accepted) or off.
	Pin PinMode `yaml:"pin"`
}

// Admin configures the admin listener.
type Admin struct {
	// Listen must be a loopback address. Default 127.0.0.1:8751. Requests
	// carry the admin token kept in data_dir/admin.token (0600).
	Listen string `yaml:"listen"`
}

// Tracing sends a span per tools/call (with its policy, approval wait,
// ledger write and upstream stages) over OTLP/HTTP, and propagates W3C
// traceparent to HTTP upstreams.
type Tracing struct {
	// Endpoint is the collector's OTLP/HTTP base URL, e.g.
	// http://127.0.0.1:4318 (spans go to /v1/traces). Empty: no tracing.
	Endpoint string `yaml:"endpoint"`
	// Headers are sent with every export, e.g. Authorization:
	// "Bearer ${secret:OTLP_TOKEN}".
	Headers map[string]Template `yaml:"headers"`
	// SampleRatio is the share of calls traced, 0 to 1. Default 1.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// ServiceName is the service.name resource attribute. Default drawbridge.
	ServiceName string `yaml:"service_name"`
}

// Approval configures approvals.
type Approval struct {
	// Timeout is how long a held call waits for a person; keep it below the
	// client's own timeout (OpenAI's gives up after about 60s). Default 45s. Unanswered, the call gets a tool
	// error naming the approval, which stays pending.
	Timeout Duration `yaml:"timeout"`
	// GrantTTL is how long an approval covers the same call (same client,
	// tool, arguments), and how long a pending approval waits. Default 10m.
	GrantTTL Duration `yaml:"grant_ttl"`
	// WebhookURL gets a JSON POST (Slack incoming-webhook shape) for every
	// new approval.
	WebhookURL string `yaml:"webhook_url"`
}

// Audit configures the ledger.
type Audit struct {
	// Path of the SQLite file. Default data_dir/audit.db; relative to the
	// config file.
	Path string `yaml:"path"`
	// Sync is normal (default: a committed event survives a killed process)
	// or full (it survives power loss; fsync per batch).
	Sync SyncMode `yaml:"sync"`
	// OnError is deny (default: when the ledger cannot be written, calls are
	// refused) or allow (calls go on unrecorded; said loudly at start).
	OnError OnError `yaml:"on_error"`
	// MaxResultBytes cuts a recorded result, with a marker. Default 65536.
	MaxResultBytes int `yaml:"max_result_bytes"`
	// RedactKeys are argument keys whose values are recorded as
	// [REDACTED], added to the defaults (password, token, secret,
	// authorization, card_number, cvv, …). Case-insensitive, any depth.
	RedactKeys []string `yaml:"redact_keys"`
	// Retention deletes events older than this, daily ("90d", "720h").
	// Default: keep everything.
	Retention Duration `yaml:"retention"`
	// Witness writes the chain's head outside audit.db every interval, so
	// `audit verify --head HASH` can prove that nothing up to it was cut
	// from the end or rewritten.
	Witness AuditWitness `yaml:"witness"`
}

// AuditWitness is where the ledger's head is written periodically.
type AuditWitness struct {
	// File gets one JSON line {"seq","hash","at"} per new head; relative to
	// the config file. Keep it where audit.db's writers cannot rewrite it.
	File string `yaml:"file"`
	// URL gets each new head as a JSON POST.
	URL string `yaml:"url"`
	// Interval between writes. Default 1m.
	Interval Duration `yaml:"interval"`
}

// Policy configures the policy engine.
type Policy struct {
	// Dir holds the .rego files (tests: *_test.rego) and data.json /
	// data.yaml. Relative to the config file. Default: the policies shipped
	// with Drawbridge (rego/), embedded in the binary. A set Dir is watched
	// and reloaded on change: compiled, tested, swapped atomically.
	Dir string `yaml:"dir"`
	// Query is the decision. Default data.drawbridge.decision.
	Query string `yaml:"query"`
	// OutputQuery is the optional rule that sees each result (input.result)
	// and may answer deny. Default data.drawbridge.output; undefined allows.
	OutputQuery string `yaml:"output_query"`
	// Data is merged at the root of data, after the directory's data files.
	Data map[string]any `yaml:"data"`
	// Mode is enforce (default) or shadow: in shadow the decision is
	// computed and recorded, and the call proceeds whatever it says.
	Mode PolicyMode `yaml:"mode"`
	// Timeout bounds one evaluation; past it the call is denied. Default
	// 100ms.
	Timeout Duration `yaml:"timeout"`
	// AllowBuiltins opts in, by name, to builtins that reach outside the
	// process (http.send, net.lookup_ip_addr, opa.runtime,
	// providers.aws.sign_req). Default: none, and a policy using one fails
	// to load.
	AllowBuiltins []string `yaml:"allow_builtins"`
}

// Defaults.
const (
	DefaultListen       = "127.0.0.1:8750"
	DefaultMaxBodyBytes = 4 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultCacheTTL     = 5 * time.Minute
	DefaultGrace        = 10 * time.Second
	// DefaultApprovalTimeout answers a held call before OpenAI's cloud
	// gives up on it (about 60 s): the model then reads "pending, ask the
	// operator, retry" instead of the Responses API failing the call.
	DefaultApprovalTimeout = 45 * time.Second
	DefaultBodyTimeout     = 30 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultConnsPerAddr    = 256
	DefaultPolicyTime      = 100 * time.Millisecond
	DefaultMaxResult       = 64 << 10
	DefaultMaxOutput       = 1 << 20
)

// IsStdio reports whether the server is a local child process.
func (s *Server) IsStdio() bool { return s.Command != "" }

// PolicyData is what policies see of the config at data.config: each
// server's tool lists and kind, never its credentials.
func (c *Config) PolicyData() map[string]any {
	servers := map[string]any{}
	for label, s := range c.Servers {
		kind := "http"
		if s.IsStdio() {
			kind = "stdio"
		}
		servers[label] = map[string]any{
			"kind":      kind,
			"allow":     strs(s.Tools.Allow),
			"deny":      strs(s.Tools.Deny),
			"read_only": strs(s.Tools.ReadOnly),
		}
	}
	return map[string]any{"servers": servers}
}

func strs(in []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}

// Package config owns drawbridge.yaml: its schema, defaults and validation.
//
// It is pure data. Load decodes a file (unknown keys rejected), applies
// defaults, resolves relative paths against the file's folder and validates,
// returning every problem at once with its key path. The field comments are
// the reference documentation for each key.
package config

import "time"

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
	Auth string `yaml:"auth"`
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
	// ShutdownGrace is how long in-flight calls may finish after SIGINT or
	// SIGTERM. Default 10s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
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
	Transport string `yaml:"transport"`
	// Command starts a local stdio server. Relative to the config file when
	// it contains a slash; otherwise looked up in PATH.
	Command string `yaml:"command"`
	// Args for Command.
	Args []string `yaml:"args"`
	// Env is the child's whole environment: Drawbridge's own environment is
	// never passed on. Values may use ${env:NAME}.
	Env map[string]string `yaml:"env"`
	// Cwd is the child's working directory, relative to the config file.
	// Default: the config file's folder.
	Cwd string `yaml:"cwd"`
	// Headers are added to every request to URL, innermost, after the call
	// is allowed. Values may use ${env:NAME}. Never sent anywhere else.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one upstream call, connection included. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// CacheTTL is how long a tool list is served from memory before it is
	// fetched again (it is also refreshed on notifications/tools/list_changed).
	// Default 5m.
	CacheTTL Duration `yaml:"cache_ttl"`
	// Tools filters what this upstream offers.
	Tools ToolFilter `yaml:"tools"`

	// Label is the key under servers.
	Label string `yaml:"-"`
	// EnvT and HeadersT are the parsed templates of Env and Headers.
	EnvT     map[string]Template `yaml:"-"`
	HeadersT map[string]Template `yaml:"-"`
}

// ToolFilter selects tools by exact name or * glob.
type ToolFilter struct {
	// Allow, when not empty, is the only tools served.
	Allow []string `yaml:"allow"`
	// Deny tools are never served, even when allowed.
	Deny []string `yaml:"deny"`
}

// Defaults.
const (
	DefaultListen       = "127.0.0.1:8750"
	DefaultMaxBodyBytes = 4 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultCacheTTL     = 5 * time.Minute
	DefaultGrace        = 10 * time.Second
)

// IsStdio reports whether the server is a local child process.
func (s *Server) IsStdio() bool { return s.Command != "" }

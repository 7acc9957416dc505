// Package proxy is Drawbridge's request path: the HTTP layer, the MCP
// endpoint per upstream, the call pipeline and the upstream registry with its
// three transports (Streamable HTTP, legacy HTTP+SSE, stdio).
//
// The proxy re-terminates MCP: it is an MCP server to its clients and an MCP
// client to each upstream. That is what lets it authorize every call on its
// own whatever the client does with sessions, serve tools/list from memory,
// bridge protocol versions and treat stdio upstreams like remote ones.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Version is Drawbridge's version, reported to clients and upstreams.
const Version = "0.1.0"

// Identity is who a client token belongs to.
type Identity struct {
	// ID names the token itself: grants are keyed by it, so a new token
	// under a revoked token's name starts with none.
	ID   string
	Name string
	// Servers, when not empty, are the only labels the token may use.
	Servers []string
}

// Tokens verifies client tokens. The state package implements it over
// state.db.
type Tokens interface {
	Verify(ctx context.Context, token string) (Identity, error)
}

// ErrBadToken is returned by Tokens.Verify for unknown, revoked or expired
// tokens.
var ErrBadToken = errors.New("invalid client token")

// Options configure a Server.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// Tokens verifies client tokens; required unless auth is none.
	Tokens Tokens
	// Policy decides every call; required.
	Policy Decider
	// Ledger records every call; required.
	Ledger Ledger
	// Secrets resolves ${secret:NAME}; nil means no secret is stored.
	Secrets Vault
	// Pins remembers trusted tool definitions; nil turns pinning off.
	Pins Pins
	// Approvals holds calls the policy sends to a person; nil refuses them.
	Approvals Approvals
	// Checks add named readiness reports to the admin listener's readiness
	// report (Readiness: the policy engine's last reload, say). They
	// inform; they do not make Drawbridge unready.
	Checks map[string]func() (ok bool, detail string)
	// Observe sees every finished tools/call (metrics); nil: nobody.
	Observe func(CallRecord)
	// Tracing makes a span per call (and its stages) and propagates
	// traceparent to HTTP upstreams; nil: no traces.
	Tracing trace.TracerProvider
}

// Server serves the MCP listener.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	tokens    Tokens
	policy    Decider
	ledger    Ledger
	vault     Vault
	pins      Pins
	approvals Approvals
	redact    *audit.Redactor
	checks    map[string]func() (bool, string)
	upstreams map[string]*Upstream
	scrub     *scrubber
	schemas   schemas // compiled input schemas, for validate_arguments
	hosts     hostPolicy
	ids       *requestIDs
	onCall    func(CallRecord)
	tracer    trace.Tracer
}

// New builds a Server from a validated config. It refuses configurations
// that would expose Drawbridge without client authentication.
func New(opts Options) (*Server, error) {
	cfg := opts.Config
	if cfg.Auth == config.AuthNone && !config.IsLoopback(cfg.Listen) { // fail closed even if Validate was skipped
		return nil, fmt.Errorf("auth: none is allowed only when the listener is on loopback, and listen is %q: "+
			"anyone who can reach it could use your upstream credentials; create a client token instead "+
			"(drawbridge token create NAME)", cfg.Listen)
	}
	if cfg.Auth == config.AuthToken && opts.Tokens == nil {
		return nil, errors.New("auth: token needs a token store")
	}
	if opts.Policy == nil {
		return nil, errors.New("a policy engine is required: every call is decided")
	}
	if opts.Ledger == nil {
		return nil, errors.New("an audit ledger is required: every call is recorded")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		tokens:    opts.Tokens,
		policy:    opts.Policy,
		ledger:    opts.Ledger,
		checks:    opts.Checks,
		upstreams: make(map[string]*Upstream, len(cfg.Servers)),
		scrub:     &scrubber{},
		vault:     opts.Secrets,
		pins:      opts.Pins,
		approvals: opts.Approvals,
		hosts:     newHostPolicy(cfg),
		ids:       newRequestIDs(),
		onCall:    opts.Observe,
	}
	if s.vault == nil {
		s.vault = noVault{}
	}
	tp := opts.Tracing
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	s.tracer = tp.Tracer("github.com/drawbridge-mcp/drawbridge/proxy")
	s.scrub.stale = s.vault.Err
	s.rebuildGuard()
	s.vault.OnChange(s.rebuildGuard)
	s.log = slog.New(&scrubHandler{Handler: log.Handler(), scrub: s.scrub})
	s.redact = audit.NewRedactor(cfg.Audit.RedactKeys, s.scrub.String, cfg.Audit.MaxResultBytes)
	for label, sc := range cfg.Servers {
		u := newUpstream(sc, s.log, s.scrub, s.lookupFor)
		u.onFetch = func(ctx context.Context, c *catalog) { s.observe(ctx, u, c) }
		u.changes.summary = func(counts map[string]int, others int) { s.changesSuppressed(u, counts, others) }
		s.upstreams[label] = u
	}
	return s, nil
}

// Warm connects every upstream and loads its tools in the background, so the
// first call does not pay for it and readiness tells the truth early.
func (s *Server) Warm(ctx context.Context) {
	for _, u := range s.upstreams {
		go func() {
			ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout.D())
			defer cancel()
			if _, err := u.Tools(ctx); err != nil {
				s.log.Warn("upstream not ready", "server", u.cfg.Label, "err", err)
			}
		}()
	}
}

// Close disconnects every upstream and stops stdio children.
func (s *Server) Close() error {
	var wg sync.WaitGroup
	errs := make([]error, 0, len(s.upstreams))
	var mu sync.Mutex
	for _, u := range s.upstreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := u.Close(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("close %s: %w", u.cfg.Label, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// scrubHandler scrubs configured credentials from every log record's message
// and string attributes.
type scrubHandler struct {
	slog.Handler
	scrub *scrubber
}

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.scrub.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.scrubAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h *scrubHandler) scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.scrub.String(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.scrub.String(err.Error()))
		}
	}
	return a
}

func (h *scrubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	for i := range as {
		as[i] = h.scrubAttr(as[i])
	}
	return &scrubHandler{Handler: h.Handler.WithAttrs(as), scrub: h.scrub}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{Handler: h.Handler.WithGroup(name), scrub: h.scrub}
}

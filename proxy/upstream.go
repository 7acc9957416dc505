package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// upstreamVersion is the protocol version Drawbridge asks its upstreams for.
// A newer upstream negotiates down to it (initialize answers with the
// client's version when the server supports it); an older one answers with
// its own, which Drawbridge accepts when it is in legacyVersions.
const upstreamVersion = "2025-11-25"

var legacyVersions = map[string]bool{"2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true}

// Backoff between reconnection attempts after an upstream fails or a stdio
// child dies.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// ErrUpstream marks errors that come from reaching an upstream, not from
// what it answered.
var ErrUpstream = errors.New("upstream unavailable")

// UpstreamError says which upstream could not be reached and why, with any
// configured credential scrubbed from the cause.
type UpstreamError struct {
	Label string
	Cause string
}

func (e *UpstreamError) Error() string        { return "upstream " + e.Label + ": " + e.Cause }
func (e *UpstreamError) Is(target error) bool { return target == ErrUpstream }

// Upstream is one configured server: a single connection (or child process)
// shared by every downstream client, reconnected with backoff when it fails,
// and a cached tool catalog.
type Upstream struct {
	cfg   *config.Server
	log   *slog.Logger
	quiet *slog.Logger // for mcp-go's transport chatter: warnings only
	scrub *scrubber
	// lookup resolves ${secret:NAME} for a client ("" for Drawbridge's own
	// requests).
	lookup func(client string) config.Lookup
	// onFetch sees each freshly fetched catalog before it is served (tool
	// pinning).
	onFetch func(context.Context, *catalog)

	life context.Context // ends at Close; bounds streams and children
	stop context.CancelFunc

	nextID atomic.Int64
	// latency is how long the last answered request took (nanoseconds).
	latency atomic.Int64
	// lastFailure is the last request that failed, for operators.
	lastFailure atomic.Pointer[lastFailure]

	mu        sync.Mutex // guards the fields below
	conn      transport.Interface
	init      *initResult
	lastErr   error
	failures  int       // consecutive, for backoff
	retryAt   time.Time // no dial before this
	connected time.Time
	closed    bool

	dialing flight[liveConn]
	tools   catalogCache

	// refetch is signalled by list_changed, and notified counts the
	// notifications it stands for (churn.go); changes bounds the
	// tools/changed events.
	refetchOnce sync.Once
	refetch     chan struct{}
	notified    atomic.Int64
	changes     changeBudget
}

// initResult is what the upstream said about itself at initialize.
type initResult struct {
	ProtocolVersion string          `json:"protocolVersion"`
	Capabilities    json.RawMessage `json:"capabilities"`
	ServerInfo      json.RawMessage `json:"serverInfo"`
	Instructions    string          `json:"instructions,omitempty"`
}

// has reports whether the upstream declared a capability (tools, resources,
// prompts, completions, logging).
func (i *initResult) has(capability string) bool {
	if i == nil {
		return false
	}
	var caps map[string]json.RawMessage
	_ = json.Unmarshal(i.Capabilities, &caps)
	_, ok := caps[capability]
	return ok
}

func newUpstream(cfg *config.Server, log *slog.Logger, scrub *scrubber, lookup func(string) config.Lookup) *Upstream {
	life, stop := context.WithCancel(context.Background())
	log = log.With("server", cfg.Label)
	u := &Upstream{
		cfg: cfg, log: log, scrub: scrub, lookup: lookup, life: life, stop: stop,
		quiet: slog.New(levelFilter{log.Handler(), slog.LevelWarn}),
	}
	u.tools = catalogCache{ttl: cfg.CacheTTL.D(), log: log, wrap: u.wrap, fetch: func(ctx context.Context) (*catalog, error) {
		c, err := u.fetchTools(ctx)
		if err == nil && u.onFetch != nil {
			u.onFetch(ctx, c)
		}
		return c, err
	}}
	return u
}

// connect returns the live connection, dialing if there is none. Concurrent
// callers share one dial. While backing off after a failure it answers at
// once with the last error rather than hammering the upstream.
func (u *Upstream) connect(ctx context.Context) (transport.Interface, *initResult, error) {
	// live is the connection if there is one, or the error that stands
	// instead of a dial; dial is false when it says all there is.
	live := func() (l liveConn, dial bool, err error) {
		switch {
		case u.closed:
			return l, false, errors.New("shutting down")
		case u.conn != nil:
			return liveConn{u.conn, u.init}, false, nil
		case time.Now().Before(u.retryAt):
			return l, false, u.lastErr
		}
		return l, true, nil
	}
	u.mu.Lock()
	l, dial, err := live()
	u.mu.Unlock()
	if !dial {
		if err != nil {
			return nil, nil, u.wrap(err)
		}
		return l.t, l.init, nil
	}
	l, err = u.dialing.do(ctx, func() (liveConn, error) {
		u.mu.Lock()
		l, dial, err := live() // a dial may have ended since the look above
		u.mu.Unlock()
		if !dial {
			return l, err
		}
		t, init, err := u.dial(ctx)
		u.mu.Lock()
		defer u.mu.Unlock()
		switch {
		case err != nil:
			u.failed(err)
			return l, err
		case u.closed:
			_ = t.Close()
			return l, errors.New("shutting down")
		}
		u.conn, u.init, u.lastErr, u.connected = t, init, nil, time.Now()
		u.log.Info("upstream connected", "protocol", init.ProtocolVersion)
		return liveConn{t, init}, nil
	})
	if err != nil {
		return nil, nil, u.wrap(err)
	}
	return l.t, l.init, nil
}

// lastFailure is a request an upstream did not answer.
type lastFailure struct {
	At    time.Time
	Error string // scrubbed
}

// liveConn is a connection and what the upstream said at its handshake.
type liveConn struct {
	t    transport.Interface
	init *initResult
}

// failed records a failure and schedules the next attempt. u.mu is held.
func (u *Upstream) failed(err error) {
	u.lastErr = err
	u.failures++
	backoff := minBackoff << min(u.failures-1, 10)
	u.retryAt = time.Now().Add(min(backoff, maxBackoff))
}

func (u *Upstream) wrap(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s", u.cfg.Timeout.D())
	}
	return &UpstreamError{Label: u.cfg.Label, Cause: u.scrub.String(collapse(err.Error()))}
}

// collapse drops a segment repeated back to back in an error's text
// ("failed to send request: failed to send request: …", as mcp-go wraps
// its own error), so the model and the ledger read it once.
func collapse(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:1]
	for _, p := range parts[1:] {
		if p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}

func (u *Upstream) dial(ctx context.Context) (transport.Interface, *initResult, error) {
	// The connection is shared by every client: it is made on Drawbridge's
	// own account (unscoped credentials), not the caller's, and a caller
	// that gives up does not abandon it for the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(detach(ctx)), u.cfg.Timeout.D())
	defer cancel()
	if !u.cfg.IsStdio() {
		return u.dialHTTP(ctx)
	}
	c := newStdioConn(u.cfg, u.log, u.lookup(""))
	init, err := u.handshake(ctx, c)
	if err == nil {
		go u.supervise(c)
	}
	return c, init, err
}

// supervise restarts a stdio child after it dies, with backoff, so that the
// upstream is back before the next call needs it.
func (u *Upstream) supervise(c *stdioConn) {
	select {
	case <-u.life.Done():
		return
	case <-c.Done():
	}
	u.drop(c, c.exitErr)
	u.mu.Lock()
	wait := time.Until(u.retryAt)
	u.mu.Unlock()
	u.log.Warn("stdio upstream exited; restarting", "cause", u.scrub.String(c.exitErr.Error()), "in", wait.Round(time.Millisecond))
	select {
	case <-u.life.Done():
	case <-time.After(wait):
		ctx, cancel := context.WithTimeout(u.life, u.cfg.Timeout.D())
		defer cancel()
		if _, _, err := u.connect(ctx); err != nil {
			u.log.Warn("restart failed", "err", err)
		}
	}
}

// drop forgets a connection that has failed, so the next call dials again.
func (u *Upstream) drop(c transport.Interface, cause error) {
	u.mu.Lock()
	if u.conn == c {
		u.conn = nil
		if time.Since(u.connected) > 30*time.Second {
			u.failures = 0 // it had been healthy: not a crash loop
		}
		u.failed(cause)
	}
	u.mu.Unlock()
	go c.Close()
}

// handshake starts a transport and runs initialize / notifications/initialized.
func (u *Upstream) handshake(ctx context.Context, t transport.Interface) (*initResult, error) {
	if err := t.Start(u.life); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	t.SetNotificationHandler(u.onNotification)
	params := map[string]any{
		"protocolVersion": upstreamVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "drawbridge", "version": Version},
	}
	resp, err := t.SendRequest(ctx, transport.JSONRPCRequest{
		JSONRPC: "2.0", ID: mcp.NewRequestId(u.nextID.Add(1)), Method: "initialize", Params: params,
	})
	if err == nil && resp.Error != nil {
		err = fmt.Errorf("initialize refused: %d %s", resp.Error.Code, resp.Error.Message)
	}
	var init initResult
	if err == nil {
		if jerr := json.Unmarshal(resp.Result, &init); jerr != nil {
			err = fmt.Errorf("initialize: malformed result: %w", jerr)
		} else if !legacyVersions[init.ProtocolVersion] {
			err = fmt.Errorf("initialize: upstream offers protocol version %q, which Drawbridge cannot speak", init.ProtocolVersion)
		}
	}
	if err != nil {
		_ = t.Close()
		return nil, err
	}
	if h, ok := t.(transport.HTTPConnection); ok {
		h.SetProtocolVersion(init.ProtocolVersion)
	}
	if err := t.SendNotification(ctx, mcp.JSONRPCNotification{JSONRPC: "2.0",
		Notification: mcp.Notification{Method: "notifications/initialized"}}); err != nil {
		_ = t.Close()
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	return &init, nil
}

func (u *Upstream) onNotification(n mcp.JSONRPCNotification) {
	if n.Method == "notifications/tools/list_changed" {
		u.listChanged()
	}
}

// Call sends one request upstream and returns its raw result, or the
// upstream's JSON-RPC error as *rpcError, or an error wrapping ErrUpstream
// when the upstream could not be reached or did not answer in time. The
// result and the error are scrubbed of credentials here, for every method:
// nothing an upstream says reaches a client, a policy or the ledger before
// the leak guard has read it.
func (u *Upstream) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	if err := u.scrub.check(); err != nil {
		u.log.Error("call refused: the secrets changed and cannot be read", "method", method, "err", err)
		return nil, u.wrap(err)
	}
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout.D())
	defer cancel()
	for attempt := 0; ; attempt++ {
		c, _, err := u.connect(ctx)
		if err != nil {
			return nil, err
		}
		sent := time.Now()
		resp, err := c.SendRequest(ctx, transport.JSONRPCRequest{
			JSONRPC: "2.0", ID: mcp.NewRequestId(u.nextID.Add(1)), Method: method, Params: params,
		})
		if err != nil {
			u.lastFailure.Store(&lastFailure{At: time.Now(), Error: u.scrub.String(collapse(err.Error()))})
			if ctx.Err() != nil {
				return nil, u.wrap(ctx.Err())
			}
			// On Streamable HTTP every request is its own exchange: a 500, a
			// reset or a cut stream fails this request only, and the next
			// goes out as usual. A dead child, a broken legacy SSE stream
			// or an expired session is the connection's failure: it is
			// dropped (and an expired session retried once).
			if _, perRequest := c.(*transport.StreamableHTTP); !perRequest || errors.Is(err, transport.ErrSessionTerminated) {
				u.drop(c, err)
			}
			if attempt == 0 && errors.Is(err, transport.ErrSessionTerminated) {
				u.mu.Lock()
				u.retryAt = time.Time{}
				u.mu.Unlock()
				continue
			}
			return nil, u.wrap(err)
		}
		u.latency.Store(int64(time.Since(sent)))
		if resp.Error != nil {
			return nil, &rpcError{Code: resp.Error.Code, Message: u.scrub.String(resp.Error.Message)}
		}
		return u.scrub.Bytes(resp.Result), nil
	}
}

// Info returns what the upstream said at initialize, connecting if needed.
func (u *Upstream) Info(ctx context.Context) (*initResult, error) {
	_, init, err := u.connect(ctx)
	return init, err
}

// Status reports the upstream's health for /readyz.
func (u *Upstream) Status() (ready bool, detail string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.conn != nil:
		return true, "connected (" + u.init.ProtocolVersion + ")"
	case u.lastErr != nil:
		return false, u.scrub.String(u.lastErr.Error())
	default:
		return false, "not connected yet"
	}
}

// Close ends the connection and stops a child process.
func (u *Upstream) Close() error {
	u.mu.Lock()
	u.closed = true
	c := u.conn
	u.conn = nil
	u.mu.Unlock()
	u.stop()
	u.changes.flush()
	if c != nil {
		return c.Close()
	}
	return nil
}

// levelFilter drops records below a level.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// detach drops the per-request value from ctx.
func detach(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestKey{}, (*Request)(nil))
}

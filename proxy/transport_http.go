package proxy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/drawbridge-mcp/drawbridge/config"

	"go.opentelemetry.io/otel/propagation"
)

// newHTTPClient returns the client for one upstream: its own connection pool
// (never http.DefaultTransport) and the credential injector as the innermost
// layer, so configured headers are the only credentials that leave, and only
// for this upstream.
func newHTTPClient(cfg *config.Server, lookup func(client string) config.Lookup) (*http.Client, *injector) {
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	inj := &injector{base: base, cfg: cfg, lookup: lookup}
	return &http.Client{Transport: inj}, inj
}

// injector sets an upstream's configured headers on every request to it. It
// runs after every decision has been made, at the last moment before the
// bytes leave; the request it receives was built by Drawbridge's own MCP
// client, so no header of the downstream client's can be on it.
//
// Secret references resolve for the client whose call this is (its own
// scoped secret when there is one): per-user credentials without a route
// per user. Requests of Drawbridge's own (the handshake, the notification
// stream) use the unscoped values. A credential that cannot be resolved
// stops the request; it never goes out without one.
type injector struct {
	base   http.RoundTripper
	cfg    *config.Server
	lookup func(client string) config.Lookup
	// refusal is the status line of the last 4xx or 5xx answer, which
	// mcp-go's errors do not always carry, for a diagnosis that names it.
	refusal atomic.Value
}

func (i *injector) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("Cookie")
	// The call's trace goes on upstream (W3C traceparent) when tracing is
	// on; nothing is added otherwise.
	propagation.TraceContext{}.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	lookup := i.lookup(callerOf(r.Context()))
	for name, t := range i.cfg.Headers {
		v, err := t.Expand(lookup)
		if err != nil {
			return nil, fmt.Errorf("credential for header %s: %w", name, err)
		}
		r.Header.Set(name, v)
	}
	if b := i.cfg.Auth.Basic; b != nil {
		v, err := basicValue(b, lookup)
		if err != nil {
			return nil, fmt.Errorf("basic auth: %w", err)
		}
		r.Header.Set("Authorization", "Basic "+v)
	}
	if h := i.cfg.Auth.HMAC; h != nil {
		if err := sign(r, h, lookup); err != nil {
			return nil, err
		}
	}
	resp, err := i.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		i.refusal.Store(resp.Status)
	}
	sse := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	resp.Body = &boundedBody{ReadCloser: resp.Body, perLine: sse}
	return resp, nil
}

// ErrMessageTooLarge fails an upstream answer over maxMessage.
var ErrMessageTooLarge = fmt.Errorf("upstream message over %d bytes", maxMessage)

// boundedBody fails the read of an upstream answer that grows past
// maxMessage: a JSON body in all, or one line of an event stream (a
// stream itself may run for as long as the upstream keeps it open).
type boundedBody struct {
	io.ReadCloser
	perLine bool
	n       int
}

func (b *boundedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); b.perLine && i >= 0 {
		b.n = n - i - 1
	} else {
		b.n += n
	}
	if b.n > maxMessage {
		return 0, ErrMessageTooLarge
	}
	return n, err
}

// explain adds the refused status to a handshake error that lacks it.
func (i *injector) explain(err error) error {
	if s, ok := i.refusal.Load().(string); ok && err != nil && !strings.Contains(err.Error(), s) {
		return fmt.Errorf("%w (HTTP %s)", err, s)
	}
	return err
}

// dialHTTP connects to a URL upstream with the configured transport. Under
// "auto" it tries Streamable HTTP and falls back to the legacy HTTP+SSE
// transport when the server answers the initialize POST with a 4xx, as the
// spec's backwards-compatibility section says.
func (u *Upstream) dialHTTP(ctx context.Context) (transport.Interface, *initResult, error) {
	client, inj := newHTTPClient(u.cfg, u.lookup)
	if u.cfg.Transport != config.TransportSSE {
		t, err := transport.NewStreamableHTTP(u.cfg.URL,
			transport.WithHTTPBasicClient(client), transport.WithContinuousListening(),
			transport.WithHTTPLogger(u.quiet))
		if err != nil {
			return nil, nil, fmt.Errorf("streamable http: %w", err)
		}
		init, err := u.handshake(ctx, t)
		if err == nil || u.cfg.Transport == config.TransportStreamable || !errors.Is(err, transport.ErrLegacySSEServer) {
			return t, init, inj.explain(err)
		}
		u.log.Info("upstream does not speak Streamable HTTP; trying the legacy HTTP+SSE transport", "refused", inj.explain(err))
	}
	t, err := transport.NewSSE(u.cfg.URL, transport.WithHTTPClient(client), transport.WithSSELogger(u.quiet))
	if err != nil {
		return nil, nil, fmt.Errorf("sse: %w", err)
	}
	init, err := u.handshake(ctx, t)
	return t, init, inj.explain(err)
}

// sign sets an HMAC signature header over the request URL followed by its
// body.
func sign(r *http.Request, h *config.HMACAuth, lookup config.Lookup) error {
	key, err := h.Key.Expand(lookup)
	if err != nil {
		return fmt.Errorf("hmac key: %w", err)
	}
	var body []byte
	if r.GetBody != nil {
		rc, err := r.GetBody()
		if err != nil {
			return fmt.Errorf("hmac: read body: %w", err)
		}
		body, err = io.ReadAll(io.LimitReader(rc, maxSignedBody))
		rc.Close()
		if err != nil {
			return fmt.Errorf("hmac: read body: %w", err)
		}
	}
	newHash := sha256.New
	if h.Algorithm == config.HMACSHA1 {
		newHash = sha1.New
	}
	m := hmac.New(newHash, []byte(key))
	m.Write([]byte(r.URL.String()))
	m.Write(body)
	sum := m.Sum(nil)
	if h.Encoding == config.HMACHex {
		r.Header.Set(h.Header, hex.EncodeToString(sum))
	} else {
		r.Header.Set(h.Header, base64.StdEncoding.EncodeToString(sum))
	}
	return nil
}

// maxSignedBody bounds what sign reads; request bodies Drawbridge sends are
// far smaller (the downstream body cap).
const maxSignedBody = 64 << 20

// callerOf is the client a request to an upstream is made for, "" for
// Drawbridge's own requests.
func callerOf(ctx context.Context) string {
	return RequestFrom(ctx).Client.Name
}

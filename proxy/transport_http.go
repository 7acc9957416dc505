package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// newHTTPClient returns the client for one upstream: its own connection pool
// (never http.DefaultTransport) and the credential injector as the innermost
// layer, so configured headers are the only credentials that leave, and only
// for this upstream.
func newHTTPClient(cfg *config.Server) (*http.Client, *injector) {
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
	inj := &injector{base: base, headers: cfg.HeadersT}
	return &http.Client{Transport: inj}, inj
}

// injector sets an upstream's configured headers on every request to it. It
// runs after every decision has been made, at the last moment before the
// bytes leave; the request it receives was built by Drawbridge's own MCP
// client, so no header of the downstream client's can be on it.
type injector struct {
	base    http.RoundTripper
	headers map[string]config.Template
	// refusal is the status line of the last 4xx or 5xx answer, which
	// mcp-go's errors do not always carry, for a diagnosis that names it.
	refusal atomic.Value
}

func (i *injector) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del("Cookie")
	for name, t := range i.headers {
		r.Header.Set(name, t.Expand())
	}
	resp, err := i.base.RoundTrip(r)
	if err == nil && resp.StatusCode >= 400 {
		i.refusal.Store(resp.Status)
	}
	return resp, err
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
	client, inj := newHTTPClient(u.cfg)
	if u.cfg.Transport != "sse" {
		t, err := transport.NewStreamableHTTP(u.cfg.URL,
			transport.WithHTTPBasicClient(client), transport.WithContinuousListening(),
			transport.WithHTTPLogger(u.quiet))
		if err != nil {
			return nil, nil, fmt.Errorf("streamable http: %w", err)
		}
		init, err := u.handshake(ctx, t)
		if err == nil || u.cfg.Transport == "streamable-http" || !errors.Is(err, transport.ErrLegacySSEServer) {
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

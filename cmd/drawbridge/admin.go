package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/console"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/secrets"
	"github.com/drawbridge-mcp/drawbridge/state"
	"github.com/drawbridge-mcp/drawbridge/telemetry"
)

// admin is what the loopback admin listener serves: the approvals API
// (the CLI's), /metrics and /readyz's details (all with the admin token as
// a Bearer token) and the web console (a login with the same token).
type admin struct {
	cfg     *config.Config
	token   string
	broker  *approval.Broker
	db      *state.DB
	reader  *audit.Reader
	engine  *policy.Engine
	srv     *proxy.Server
	metrics *telemetry.Metrics
	log     *slog.Logger
}

func (a *admin) handler() (http.Handler, error) {
	c, err := console.New(console.Options{Config: a.cfg, AdminToken: a.token, Broker: a.broker, State: a.db,
		Audit: a.reader, Policy: a.engine, Proxy: a.srv, Logger: a.log})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", approval.Handler(a.broker, a.token))
	mux.Handle("GET /metrics", approval.RequireToken(a.token, a.metrics.Handler()))
	mux.Handle("GET /readyz", approval.RequireToken(a.token, a.srv.Readiness()))
	mux.Handle("/", c)
	return mux, nil
}

// serveAdmin listens on admin.listen and serves h until stop is called,
// with the MCP listener's deadlines (body_timeout, write_timeout) and
// connection cap (max_conns_per_address): loopback is not a trusted
// caller, any local process or a browser page can open connections.
func serveAdmin(cfg *config.Config, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	hs := proxy.HTTPServer(cfg, h, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	go hs.Serve(proxy.LimitListener(ln, cfg.MaxConnsPerAddress))
	base := "http://" + ln.Addr().String()
	log.Info("admin listening", "console", base+"/", "api", base+"/api/approvals", "metrics", base+"/metrics",
		"readyz", base+"/readyz")
	return func() { hs.Close() }, nil
}

// startTracing starts the OTLP exporter when tracing.endpoint is set (a
// nil provider and a no-op stop otherwise); its headers' ${secret:}
// references come from the vault.
func startTracing(ctx context.Context, cfg *config.Config, vault *secrets.Vault) (trace.TracerProvider, func(), error) {
	t := cfg.Tracing
	if t.Endpoint == "" {
		return nil, func() {}, nil
	}
	headers := map[string]string{}
	for name, tmpl := range t.Headers {
		v, err := tmpl.Expand(func(n string) (secrets.Secret, bool) { return vault.Resolve(n, "") })
		if err != nil {
			return nil, nil, fmt.Errorf("tracing.headers.%s: %w", name, err)
		}
		headers[name] = v
	}
	tp, shutdown, err := telemetry.StartTracing(ctx, telemetry.Tracing{Endpoint: t.Endpoint, Headers: headers,
		SampleRatio: *t.SampleRatio, ServiceName: t.ServiceName, Version: proxy.Version})
	if err != nil {
		return nil, nil, err
	}
	return tp, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx) // flushes what is batched
	}, nil
}

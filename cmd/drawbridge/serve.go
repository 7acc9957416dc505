package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/wire"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/state"
	"github.com/drawbridge-mcp/drawbridge/telemetry"
)

// runServe runs the MCP listener until SIGINT or SIGTERM, then stops
// accepting, lets in-flight calls finish within shutdown_grace, and stops
// stdio children.
func runServe(ctx context.Context, e env, args []string) error {
	f := newFlags("serve", e)
	logFormat := f.String("log-format", "text", "log `format`: text or json")
	listen := f.String("listen", "", "listen on this `address` instead of the config's listen")
	adminListen := f.String("admin-listen", "", "serve the admin API on this loopback `address` instead of the config's admin.listen")
	cpuProfile := f.String("cpuprofile", "", "write a CPU profile to this `file` until shutdown")
	if _, err := f.parse(args); err != nil {
		return err
	}
	if *logFormat != "text" && *logFormat != "json" {
		return fmt.Errorf("%w: --log-format must be text or json, not %q", errUsage, *logFormat)
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	if *listen != "" || *adminListen != "" {
		if *listen != "" {
			cfg.Listen = *listen
		}
		if *adminListen != "" {
			cfg.Admin.Listen = *adminListen
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("--listen, --admin-listen: %w", err)
		}
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	// Durations print alike in both formats ("1.5s"), not as nanoseconds
	// in JSON.
	logOpts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			return slog.String(a.Key, a.Value.Duration().String())
		}
		return a
	}}
	var h slog.Handler = slog.NewTextHandler(e.stderr, logOpts)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(e.stderr, logOpts)
	}
	log := slog.New(h)
	b, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.close()
	return b.serve(ctx, e.stdout, h)
}

// built is a Drawbridge made from a config, ready to serve: every part
// opened, and what closes them, in the order to close them.
type built struct {
	cfg     *config.Config
	log     *slog.Logger
	srv     *proxy.Server
	ln      net.Listener
	exposed *exposure
	policy  string // where the policy came from, for the start-up line
	closers []func()
}

// build opens what a config describes: the vault, the policy, the metrics,
// the ledger, state.db, the approval broker, tracing, the listeners (the
// local one and what public: exposes), the proxy and the admin listener
// (API, console, metrics). On an error what was
// opened is closed.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *built, err error) {
	b := &built{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	store, vault, err := openVault(ctx, cfg, log, true)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() { store.Close() })
	if err := missingSecrets(cfg, vault); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", cfg.Path, err)
	}
	go vault.Watch(ctx, 500*time.Millisecond)
	engine, err := wire.Policy(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := engine.Watch(ctx); err != nil {
		return nil, err
	}
	b.policy = engine.Source()
	if cfg.Policy.Mode == config.ModeShadow {
		log.Warn("policy.mode is shadow: decisions are recorded, not enforced; every call proceeds")
	}
	// The metrics read the parts built below at scrape time, once the admin
	// listener is up.
	var ledger *audit.Log
	var db *state.DB
	checks := map[string]func() (bool, string){"policy": engine.Check}
	var certExpiry func() time.Time
	if cfg.Public.HTTPS() {
		certExpiry = func() time.Time { return b.exposed.https.NotAfter() }
	}
	metrics := telemetry.NewMetrics(telemetry.Sources{
		CertificateExpiry: certExpiry,
		Upstreams:         func() []proxy.UpstreamView { return b.srv.Upstreams() },
		Redactions:        func() uint64 { return b.srv.Redactions() },
		QueueDepth:        func() int { return ledger.QueueDepth() },
		PolicyReloads:     engine.Reloads,
		Pending: func(ctx context.Context) (int, error) {
			list, err := db.PendingApprovals(ctx)
			return len(list), err
		},
		Checks: checks,
	})
	ledger, err = audit.Open(ctx, audit.Options{Path: cfg.Audit.Path, Sync: string(cfg.Audit.Sync), Logger: log,
		Key: ledgerKey(ctx, store, vault), OnCommit: metrics.ObserveCommit})
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() { ledger.Close() })
	checks["audit"] = ledger.Check
	if w := cfg.Audit.Witness; w.File != "" || w.URL != "" {
		go ledger.Witness(ctx, audit.Witness{File: w.File, URL: w.URL, Interval: w.Interval.D()})
	}
	if cfg.Audit.OnError == config.OnErrorAllow {
		log.Warn("audit.on_error is allow: if the audit log cannot be written, calls will run UNRECORDED")
	}
	if cfg.Audit.Retention > 0 {
		go retain(ctx, ledger, cfg.Audit.Retention.D(), log)
	}
	if db, err = state.Open(ctx, cfg.DataDir); err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() { db.Close() })
	broker := newBroker(cfg, db, ledger, log)
	b.closers = append(b.closers, broker.Start(ctx))
	tracing, stopTracing, err := startTracing(ctx, cfg, vault)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, stopTracing)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	b.closers = append(b.closers, func() { ln.Close() })
	if b.exposed, err = openExposure(ctx, cfg, ln, vault, log, checks); err != nil {
		return nil, err
	}
	b.closers = append(b.closers, b.exposed.close)
	opts := proxy.Options{Config: cfg, Logger: log, Policy: engine, Ledger: ledger, Secrets: vault, Pins: wire.Pins{DB: db},
		Approvals: wire.Approvals{Broker: broker}, Checks: checks, Observe: metrics.ObserveCall, Tracing: tracing}
	if cfg.Auth == config.AuthToken {
		opts.Tokens = wire.Tokens{DB: db}
	}
	if b.srv, err = proxy.New(opts); err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() { b.srv.Close() })
	reader, err := audit.OpenReader(ctx, cfg.Audit.Path)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() { reader.Close() })
	token, err := adminToken(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	h, err := (&admin{cfg: cfg, token: token, broker: broker, db: db, reader: reader, engine: engine, srv: b.srv,
		metrics: metrics, log: log}).handler()
	if err != nil {
		return nil, err
	}
	stopAdmin, err := serveAdmin(cfg, h, log)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, stopAdmin)
	b.ln = proxy.LimitListener(ln, cfg.MaxConnsPerAddress)
	return b, nil
}

// close closes what build opened, last first.
func (b *built) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
}

// serve serves until ctx ends (SIGINT, SIGTERM), then stops accepting and
// lets in-flight calls finish within shutdown_grace.
func (b *built) serve(ctx context.Context, stdout io.Writer, h slog.Handler) error {
	cfg, log := b.cfg, b.log
	hs := proxy.HTTPServer(cfg, b.srv.Handler(), slog.NewLogLogger(h, slog.LevelWarn))
	b.srv.Warm(ctx)
	log.Info("drawbridge listening", "url", "http://"+b.ln.Addr().String()+"/mcp/<label>",
		"servers", strings.Join(cfg.Labels(), ","), "auth", cfg.Auth, "policy", b.policy, "policy_mode", cfg.Policy.Mode)
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(b.ln) }()
	b.exposed.start(ctx, cfg, hs.Handler, func(l net.Listener) {
		errc <- hs.Serve(proxy.LimitListener(l, cfg.MaxConnsPerAddress))
	}, log, stdout)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownGrace.D())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace.D())
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "err", err)
	}
	if err := b.srv.Close(); err != nil {
		log.Warn("stopping upstreams", "err", err)
	}
	log.Info("stopped")
	return nil
}

// retain prunes the ledger now and then daily, keeping keep's worth.
func retain(ctx context.Context, l *audit.Log, keep time.Duration, log *slog.Logger) {
	tick := time.NewTicker(24 * time.Hour)
	defer tick.Stop()
	for {
		n, err := l.Prune(ctx, time.Now().Add(-keep))
		if err != nil {
			log.Error("audit retention", "err", err)
		} else if n > 0 {
			log.Info("audit retention pruned events", "events", n, "older_than", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startCPUProfile profiles the process until the returned stop runs.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Package expose makes Drawbridge reachable from outside this machine:
// automatic HTTPS (ACME through certmagic, or the user's own certificate)
// and tunnels. What it exposes is only ever the MCP listener; the admin
// API stays on its own loopback listener.
package expose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// HTTPS is a TLS listener for the public domain (or the user's own
// certificate), with the :80 listener that answers ACME HTTP-01 challenges
// and redirects the rest to https.
type HTTPS struct {
	net.Listener
	// URL is the public base URL (https://domain).
	URL   string
	magic *certmagic.Config
	cache *certmagic.Cache
	plain *http.Server
	cfg   *config.Public
	log   *slog.Logger
	files *certFiles // the user's own certificate, when public.tls

	mu     sync.Mutex
	status string // the certificate's last news, for /readyz
	ok     bool
	closed sync.Once
}

// ListenHTTPS opens the HTTPS listener of cfg.Public. With a domain it
// obtains (or loads from data_dir/certs) a certificate before returning
// and keeps it renewed in the background; with tls files it serves those,
// reloading them when they change.
func ListenHTTPS(ctx context.Context, cfg *config.Config, log *slog.Logger) (*HTTPS, error) {
	p := &cfg.Public
	h := &HTTPS{cfg: p, log: log, URL: "https://" + p.Domain}
	var tlsCfg *tls.Config
	if p.TLS != nil {
		files := &certFiles{cert: p.TLS.CertFile, key: p.TLS.KeyFile}
		if _, err := files.get(); err != nil {
			return nil, err
		}
		h.files = files
		tlsCfg = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return files.get() }}
		h.ok, h.status = true, "certificate from "+p.TLS.CertFile
	}
	ln, err := net.Listen("tcp", p.Listen)
	if err != nil {
		return nil, fmt.Errorf("public.listen: %w", err)
	}
	if p.TLS == nil {
		tlsCfg, err = h.manage(ctx, cfg, ln)
		if err != nil {
			ln.Close()
			return nil, err
		}
	}
	tlsCfg.MinVersion = tls.VersionTLS12
	// HTTP/1.1 only: the listener is served by serve's own http.Server
	// through Serve, which does not set up HTTP/2 for a listener it did not
	// make; MCP's event streams need nothing more.
	tlsCfg.NextProtos = append([]string{"http/1.1"}, tlsCfg.NextProtos...)
	h.Listener = tls.NewListener(ln, tlsCfg)
	if p.TLS != nil {
		if h.URL, err = HTTPSBase(p); err != nil { // listening on all addresses
			_, port, _ := net.SplitHostPort(p.Listen)
			h.URL = "https://" + net.JoinHostPort("localhost", port)
		}
	}
	return h, nil
}

// manage sets up certmagic for the domain: its own cache and config (never
// certmagic.Default), storage under data_dir/certs, the ACME issuer with
// both challenges, and obtains the certificate now.
func (h *HTTPS) manage(ctx context.Context, cfg *config.Config, tlsLn net.Listener) (*tls.Config, error) {
	p := &cfg.Public
	var magic *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return magic, nil },
		Logger:           zap.NewNop(),
	})
	magic = certmagic.New(cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: filepath.Join(cfg.DataDir, "certs")},
		Logger:  zap.NewNop(),
		OnEvent: h.onEvent,
	})
	issuer := certmagic.ACMEIssuer{CA: certmagic.LetsEncryptProductionCA, Email: p.Email, Agreed: true, Logger: zap.NewNop(),
		AltTLSALPNPort: portOf(tlsLn.Addr()), DisableHTTPChallenge: p.HTTPListen == "off"}
	if p.ACMECA != "" {
		issuer.CA = p.ACMECA
	}
	if p.ACMECARoot != "" {
		pem, err := os.ReadFile(p.ACMECARoot)
		if err != nil {
			return nil, fmt.Errorf("public.acme_ca_root: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("public.acme_ca_root: %s holds no PEM certificate", p.ACMECARoot)
		}
		issuer.TrustedRoots = pool
	}
	if p.HTTPListen != "off" {
		plain, err := net.Listen("tcp", p.HTTPListen)
		if err != nil {
			return nil, fmt.Errorf("public.http_listen (ACME HTTP-01 challenges and the redirect to https; \"off\" to do without): %w", err)
		}
		issuer.AltHTTPPort = portOf(plain.Addr())
		acme := certmagic.NewACMEIssuer(magic, issuer)
		magic.Issuers = []certmagic.Issuer{acme}
		h.plain = &http.Server{Handler: acme.HTTPChallengeHandler(redirect()), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
		go func() { _ = h.plain.Serve(plain) }()
	} else {
		magic.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(magic, issuer)}
	}
	h.magic, h.cache = magic, cache
	if err := magic.ManageSync(ctx, []string{p.Domain}); err != nil {
		h.Close()
		return nil, fmt.Errorf("certificate for %s from %s: %w", p.Domain, issuer.CA, err)
	}
	return magic.TLSConfig(), nil
}

// onEvent keeps the certificate's news for /readyz and the log.
func (h *HTTPS) onEvent(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtained":
		h.set(true, fmt.Sprintf("certificate for %v obtained at %s", data["identifier"], time.Now().UTC().Format(time.RFC3339)))
		h.log.Info("certificate obtained", "domain", data["identifier"], "renewal", data["renewal"])
	case "cert_failed":
		h.set(false, fmt.Sprintf("certificate for %v failed: %v", data["identifier"], data["error"]))
		h.log.Error("certificate could not be obtained or renewed", "domain", data["identifier"], "err", data["error"])
	}
	return nil
}

func (h *HTTPS) set(ok bool, status string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ok, h.status = ok, status
}

// Check reports the certificate's state for /readyz.
func (h *HTTPS) Check() (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ok, h.status
}

// NotAfter is when the certificate served now expires (zero when there
// is none), for the metrics.
func (h *HTTPS) NotAfter() time.Time {
	if h.files != nil {
		c, err := h.files.get()
		if err != nil || len(c.Certificate) == 0 {
			return time.Time{}
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return time.Time{}
		}
		return leaf.NotAfter
	}
	var latest time.Time
	if h.cache != nil {
		for _, c := range h.cache.AllMatchingCertificates(h.cfg.Domain) {
			if c.Leaf != nil && c.Leaf.NotAfter.After(latest) {
				latest = c.Leaf.NotAfter
			}
		}
	}
	return latest
}

// Renew renews the certificate now, whatever its age, and serves the new
// one from the next handshake on. (Renewal when due happens on its own, in
// certmagic's maintenance.)
func (h *HTTPS) Renew(ctx context.Context) error {
	if h.magic == nil {
		return errors.New("the certificate is the user's own: nothing to renew")
	}
	var old []string
	for _, c := range h.cache.AllMatchingCertificates(h.cfg.Domain) {
		old = append(old, c.Hash())
	}
	if err := h.magic.RenewCertSync(ctx, h.cfg.Domain, true); err != nil {
		return err
	}
	if _, err := h.magic.CacheManagedCertificate(ctx, h.cfg.Domain); err != nil {
		return err
	}
	h.cache.Remove(old)
	return nil
}

// Close stops the listeners and the certificate maintenance. The HTTP
// server that serves h closes it too: once is enough.
func (h *HTTPS) Close() error {
	var err error
	h.closed.Do(func() {
		if h.plain != nil {
			_ = h.plain.Close()
		}
		if h.cache != nil {
			h.cache.Stop()
		}
		if h.Listener != nil {
			err = h.Listener.Close()
		}
	})
	return err
}

// redirect sends plain-HTTP requests to https, same host and path.
func redirect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// certFiles serves the user's certificate, reloading it when either file
// changes (checked at most once a second).
type certFiles struct {
	cert, key string
	mu        sync.Mutex
	loaded    *tls.Certificate
	mod       time.Time
	checked   time.Time
}

func (c *certFiles) get() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded != nil && time.Since(c.checked) < time.Second {
		return c.loaded, nil
	}
	c.checked = time.Now()
	mod := time.Time{}
	for _, f := range []string{c.cert, c.key} {
		st, err := os.Stat(f)
		if err != nil {
			if c.loaded != nil {
				return c.loaded, nil // mid-replacement: keep serving the last good one
			}
			return nil, fmt.Errorf("public.tls: %w", err)
		}
		if st.ModTime().After(mod) {
			mod = st.ModTime()
		}
	}
	if c.loaded != nil && !mod.After(c.mod) {
		return c.loaded, nil
	}
	cert, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		if c.loaded != nil {
			return c.loaded, nil
		}
		return nil, fmt.Errorf("public.tls: %w", err)
	}
	c.loaded, c.mod = &cert, mod
	return c.loaded, nil
}

func portOf(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}

// HTTPSBase is the public base URL of the HTTPS listener p describes, as
// far as it is known before serving: https://domain, or with the user's
// certificate the host and port of public.listen (the port left out when
// it is 443). An error when the listener takes all addresses.
func HTTPSBase(p *config.Public) (string, error) {
	if p.Domain != "" {
		return "https://" + p.Domain, nil
	}
	host, port, _ := net.SplitHostPort(p.Listen)
	switch {
	case host == "":
		return "", errors.New("public.tls listens on all addresses: pass --url https://your-host")
	case port == "443":
		return "https://" + host, nil
	}
	return "https://" + net.JoinHostPort(host, port), nil
}

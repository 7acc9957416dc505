package expose_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/expose"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

func load(t *testing.T, public string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drawbridge.yaml")
	yaml := "servers:\n  up:\n    url: http://127.0.0.1:1/mcp\npublic:\n" + public
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serveTLS serves "ok" on h and returns a client function that fetches
// the certificate it presents for name.
func serveTLS(t *testing.T, h *expose.HTTPS, roots *x509.CertPool, name string) func() *x509.Certificate {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }),
		ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(h)
	t.Cleanup(func() { srv.Close() })
	return func() *x509.Certificate {
		t.Helper()
		conn, err := tls.Dial("tcp", h.Addr().String(), &tls.Config{RootCAs: roots, ServerName: name})
		if err != nil {
			t.Fatalf("TLS to %s as %s: %v", h.Addr(), name, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
}

// TestACMECertificateRenewed: a certificate is obtained from the ACME
// directory (Pebble on loopback) at start, verifies against its root for
// the domain, and a forced renewal replaces it on the live listener.
func TestACMECertificateRenewed(t *testing.T) {
	acme := mcptest.Pebble(t)
	cfg := load(t, fmt.Sprintf("  domain: mcp.drawbridge.test\n  email: ops@drawbridge.test\n  listen: 127.0.0.1:0\n  http_listen: \"off\"\n  acme_ca: %s\n  acme_ca_root: %s\n",
		acme.Directory, acme.DirectoryRoot))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := expose.ListenHTTPS(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	cert := serveTLS(t, h, acme.Roots(t), "mcp.drawbridge.test")
	first := cert()
	if first.Subject.CommonName != "mcp.drawbridge.test" && (len(first.DNSNames) == 0 || first.DNSNames[0] != "mcp.drawbridge.test") {
		t.Fatalf("certificate for %v %v", first.Subject, first.DNSNames)
	}
	if ok, status := h.Check(); !ok {
		t.Errorf("Check = %v %q after obtaining", ok, status)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "certs")); err != nil {
		t.Errorf("certificates not stored under data_dir/certs: %v", err)
	}
	if err := h.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	second := cert()
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("the renewed certificate is not the one served")
	}
	if got := h.NotAfter(); !got.Equal(second.NotAfter) {
		t.Errorf("NotAfter = %v, the served certificate's is %v", got, second.NotAfter)
	}
}

// TestOwnCertificateReloaded: with public.tls the user's files are served,
// and replacing them changes what new connections get, without a restart.
func TestOwnCertificateReloaded(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := x509.NewCertPool()
	write := func(serial int64) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "own.drawbridge.test"},
			DNSNames: []string{"own.drawbridge.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Duration(serial) * time.Hour).Truncate(time.Second),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
		der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		c, _ := x509.ParseCertificate(der)
		pool.AddCert(c)
		kb, _ := x509.MarshalECPrivateKey(key)
		os.WriteFile(certFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
		os.Rename(keyFile+".tmp", keyFile)
		os.Rename(certFile+".tmp", certFile)
	}
	write(1)
	cfg := load(t, fmt.Sprintf("  listen: 127.0.0.1:0\n  tls: {cert_file: %s, key_file: %s}\n", certFile, keyFile))
	h, err := expose.ListenHTTPS(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	cert := serveTLS(t, h, pool, "own.drawbridge.test")
	if got := cert().SerialNumber.Int64(); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	time.Sleep(1100 * time.Millisecond) // a newer modification time
	write(2)
	deadline := time.Now().Add(5 * time.Second)
	for cert().SerialNumber.Int64() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the replaced certificate was never served")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, want := h.NotAfter(), cert().NotAfter; !got.Equal(want) {
		t.Errorf("NotAfter = %v, the served certificate's is %v", got, want)
	}
}

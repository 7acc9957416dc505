package mcptest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// PebbleVersion is the ACME test server the HTTPS tests run against.
const PebbleVersion = "v2.10.3"

// ACME is a running Pebble (Let's Encrypt's ACME test server) on loopback,
// validating every challenge without looking (PEBBLE_VA_ALWAYS_VALID), so
// certificates can be obtained offline.
type ACME struct {
	// Directory is the ACME directory URL.
	Directory string
	// DirectoryRoot is the PEM file of the root that signs the
	// directory's own TLS certificate (acme_ca_root).
	DirectoryRoot string
	mgmt          string
	client        *http.Client
}

var pebbleOnce struct {
	sync.Once
	bin, dir string
	err      error
}

// pebble builds Pebble once per test binary from the Go module proxy.
func pebble(t testing.TB) (bin, moduleDir string) {
	pebbleOnce.Do(func() {
		gobin, err := os.MkdirTemp("", "drawbridge-pebble")
		if err != nil {
			pebbleOnce.err = err
			return
		}
		cmd := exec.Command("go", "install", "github.com/letsencrypt/pebble/v2/cmd/pebble@"+PebbleVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			pebbleOnce.err = fmt.Errorf("go install pebble: %v\n%s", err, out)
			return
		}
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2@"+PebbleVersion).Output()
		if err != nil {
			pebbleOnce.err = fmt.Errorf("find pebble's module: %v", err)
			return
		}
		pebbleOnce.bin, pebbleOnce.dir = filepath.Join(gobin, "pebble"), strings.TrimSpace(string(out))
	})
	if pebbleOnce.err != nil {
		if os.Getenv("DRAWBRIDGE_REQUIRE_PEERS") != "" {
			t.Fatalf("pebble is required: %v", pebbleOnce.err)
		}
		t.Skipf("pebble unavailable: %v", pebbleOnce.err)
	}
	return pebbleOnce.bin, pebbleOnce.dir
}

// Pebble starts an ACME server on loopback for the test.
func Pebble(t testing.TB) *ACME {
	t.Helper()
	bin, dir := pebble(t)
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	listen, mgmt := free(), free()
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": filepath.Join(dir, "test/certs/localhost/cert.pem"), "privateKey": filepath.Join(dir, "test/certs/localhost/key.pem"),
		"httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"keyAlgorithm": "ecdsa",
		"profiles":     map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 7776000}},
	}}
	b, _ := json.Marshal(conf)
	path := filepath.Join(t.TempDir(), "pebble.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", path, "-dnsserver", "127.0.0.1:1")
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0",
		"PEBBLE_AUTHZREUSE=100")
	logs := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	root := filepath.Join(dir, "test/certs/pebble.minica.pem")
	pem, err := os.ReadFile(root)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	a := &ACME{Directory: "https://" + strings.Replace(listen, "127.0.0.1", "localhost", 1) + "/dir", DirectoryRoot: root,
		mgmt:   "https://" + strings.Replace(mgmt, "127.0.0.1", "localhost", 1),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := a.client.Get(a.Directory)
		if err == nil {
			resp.Body.Close()
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not come up: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Roots returns the roots that sign the certificates Pebble issues.
func (a *ACME) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for i := range 2 {
		resp, err := a.client.Get(fmt.Sprintf("%s/roots/%d", a.mgmt, i))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			pool.AppendCertsFromPEM(b)
		}
	}
	return pool
}

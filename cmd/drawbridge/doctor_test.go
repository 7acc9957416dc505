package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// doctorFindings runs doctor --json in process and returns its findings
// by check, and its exit code.
func doctorFindings(t *testing.T, args ...string) (map[string]finding, int) {
	t.Helper()
	code, out, errOut := cli(t, "", append([]string{"doctor", "--json"}, args...)...)
	var list []finding
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("doctor --json = %d %q %q: %v", code, out, errOut, err)
	}
	m := map[string]finding{}
	for _, f := range list {
		m[f.Check] = f
	}
	return m, code
}

// TestDoctorHealthy: a config whose policy, secrets and upstreams are all
// fine gets ok lines (and a warning that nothing is exposed), exit 0; the
// text form has one line per check.
func TestDoctorHealthy(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\n    tools: {read_only: [echo]}\n", filepath.Join(binDir, "testupstream")))
	got, code := doctorFindings(t, "-c", cfg)
	if code != 0 {
		t.Fatalf("doctor = %d: %+v", code, got)
	}
	for _, check := range []string{"config", "policy", "secrets", "upstream kid", "approval.timeout"} {
		if got[check].Status != "ok" {
			t.Errorf("%s = %+v, want ok", check, got[check])
		}
	}
	if p := got["public"]; p.Status != "warn" || !strings.Contains(p.OpenAI, "424") {
		t.Errorf("public = %+v, want a warning that the Responses API cannot reach it", p)
	}
	_, text, _ := cli(t, "", "doctor", "-c", cfg)
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != len(got)+1 || !strings.HasPrefix(lines[0], "STATUS") {
		t.Errorf("text report:\n%s", text)
	}
}

// TestDoctorFailures: each thing doctor detects is a fail (or warn) line
// that says what OpenAI would show and what to do, and any fail exits 1.
func TestDoctorFailures(t *testing.T) {
	policyDir := t.TempDir()
	os.WriteFile(filepath.Join(policyDir, "p.rego"), []byte("package drawbridge\nimport rego.v1\ndecision := {\"action\": \"allow\"}\n"), 0o644)
	os.WriteFile(filepath.Join(policyDir, "p_test.rego"), []byte("package drawbridge_test\nimport rego.v1\nimport data.drawbridge\ntest_wrong if drawbridge.decision.action == \"deny\"\n"), 0o644)
	cfg := writeConfig(t, fmt.Sprintf(`approval: {timeout: 120s}
policy: {dir: %s}
servers:
  down:
    url: http://%s/mcp
    timeout: 2s
    headers: {Authorization: "Bearer ${secret:MISSING_KEY}"}
`, policyDir, freeAddr(t)))
	got, code := doctorFindings(t, "-c", cfg)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for check, want := range map[string]string{"policy": "tests failed", "secrets": "MISSING_KEY", "upstream down": "424",
		"approval.timeout": "OpenAI gives up"} {
		f := got[check]
		if f.Status == "ok" || !strings.Contains(f.Detail+f.OpenAI, want) || (f.Fix == "" && f.OpenAI == "") {
			t.Errorf("%s = %+v, want a finding about %q", check, f, want)
		}
	}

	// A tunnel you run yourself, given with --url, that buffers streams and
	// speaks plain http.
	ok := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\n", filepath.Join(binDir, "testupstream")))
	d := serve(t, ok)
	buffering := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest("GET", "http://"+d.addr+r.URL.RequestURI(), nil)
		req.Header.Set("Accept", r.Header.Get("Accept"))
		resp, err := http.DefaultClient.Do(req) // reads it all, then answers
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
	}))
	defer buffering.Close()
	got, code = doctorFindings(t, "-c", ok, "--url", buffering.URL)
	if code != 1 || got["public"].Status != "ok" || !strings.Contains(got["event streams"].Detail, "buffered") ||
		!strings.Contains(got["certificate"].Detail, "plain http") {
		t.Errorf("buffering http tunnel: %d %+v", code, got)
	}
}

// TestDoctorExpiringCertificate: a public certificate that expires within
// 14 days fails doctor, saying when; the rest of the public path checks out.
func TestDoctorExpiringCertificate(t *testing.T) {
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doctor test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour * 365)}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(3 * 24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	kb, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600)
		return p
	}
	caFile, certFile, keyFile := write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", leafDER), write("key.pem", "EC PRIVATE KEY", kb)
	public := freeAddr(t)
	cfg := writeConfig(t, fmt.Sprintf("servers:\n  kid:\n    command: %s\npublic:\n  listen: %s\n  tls: {cert_file: %s, key_file: %s}\n",
		filepath.Join(binDir, "testupstream"), public, certFile, keyFile))
	serve(t, cfg)
	// The doctor runs as its own process, trusting the test CA as a system
	// root would be trusted.
	cmd := exec.Command(filepath.Join(binDir, "drawbridge"), "doctor", "--json", "-c", cfg)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile)
	out, err := cmd.Output()
	var list []finding
	_ = json.Unmarshal(out, &list)
	got := map[string]finding{}
	for _, f := range list {
		got[f.Check] = f
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("doctor = %v, want exit 1", err)
	}
	u, _ := url.Parse("https://" + public)
	if c := got["certificate"]; c.Status != "fail" || !strings.Contains(c.Detail, "expires") || !strings.Contains(c.Detail, u.Hostname()) {
		t.Errorf("certificate = %+v", c)
	}
	if got["public"].Status != "ok" || got["event streams"].Status != "ok" || got["clock"].Status != "ok" {
		t.Errorf("public %+v, event streams %+v, clock %+v", got["public"], got["event streams"], got["clock"])
	}
}

package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

func open(t *testing.T, dir string) *secrets.Store {
	t.Helper()
	s, err := secrets.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSecretNeverPrints: every way Go prints a value gives [redacted].
func TestSecretNeverPrints(t *testing.T) {
	s := secrets.New("sk_live_canary")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s)
	js, _ := json.Marshal(map[string]any{"v": s})
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %+v %#v %x", s, s, s, s, s, s), buf.String(), string(js), s.String()} {
		if strings.Contains(got, "canary") || !strings.Contains(got, "[redacted]") {
			t.Errorf("printed as %q", got)
		}
	}
}

// TestStoreRoundTrip: values come back, per scope, and never appear in the
// file in clear.
func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Set(ctx, "API_KEY", "", secrets.New("shared-value-123")))
	must(s.Set(ctx, "API_KEY", "bob", secrets.New("bobs-value-456")))
	v, err := secrets.NewVault(ctx, s, nil)
	must(err)
	for _, tt := range []struct{ client, want string }{{"", "shared-value-123"}, {"alice", "shared-value-123"}, {"bob", "bobs-value-456"}} {
		if got, ok := v.Resolve("API_KEY", tt.client); !ok || got.Reveal() != tt.want {
			t.Errorf("Resolve(API_KEY, %q) = %v %v, want %s", tt.client, got.Reveal(), ok, tt.want)
		}
	}
	if _, ok := v.Resolve("NOPE", ""); ok {
		t.Error("Resolve of a missing secret succeeded")
	}
	infos, _ := s.List(ctx)
	if len(infos) != 2 || infos[0].Name != "API_KEY" || infos[1].Client != "bob" {
		t.Fatalf("List = %+v", infos)
	}
	for _, f := range []string{"secrets.db", "secrets.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte("shared-value-123")) || bytes.Contains(b, []byte("bobs-value-456")) {
			t.Fatalf("%s holds a value in clear", f)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, "master.key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key mode %v, want 0600", st.Mode().Perm())
	}
	must(s.Delete(ctx, "API_KEY", "bob"))
	if err := s.Delete(ctx, "API_KEY", "bob"); !errors.Is(err, secrets.ErrNoSecret) {
		t.Fatalf("second Delete = %v", err)
	}
	if err := s.Set(ctx, "1bad", "", secrets.New("x")); err == nil {
		t.Fatal("bad name accepted")
	}
}

// TestWrongKey: another key fails clearly, never with garbage.
func TestWrongKey(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	_ = s.Set(context.Background(), "K", "", secrets.New("value-abcdef"))
	s.Close()
	t.Setenv(secrets.KeyEnv, secrets.NewKey().Encoded().Reveal())
	_, err := secrets.Open(context.Background(), dir)
	if !errors.Is(err, secrets.ErrWrongKey) || !strings.Contains(err.Error(), secrets.KeyEnv) {
		t.Fatalf("Open with another key = %v, want ErrWrongKey naming where the key came from", err)
	}
	t.Setenv(secrets.KeyEnv, "not base64!")
	if _, err := secrets.Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("Open with a malformed key = %v", err)
	}
}

// TestKeyFilePermissions: a key file others can read is refused, with the fix.
func TestKeyFilePermissions(t *testing.T) {
	dir := t.TempDir()
	open(t, dir).Close()
	os.Chmod(filepath.Join(dir, "master.key"), 0o644)
	_, err := secrets.Open(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open with a 0644 key file = %v, want a refusal saying how to fix it", err)
	}
}

// TestRotateKey: every secret re-encrypted; the old key no longer opens it.
func TestRotateKey(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	_ = s.Set(ctx, "A", "", secrets.New("value-aaaaaa"))
	_ = s.Set(ctx, "B", "carol", secrets.New("value-bbbbbb"))
	old, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	if _, err := s.RotateKey(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	now, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	if bytes.Equal(old, now) {
		t.Fatal("master.key unchanged")
	}
	s2 := open(t, dir)
	v, _ := secrets.NewVault(ctx, s2, nil)
	if a, _ := v.Resolve("A", ""); a.Reveal() != "value-aaaaaa" {
		t.Fatalf("after rotation A = %q", a.Reveal())
	}
	if b, _ := v.Resolve("B", "carol"); b.Reveal() != "value-bbbbbb" {
		t.Fatalf("after rotation B = %q", b.Reveal())
	}
	s2.Close()
	t.Setenv(secrets.KeyEnv, strings.TrimSpace(string(old)))
	if _, err := secrets.Open(ctx, dir); !errors.Is(err, secrets.ErrWrongKey) {
		t.Fatalf("old key after rotation = %v, want ErrWrongKey", err)
	}
}

// TestInterruptedRotation: a new key written but never committed is
// dropped; one committed but not yet moved into place is adopted.
func TestInterruptedRotation(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	_ = s.Set(context.Background(), "A", "", secrets.New("value-aaaaaa"))
	s.Close()
	stray := secrets.NewKey().Encoded().Reveal()
	os.WriteFile(filepath.Join(dir, "master.key.new"), []byte(stray), 0o600)
	s2 := open(t, dir)
	s2.Close()
	if _, err := os.Stat(filepath.Join(dir, "master.key.new")); err == nil {
		t.Fatal("an uncommitted pending key was kept")
	}
}

// TestSealedValueBoundToItsName: a ciphertext copied to another name or
// scope with the sqlite3 shell does not decrypt there.
func TestSealedValueBoundToItsName(t *testing.T) {
	mcptest.NeedSQLite3(t)
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	_ = s.Set(ctx, "ADMIN", "", secrets.New("admin-value-1"))
	_ = s.Set(ctx, "GUEST", "", secrets.New("guest-value-1"))
	s.Close()
	out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", filepath.Join(dir, "secrets.db"),
		"UPDATE secrets SET (nonce, sealed) = (SELECT nonce, sealed FROM secrets WHERE name = 'ADMIN') WHERE name = 'GUEST'").CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3: %v %s", err, out)
	}
	s2 := open(t, dir)
	if _, err := secrets.NewVault(ctx, s2, nil); err == nil || !strings.Contains(err.Error(), "GUEST does not decrypt") {
		t.Fatalf("NewVault = %v, want the moved value refused", err)
	}
}

// TestGuard: every encoded form is found and named; overlapping and
// adjacent matches are handled; clean text is untouched.
func TestGuard(t *testing.T) {
	const v = "sk_live_4eC39HqLyjWDarjtT1zdp7dc/+x"
	g := secrets.NewGuard([]secrets.Named{{Name: "STRIPE", Value: secrets.New(v)}, {Name: "SHORT", Value: secrets.New("abc")},
		{Name: "INNER", Value: secrets.New("4eC39HqLyjWD")}})
	for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v))),
		url.QueryEscape(v)} {
		text := "before " + form + " after"
		if got := g.Redact(text); got != "before [REDACTED:STRIPE] after" {
			t.Errorf("Redact(%q) = %q", text, got)
		}
	}
	if got := g.Redact(v + v + " 4eC39HqLyjWD abc"); got != "[REDACTED:STRIPE][REDACTED:STRIPE] [REDACTED:INNER] abc" {
		t.Errorf("adjacent and inner = %q", got)
	}
	if got := g.Find("x " + v + " 4eC39HqLyjWD"); strings.Join(got, ",") != "INNER,STRIPE" {
		t.Errorf("Find = %v", got)
	}
	clean := []byte("nothing secret here")
	if got := g.RedactBytes(clean); &got[0] != &clean[0] {
		t.Error("clean text was copied")
	}
}

func FuzzGuard(f *testing.F) {
	f.Add("sk_live_secretvalue", "prefix sk_live_secretvalue suffix")
	f.Fuzz(func(t *testing.T, secret, text string) {
		g := secrets.NewGuard([]secrets.Named{{Name: "S", Value: secrets.New(secret)}})
		out := g.Redact(text)
		if len(secret) >= secrets.MinGuarded && strings.Contains(out, secret) && !strings.Contains(secret, "[REDACTED:S]") {
			// The secret may be re-formed only by the marker around it.
			if strings.Contains(strings.ReplaceAll(out, "[REDACTED:S]", "\x00"), secret) {
				t.Fatalf("Redact(%q) = %q still holds the secret", text, out)
			}
		}
	})
}

// BenchmarkGuard scans a 1 MiB tool output for 100 secrets in all their
// forms (a thousand patterns).
func BenchmarkGuard(b *testing.B) {
	var named []secrets.Named
	for i := range 100 {
		named = append(named, secrets.Named{Name: fmt.Sprintf("S%d", i), Value: secrets.New(fmt.Sprintf("sk_live_%024d", i*7919))})
	}
	g := secrets.NewGuard(named)
	text := strings.Repeat(`{"type":"text","text":"customer cus_9s8d7f6g paid 20.00 USD; ref ch_1Abc2Def3Ghi"} `, (1<<20)/82)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		_ = g.Redact(text)
	}
}

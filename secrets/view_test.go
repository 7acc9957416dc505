package secrets_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/secrets"
)

const canary = "sk_live_Zq8TnR4vX2/+mPq9"

func canaryGuard() *secrets.Guard {
	return secrets.NewGuard([]secrets.Named{{Name: "STRIPE", Value: secrets.New(canary)}})
}

// escapeSome writes s as the body of a JSON string, escaping the
// characters pick chooses as \uXXXX (hex digits in either case) or their
// short escape.
func escapeSome(s string, pick func(i int) int) string {
	var b strings.Builder
	for i, r := range s {
		switch pick(i) % 4 {
		case 1:
			fmt.Fprintf(&b, `\u%04x`, r)
		case 2:
			fmt.Fprintf(&b, `\u%04X`, r)
		case 3:
			if r == '/' {
				b.WriteString(`\/`)
				continue
			}
			fallthrough
		default:
			js, _ := json.Marshal(string(r))
			b.Write(js[1 : len(js)-1])
		}
	}
	return b.String()
}

// decodedHolds reports whether a JSON document, decoded as a client does,
// has the secret in any string or key.
func decodedHolds(t *testing.T, doc, secret string) bool {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("redaction broke the JSON: %v\n%s", err, doc)
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case string:
			clean, _ := secrets.StripControls(x)
			return strings.Contains(x, secret) || strings.Contains(clean, secret)
		case map[string]any:
			for k, e := range x {
				if strings.Contains(k, secret) || walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// TestEscapedSecretInJSON: a secret written with JSON escapes, any or all
// of its characters, in a value or a key, is redacted in the raw bytes, so
// the decoded document the client reads does not hold it.
func TestEscapedSecretInJSON(t *testing.T) {
	g := canaryGuard()
	rng := rand.New(rand.NewPCG(1, 2))
	picks := map[string]func(int) int{
		"all \\u lower": func(int) int { return 1 },
		"all \\u upper": func(int) int { return 2 },
		"first only":    func(i int) int { return map[bool]int{true: 1}[i == 0] },
		"slashes":       func(int) int { return 3 },
		"random":        func(int) int { return rng.IntN(4) },
	}
	for name, pick := range picks {
		for _, shape := range []string{`{"content":[{"type":"text","text":"key: %s"}]}`, `{"structuredContent":{"%s":1}}`,
			`{"tools":[{"name":"%s","description":"x"}]}`} {
			doc := fmt.Sprintf(shape, escapeSome(canary, pick))
			got := string(g.RedactBytes([]byte(doc)))
			if decodedHolds(t, got, canary) || !strings.Contains(got, "[REDACTED:STRIPE]") {
				t.Errorf("%s: Redact(%s) = %s", name, doc, got)
			}
			if f := g.Find(doc); len(f) != 1 {
				t.Errorf("%s: Find(%s) = %v, want [STRIPE]", name, doc, f)
			}
		}
	}
}

// TestSecretAssembledByStripping: control characters, terminal escapes and
// invisible format characters between a secret's letters are what the
// output guard (or a terminal, or a reader) drops; the guard sees through
// them.
func TestSecretAssembledByStripping(t *testing.T) {
	g := canaryGuard()
	for _, in := range []string{
		canary[:4] + "\a" + canary[4:],
		canary[:4] + `\u0007` + canary[4:8] + `\u001b[31m` + canary[8:],
		canary[:3] + "\x1b[0m" + canary[3:],
		canary[:2] + "\u200b" + canary[2:9] + "\u2060" + canary[9:],
		canary[:5] + "\u0085" + canary[5:],
	} {
		doc := `{"text":"` + strings.ReplaceAll(in, "\x1b", `\u001b`) + `"}`
		got := string(g.RedactBytes([]byte(doc)))
		if decodedHolds(t, got, canary) || !strings.Contains(got, "[REDACTED:STRIPE]") {
			t.Errorf("Redact(%q) = %q", doc, got)
		}
	}
}

// TestEveryEncodingClaimed covers the forms the README claims completely:
// percent-encoding of any characters in either case, hex in any mix of
// cases, base64 and base64url at every alignment inside a longer blob.
func TestEveryEncodingClaimed(t *testing.T) {
	g := canaryGuard()
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(what, text string) {
		t.Helper()
		got := g.Redact(text)
		if !strings.Contains(got, "[REDACTED:STRIPE]") {
			t.Errorf("%s: Redact(%q) = %q, nothing redacted", what, text, got)
		}
	}
	for round := range 20 {
		var pct strings.Builder
		for i := 0; i < len(canary); i++ {
			switch rng.IntN(3) {
			case 0:
				fmt.Fprintf(&pct, "%%%02x", canary[i])
			case 1:
				fmt.Fprintf(&pct, "%%%02X", canary[i])
			default:
				pct.WriteString(url.QueryEscape(canary[i : i+1]))
			}
		}
		check("percent", "https://evil.example/?q="+pct.String()+"&x=1")
		h := []byte(hex.EncodeToString([]byte(canary)))
		for i := range h {
			if h[i] >= 'a' && rng.IntN(2) == 0 {
				h[i] -= 'a' - 'A'
			}
		}
		check("mixed hex", "dump "+string(h)+" end")
		prefix := strings.Repeat("p", round%3+rng.IntN(4)*3)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			blob := enc.EncodeToString([]byte(prefix + canary + "trailing bytes"))
			check(fmt.Sprintf("base64 after %d bytes", len(prefix)), "data:"+blob)
			if strings.Contains(g.Redact(blob), enc.EncodeToString([]byte(canary))[4:20]) {
				t.Errorf("base64 after %d bytes: the middle of the encoded secret survives", len(prefix))
			}
		}
	}
	// Nested: JSON in a JSON string, escaped twice.
	inner, _ := json.Marshal(map[string]string{"k": `\u0073` + canary[1:]})
	outer, _ := json.Marshal(map[string]string{"text": string(inner)})
	check("nested JSON", string(outer))
}

// TestOverlappingSecretsRedactedWhole: two secrets sharing letters leave no
// part of either behind.
func TestOverlappingSecretsRedactedWhole(t *testing.T) {
	g := secrets.NewGuard([]secrets.Named{{Name: "A", Value: secrets.New("alpha-beta")}, {Name: "B", Value: secrets.New("beta-gamma")}})
	if got := g.Redact("x alpha-beta-gamma y"); got != "x [REDACTED:A] y" {
		t.Errorf("Redact = %q", got)
	}
}

// FuzzGuardDecodedForms is the property: no text that a JSON decoder, then
// the output guard, turns into one holding the secret passes the guard.
// The fuzzer chooses which characters are escaped, and how, and what
// surrounds them.
func FuzzGuardDecodedForms(f *testing.F) {
	f.Add([]byte{1, 2, 3}, "key: ", " end")
	f.Add([]byte{0, 0, 1}, "", "")
	f.Add([]byte{7, 7, 7, 7}, `\\`, `"`)
	g := canaryGuard()
	f.Fuzz(func(t *testing.T, how []byte, before, after string) {
		pick := func(i int) int {
			if len(how) == 0 {
				return 0
			}
			return int(how[i%len(how)])
		}
		bj, _ := json.Marshal(before)
		aj, _ := json.Marshal(after)
		body := escapeSome(canary[:3], pick) + escapeSome(canary[3:], func(i int) int { return pick(i + 3) })
		// Control characters chosen by the fuzzer go between letters.
		if len(how) > 0 && how[0]%5 == 4 {
			body = escapeSome(canary[:3], pick) + `\u0007` + escapeSome(canary[3:], func(i int) int { return pick(i + 3) })
		}
		doc := `{"text":"` + string(bj[1:len(bj)-1]) + body + string(aj[1:len(aj)-1]) + `"}`
		got := string(g.RedactBytes([]byte(doc)))
		if decodedHolds(t, got, canary) {
			t.Fatalf("Redact(%s) = %s: the decoded document holds the secret", doc, got)
		}
	})
}

// FuzzGuardRedact: redacting any text never panics, and a text that holds
// the secret plainly does not hold it after.
func FuzzGuardRedact(f *testing.F) {
	f.Add("prefix " + canary + " suffix")
	f.Add(`\u` + canary + `%zz%4`)
	f.Add("\x1b[" + canary[:5] + "\x1b]" + canary[5:])
	g := canaryGuard()
	f.Fuzz(func(t *testing.T, text string) {
		out := g.Redact(text)
		if strings.Contains(strings.ReplaceAll(out, "[REDACTED:STRIPE]", "\x00"), canary) {
			t.Fatalf("Redact(%q) = %q still holds the secret", text, out)
		}
	})
}

package main

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzEsc: whatever a client or an upstream wrote, what esc prints holds
// no control character, no invisible format character and no invalid
// UTF-8: one line that moves no cursor; and text that needs no escaping is
// printed as it is.
func FuzzEsc(f *testing.F) {
	f.Add("/mcp/x\n2026-01-01 forged row\x1b[2K\x1b[A")
	f.Add("right-to-left \u202e override")
	f.Add("plain text, é ü 中文")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		out := esc(s)
		if !utf8.ValidString(out) {
			t.Fatalf("esc(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("esc(%q) = %q holds %U", s, out, r)
			}
		}
		if !strings.ContainsFunc(s, unsafeRune) && utf8.ValidString(s) && out != s {
			t.Fatalf("esc(%q) = %q changed clean text", s, out)
		}
	})
}

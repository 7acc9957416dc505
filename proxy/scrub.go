package proxy

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// minSecretLen is the shortest value scrubbed: shorter ones would redact
// ordinary text.
const minSecretLen = 6

// scrubber replaces configured credential values, in plain, base64,
// base64url, hex and URL-encoded form, with [REDACTED] wherever text leaves
// Drawbridge: upstream error messages, child stderr, results.
type scrubber struct {
	r *strings.Replacer // nil when there is nothing to scrub
}

func newScrubber(secrets []config.Secret) *scrubber {
	seen := map[string]bool{}
	var forms []string
	for _, s := range secrets {
		v := s.Reveal()
		if len(v) < minSecretLen {
			continue
		}
		for _, f := range []string{v,
			base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
			base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
			hex.EncodeToString([]byte(v)), strings.ToUpper(hex.EncodeToString([]byte(v))),
			url.QueryEscape(v), url.PathEscape(v)} {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return &scrubber{}
	}
	// Longest first, so a form that contains another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "[REDACTED]")
	}
	return &scrubber{r: strings.NewReplacer(pairs...)}
}

// String scrubs s.
func (s *scrubber) String(v string) string {
	if s == nil || s.r == nil {
		return v
	}
	return s.r.Replace(v)
}

// Bytes scrubs b, returning b itself when nothing matched.
func (s *scrubber) Bytes(b []byte) []byte {
	if s == nil || s.r == nil {
		return b
	}
	out := s.r.Replace(string(b))
	if len(out) == len(b) && out == string(b) {
		return b
	}
	return []byte(out)
}

// configSecrets collects every resolved credential in the config.
func configSecrets(cfg *config.Config) []config.Secret {
	var out []config.Secret
	for _, s := range cfg.Servers {
		for _, t := range s.HeadersT {
			// A header value is a credential as a whole, literal or not.
			out = append(out, config.NewSecret(t.Expand()))
			out = append(out, t.Secrets()...)
		}
		for _, t := range s.EnvT {
			out = append(out, t.Secrets()...)
		}
	}
	return out
}

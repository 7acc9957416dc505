package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/secrets"
)

// DefaultRedactKeys are argument keys whose values never reach the ledger,
// whatever the config adds.
var DefaultRedactKeys = []string{"password", "passwd", "token", "access_token", "refresh_token", "secret",
	"client_secret", "api_key", "apikey", "authorization", "cookie", "private_key", "card_number", "cvv", "cvc", "ssn"}

// Redacted replaces what is removed before a write.
const Redacted = "[REDACTED]"

// Redactor prepares what a call carries for the ledger: values under
// sensitive keys, at any depth, become [REDACTED]; Scrub (the leak
// scrubber: configured credentials in their encoded forms) runs over every
// string; results are cut at a size.
type Redactor struct {
	keys      map[string]bool
	scrub     func(string) string
	maxResult int
}

// NewRedactor builds a Redactor. keys are added to DefaultRedactKeys and
// matched case-insensitively; scrub may be nil.
func NewRedactor(keys []string, scrub func(string) string, maxResult int) *Redactor {
	r := &Redactor{keys: map[string]bool{}, scrub: scrub, maxResult: maxResult}
	for _, k := range append(append([]string{}, DefaultRedactKeys...), keys...) {
		r.keys[strings.ToLower(k)] = true
	}
	if r.scrub == nil {
		r.scrub = func(s string) string { return s }
	}
	return r
}

// Arguments redacts a JSON object of arguments. Unparseable input is kept
// as a JSON string (scrubbed), so nothing a client sent is lost.
func (r *Redactor) Arguments(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		b, _ := json.Marshal(r.scrub(string(raw)))
		return b
	}
	b, err := json.Marshal(r.walk(v))
	if err != nil {
		return json.RawMessage(fmt.Sprintf("%q", Redacted))
	}
	return b
}

func (r *Redactor) walk(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if r.keys[strings.ToLower(k)] {
				x[k] = Redacted
			} else {
				x[k] = r.walk(val)
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = r.walk(x[i])
		}
		return x
	case string:
		return r.scrub(x)
	}
	return v
}

// ForCall returns the Redactor for one call's record: besides what r
// redacts, every value args holds under a sensitive key is redacted
// wherever else it appears in that record (another argument, the result,
// an error), in any encoding the leak guard knows: a "text" argument with
// "password=hunter2" beside a "password" of hunter2 keeps neither.
func (r *Redactor) ForCall(args json.RawMessage) *Redactor {
	var v any
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return r
	}
	var named []secrets.Named
	r.collect(v, &named)
	if len(named) == 0 {
		return r
	}
	g := secrets.NewGuard(named)
	next := *r
	next.scrub = func(s string) string { return g.Redact(r.scrub(s)) }
	return &next
}

// collect gathers the values under sensitive keys, at any depth.
func (r *Redactor) collect(v any, out *[]secrets.Named) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if !r.keys[strings.ToLower(k)] {
				r.collect(val, out)
				continue
			}
			switch s := val.(type) {
			case string:
				*out = append(*out, secrets.Named{Name: strings.ToLower(k), Value: secrets.New(s)})
			case json.Number:
				*out = append(*out, secrets.Named{Name: strings.ToLower(k), Value: secrets.New(s.String())})
			}
		}
	case []any:
		for _, e := range x {
			r.collect(e, out)
		}
	}
}

// Text scrubs free text (reasons, errors).
func (r *Redactor) Text(s string) string { return r.scrub(s) }

// Result scrubs a result and cuts it at the configured size, with a marker
// that says so.
func (r *Redactor) Result(raw []byte) string {
	s := r.scrub(string(raw))
	if r.maxResult > 0 && len(s) > r.maxResult {
		return s[:r.maxResult] + fmt.Sprintf("…[truncated: %d bytes in all]", len(s))
	}
	return s
}

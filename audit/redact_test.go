package audit_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/audit"
)

// FuzzRedactArguments: whatever the arguments, the record is JSON, a value
// under a sensitive key is not in it, and (ForCall) not anywhere else in
// the call's record either.
func FuzzRedactArguments(f *testing.F) {
	f.Add(`{"password":"hunter2xyz","text":"pw=hunter2xyz"}`, "echo hunter2xyz")
	f.Add(`{"nested":[{"API_KEY":"abcdef123"}],"n":1}`, "abcdef123")
	f.Add(`not json`, "")
	r := audit.NewRedactor([]string{"iban"}, nil, 1<<20)
	f.Fuzz(func(t *testing.T, args, result string) {
		call := r.ForCall(json.RawMessage(args))
		out := call.Arguments(json.RawMessage(args))
		if len(args) > 0 && !json.Valid(out) { // no arguments are recorded as NULL
			t.Fatalf("Arguments(%q) = %q, not JSON", args, out)
		}
		var m map[string]any
		if json.Unmarshal([]byte(args), &m) != nil {
			return
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok || len(s) < 6 || !isSensitive(k) || strings.Contains("[REDACTED]", s) {
				continue
			}
			if strings.Contains(string(out), s) {
				t.Fatalf("Arguments(%q) = %s keeps the value of %q", args, out, k)
			}
			if got := call.Result([]byte(result)); strings.Contains(got, s) {
				t.Fatalf("Result(%q) = %q keeps the value of %q", result, got, k)
			}
		}
	})
}

func isSensitive(k string) bool {
	k = strings.ToLower(k)
	for _, s := range append(audit.DefaultRedactKeys, "iban") {
		if k == s {
			return true
		}
	}
	return false
}

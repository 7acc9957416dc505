package proxy

import (
	"encoding/json"
	"testing"
)

// FuzzParseBody: whatever arrives, parsing answers without panicking, and
// a batch is never let through outside 2025-03-26.
func FuzzParseBody(f *testing.F) {
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`), "2025-06-18")
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`), "2025-03-26")
	f.Fuzz(func(t *testing.T, body []byte, version string) {
		msgs, batch, err := parseBody(body, version)
		if batch && err == nil && version != "2025-03-26" {
			t.Fatalf("batch accepted under %q", version)
		}
		for _, m := range msgs {
			var msg message
			if json.Unmarshal(m, &msg) == nil {
				if k, why := msg.classify(); k == kindInvalid && why == "" {
					t.Fatalf("invalid message %s without a reason", m)
				}
			}
		}
	})
}

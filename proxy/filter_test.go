package proxy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"echo", "echo", true}, {"echo", "echo2", false}, {"*", "anything", true}, {"*", "", true},
		{"list_*", "list_customers", true}, {"list_*", "xlist_customers", false}, {"*_delete", "user_delete", true},
		{"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false}, {"a**", "a", true}, {"", "", true}, {"", "x", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// FuzzGlobMatch: a pattern without * matches only itself; "*"+name+"*"
// matches anything containing name; nothing panics.
func FuzzGlobMatch(f *testing.F) {
	f.Add("list_*", "list_x")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := globMatch(pattern, name)
		if !strings.Contains(pattern, "*") && got != (pattern == name) {
			t.Fatalf("globMatch(%q, %q) = %v", pattern, name, got)
		}
		if !strings.Contains(name, "*") && !globMatch("*"+name+"*", "x"+name+"y") {
			t.Fatalf("*%s* does not match x%sy", name, name)
		}
	})
}

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

// TestCallIDsSortInOrder: call IDs compare as text in the order they were
// made, across digit boundaries (the ledger's call_id index appends, and
// `ORDER BY call_id` in sqlite3 is call order).
func TestCallIDsSortInOrder(t *testing.T) {
	ids := newRequestIDs()
	for _, start := range []uint64{0, 8, 98, 99998, 999_999_998} {
		ids.n.Store(start)
		a, b, c := ids.call(), ids.call(), ids.call()
		if !(a < b && b < c) {
			t.Errorf("calls %d..%d: IDs %q, %q, %q do not sort in order", start+1, start+3, a, b, c)
		}
	}
}

package audit

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// TestCanonicalHashIsStable: the hash of an event is a format ledgers
// already on disk were written with; a change to how it is computed must
// not change what it computes, or every existing ledger stops verifying.
func TestCanonicalHashIsStable(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	full := &Event{Seq: 7, At: at, Kind: KindDecided, CallID: "call_1", RequestID: "req_1", Client: "alice",
		Server: "stripe", Method: "tools/call", Tool: "create_refund", Arguments: json.RawMessage(`{"amount":5}`),
		Decision: "allow", Reason: "ok", PolicyMode: "enforce", PolicyUS: Micros(42 * time.Microsecond),
		ApprovalID: "apr_1", ApprovedBy: "bob", Status: "ok", Error: "e", Result: `{"content":[]}`,
		UpstreamMS: Millis(3 * time.Millisecond), DurationMS: Millis(4 * time.Millisecond), ProtocolVersion: "2025-06-18",
		SessionID: "sess", RemoteAddr: "127.0.0.1:1", PrevHash: genesis}
	sparse := &Event{Seq: 8, At: at, Kind: KindCompleted, CallID: "call_1", PrevHash: "ab"}
	for _, tt := range []struct {
		e    *Event
		want string
	}{{full, "9651ed1673ec4858a41c39471f7f40025dbbb88db1038951a39fd77be2eb3610"}, {sparse, "07d798d623260454cd4bc2c2ca283f25ce5eaa3b99db61d5cdafea8d784f3de4"}} {
		if got := tt.e.computeHash(nil); got != tt.want {
			t.Errorf("hash of %s event %d = %s, want %s", tt.e.Kind, tt.e.Seq, got, tt.want)
		}
		// The writer's path: the same hash, and only non-NULL columns bound.
		e, r := *tt.e, row{ord: columnCount}
		e.seal(tt.e.PrevHash, &r, nil)
		if e.Hash != tt.want {
			t.Errorf("sealed hash of %s event %d = %s, want %s", e.Kind, e.Seq, e.Hash, tt.want)
		}
		if r.ord != 2*columnCount || r.named[0].Ordinal != columnCount+1 || r.named[len(r.named)-1].Value != tt.want {
			t.Errorf("%s event bound as the second row: ordinals end at %d, first %d, last value %v", e.Kind, r.ord,
				r.named[0].Ordinal, r.named[len(r.named)-1].Value)
		}
	}
	e, r := *sparse, row{}
	e.seal(sparse.PrevHash, &r, nil)
	var ords []int
	for _, v := range r.named {
		ords = append(ords, v.Ordinal)
	}
	if want := []int{1, 2, 3, 4, 25, 26}; !slices.Equal(ords, want) {
		t.Errorf("sparse event binds ordinals %v, want %v (seq, at, kind, call_id, prev_hash, hash)", ords, want)
	}
}

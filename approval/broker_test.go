package approval

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/state"
)

func broker(t *testing.T, timeout time.Duration) (*Broker, *[]string) {
	t.Helper()
	db, err := state.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mu sync.Mutex
	events := &[]string{}
	b := New(Options{DB: db, Timeout: timeout, GrantTTL: time.Hour, OnEvent: func(e string, a state.Approval) {
		mu.Lock()
		defer mu.Unlock()
		*events = append(*events, e)
	}})
	return b, events
}

// held starts Hold in the background and returns its outcome channel and
// the approval's id once it is pending.
func held(t *testing.T, b *Broker, a state.Approval) (chan Outcome, string) {
	t.Helper()
	out := make(chan Outcome, 1)
	go func() {
		o, err := b.Hold(context.Background(), a, nil)
		if err != nil {
			t.Error(err)
		}
		out <- o
	}()
	for i := 0; i < 200; i++ {
		if p, _ := b.Pending(context.Background()); len(p) == 1 {
			return out, p[0].ID
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the call never showed as pending")
	return nil, ""
}

// TestBrokerApproveGrantsOnlyThatCall: approving wakes the waiter and
// leaves a grant for the same client token, server, tool and arguments —
// not another token with the same name, not other arguments.
func TestBrokerApproveGrantsOnlyThatCall(t *testing.T) {
	b, events := broker(t, 30*time.Second)
	ctx := context.Background()
	a := state.Approval{Client: "bob", ClientID: "tok_1", Server: "stripe", Tool: "refund", Arguments: `{"amount":5}`, ArgsHash: ArgsHash([]byte(`{"amount":5}`))}
	out, id := held(t, b, a)
	if _, err := b.Approve(ctx, id, "cli:alice", 0); err != nil {
		t.Fatal(err)
	}
	if o := <-out; o.Status != state.Approved || o.Approval.DecidedBy != "cli:alice" {
		t.Fatalf("outcome %+v", o)
	}
	if _, ok := b.Granted(ctx, "bob", "tok_1", "stripe", "refund", ArgsHash([]byte(`{ "amount" : 5.0 }`))); !ok {
		t.Error("the same call, written differently, is not granted")
	}
	for _, tt := range []struct{ id, args string }{{"tok_2", `{"amount":5}`}, {"tok_1", `{"amount":6}`}} {
		if _, ok := b.Granted(ctx, "bob", tt.id, "stripe", "refund", ArgsHash([]byte(tt.args))); ok {
			t.Errorf("granted to %s with %s", tt.id, tt.args)
		}
	}
	if _, err := b.Approve(ctx, id, "cli:alice", 0); err == nil {
		t.Error("an approval was settled twice")
	}
	if got := *events; len(got) < 3 || got[0] != "created" || got[1] != "approved" || got[2] != "granted" {
		t.Errorf("events %v", got)
	}
}

// TestBrokerDenyAndTimeout: a denial reaches the waiter with its reason; an
// unanswered call times out and its approval stays pending.
func TestBrokerDenyAndTimeout(t *testing.T) {
	b, _ := broker(t, 30*time.Second)
	out, id := held(t, b, state.Approval{Client: "bob", Server: "s", Tool: "t", Arguments: "{}", ArgsHash: ArgsHash([]byte("{}"))})
	if _, err := b.Deny(context.Background(), id, "cli:alice", "not today"); err != nil {
		t.Fatal(err)
	}
	if o := <-out; o.Status != state.Denied || o.Approval.Note != "not today" {
		t.Fatalf("outcome %+v", o)
	}
	short, _ := broker(t, 100*time.Millisecond)
	o, err := short.Hold(context.Background(), state.Approval{Client: "bob", Server: "s", Tool: "t", Arguments: "{}", ArgsHash: "x"}, nil)
	if err != nil || o.Status != Timeout {
		t.Fatalf("unanswered = %+v %v, want a timeout", o, err)
	}
	if p, _ := short.Pending(context.Background()); len(p) != 1 {
		t.Errorf("after the timeout %d pending, want the approval kept", len(p))
	}
}

// TestSettleRefusesWhatCannotBeMeant: an unknown verb, a remember that is
// not a duration and an id that is not pending are refused with the status
// the API and the console answer, and leave the held call waiting; then a
// good request settles it, and the subscribers hear both changes.
func TestSettleRefusesWhatCannotBeMeant(t *testing.T) {
	b, _ := broker(t, 30*time.Second)
	ctx := context.Background()
	changed, cancel := b.Subscribe()
	defer cancel()
	out, id := held(t, b, state.Approval{Client: "bob", Server: "s", Tool: "t", Arguments: `{}`, ArgsHash: ArgsHash([]byte(`{}`))})
	<-changed // held
	for _, tt := range []struct {
		id, verb, remember string
		status             int
	}{{id, "maybe", "", 404}, {id, "approve", "soon", 400}, {"apr_nope", "approve", "", 404}, {"apr_nope", "deny", "", 404}} {
		if _, err := b.Settle(ctx, tt.id, tt.verb, "x", tt.remember, ""); SettleStatus(err) != tt.status {
			t.Errorf("Settle(%s, %s, remember %q) = %v (status %d), want %d", tt.id, tt.verb, tt.remember, err, SettleStatus(err), tt.status)
		}
	}
	if p, _ := b.Pending(ctx); len(p) != 1 {
		t.Fatal("a refused request settled the call")
	}
	if _, err := b.Settle(ctx, id, "deny", "console", "", "no"); err != nil {
		t.Fatal(err)
	}
	if o := <-out; o.Status != state.Denied || o.Approval.Note != "no" {
		t.Fatalf("outcome %+v", o)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("subscribers were not told of the denial")
	}
}

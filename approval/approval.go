// Package approval holds calls a policy sent to a person: it records them
// in state.db, wakes the waiting call when someone approves or denies,
// turns late approvals into grants for the same call, tells a webhook, and
// serves the admin API the CLI uses.
package approval

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// Defaults.
const (
	DefaultTimeout  = 120 * time.Second
	DefaultGrantTTL = 10 * time.Minute
)

// Outcome is how a held call ends.
type Outcome struct {
	Approval state.Approval
	// Status is state.Approved, state.Denied, or "timeout" when nobody
	// answered in time (the approval stays pending).
	Status string
}

// Timeout is the Status of a call nobody answered in time.
const Timeout = "timeout"

// Options configure a Broker.
type Options struct {
	DB       *state.DB
	Timeout  time.Duration // how long a call waits
	GrantTTL time.Duration // how long an approval, and a pending one, lasts
	Webhook  string        // URL to POST to when an approval is created
	Logger   *slog.Logger
	// OnEvent records approval events (created, approved, denied, expired,
	// granted) in the ledger.
	OnEvent func(event string, a state.Approval)
}

// Broker holds calls for approval.
type Broker struct {
	opts    Options
	http    *http.Client
	mu      sync.Mutex
	waiters map[string]chan state.Approval
	subs    map[chan struct{}]struct{}
}

// New makes a Broker.
func New(opts Options) *Broker {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.GrantTTL <= 0 {
		opts.GrantTTL = DefaultGrantTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OnEvent == nil {
		opts.OnEvent = func(string, state.Approval) {}
	}
	return &Broker{opts: opts, http: &http.Client{Timeout: 5 * time.Second}, waiters: map[string]chan state.Approval{},
		subs: map[chan struct{}]struct{}{}}
}

// Subscribe returns a channel that receives a value whenever the pending
// list may have changed (a call held, approved, denied or expired); a
// slow reader misses nothing but repeats. cancel ends the subscription.
func (b *Broker) Subscribe() (changed <-chan struct{}, cancel func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// changed tells every subscriber.
func (b *Broker) changed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // one is already waiting to be read
		}
	}
}

// Start expires what a previous run left pending (nobody waits for those
// any more), then expires stale approvals every 30s until ctx ends or stop
// is called; stop returns once the background work has ended.
func (b *Broker) Start(ctx context.Context) (stop func()) {
	b.expire(ctx, true)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(30 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				b.expire(ctx, false)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (b *Broker) expire(ctx context.Context, all bool) {
	expired, err := b.opts.DB.ExpireApprovals(ctx, all)
	if err != nil {
		b.opts.Logger.Error("expire approvals", "err", err)
	}
	for _, a := range expired {
		b.opts.OnEvent("expired", a)
	}
	if len(expired) > 0 {
		b.changed()
	}
}

// ArgsHash is the hash a grant matches arguments by: of their canonical
// form (RFC 8785 key order and strings, numbers as exact decimals), so two
// argument sets share a grant exactly when they are the same JSON value.
// Arguments that do not parse strictly hash their bytes, apart from every
// canonical form.
func ArgsHash(args json.RawMessage) string {
	b := append([]byte("raw:"), args...)
	if v, err := ijson.Parse(args); err == nil {
		b = v.AppendCanonical(nil)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Granted finds a grant for exactly this call by this client's token
// (clientID; its name where there is no token).
func (b *Broker) Granted(ctx context.Context, client, clientID, server, tool, argsHash string) (state.Approval, bool) {
	id, by, ok, err := b.opts.DB.Grant(ctx, state.GrantKey(client, clientID), server, tool, argsHash)
	if err != nil {
		b.opts.Logger.Error("read grants", "err", err)
		return state.Approval{}, false
	}
	a := state.Approval{ID: id, Client: client, Server: server, Tool: tool, DecidedBy: by, Status: state.Approved}
	if ok {
		b.opts.OnEvent("granted", a)
	}
	return a, ok
}

// Hold stores a pending approval for the call a describes and waits for a
// decision, the timeout, or ctx. While it waits, tick (when not nil) is
// called every few seconds with the approval's id, the time waited and the
// timeout, so the caller can be told (MCP progress notifications).
func (b *Broker) Hold(ctx context.Context, a state.Approval, tick func(id string, waited, timeout time.Duration)) (Outcome, error) {
	var id [10]byte
	_, _ = rand.Read(id[:])
	now := time.Now()
	a.ID, a.CreatedAt, a.ExpiresAt, a.Status = "apr_"+hex.EncodeToString(id[:]), now, now.Add(b.opts.GrantTTL), state.Pending
	ch := make(chan state.Approval, 1)
	b.mu.Lock()
	b.waiters[a.ID] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiters, a.ID)
		b.mu.Unlock()
	}()
	if err := b.opts.DB.CreateApproval(ctx, a); err != nil {
		return Outcome{}, err
	}
	b.opts.OnEvent("created", a)
	b.changed()
	if b.opts.Webhook != "" {
		go b.notify(a)
	}
	timer := time.NewTimer(b.opts.Timeout)
	defer timer.Stop()
	every := min(5*time.Second, b.opts.Timeout/4)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case settled := <-ch:
			return Outcome{Approval: settled, Status: settled.Status}, nil
		case <-ticker.C:
			if tick != nil {
				tick(a.ID, time.Since(now), b.opts.Timeout)
			}
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		return Outcome{Approval: a, Status: Timeout}, nil
	}
}

// Approve approves a pending approval: its waiting call proceeds, and the
// same call is granted until max(grant_ttl, remember) from now.
func (b *Broker) Approve(ctx context.Context, id, by string, remember time.Duration) (state.Approval, error) {
	until := time.Now().Add(max(b.opts.GrantTTL, remember))
	a, err := b.opts.DB.Settle(ctx, id, state.Approved, by, "", until)
	if err != nil {
		return a, err
	}
	b.settled(a, "approved")
	return a, nil
}

// Deny refuses a pending approval.
func (b *Broker) Deny(ctx context.Context, id, by, reason string) (state.Approval, error) {
	a, err := b.opts.DB.Settle(ctx, id, state.Denied, by, reason, time.Time{})
	if err != nil {
		return a, err
	}
	b.settled(a, "denied")
	return a, nil
}

func (b *Broker) settled(a state.Approval, event string) {
	b.opts.OnEvent(event, a)
	b.changed()
	b.mu.Lock()
	ch, ok := b.waiters[a.ID]
	b.mu.Unlock()
	if ok {
		select {
		case ch <- a:
		default:
		}
	}
}

// Pending lists what waits for a person.
func (b *Broker) Pending(ctx context.Context) ([]state.Approval, error) {
	return b.opts.DB.PendingApprovals(ctx)
}

// notify POSTs a message a Slack incoming webhook accepts.
func (b *Broker) notify(a state.Approval) {
	text := fmt.Sprintf("Drawbridge approval %s: client %q wants %s/%s with %s (policy: %s). Approve: drawbridge approvals approve %s — deny: drawbridge approvals deny %s",
		a.ID, a.Client, a.Server, a.Tool, a.Arguments, a.Reason, a.ID, a.ID)
	body, _ := json.Marshal(map[string]any{"text": text, "approval": a})
	resp, err := b.http.Post(b.opts.Webhook, "application/json", bytes.NewReader(body))
	if err != nil {
		b.opts.Logger.Warn("approval webhook", "approval_id", a.ID, "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.opts.Logger.Warn("approval webhook", "approval_id", a.ID, "status", resp.Status)
	}
}

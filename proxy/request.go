package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"time"
)

// Request is what Drawbridge knows about one HTTP request, parsed once by the
// HTTP layer and shared by every later stage through the context.
type Request struct {
	// ID identifies the request in logs and in the errors clients see.
	ID       string
	Received time.Time
	// Label is the upstream addressed (/mcp/<label>).
	Label string
	// Client is who sent it: the client token's name ("anonymous" under
	// auth: none) and the remote address.
	Client Client
	// Protocol is the negotiated MCP protocol version of this request.
	Protocol  string
	Session   string
	UserAgent string
	// stream, when the client accepts an event stream, sends notifications
	// about this request before its response.
	stream *sseStream
	// token is the client token presented, for checking it again after a
	// wait (a token revoked while its call waited for approval).
	token string
}

// progress sends a notification about this request, when the client can
// receive one.
func (r *Request) progress(n any) {
	if r.stream != nil {
		r.stream.send(mustJSON(n))
	}
}

// Client identifies the caller.
type Client struct {
	Name string
	// ID is the client token's identity ("" under auth: none).
	ID      string
	Address string
	// Servers, when not empty, are the only labels the client may use.
	Servers []string
}

type requestKey struct{}

func withRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request value the HTTP layer stored, or an empty
// one.
func RequestFrom(ctx context.Context) *Request {
	if r, ok := ctx.Value(requestKey{}).(*Request); ok && r != nil {
		return r
	}
	return &Request{}
}

// newID returns a random identifier with a prefix, e.g. "mcs_3f9a…", for
// values a client must not guess.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return prefix + hex.EncodeToString(b[:])
}

// requestIDs numbers requests: a random per-process prefix and a counter,
// unique without a system call per request. Request IDs name a request in
// logs and errors; nothing trusts them.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	return &requestIDs{prefix: newID("")[:8] + "-"}
}

func (r *requestIDs) next() string {
	return "req_" + r.prefix + strconv.FormatUint(r.n.Add(1), 10)
}

// call numbers a call (one request may carry several, in a batch) or a
// ledger entry. The number has a fixed width, so a process's call IDs sort
// in the order they were made: the ledger's call_id index then grows at
// one end instead of in the middle (a tenth less time a 6-event commit, in
// a hot loop), and `ORDER BY call_id` reads naturally.
func (r *requestIDs) call() string {
	var num [20]byte
	n := strconv.AppendUint(num[:0], r.n.Add(1), 10)
	return "call_" + r.prefix + "0000000000"[min(len(n), 10):] + string(n)
}

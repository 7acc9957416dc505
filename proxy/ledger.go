package proxy

import (
	"context"
	"net/http"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
)

// Ledger records events. audit.Log implements it.
type Ledger interface {
	// Record returns once ev is durable, or why it could not be made so.
	Record(ctx context.Context, ev *audit.Event) error
	// Enqueue records ev without waiting.
	Enqueue(ev *audit.Event)
}

// event starts a ledger event for this request.
func (s *Server) event(ctx context.Context, kind string, u *Upstream, method string) *audit.Event {
	req := RequestFrom(ctx)
	// At is now: a call's decided event says when the call arrived, even
	// when it is recorded later (after an approval wait).
	return &audit.Event{
		At: time.Now(), Kind: kind, CallID: s.ids.call(), RequestID: req.ID, Client: req.Client.Name, Server: u.cfg.Label,
		Method: method, PolicyMode: string(s.cfg.Policy.Mode), ProtocolVersion: req.Protocol, SessionID: req.Session,
		RemoteAddr: req.Client.Address,
	}
}

// finish records an event without waiting: for what follows the fact.
func (s *Server) finish(ev *audit.Event) { s.ledger.Enqueue(ev) }

// rejectHTTP records a request refused by the HTTP layer, with what could be
// read of it, and writes the refusal.
func (s *Server) rejectHTTP(w http.ResponseWriter, r *http.Request, status string, httpStatus int, msg string) {
	s.recordRejection(r, status, msg)
	writeHTTPError(w, httpStatus, codeInvalidRequest, msg)
}

// recordRejection records a request refused before any call was made.
func (s *Server) recordRejection(r *http.Request, status, msg string) {
	req := RequestFrom(r.Context())
	s.ledger.Enqueue(&audit.Event{
		Kind: audit.KindRejected, CallID: s.ids.call(), RequestID: req.ID, Client: req.Client.Name,
		Server: r.PathValue("label"), Method: r.Method + " " + r.URL.Path, Status: status, Error: msg,
		ProtocolVersion: r.Header.Get("MCP-Protocol-Version"), SessionID: req.Session, RemoteAddr: req.Client.Address,
	})
}

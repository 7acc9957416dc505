// Package audit is the ledger: an append-only, hash-chained SQLite file
// (audit.db) that records every call before it runs and what came back,
// written by one group-committing writer, queried with sqlite3 or the CLI.
package audit

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Event kinds.
const (
	KindDecided   = "decided"   // a tools/call, decided; committed before the upstream is called
	KindCompleted = "completed" // its outcome
	KindRejected  = "rejected"  // a request refused before any decision (unauthenticated, malformed)
	KindListed    = "listed"    // a tools/list
	KindBridged   = "bridged"   // a resources/*, prompts/* or completion request, passed on undecided
	KindApproval  = "approval"  // an approval created, approved, denied, expired, or a grant used
)

// Statuses of a call.
const (
	StatusOK              = "ok"
	StatusToolError       = "tool_error"
	StatusDenied          = "denied"
	StatusApprovalTimeout = "approval_timeout"
	StatusUpstreamError   = "upstream_error"
	StatusTimeout         = "timeout"
	StatusCancelled       = "cancelled"
	StatusBadRequest      = "bad_request"
	StatusUnauthenticated = "unauthenticated"
	// StatusInterrupted closes a call whose decision was committed but whose
	// outcome never was: the process died between the two (the upstream
	// may have run it). Written at the next start.
	StatusInterrupted = "interrupted"
)

// Event is one row of the ledger. Empty strings and nil numbers are stored
// as NULL.
type Event struct {
	Seq             int64           `json:"seq"`
	At              time.Time       `json:"at"`
	Kind            string          `json:"kind"`
	CallID          string          `json:"call_id,omitempty"`
	RequestID       string          `json:"request_id,omitempty"`
	Client          string          `json:"client,omitempty"`
	Server          string          `json:"server,omitempty"`
	Method          string          `json:"method,omitempty"`
	Tool            string          `json:"tool,omitempty"`
	Arguments       json.RawMessage `json:"arguments,omitempty"`
	Decision        string          `json:"decision,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	PolicyMode      string          `json:"policy_mode,omitempty"`
	PolicyUS        *int64          `json:"policy_us,omitempty"`
	ApprovalID      string          `json:"approval_id,omitempty"`
	ApprovedBy      string          `json:"approved_by,omitempty"`
	Status          string          `json:"status,omitempty"`
	Error           string          `json:"error,omitempty"`
	Result          string          `json:"result,omitempty"`
	UpstreamMS      *int64          `json:"upstream_ms,omitempty"`
	DurationMS      *int64          `json:"duration_ms,omitempty"`
	ProtocolVersion string          `json:"protocol_version,omitempty"`
	SessionID       string          `json:"session_id,omitempty"`
	RemoteAddr      string          `json:"remote_addr,omitempty"`
	PrevHash        string          `json:"prev_hash"`
	Hash            string          `json:"hash"`
}

// Bounds on what one event may store, so a stranger's request costs
// bounded disk: a 300 KB path or session id, or a 4 MB tool name, is
// recorded cut, with its length.
const (
	MaxFieldBytes     = 256      // names, ids, methods, addresses, statuses
	MaxTextBytes      = 4 << 10  // reason, error
	MaxArgumentsBytes = 64 << 10 // arguments (results are cut by the Redactor)
	MaxResultBytes    = 1 << 20  // results, past whatever the Redactor was told
)

// clip cuts every field of ev to its bound.
func (ev *Event) clip() {
	for _, f := range []*string{&ev.CallID, &ev.RequestID, &ev.Client, &ev.Server, &ev.Method, &ev.Tool,
		&ev.Decision, &ev.PolicyMode, &ev.ApprovalID, &ev.ApprovedBy, &ev.Status, &ev.ProtocolVersion,
		&ev.SessionID, &ev.RemoteAddr} {
		*f = Clip(*f, MaxFieldBytes)
	}
	ev.Reason, ev.Error = Clip(ev.Reason, MaxTextBytes), Clip(ev.Error, MaxTextBytes)
	ev.Result = Clip(ev.Result, MaxResultBytes)
	if len(ev.Arguments) > MaxArgumentsBytes {
		ev.Arguments = json.RawMessage(Clip(string(ev.Arguments), MaxArgumentsBytes))
	}
}

// Clip cuts s to at most max bytes (on a character boundary), saying how
// long it was.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…[truncated: %d bytes in all]", len(s))
}

// Millis returns d in whole milliseconds, for the *_ms fields.
func Millis(d time.Duration) *int64 {
	v := d.Milliseconds()
	return &v
}

// Micros returns d in whole microseconds, for policy_us.
func Micros(d time.Duration) *int64 {
	v := d.Microseconds()
	return &v
}

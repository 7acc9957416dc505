// Package audit is the ledger: an append-only, hash-chained SQLite file
// (audit.db) that records every call before it runs and what came back,
// written by one group-committing writer, queried with sqlite3 or the CLI.
package audit

import (
	"encoding/json"
	"time"
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

package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/sqlitedb"
)

// Reader queries a ledger read-only; it works while the proxy writes.
// Every query first checks the file's schema (see schema.go): one that
// was changed outside Drawbridge is refused with a *SchemaError.
type Reader struct {
	db   *sql.DB
	want schema
}

// OpenReader opens audit.db for reading.
func OpenReader(ctx context.Context, path string) (*Reader, error) {
	want, err := wantSchema(ctx)
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.OpenReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Reader{db: db, want: want}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.db.Close() }

// Call is one row of the calls view.
type Call struct {
	CallID          string          `json:"call_id"`
	StartedAt       string          `json:"started_at"`
	EndedAt         string          `json:"ended_at,omitempty"`
	Client          string          `json:"client,omitempty"`
	Server          string          `json:"server,omitempty"`
	Method          string          `json:"method,omitempty"`
	Tool            string          `json:"tool,omitempty"`
	Arguments       json.RawMessage `json:"arguments,omitempty"`
	Decision        string          `json:"decision,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	PolicyMode      string          `json:"policy_mode,omitempty"`
	ApprovalID      string          `json:"approval_id,omitempty"`
	ApprovedBy      string          `json:"approved_by,omitempty"`
	Status          string          `json:"status,omitempty"`
	Error           string          `json:"error,omitempty"`
	Result          string          `json:"result,omitempty"`
	DurationMS      *int64          `json:"duration_ms,omitempty"`
	UpstreamMS      *int64          `json:"upstream_ms,omitempty"`
	PolicyUS        *int64          `json:"policy_us,omitempty"`
	ProtocolVersion string          `json:"protocol_version,omitempty"`
	SessionID       string          `json:"session_id,omitempty"`
	RequestID       string          `json:"request_id,omitempty"`
	RemoteAddr      string          `json:"remote_addr,omitempty"`
}

// CallColumns are the calls view's columns, in order (CSV export header).
var CallColumns = []string{"call_id", "started_at", "ended_at", "client", "server", "method", "tool", "arguments",
	"decision", "reason", "policy_mode", "approval_id", "approved_by", "status", "error", "result", "duration_ms",
	"upstream_ms", "policy_us", "protocol_version", "session_id", "request_id", "remote_addr"}

// Filter selects calls; zero fields match everything.
type Filter struct {
	CallID, Server, Tool, Decision, Client, Status string
	Since, Until                                   time.Time
	// AfterStarted returns calls started after this RFC 3339 time.
	AfterStarted string
	// AfterSeq and UpToSeq return the calls whose first event has a seq in
	// (AfterSeq, UpToSeq] (tail -f: what was written since the last look,
	// whatever time the call started at; a call held for approval is
	// written when decided, with the time it arrived).
	AfterSeq, UpToSeq int64
	// Last keeps only the newest N (0: all), still returned oldest first.
	Last int
	// Offset, with Last, skips the newest Offset first (paging back).
	Offset int
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v ...any) {
		conds = append(conds, cond)
		args = append(args, v...)
	}
	for _, c := range []struct{ col, v string }{{"call_id", f.CallID}, {"server", f.Server}, {"tool", f.Tool}, {"decision", f.Decision},
		{"client", f.Client}, {"status", f.Status}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.Since.IsZero() {
		add("started_at >= ?", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		add("started_at < ?", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.UpToSeq > 0 {
		add("call_id IN (SELECT call_id FROM events WHERE seq > ? AND seq <= ? AND kind != 'completed')", f.AfterSeq, f.UpToSeq)
	}
	if f.AfterStarted != "" {
		add("started_at > ?", f.AfterStarted)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Calls returns the calls matching f, oldest first.
func (r *Reader) Calls(ctx context.Context, f Filter) ([]Call, error) {
	var out []Call
	err := r.read(ctx, func(tx *sql.Tx) (err error) {
		out, err = calls(ctx, tx, f)
		return err
	})
	return out, err
}

func calls(ctx context.Context, q queryer, f Filter) ([]Call, error) {
	where, args := f.where()
	query := "SELECT " + strings.Join(CallColumns, ", ") + " FROM calls" + where + " ORDER BY started_at, call_id"
	if f.Last > 0 {
		query = "SELECT * FROM (SELECT " + strings.Join(CallColumns, ", ") + " FROM calls" + where +
			" ORDER BY started_at DESC, call_id DESC LIMIT ? OFFSET ?) ORDER BY started_at, call_id"
		args = append(args, f.Last, max(f.Offset, 0))
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query calls: %w", err)
	}
	defer rows.Close()
	var out []Call
	for rows.Next() {
		var c Call
		var s [18]sql.NullString
		var n [3]sql.NullInt64
		if err := rows.Scan(&c.CallID, &c.StartedAt, &s[0], &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &s[7],
			&s[8], &s[9], &s[10], &s[11], &s[12], &s[13], &n[0], &n[1], &n[2], &s[14], &s[15], &s[16], &s[17]); err != nil {
			return nil, fmt.Errorf("query calls: %w", err)
		}
		c.EndedAt, c.Client, c.Server, c.Method, c.Tool = s[0].String, s[1].String, s[2].String, s[3].String, s[4].String
		if s[5].Valid {
			c.Arguments = json.RawMessage(s[5].String)
		}
		c.Decision, c.Reason, c.PolicyMode, c.ApprovalID, c.ApprovedBy = s[6].String, s[7].String, s[8].String, s[9].String, s[10].String
		c.Status, c.Error, c.Result = s[11].String, s[12].String, s[13].String
		c.DurationMS, c.UpstreamMS, c.PolicyUS = ptr(n[0]), ptr(n[1]), ptr(n[2])
		c.ProtocolVersion, c.SessionID, c.RequestID, c.RemoteAddr = s[14].String, s[15].String, s[16].String, s[17].String
		out = append(out, c)
	}
	return out, rows.Err()
}

func ptr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	return &n.Int64
}

// ErrNoCall is returned by Call for an unknown id.
var ErrNoCall = errors.New("no such call")

// Call returns one call and every event recorded for it.
func (r *Reader) Call(ctx context.Context, id string) (Call, []Event, error) {
	var c []Call
	var evs []Event
	err := r.read(ctx, func(tx *sql.Tx) (err error) {
		if c, err = calls(ctx, tx, Filter{CallID: id}); err != nil || len(c) == 0 {
			return err
		}
		evs, err = events(ctx, tx, "WHERE call_id = ? ORDER BY seq", id)
		return err
	})
	if err != nil {
		return Call{}, nil, err
	}
	if len(c) == 0 {
		return Call{}, nil, fmt.Errorf("%w %q", ErrNoCall, id)
	}
	return c[0], evs, nil
}

// ApprovalEvents returns every event that names an approval: its creation,
// settlement, expiry, grants used, and the calls it covered.
func (r *Reader) ApprovalEvents(ctx context.Context, id string) ([]Event, error) {
	var evs []Event
	err := r.read(ctx, func(tx *sql.Tx) (err error) {
		evs, err = events(ctx, tx, "WHERE approval_id = ? ORDER BY seq", id)
		return err
	})
	return evs, err
}

// events scans events rows selected by a WHERE/ORDER clause.
func events(ctx context.Context, q queryer, clause string, args ...any) ([]Event, error) {
	var out []Event
	err := eachEvent(ctx, q, clause, args, func(e *Event) error {
		out = append(out, *e)
		return nil
	})
	return out, err
}

// eachEvent streams events rows to fn.
func eachEvent(ctx context.Context, q queryer, clause string, args []any, fn func(*Event) error) error {
	rows, err := q.QueryContext(ctx, `SELECT seq, at, kind, call_id, request_id, client, server, method, tool,
		arguments, decision, reason, policy_mode, policy_us, approval_id, approved_by, status, error, result,
		upstream_ms, duration_ms, protocol_version, session_id, remote_addr, prev_hash, hash FROM events `+clause, args...)
	if err != nil {
		return fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Event
		var at string
		var s [19]sql.NullString
		var n [3]sql.NullInt64
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &s[0], &s[1], &s[2], &s[3], &s[4], &s[5], &s[6], &s[7], &s[8],
			&s[9], &n[0], &s[10], &s[11], &s[12], &s[13], &s[14], &n[1], &n[2], &s[15], &s[16], &s[17],
			&e.PrevHash, &e.Hash); err != nil {
			return fmt.Errorf("query events: %w", err)
		}
		if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			// An unparseable time is kept as the zero time; the hash check
			// then reports the row as altered.
			e.At = time.Time{}
		}
		e.CallID, e.RequestID, e.Client, e.Server, e.Method, e.Tool = s[0].String, s[1].String, s[2].String, s[3].String, s[4].String, s[5].String
		if s[6].Valid {
			e.Arguments = json.RawMessage(s[6].String)
		}
		e.Decision, e.Reason, e.PolicyMode = s[7].String, s[8].String, s[9].String
		e.PolicyUS = ptr(n[0])
		e.ApprovalID, e.ApprovedBy, e.Status, e.Error, e.Result = s[10].String, s[11].String, s[12].String, s[13].String, s[14].String
		e.UpstreamMS, e.DurationMS = ptr(n[1]), ptr(n[2])
		e.ProtocolVersion, e.SessionID, e.RemoteAddr = s[15].String, s[16].String, s[17].String
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Older counts the events before cutoff and gives the times of the first
// and last of them: what a prune at cutoff would delete.
func (r *Reader) Older(ctx context.Context, cutoff time.Time) (n int64, first, last string, err error) {
	var f, l sql.NullString
	err = r.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*), min(at), max(at) FROM events WHERE at < ?`,
			cutoff.UTC().Format(time.RFC3339Nano)).Scan(&n, &f, &l)
	})
	if errors.Is(err, ErrSchemaChanged) {
		return 0, "", "", err
	}
	if err != nil {
		return 0, "", "", fmt.Errorf("count old events: %w", err)
	}
	return n, f.String, l.String, nil
}

// HeadSeq is the seq of the newest event (0 for an empty ledger).
func (r *Reader) HeadSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := r.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT max(seq) FROM events`).Scan(&n)
	})
	if errors.Is(err, ErrSchemaChanged) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("read the ledger's head: %w", err)
	}
	return n.Int64, nil
}

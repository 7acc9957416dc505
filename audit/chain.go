package audit

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// genesis is the prev_hash of the first event ever written.
var genesis = strings.Repeat("0", 64)

// row encodes one event's columns (every one but hash, in insertSQL's
// order) twice over: as the canonical content its hash covers, and, when
// binding, as the insert's arguments. Each column is length-prefixed in the
// canonical form so no two rows encode alike: NULL as "n;", an integer as
// "i<decimal>;", text as "s<len>:<bytes>". Empty strings and nil numbers
// are NULL, so a row read back from SQLite hashes as it did when written.
// NULL columns are not bound at all: the driver clears a statement's
// bindings before each execution, which leaves them NULL.
type row struct {
	canon []byte
	named []driver.NamedValue
	ord   int // the ordinal of the last column encoded
	bind  bool
}

// text is a column that holds text, or NULL when s is "".
func (r *row) text(s string) {
	if s == "" {
		r.null()
		return
	}
	r.must(s)
}

// must is a column that always holds text, even "".
func (r *row) must(s string) {
	r.ord++
	r.canon = append(r.canon, 's')
	r.canon = strconv.AppendInt(r.canon, int64(len(s)), 10)
	r.canon = append(r.canon, ':')
	r.canon = append(r.canon, s...)
	if r.bind {
		r.named = append(r.named, driver.NamedValue{Ordinal: r.ord, Value: s})
	}
}

// num is an integer column, NULL when p is nil.
func (r *row) num(p *int64) {
	if p == nil {
		r.null()
		return
	}
	r.int(*p)
}

func (r *row) int(v int64) {
	r.ord++
	r.canon = append(r.canon, 'i')
	r.canon = strconv.AppendInt(r.canon, v, 10)
	r.canon = append(r.canon, ';')
	if r.bind {
		r.named = append(r.named, driver.NamedValue{Ordinal: r.ord, Value: v})
	}
}

func (r *row) null() {
	r.ord++
	r.canon = append(r.canon, "n;"...)
}

// columns encodes every column of e but hash, in insertSQL's order.
func (e *Event) columns(r *row) {
	r.int(e.Seq)
	r.must(e.At.UTC().Format(time.RFC3339Nano))
	r.must(e.Kind)
	r.text(e.CallID)
	r.text(e.RequestID)
	r.text(e.Client)
	r.text(e.Server)
	r.text(e.Method)
	r.text(e.Tool)
	r.text(string(e.Arguments))
	r.text(e.Decision)
	r.text(e.Reason)
	r.text(e.PolicyMode)
	r.num(e.PolicyUS)
	r.text(e.ApprovalID)
	r.text(e.ApprovedBy)
	r.text(e.Status)
	r.text(e.Error)
	r.text(e.Result)
	r.num(e.UpstreamMS)
	r.num(e.DurationMS)
	r.text(e.ProtocolVersion)
	r.text(e.SessionID)
	r.text(e.RemoteAddr)
	r.must(e.PrevHash)
}

// columnCount is how many columns insertSQL names, hash included.
const columnCount = 26

// seal chains e to prev: it sets PrevHash and Hash and appends the row's
// non-NULL insert arguments to r.named, numbered from r.ord.
func (e *Event) seal(prev string, r *row) {
	e.PrevHash, r.bind = prev, true
	e.Hash = e.contentHash(r)
	r.must(e.Hash)
}

// computeHash is the hash e's content and PrevHash call for: what verify
// compares with the stored one.
func (e *Event) computeHash() string { return e.contentHash(&row{}) }

// contentHash is hex(sha256(prev_hash || canonical content)), encoding e's
// columns into r on the way (r.canon is scratch space).
func (e *Event) contentHash(r *row) string {
	r.canon = append(r.canon[:0], e.PrevHash...)
	e.columns(r)
	sum := sha256.Sum256(r.canon)
	return hex.EncodeToString(sum[:])
}

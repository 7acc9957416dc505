package audit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
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

// keyedPrefix marks a keyed hash: "k1:" and hex(HMAC-SHA256(ledger key,
// prev_hash || canonical content)). An unkeyed (legacy) hash is
// hex(SHA-256(prev_hash || canonical content)), which anyone who can write
// audit.db can recompute; a keyed one needs the ledger key, sealed in the
// vault under the master key.
const keyedPrefix = "k1:"

// IsHash reports whether s has the form of an event's hash: 64 lowercase
// hex digits, after "k1:" when keyed.
func IsHash(s string) bool {
	s = strings.TrimPrefix(s, keyedPrefix)
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// seal chains e to prev: it sets PrevHash and Hash (keyed when mac is not
// nil) and appends the row's non-NULL insert arguments to r.named,
// numbered from r.ord.
func (e *Event) seal(prev string, r *row, mac hash.Hash) {
	e.PrevHash, r.bind = prev, true
	e.Hash = e.contentHash(r, mac)
	r.must(e.Hash)
}

// computeHash is the hash e's content and PrevHash call for, keyed with
// mac when not nil: what verify compares with the stored one.
func (e *Event) computeHash(mac hash.Hash) string { return e.contentHash(&row{}, mac) }

// contentHash is the hash of prev_hash || canonical content, encoding e's
// columns into r on the way (r.canon is scratch space).
func (e *Event) contentHash(r *row, mac hash.Hash) string {
	r.canon = append(r.canon[:0], e.PrevHash...)
	e.columns(r)
	if mac != nil {
		mac.Reset()
		mac.Write(r.canon)
		return keyedPrefix + hex.EncodeToString(mac.Sum(nil))
	}
	sum := sha256.Sum256(r.canon)
	return hex.EncodeToString(sum[:])
}

// ChainKey is the ledger key: what keys the chain and authenticates prune
// anchors. It lives in the vault (secrets.db, under the master key), never
// in audit.db, so whoever can write audit.db but not read the master key
// cannot forge a consistent rewrite.
type ChainKey struct {
	MAC []byte
	// From is the first seq written keyed: every event from it on must be
	// keyed (an unkeyed one there is a downgrade by a rewriter).
	From int64
}

// NewChainKey makes a random ledger key for a ledger whose next event is
// from.
func NewChainKey(from int64) *ChainKey {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return &ChainKey{MAC: b, From: from}
}

// Encode is the key as the vault stores it: "v1:<base64>:<from>".
func (k *ChainKey) Encode() string {
	return "v1:" + base64.StdEncoding.EncodeToString(k.MAC) + ":" + strconv.FormatInt(k.From, 10)
}

// ParseChainKey reads what Encode wrote.
func ParseChainKey(s string) (*ChainKey, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, errors.New("ledger key: not a v1 key")
	}
	mac, err := base64.StdEncoding.DecodeString(parts[1])
	from, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || err2 != nil || len(mac) != 32 || from < 1 {
		return nil, errors.New("ledger key: malformed")
	}
	return &ChainKey{MAC: mac, From: from}, nil
}

// hasher returns a keyed hasher for k, or nil for no key.
func (k *ChainKey) hasher() hash.Hash {
	if k == nil {
		return nil
	}
	return hmac.New(sha256.New, k.MAC)
}

// anchorMAC authenticates a prune anchor.
func (k *ChainKey) anchorMAC(firstSeq int64, prevHash string, pruned int64, at string) string {
	m := hmac.New(sha256.New, k.MAC)
	fmt.Fprintf(m, "anchor\x00%d\x00%s\x00%d\x00%s", firstSeq, prevHash, pruned, at)
	return hex.EncodeToString(m.Sum(nil))
}

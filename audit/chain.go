package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// genesis is the prev_hash of the first event ever written.
var genesis = strings.Repeat("0", 64)

// appendCanonical appends the content an event's hash covers: its values
// (every column but hash, in column order), each length-prefixed so no two
// rows encode alike: NULL as "n;", an integer as "i<decimal>;", text as
// "s<len>:<bytes>". Empty strings and NULLs encode alike, so a row read
// back from SQLite hashes as it did when written.
func appendCanonical(b []byte, values []any) []byte {
	for _, v := range values {
		switch x := v.(type) {
		case nil:
			b = append(b, "n;"...)
		case int64:
			b = append(b, 'i')
			b = strconv.AppendInt(b, x, 10)
			b = append(b, ';')
		case string:
			b = append(b, 's')
			b = strconv.AppendInt(b, int64(len(x)), 10)
			b = append(b, ':')
			b = append(b, x...)
		}
	}
	return b
}

// chainHash is hex(sha256(prev || canonical(values))). buf is scratch
// space, returned for reuse.
func chainHash(prev string, values []any, buf []byte) (string, []byte) {
	buf = appendCanonical(append(buf[:0], prev...), values)
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]), buf
}

// seal chains e to prev: it sets PrevHash and Hash and appends the row's
// insert arguments (its values, then hash) to args. buf is scratch space,
// returned for reuse.
func (e *Event) seal(prev string, args []any, buf []byte) ([]any, []byte) {
	e.PrevHash = prev
	start := len(args)
	args = e.appendValues(args)
	e.Hash, buf = chainHash(prev, args[start:], buf)
	return append(args, e.Hash), buf
}

// computeHash is the hash e's content and PrevHash call for: what verify
// compares with the stored one.
func (e *Event) computeHash() string {
	h, _ := chainHash(e.PrevHash, e.appendValues(nil), nil)
	return h
}

package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// genesis is the prev_hash of the first event ever written.
var genesis = strings.Repeat("0", 64)

// canonical is the content an event's hash covers: every column but hash,
// in column order, each length-prefixed so no two rows encode alike:
// NULL as "n;", an integer as "i<decimal>;", text as "s<len>:<bytes>".
// Empty strings and NULLs encode alike, so a row read back from SQLite
// hashes as it did when written.
func (e *Event) canonical() []byte {
	b := make([]byte, 0, 512)
	for _, v := range e.values() {
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

// seal sets the event's hash from prev and its content.
func (e *Event) seal(prev string) {
	e.PrevHash = prev
	e.Hash = e.computeHash()
}

func (e *Event) computeHash() string {
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write(e.canonical())
	return hex.EncodeToString(h.Sum(nil))
}

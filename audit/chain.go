package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// genesis is the prev_hash of the first event ever written.
var genesis = strings.Repeat("0", 64)

// canonical is the content an event's hash covers: every column but hash,
// in column order, as a JSON array. Empty strings and NULLs encode alike, so
// a row read back from SQLite hashes as it did when written.
func (e *Event) canonical() []byte {
	b, _ := json.Marshal(e.values())
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

package approval

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// TestGrantNumberPrecision: a grant for one amount never covers another
// that a double would confuse it with, and the same value written
// differently shares it.
func TestGrantNumberPrecision(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{`{"amount":9007199254740993}`, `{"amount":9007199254740992}`, false},
		{`{"id":123456789012345678901234567890}`, `{"id":123456789012345678901234567891}`, false},
		{`{"amount":0.1}`, `{"amount":0.10000000000000001}`, false},
		{`{"a":1,"b":[2,"x"]}`, `{ "b" : [2.0, "\u0078"], "a" : 1e0 }`, true},
		{`{"n":-0}`, `{"n":0}`, true},
		{`{"s":"é"}`, `{"s":"\u00e9"}`, true},
	} {
		if got := ArgsHash(json.RawMessage(tt.a)) == ArgsHash(json.RawMessage(tt.b)); got != tt.same {
			t.Errorf("ArgsHash(%s) == ArgsHash(%s) is %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

// FuzzArgsHash: two argument sets share a grant exactly when they are the
// same JSON value (numbers compared as exact decimals).
func FuzzArgsHash(f *testing.F) {
	f.Add([]byte(`{"amount":9007199254740993}`), []byte(`{"amount":9007199254740992}`))
	f.Add([]byte(`{"a":[1,2]}`), []byte(`{"a":[1.0,2e0]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		va, oka := decodeExact(a)
		vb, okb := decodeExact(b)
		if !oka || !okb {
			return
		}
		same := ArgsHash(a) == ArgsHash(b)
		if eq := sameValue(va, vb); same != eq {
			t.Fatalf("%s vs %s: same hash %v, same value %v", a, b, same, eq)
		}
	})
}

// decodeExact decodes with numbers kept as text; documents with repeated
// keys (which Drawbridge refuses) are left out.
func decodeExact(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() || hasRepeatedKeys(b) {
		return nil, false
	}
	return v, true
}

// hasRepeatedKeys also covers the rest that a strict reading refuses.
func hasRepeatedKeys(b []byte) bool {
	_, err := ijson.Parse(b)
	return err != nil
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, ok1 := new(big.Rat).SetString(string(x))
		ry, ok2 := new(big.Rat).SetString(string(y))
		if !ok1 || !ok2 {
			return x == y
		}
		return rx.Cmp(ry) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

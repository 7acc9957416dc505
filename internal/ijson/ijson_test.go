package ijson

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"duplicate key", `{"amount":500,"amount":999999}`, `duplicate key "amount" at $.amount`},
		{"duplicate after escape", `{"amount":1,"\u0061mount":2}`, `duplicate key "amount"`},
		{"case variant", `{"amount":500,"Amount":999999}`, `keys "amount" and "Amount" differ only in case at $.Amount`},
		{"kelvin sign", `{"k":1,"\u212a":2}`, `differ only in case`},
		{"nested duplicate", `{"a":[{"x":1,"x":2}]}`, `duplicate key "x" at $.a[0].x`},
		{"lone high surrogate", `{"s":"\ud800"}`, `lone surrogate in string at $.s`},
		{"lone low surrogate", `"\udc00x"`, `lone surrogate`},
		{"invalid utf-8", "\"\xff\"", `invalid UTF-8`},
		{"raw control", "\"a\x01\"", `control character`},
		{"trailing data", `{} {}`, `unexpected data after the JSON value`},
		{"leading zero", `01`, `unexpected data`},
		{"bad literal", `tru`, `invalid character`},
		{"deep", strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2), `nesting deeper than`},
		{"unterminated", `{"a":"b`, `unterminated string`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v, want an error with %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestExact(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{`1`, true}, {`1.0`, true}, {`0.1`, true}, {`-0`, true}, {`1e21`, true}, {`9007199254740992`, true},
		{`1.7976931348623157e308`, true}, {`5e-324`, true},
		{`9007199254740993`, false}, {`1e400`, false}, {`0.30000000000000001`, false}, {`{"a":[1,2,123456789012345678901]}`, false},
	} {
		v, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Exact(); (err == nil) != tt.ok {
			t.Errorf("Exact(%s) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestCanonical(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"b":1,"a":[true,null,"x"]}`, `{"a":[true,null,"x"],"b":1}`},
		{`{"n":[1.0,100e-2,0.01E2,-0,1e21,1e22,1.5e-7,0.000001,12345678901234567890123]}`,
			`{"n":[1,1,1,0,1e+21,1e+22,1.5e-7,0.000001,1.2345678901234567890123e+22]}`},
		{`"\u00e9\u2028<&>\/\u0001"`, "\"é\u2028<&>/\\u0001\""},
		{`{"\ud83d\ude00":1,"\ufb01":2}`, "{\"😀\":1,\"ﬁ\":2}"}, // UTF-16 order: D83D sorts before FB01
		{`9007199254740993`, `9007199254740993`},
	} {
		v, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(v.AppendCanonical(nil)); got != tt.want {
			t.Errorf("canonical(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestCompactKeepsOrderAndNumbers: the forwarded form is the document as
// written, without space, with numbers as written.
func TestCompactKeepsOrderAndNumbers(t *testing.T) {
	in := `{ "z" : 1.50, "a": [ "\u0041" ] }`
	v, _ := Parse([]byte(in))
	if got := string(v.AppendCompact(nil)); got != `{"z":1.50,"a":["A"]}` {
		t.Errorf("compact = %s", got)
	}
}

// FuzzParse: whatever Parse accepts encoding/json accepts too, and its
// compact form parses back to the same canonical value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,"x",null,true,{"b":[]}]`, `"\ud83d\ude00"`, `-0.5e-3`, `{"a":1,"A":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Parse(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("Parse accepted %q, which encoding/json refuses", b)
		}
		c := v.AppendCompact(nil)
		w, err := Parse(c)
		if err != nil {
			t.Fatalf("compact form %s of %q does not parse: %v", c, b, err)
		}
		if string(w.AppendCanonical(nil)) != string(v.AppendCanonical(nil)) {
			t.Fatalf("compact form %s changed the value of %q", c, b)
		}
	})
}

// FuzzCanonical is the grant property: two documents have the same
// canonical form exactly when they are the same JSON value, numbers
// compared as exact decimals.
func FuzzCanonical(f *testing.F) {
	f.Add([]byte(`{"amount":9007199254740993}`), []byte(`{"amount":9007199254740992}`))
	f.Add([]byte(`{"a":1,"b":2}`), []byte(`{"b":2.0,"a":1e0}`))
	f.Add([]byte(`[0.1]`), []byte(`[1e-1]`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		va, err1 := Parse(a)
		vb, err2 := Parse(b)
		if err1 != nil || err2 != nil {
			return
		}
		same := string(va.AppendCanonical(nil)) == string(vb.AppendCanonical(nil))
		if eq := equal(va, vb); same != eq {
			t.Fatalf("%s vs %s: same canonical form %v, same value %v", a, b, same, eq)
		}
	})
}

// equal compares two values, numbers as exact rationals, objects as sets.
func equal(a, b *Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case Bool:
		return a.Bool == b.Bool
	case String:
		return a.Text == b.Text
	case Number:
		x, ok1 := new(big.Rat).SetString(a.Text)
		y, ok2 := new(big.Rat).SetString(b.Text)
		if !ok1 || !ok2 { // exponents too large for big.Rat: compare the text
			return a.Text == b.Text
		}
		return x.Cmp(y) == 0
	case Array:
		if len(a.Items) != len(b.Items) {
			return false
		}
		for i := range a.Items {
			if !equal(a.Items[i], b.Items[i]) {
				return false
			}
		}
	case Object:
		if len(a.Members) != len(b.Members) {
			return false
		}
		for _, m := range a.Members {
			o := b.Get(m.Key)
			if o == nil || !equal(m.Value, o) {
				return false
			}
		}
	}
	return true
}

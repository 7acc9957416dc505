// Package ijson reads JSON as strictly as I-JSON (RFC 7493) asks, so that
// every reader of a document agrees on what it says, and writes it back in
// forms that leave no room for disagreement: compact in the order written
// (what Drawbridge forwards) and canonical (RFC 8785 key order and string
// form, numbers exact, for hashing).
//
// Refused: invalid UTF-8, lone surrogates, keys repeated in one object or
// differing only in case (Go and other decoders bind struct fields
// case-insensitively, so "Amount" beside "amount" would mean one thing to
// a policy and another to an upstream), nesting deeper than MaxDepth; and,
// by Exact, numbers a double does not hold as written.
package ijson

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds nesting, so a hostile document costs bounded stack.
const MaxDepth = 256

// Kind is a value's JSON type.
type Kind uint8

// The kinds of value.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is a parsed JSON value. Numbers keep their text as written.
type Value struct {
	Kind    Kind
	Bool    bool
	Text    string // a String's value, or a Number's text
	Items   []*Value
	Members []Member // in the order written
}

// Member is one key and value of an object.
type Member struct {
	Key   string
	Value *Value
}

// Error says what is wrong with a document and where: a JSONPath-like
// location ($.arguments.amount) and the byte offset.
type Error struct {
	Path   string
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset)
	}
	return fmt.Sprintf("%s at %s", e.Msg, e.Path)
}

// Parse reads one JSON document strictly (see the package comment).
func Parse(b []byte) (*Value, error) {
	p := &parser{b: b}
	p.space()
	v, err := p.value("$", 0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.b) {
		return nil, p.fail("", "unexpected data after the JSON value")
	}
	return v, nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) fail(path, format string, a ...any) *Error {
	return &Error{Path: path, Offset: p.i, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(path string, depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, p.fail(path, "nesting deeper than %d", MaxDepth)
	}
	if p.i >= len(p.b) {
		return nil, p.fail(path, "unexpected end of JSON")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(path, depth)
	case c == '[':
		return p.array(path, depth)
	case c == '"':
		s, err := p.str(path)
		return &Value{Kind: String, Text: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(path)
	}
	for _, lit := range []struct {
		word string
		v    Value
	}{{"true", Value{Kind: Bool, Bool: true}}, {"false", Value{Kind: Bool}}, {"null", Value{Kind: Null}}} {
		if strings.HasPrefix(string(p.b[p.i:min(len(p.b), p.i+5)]), lit.word) {
			p.i += len(lit.word)
			v := lit.v
			return &v, nil
		}
	}
	return nil, p.fail(path, "invalid character %q looking for a value", p.b[p.i])
}

func (p *parser) object(path string, depth int) (*Value, error) {
	p.i++ // {
	v := &Value{Kind: Object}
	var folded keys
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return v, nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.fail(path, "object key must be a string")
		}
		k, err := p.str(path)
		if err != nil {
			return nil, err
		}
		at := memberPath(path, k)
		fk := Fold(k)
		if prev, ok := folded.find(fk); ok {
			if prev == k {
				return nil, p.fail(at, "duplicate key %q", k)
			}
			return nil, p.fail(at, "keys %q and %q differ only in case", prev, k)
		}
		folded.add(fk, k)
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.fail(at, "missing ':' after object key")
		}
		p.i++
		p.space()
		m, err := p.value(at, depth+1)
		if err != nil {
			return nil, err
		}
		v.Members = append(v.Members, Member{Key: k, Value: m})
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return v, nil
		}
		return nil, p.fail(path, "expected ',' or '}' in object")
	}
}

func (p *parser) array(path string, depth int) (*Value, error) {
	p.i++ // [
	v := &Value{Kind: Array}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		p.space()
		item, err := p.value(path+"["+strconv.Itoa(len(v.Items))+"]", depth+1)
		if err != nil {
			return nil, err
		}
		v.Items = append(v.Items, item)
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return v, nil
		}
		return nil, p.fail(path, "expected ',' or ']' in array")
	}
}

// str reads a string, refusing invalid UTF-8, lone surrogates and raw
// control characters.
func (p *parser) str(path string) (string, error) {
	p.i++ // "
	var b strings.Builder
	for {
		if p.i >= len(p.b) {
			return "", p.fail(path, "unterminated string")
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", p.fail(path, "control character %q in string", c)
		case c == '\\':
			r, err := p.escape(path)
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			p.i++
		default:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 {
				return "", p.fail(path, "invalid UTF-8 in string")
			}
			b.Write(p.b[p.i : p.i+n])
			p.i += n
		}
	}
}

func (p *parser) escape(path string) (rune, error) {
	if p.i+1 >= len(p.b) {
		return 0, p.fail(path, "unterminated escape")
	}
	c := p.b[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, p.fail(path, `invalid \u escape`)
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		if r < 0xdc00 && p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
			p.i += 2
			if lo, ok := p.hex4(); ok && lo >= 0xdc00 && lo <= 0xdfff {
				return utf16.DecodeRune(r, lo), nil
			}
		}
		return 0, p.fail(path, "lone surrogate in string")
	}
	return 0, p.fail(path, "invalid escape '\\%c'", c)
}

func (p *parser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

// number reads a number with JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number(path string) (*Value, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, p.fail(path, "invalid number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail(path, "invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail(path, "invalid number")
		}
	}
	return &Value{Kind: Number, Text: string(p.b[start:p.i])}, nil
}

// memberPath extends a path by a key: .key for plain names, ["key"]
// otherwise.
func memberPath(path, k string) string {
	plain := k != ""
	for _, r := range k {
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			plain = false
			break
		}
	}
	if plain {
		return path + "." + k
	}
	return path + "[" + strconv.Quote(k) + "]"
}

// Fold maps a key to the form under which case-insensitive decoders
// match it: each rune lowered then raised, as Go's encoding/json does
// (so the Kelvin sign folds to K, and the long s to S).
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, s)
		}
	}
	return strings.ToUpper(s) // ASCII: the same, without a rune at a time
}

// Exact reports the first number in v that a double does not hold as
// written (9007199254740993, 1e400), with its path: a reader that
// decodes numbers as doubles would see another value than the one a
// policy judged.
func (v *Value) Exact() error { return v.exact("$") }

func (v *Value) exact(path string) error {
	switch v.Kind {
	case Number:
		f, err := strconv.ParseFloat(v.Text, 64)
		if err != nil || normalize(strconv.FormatFloat(f, 'g', -1, 64)) != normalize(v.Text) {
			return &Error{Path: path, Msg: fmt.Sprintf("number %s is not exactly representable as a double", v.Text)}
		}
	case Array:
		for i, it := range v.Items {
			if err := it.exact(path + "[" + strconv.Itoa(i) + "]"); err != nil {
				return err
			}
		}
	case Object:
		for _, m := range v.Members {
			if err := m.Value.exact(memberPath(path, m.Key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get returns the value of an object's member, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil {
		return nil
	}
	for _, m := range v.Members {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// keys are an object's keys seen so far, by folded form: a short list
// scanned while objects are small (most are), a map beyond.
type keys struct {
	list []string // folded, key, folded, key, …
	m    map[string]string
}

func (k *keys) find(folded string) (string, bool) {
	if k.m != nil {
		v, ok := k.m[folded]
		return v, ok
	}
	for i := 0; i < len(k.list); i += 2 {
		if k.list[i] == folded {
			return k.list[i+1], true
		}
	}
	return "", false
}

func (k *keys) add(folded, key string) {
	if k.m == nil && len(k.list) < 32 {
		k.list = append(k.list, folded, key)
		return
	}
	if k.m == nil {
		k.m = make(map[string]string, len(k.list))
		for i := 0; i < len(k.list); i += 2 {
			k.m[k.list[i]] = k.list[i+1]
		}
	}
	k.m[folded] = key
}

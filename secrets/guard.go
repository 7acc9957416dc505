package secrets

import (
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// MinGuarded is the shortest value the guard looks for: shorter ones would
// redact ordinary text.
const MinGuarded = 6

// Named is a secret with the name the guard reports it by.
type Named struct {
	Name  string
	Value Secret
}

// Guard finds secrets in text, in the forms they leak in: plain, base64 and
// base64url (at any alignment, padded or not), hex (any mix of cases), URL-
// encoded (any characters, either case) and backslash-escaped as JSON and
// JavaScript write it (any characters, nested up to three levels), with
// control and invisible characters between the letters or not. The forms
// are an Aho–Corasick automaton, so a scan is linear in the text whatever
// the number of secrets; the decoded views (view.go) are built only when
// the text holds what they decode. A Guard is immutable; build a new one
// when the secrets change.
type Guard struct {
	nodes []acNode
	pats  []pattern
	// root is the root's transitions as a table: most bytes of ordinary
	// text start no pattern, and this makes them one array read.
	root [256]int32
}

type pattern struct {
	name string
	n    int  // length in bytes
	kind kind // which forms of which values this string is
}

// kind is the encoding a form is in, as a set.
type kind uint8

const (
	kindPlain kind = 1 << iota
	kindHex
	kindBase64
)

// form is one string a value is looked for as.
type form struct {
	text string
	kind kind
}

type acNode struct {
	next map[byte]int32
	fail int32
	out  int32 // pattern ending here, -1 if none
	dict int32 // nearest node on the fail chain with an output, -1 if none
}

// forms are the encodings a value is looked for in, beyond what the views
// decode (escapes, entities, percent-encoding, look-alike letters, mixed-
// case and spaced hex, wrapped base64): plain (and its NFKC form, for a
// value that is not), hex in either case, and base64 and base64url at each
// of the three alignments a value can have inside a longer encoded text.
// At an alignment only the characters that the value's own bits decide are
// kept, so a value is found wherever it stands in an encoded blob, padded
// or not.
func forms(v string) []form {
	b := []byte(v)
	all := []form{{v, kindPlain}, {norm.NFKC.String(v), kindPlain},
		{hex.EncodeToString(b), kindHex}, {strings.ToUpper(hex.EncodeToString(b)), kindHex}}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		// Whole, padded or not, so a value encoded alone leaves nothing.
		all = append(all, form{enc.EncodeToString(b), kindBase64},
			form{enc.WithPadding(base64.NoPadding).EncodeToString(b), kindBase64})
		for k := 0; k < 3; k++ {
			all = append(all, form{aligned(enc, b, k), kindBase64})
		}
	}
	seen := map[string]int{}
	out := all[:0]
	for _, f := range all {
		if i, ok := seen[f.text]; ok {
			out[i].kind |= f.kind
		} else if f.text != "" {
			seen[f.text] = len(out)
			out = append(out, f)
		}
	}
	return out
}

// aligned is the part of b's encoding that b alone decides when k bytes of
// something else come before it: the characters whose six bits all fall
// inside b.
func aligned(enc *base64.Encoding, b []byte, k int) string {
	full := enc.EncodeToString(append(make([]byte, k), b...))
	first := (8*k + 5) / 6         // ceil(8k/6)
	last := (8*(k+len(b)) - 6) / 6 // the last character wholly inside b
	if last < first {
		return ""
	}
	return full[first : last+1]
}

// NewGuard builds a guard for secrets. Values shorter than MinGuarded are
// left out.
func NewGuard(secrets []Named) *Guard {
	g := &Guard{nodes: []acNode{{next: map[byte]int32{}, out: -1, dict: -1}}}
	for _, s := range secrets {
		if len(s.Value.Reveal()) < MinGuarded {
			continue
		}
		for _, f := range forms(s.Value.Reveal()) {
			g.add(f, s.Name)
		}
	}
	g.link()
	for c, nx := range g.nodes[0].next {
		g.root[c] = nx
	}
	return g
}

func (g *Guard) add(f form, name string) {
	p := f.text
	cur := int32(0)
	for i := 0; i < len(p); i++ {
		nx, ok := g.nodes[cur].next[p[i]]
		if !ok {
			nx = int32(len(g.nodes))
			g.nodes = append(g.nodes, acNode{next: map[byte]int32{}, out: -1, dict: -1})
			g.nodes[cur].next[p[i]] = nx
		}
		cur = nx
	}
	if old := g.nodes[cur].out; old >= 0 {
		g.pats[old].kind |= f.kind // the same string: the first value's name
		return
	}
	g.nodes[cur].out = int32(len(g.pats))
	g.pats = append(g.pats, pattern{name: name, n: len(p), kind: f.kind})
}

// link computes failure and dictionary links breadth first.
func (g *Guard) link() {
	queue := []int32{}
	for _, child := range g.nodes[0].next {
		g.nodes[child].fail = 0
		queue = append(queue, child)
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for c, child := range g.nodes[cur].next {
			f := g.nodes[cur].fail
			for {
				if nx, ok := g.nodes[f].next[c]; ok && nx != child {
					g.nodes[child].fail = nx
					break
				}
				if f == 0 {
					g.nodes[child].fail = 0
					break
				}
				f = g.nodes[f].fail
			}
			fl := g.nodes[child].fail
			if g.nodes[fl].out >= 0 {
				g.nodes[child].dict = fl
			} else {
				g.nodes[child].dict = g.nodes[fl].dict
			}
			queue = append(queue, child)
		}
	}
}

type match struct {
	start, end int
	name       string
}

// matches lists every occurrence of every form in text and in each of its
// views, as spans of text, in one pass a view.
func (g *Guard) matches(text string) []match {
	if g == nil || len(g.pats) == 0 {
		return nil
	}
	var out []match
	for _, v := range views(text) {
		n := len(out)
		out = g.scan(v.text, v.only, out)
		for i := n; i < len(out); i++ {
			out[i].start, out[i].end = v.span(out[i].start, out[i].end)
		}
	}
	return out
}

// scan appends the occurrences in text of every form of the kinds only
// allows (any when zero).
func (g *Guard) scan(text string, only kind, out []match) []match {
	cur := int32(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		for cur != 0 {
			if nx, ok := g.nodes[cur].next[c]; ok {
				cur = nx
				break
			}
			cur = g.nodes[cur].fail
		}
		if cur == 0 {
			cur = g.root[c]
			if cur == 0 {
				continue
			}
		}
		for n := cur; n >= 0; n = g.nodes[n].dict {
			if p := g.nodes[n].out; p >= 0 && (only == 0 || g.pats[p].kind&only != 0) {
				out = append(out, match{start: i + 1 - g.pats[p].n, end: i + 1, name: g.pats[p].name})
			}
			if g.nodes[n].dict < 0 {
				break
			}
		}
	}
	return out
}

// Redact replaces every secret found in text with [REDACTED:NAME], leftmost
// and longest first. Text with no secret is returned as is.
func (g *Guard) Redact(text string) string {
	return g.replace(text, g.matches(text))
}

// replace substitutes the matches found in text. Overlapping matches (two
// secrets sharing letters, or one found in two views) are redacted as one
// span, so no part of either survives.
func (g *Guard) replace(text string, ms []match) string {
	if len(ms) == 0 {
		return text
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].start != ms[j].start {
			return ms[i].start < ms[j].start
		}
		return ms[i].end > ms[j].end
	})
	var b strings.Builder
	b.Grow(len(text))
	pos := 0
	for i := 0; i < len(ms); {
		m := ms[i]
		for i++; i < len(ms) && ms[i].start < m.end; i++ {
			m.end = max(m.end, ms[i].end)
		}
		b.WriteString(text[pos:m.start])
		b.WriteString("[REDACTED:" + m.name + "]")
		pos = m.end
	}
	b.WriteString(text[pos:])
	return b.String()
}

// RedactBytes is Redact for bytes; it returns b itself when nothing matched.
func (g *Guard) RedactBytes(b []byte) []byte {
	text := string(b)
	ms := g.matches(text)
	if len(ms) == 0 {
		return b
	}
	return []byte(g.replace(text, ms))
}

// Find names the secrets that occur in text, sorted, each once.
func (g *Guard) Find(text string) []string {
	seen := map[string]bool{}
	var names []string
	for _, m := range g.matches(text) {
		if !seen[m.name] {
			seen[m.name] = true
			names = append(names, m.name)
		}
	}
	sort.Strings(names)
	return names
}

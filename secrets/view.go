package secrets

import "strings"

// A view is text as a decoder on the far side will read it, with where each
// of its bytes came from in the original. The guard scans every view, so a
// secret written with escapes ("\u0073k_live_…"), with invisible characters
// between its letters, in look-alike letters, as HTML entities or
// percent-encoded is found as surely as a plain one, and redacted where it
// stands in the original.
type view struct {
	text string
	// from[i] is the offset in the original of the source of byte i;
	// from[len(text)] is len(original). nil means the original itself.
	from []int32
	// only, when not zero, limits the view to the forms of these kinds: a
	// view that joins what separators split (wrapped base64, spaced hex)
	// must not find a plain value in words that stood apart.
	only kind
	// parent, when set, is the view this one was cut from, byte for byte:
	// from is then offsets in parent.text, and what was cut out between
	// two bytes is not part of either.
	parent *view
}

// span maps [start, end) in v back to the original text. A decoded unit
// (an escape, a percent triple, an entity) is covered whole.
func (v *view) span(start, end int) (int, int) {
	if v.parent != nil {
		return v.parent.span(int(v.from[start]), int(v.from[end-1])+1)
	}
	if v.from == nil {
		return start, end
	}
	last := v.from[end-1]
	j := end
	for j < len(v.text) && v.from[j] == last {
		j++
	}
	return int(v.from[start]), int(v.from[j])
}

// derive builds the view of v that a transform produces: out is the new
// text, src[i] the offset in v.text of the source of out's byte i.
func (v *view) derive(out []byte, src []int32) *view {
	src = append(src, int32(len(v.text)))
	if v.from != nil {
		for i, p := range src {
			src[i] = v.from[p]
		}
	}
	return &view{text: string(out), from: src}
}

// cut builds the view of v that keeps out, the bytes of v.text at src,
// and forms of the kinds only.
func (v *view) cut(out []byte, src []int32, only kind) *view {
	return &view{text: string(out), from: src, only: only, parent: v}
}

// transform is one decoder: the view it produces, nil when it changes
// nothing.
type transform func(*view) *view

// Bounds on repeated decoding. JSON carried as text inside JSON is common
// in tool results, and so are values URL-encoded twice; beyond three
// levels nobody decodes by accident.
const (
	maxUnescape = 3
	maxDecode   = 3 // rounds of HTML entities and percent-encoding
)

// views returns text as read raw and through each decoder that changes it.
// Decoders compose in the order a reader applies them:
//
//  1. backslash escapes (JSON, JavaScript), up to three levels: the client
//     decodes the JSON first;
//  2. what a reader does not see dropped (controls, terminal escapes,
//     default-ignorable characters) and letters read as their NFKC
//     equivalents; beside it, tag characters read as the ASCII they shadow;
//  3. HTML entities and percent-encoding, alternately, up to three rounds
//     (either inside the other, or doubled), then escapes and step 2 again
//     once if what they decoded needs it;
//  4. hex letters folded to one case.
//
// Base64 with its line breaks removed and hex with its separators removed
// are scanned beside the text after step 2 and after step 3 (and hex
// beside the raw text too, for \x73 \x6b).
func views(text string) []*view {
	v := &view{text: text}
	out := []*view{v}
	f0 := survey(text)
	f := f0
	if f == 0 {
		return out // nothing any decoder would change: the common case
	}
	step := func(t transform) bool {
		next := t(v)
		if next == nil {
			return false
		}
		out = append(out, next)
		v = next
		return true
	}
	for i := 0; i < maxUnescape && f&hasBackslash != 0 && step(unescape); i++ {
	}
	if len(out) > 1 {
		f = survey(v.text) // decoded escapes may hold anything
	}
	if f&hasUnicode != 0 {
		pre := v
		step(readable)
		if strings.Contains(pre.text, tagLead) {
			out = appendView(out, tagged(pre))
		}
	}
	base := v
	if v != out[0] {
		out = joinedViews(out, out[0], f0) // \x73 \x6b: spaced hex with escapes
	}
	out = joinedViews(out, v, f)
	for round := 0; round < maxDecode; round++ {
		changed := f&hasAmp != 0 && step(htmlDecoded)
		if f&hasPercent != 0 && step(percentDecoded) {
			changed = true
		}
		if !changed {
			break
		}
		f = survey(v.text)
	}
	if v != base {
		if f&hasBackslash != 0 && step(unescape) {
			f = survey(v.text)
		}
		if f&hasUnicode != 0 {
			step(readable)
		}
		out = joinedViews(out, v, f)
	}
	if f&hasMixedHex != 0 || len(out) > 1 {
		out = appendView(out, hexFolded(v))
	}
	return out
}

// joinedViews adds the views of v that join what separators split: base64
// wrapped in lines, hex bytes written apart.
func joinedViews(out []*view, v *view, f flags) []*view {
	if f&hasWrapped != 0 {
		out = appendView(out, base64Joined(v))
	}
	if f&hasSpacedHex != 0 {
		out = appendView(out, hexJoined(v))
	}
	return out
}

func appendView(out []*view, v *view) []*view {
	if v != nil {
		out = append(out, v)
	}
	return out
}

// flags is what survey finds in a text: which decoders could change it.
type flags uint16

const (
	hasBackslash flags = 1 << iota
	hasUnicode         // a control but newline and tab, or a non-ASCII byte
	hasPercent         // % or +
	hasAmp             // & (an HTML entity)
	hasMixedHex        // a run of hex digits long enough to hold a secret, in both cases
	hasSpacedHex       // hex bytes with separators, enough to hold a secret
	hasWrapped         // a long base64 run broken by whitespace
)

// Byte classes for survey.
const (
	cHexUpper = 1 << iota // A-F
	cHexLower             // a-f
	cDigit                // 0-9
	cBase64               // A-Z a-z 0-9 + / - _ =
	cSpace                // space, tab, CR, LF
	cHexSep               // space, tab, CR, LF, : - ,
	cPrefix               // x X \

	cHex = cHexUpper | cHexLower | cDigit
)

// classes is each byte's class for survey, and the flag it sets alone.
var classes, alone = func() (t [256]uint8, a [256]flags) {
	for c := 0; c < 256; c++ {
		switch {
		case c == '\\':
			a[c] = hasBackslash
		case (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f:
			a[c] = hasUnicode
		case c == '%':
			a[c] = hasPercent
		case c == '&':
			a[c] = hasAmp
		}
		switch {
		case c >= 'A' && c <= 'F':
			t[c] = cHexUpper
		case c >= 'a' && c <= 'f':
			t[c] = cHexLower
		case c >= '0' && c <= '9':
			t[c] = cDigit
		}
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("+/-_=", byte(c)) >= 0 {
			t[c] |= cBase64
		}
		if c == 'x' || c == 'X' || c == '\\' {
			t[c] |= cPrefix // not the common case: 0x, \x
		}
		if strings.IndexByte(" \t\r\n", byte(c)) >= 0 {
			t[c] |= cSpace | cHexSep
		}
		if strings.IndexByte(":-,", byte(c)) >= 0 {
			t[c] |= cHexSep
		}
	}
	a['+'] = hasPercent
	return t, a
}()

// minWrapped is the shortest line of base64 whose line break is removed:
// MIME wraps at 76, PEM at 64; words of prose are shorter.
const minWrapped = 16

// survey says, in one pass, which decoders could change s.
func survey(s string) flags {
	var f flags
	var run uint8
	n, hexBytes, tokEnd := 0, 0, -1 // tokEnd: the last byte that is no base64
	for i := 0; i < len(s); i++ {
		c := classes[s[i]]
		if c&cHex != 0 {
			run |= c
			n++
			continue
		}
		if run&(cHexUpper|cHexLower) == cHexUpper|cHexLower && n >= 2*MinGuarded {
			f |= hasMixedHex
		}
		if c == cBase64 { // a letter that is no hex digit: the common case
			run, n, hexBytes = 0, 0, 0
			continue
		}
		b := s[i]
		f |= alone[b]
		if c&cBase64 == 0 {
			if c&cSpace != 0 && i-tokEnd > minWrapped && base64Follows(s[i:]) {
				f |= hasWrapped // a long base64 run broken by whitespace
			}
			tokEnd = i
		}
		switch {
		case c&cHexSep != 0 && n%2 == 0:
			// A byte group ends; groups before it make a spaced run.
			if hexBytes > 0 && n > 0 && hexBytes+n/2 >= MinGuarded {
				f |= hasSpacedHex
			}
			hexBytes += n / 2
		case c&cPrefix == 0:
			hexBytes = 0
		case b|0x20 == 'x' && (n == 1 && s[i-1] == '0' || n == 0 && i > 0 && s[i-1] == '\\'):
			// 0x or \x before a byte
		case b == '\\' && n == 0 && i+1 < len(s) && s[i+1]|0x20 == 'x':
		default:
			hexBytes = 0
		}
		run, n = 0, 0
	}
	if run&(cHexUpper|cHexLower) == cHexUpper|cHexLower && n >= 2*MinGuarded {
		f |= hasMixedHex
	}
	if n > 0 && n%2 == 0 && hexBytes > 0 && hexBytes+n/2 >= MinGuarded {
		f |= hasSpacedHex
	}
	return f
}

// base64Follows reports whether s, which starts with whitespace, has base64
// after it.
func base64Follows(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := classes[s[i]]; c&cSpace == 0 {
			return c&cBase64 != 0
		}
	}
	return false
}

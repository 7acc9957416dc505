package secrets

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A view is text as a decoder on the far side will read it, with where each
// of its bytes came from in the original. The guard scans every view, so a
// secret written with escapes ("\u0073k_live_…"), with control characters
// between its letters (stripped before the client reads it), or
// percent-encoded in any mix of cases is found as surely as a plain one, and
// redacted where it stands in the original.
type view struct {
	text string
	// from[i] is the offset in the original of the source of byte i;
	// from[len(text)] is len(original). nil means the original itself.
	from []int32
}

// span maps [start, end) in v back to the original text. A decoded unit
// (an escape, a percent triple) is covered whole.
func (v *view) span(start, end int) (int, int) {
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

// maxUnescape is how many nested levels of backslash escapes are decoded:
// JSON carried as text inside JSON is common in tool results.
const maxUnescape = 3

// views returns text as read raw and through each decoder that changes it.
// Decoders compose in the order a reader applies them: escapes first, then
// what a terminal or the output guard drops, then URL decoding, then hex
// letters folded to one case.
func views(text string) []*view {
	v := &view{text: text}
	out := []*view{v}
	add := func(next *view) {
		if next != nil {
			out = append(out, next)
			v = next
		}
	}
	f := survey(text)
	if f == 0 {
		return out // nothing any decoder would change: the common case
	}
	for i := 0; i < maxUnescape && f&hasBackslash != 0 && strings.IndexByte(v.text, '\\') >= 0; i++ {
		next := unescape(v)
		if next == nil {
			break
		}
		add(next)
	}
	if len(out) > 1 {
		f = survey(v.text) // decoded escapes may hold anything
	}
	if f&hasControl != 0 {
		add(stripped(v))
	}
	if f&hasPercent != 0 {
		add(percentDecoded(v))
	}
	if f&hasMixedHex != 0 || len(out) > 1 {
		add(hexFolded(v))
	}
	return out
}

// What survey finds in a text: which decoders could change it.
const (
	hasBackslash = 1 << iota
	hasControl   // an ASCII control but newline and tab, or a non-ASCII byte
	hasPercent   // % or +
	hasMixedHex  // a run of hex digits long enough to hold a secret, in both cases
	isHexUpper   // (class only) A-F
	isHexLower   // (class only) a-f
	isDigit      // (class only) 0-9
)

// classes is each byte's class for survey.
var classes = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c == '\\':
			t[c] = hasBackslash
		case (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f:
			t[c] = hasControl
		case c == '%' || c == '+':
			t[c] = hasPercent
		case c >= 'A' && c <= 'F':
			t[c] = isHexUpper
		case c >= 'a' && c <= 'f':
			t[c] = isHexLower
		case c >= '0' && c <= '9':
			t[c] = isDigit
		}
	}
	return t
}()

// survey says, in one pass, which decoders could change s.
func survey(s string) uint8 {
	var flags, run uint8
	n := 0
	for i := 0; i < len(s); i++ {
		c := classes[s[i]]
		if c&(isHexUpper|isHexLower|isDigit) != 0 {
			run |= c
			n++
			continue
		}
		if run&(isHexUpper|isHexLower) == isHexUpper|isHexLower && n >= 2*MinGuarded {
			flags |= hasMixedHex
		}
		run, n = 0, 0
		flags |= c
	}
	if run&(isHexUpper|isHexLower) == isHexUpper|isHexLower && n >= 2*MinGuarded {
		flags |= hasMixedHex
	}
	return flags & (hasBackslash | hasControl | hasPercent | hasMixedHex)
}

// unescape decodes backslash escapes as JSON does (\" \\ \/ \b \f \n \r \t
// \uXXXX with surrogate pairs; a lone surrogate becomes U+FFFD), and \xHH.
// It returns nil when there was nothing to decode.
func unescape(v *view) *view {
	s := v.text
	out := make([]byte, 0, len(s))
	src := make([]int32, 0, len(s))
	changed := false
	emit := func(b []byte, at int) {
		out = append(out, b...)
		for range b {
			src = append(src, int32(at))
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '\\' || i+1 >= len(s) {
			emit([]byte{s[i]}, i)
			i++
			continue
		}
		n, b := decodeEscape(s[i:])
		if n == 0 {
			emit([]byte{s[i]}, i)
			i++
			continue
		}
		changed = true
		emit(b, i)
		i += n
	}
	if !changed {
		return nil
	}
	return v.derive(out, src)
}

// decodeEscape decodes one escape at the start of s (which begins with a
// backslash): how many bytes it takes and what it stands for; 0 when it is
// not an escape.
func decodeEscape(s string) (int, []byte) {
	switch s[1] {
	case '"', '\\', '/', '\'':
		return 2, []byte{s[1]}
	case 'b':
		return 2, []byte{'\b'}
	case 'f':
		return 2, []byte{'\f'}
	case 'n':
		return 2, []byte{'\n'}
	case 'r':
		return 2, []byte{'\r'}
	case 't':
		return 2, []byte{'\t'}
	case 'x':
		if h, ok := hexByte(s[2:]); ok {
			return 4, []byte{h}
		}
	case 'u':
		r, ok := hex4(s[2:])
		if !ok {
			return 0, nil
		}
		n := 6
		if utf16IsSurrogate(r) {
			lo, ok2 := rune(0), false
			if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
				lo, ok2 = hex4(s[8:])
			}
			if ok2 && r < 0xdc00 && lo >= 0xdc00 && lo <= 0xdfff {
				r, n = 0x10000+(r-0xd800)<<10+(lo-0xdc00), 12
			} else {
				r = utf8.RuneError
			}
		}
		return n, utf8.AppendRune(nil, r)
	}
	return 0, nil
}

func utf16IsSurrogate(r rune) bool { return r >= 0xd800 && r <= 0xdfff }

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		d, ok := hexDigit(s[i])
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func hexByte(s string) (byte, bool) {
	if len(s) < 2 {
		return 0, false
	}
	hi, ok1 := hexDigit(s[0])
	lo, ok2 := hexDigit(s[1])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeRE matches terminal escape sequences: CSI (ESC [ … final), OSC
// (ESC ] … BEL or ESC \), two-byte escapes, and the 8-bit CSI.
var escapeRE = regexp.MustCompile(`\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]`)

// StripControls removes terminal escape sequences and control characters
// but newline and tab: what the output guard does to text a model or a
// terminal will read. ok reports a change.
func StripControls(s string) (clean string, ok bool) {
	out := escapeRE.ReplaceAllString(s, "")
	clean = strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, out)
	return clean, clean != s
}

func isControl(r rune) bool {
	return r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f))
}

// stripped is the view without escape sequences, control characters and
// invisible format characters (zero-width spaces and joiners, bidi marks,
// tag characters): a secret with them between its letters reads as the
// secret. nil when there are none.
func stripped(v *view) *view {
	s := v.text
	var drop [][]int
	if strings.IndexByte(s, 0x1b) >= 0 || strings.Contains(s, "\u009b") {
		drop = escapeRE.FindAllStringIndex(s, -1)
	}
	out := make([]byte, 0, len(s))
	src := make([]int32, 0, len(s))
	changed := len(drop) > 0
	for i := 0; i < len(s); {
		if len(drop) > 0 && i == drop[0][0] {
			i = drop[0][1]
			drop = drop[1:]
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if isControl(r) || (r != utf8.RuneError && unicode.Is(unicode.Cf, r)) {
			changed = true
			i += n
			continue
		}
		for k := 0; k < n; k++ {
			out = append(out, s[i+k])
			src = append(src, int32(i+k))
		}
		i += n
	}
	if !changed {
		return nil
	}
	return v.derive(out, src)
}

// percentDecoded is the view a URL decoder reads: %XX (either case) as its
// byte, + as a space. nil when there is neither.
func percentDecoded(v *view) *view {
	s := v.text
	out := make([]byte, 0, len(s))
	src := make([]int32, 0, len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if b, ok := hexByte(s[i+1:]); ok {
				out, src = append(out, b), append(src, int32(i))
				i += 2
				changed = true
				continue
			}
		case c == '+':
			c, changed = ' ', true
		}
		out, src = append(out, c), append(src, int32(i))
	}
	if !changed {
		return nil
	}
	return v.derive(out, src)
}

// hexFolded lowercases runs of hex digits that mix letter cases: a hex
// decoder reads "4A6b" as "4a6b", and the guard knows each secret's hex in
// one case and the other. nil when no run mixes.
func hexFolded(v *view) *view {
	s := v.text
	var b []byte
	for i := 0; i < len(s); {
		j, upper, lower := i, false, false
		for j < len(s) {
			c := s[j]
			if c >= 'A' && c <= 'F' {
				upper = true
			} else if c >= 'a' && c <= 'f' {
				lower = true
			} else if c < '0' || c > '9' {
				break
			}
			j++
		}
		if upper && lower && j-i >= 2*MinGuarded {
			if b == nil {
				b = []byte(s)
			}
			for k := i; k < j; k++ {
				if b[k] >= 'A' && b[k] <= 'F' {
					b[k] += 'a' - 'A'
				}
			}
		}
		i = max(j, i+1)
	}
	if b == nil {
		return nil
	}
	return &view{text: string(b), from: v.from} // one to one
}

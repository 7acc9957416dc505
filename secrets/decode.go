package secrets

import (
	"html"
	"unicode/utf8"
)

// decoded builds the view of v in which every unit that unit decodes at
// the start of a string (the return is its length and what it stands for;
// 0 when none starts there) is replaced by what it stands for. Units start
// with one of the bytes of leads (one or two). nil when nothing was
// decoded.
func decoded(v *view, leads string, unit func(string) (int, []byte)) *view {
	s := v.text
	out := make([]byte, 0, len(s))
	src := make([]int32, 0, len(s))
	changed := false
	for i := 0; i < len(s); {
		if s[i] == leads[0] || s[i] == leads[len(leads)-1] {
			if n, b := unit(s[i:]); n > 0 {
				out = append(out, b...)
				for range b {
					src = append(src, int32(i))
				}
				changed = true
				i += n
				continue
			}
		}
		out, src = append(out, s[i]), append(src, int32(i))
		i++
	}
	if !changed {
		return nil
	}
	return v.derive(out, src)
}

// unescape decodes backslash escapes as JSON does (\" \\ \/ \b \f \n \r \t
// \uXXXX with surrogate pairs; a lone surrogate becomes U+FFFD), and as
// JavaScript, Python and C do (\u{X…}, \xHH, \ooo). nil when there was
// nothing to decode.
func unescape(v *view) *view { return decoded(v, "\\", decodeEscape) }

// decodeEscape decodes one escape at the start of s (which begins with a
// backslash): how many bytes it takes and what it stands for; 0 when it is
// not an escape.
func decodeEscape(s string) (int, []byte) {
	if len(s) < 2 {
		return 0, nil
	}
	switch c := s[1]; c {
	case '"', '\\', '/', '\'':
		return 2, []byte{c}
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
		if len(s) > 2 && s[2] == '{' {
			return braced(s)
		}
		return utf16Escape(s)
	case '0', '1', '2', '3':
		if len(s) >= 4 && isOctal(s[2]) && isOctal(s[3]) {
			return 4, []byte{(c-'0')<<6 | (s[2]-'0')<<3 | (s[3] - '0')}
		}
	}
	return 0, nil
}

// utf16Escape decodes \uXXXX, joining a surrogate pair.
func utf16Escape(s string) (int, []byte) {
	r, ok := hex4(s[2:])
	if !ok {
		return 0, nil
	}
	n := 6
	if r >= 0xd800 && r <= 0xdfff {
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

// braced decodes JavaScript's \u{X…}: one to six hex digits.
func braced(s string) (int, []byte) {
	var r rune
	for i := 3; i < len(s) && i < 10; i++ {
		if s[i] == '}' && i > 3 {
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			return i + 1, utf8.AppendRune(nil, r)
		}
		d, ok := hexDigit(s[i])
		if !ok {
			break
		}
		r = r<<4 | rune(d)
	}
	return 0, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

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

// percentDecoded is the view a URL decoder reads: %XX (either case) as its
// byte, + as a space. nil when there is neither.
func percentDecoded(v *view) *view {
	return decoded(v, "%+", func(s string) (int, []byte) {
		if s[0] == '+' {
			return 1, []byte{' '}
		}
		if b, ok := hexByte(s[1:]); ok {
			return 3, []byte{b}
		}
		return 0, nil
	})
}

// maxEntity bounds a named entity's length (the longest HTML5 name is 32).
const maxEntity = 34

// htmlDecoded is the view an HTML reader sees: numeric character references
// (&#115; &#x73; with or without the semicolon, any leading zeros) and
// named ones (&sol;, &amp; …, as html.UnescapeString knows them). nil when
// there are none.
func htmlDecoded(v *view) *view { return decoded(v, "&", decodeEntity) }

// decodeEntity decodes one character reference at the start of s.
func decodeEntity(s string) (int, []byte) {
	j := 1
	if len(s) > 2 && s[1] == '#' {
		j = 2
		digit := func(c byte) bool { return c >= '0' && c <= '9' }
		if s[2] == 'x' || s[2] == 'X' {
			j, digit = 3, func(c byte) bool { _, ok := hexDigit(c); return ok }
		}
		k := j
		for k < len(s) && digit(s[k]) {
			k++
		}
		if k == j {
			return 0, nil
		}
		j = k
	} else {
		for j < len(s) && j < maxEntity && isAlnum(s[j]) {
			j++
		}
		if j == 1 {
			return 0, nil
		}
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	out := html.UnescapeString(s[:j])
	if out == s[:j] {
		return 0, nil
	}
	return j, []byte(out)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
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

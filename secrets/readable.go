package secrets

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

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

// ignorable reports a character a reader does not see: a format character
// (zero-width spaces and joiners, bidi marks, tag characters, soft
// hyphen), a variation selector, or another Default_Ignorable_Code_Point
// (combining grapheme joiner, Hangul fillers, reserved ignorables).
func ignorable(r rune) bool {
	return r >= 0x80 && (unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r))
}

// tagLead begins the UTF-8 of every tag character (U+E0000–E007F).
const tagLead = "\xf3\xa0"

// readable is the view a person or a model reads: without terminal
// escapes, controls and ignorable characters, and with every other letter
// as its NFKC equivalent (full-width, circled, mathematical and other
// compatibility letters read as the ASCII they look like). nil when that
// changes nothing.
func readable(v *view) *view { return reread(v, false) }

// tagged is readable with tag characters read as the ASCII they shadow
// (U+E0073 as s), as a model reading "invisible" text does. nil when there
// are none.
func tagged(v *view) *view { return reread(v, true) }

func reread(v *view, tags bool) *view {
	s := v.text
	var drop [][]int
	if strings.IndexByte(s, 0x1b) >= 0 || strings.Contains(s, "\u009b") {
		drop = escapeRE.FindAllStringIndex(s, -1)
	}
	out := make([]byte, 0, len(s))
	src := make([]int32, 0, len(s))
	changed := len(drop) > 0
	var tmp []byte
	for i := 0; i < len(s); {
		if len(drop) > 0 && i == drop[0][0] {
			i = drop[0][1]
			drop = drop[1:]
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			if isControl(rune(c)) {
				changed = true
			} else {
				out, src = append(out, c), append(src, int32(i))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case tags && r >= 0xe0020 && r <= 0xe007e:
			out, src = append(out, byte(r-0xe0000)), append(src, int32(i))
			changed = true
		case r == utf8.RuneError:
			out = append(out, s[i:i+n]...)
			for range n {
				src = append(src, int32(i))
			}
		case isControl(r) || ignorable(r):
			changed = true
		default:
			tmp = norm.NFKC.AppendString(tmp[:0], s[i:i+n])
			out = append(out, tmp...)
			for range tmp {
				src = append(src, int32(i))
			}
			changed = changed || string(tmp) != s[i:i+n]
		}
		i += n
	}
	if !changed {
		return nil
	}
	return v.derive(out, src)
}

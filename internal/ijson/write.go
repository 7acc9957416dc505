package ijson

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendCompact appends v without insignificant space, members in the
// order written, numbers as written and strings in RFC 8785's form (only
// what must be escaped is): what Drawbridge forwards, so every reader
// decodes the value the policy judged.
func (v *Value) AppendCompact(dst []byte) []byte { return v.write(dst, false) }

// AppendCanonical appends v in canonical form: RFC 8785's key order (by
// UTF-16 code units) and string form, and numbers exact (their decimal
// value normalized, never rounded through a double). Two values have the
// same canonical form exactly when they are the same JSON value.
func (v *Value) AppendCanonical(dst []byte) []byte { return v.write(dst, true) }

func (v *Value) write(dst []byte, canonical bool) []byte {
	switch v.Kind {
	case Null:
		return append(dst, "null"...)
	case Bool:
		return strconv.AppendBool(dst, v.Bool)
	case Number:
		if canonical {
			return append(dst, normalize(v.Text)...)
		}
		return append(dst, v.Text...)
	case String:
		return appendString(dst, v.Text)
	case Array:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = it.write(dst, canonical)
		}
		return append(dst, ']')
	}
	members := v.Members
	if canonical {
		members = slices.Clone(members)
		slices.SortFunc(members, func(a, b Member) int { return compareUTF16(a.Key, b.Key) })
	}
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, m.Key)
		dst = append(dst, ':')
		dst = m.Value.write(dst, canonical)
	}
	return append(dst, '}')
}

// appendString writes s as RFC 8785 does: \" \\ and the short escapes,
// other control characters as \u00xx, everything else as itself.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20:
			dst = append(dst, c)
		case c == '\b':
			dst = append(dst, `\b`...)
		case c == '\f':
			dst = append(dst, `\f`...)
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c == '\t':
			dst = append(dst, `\t`...)
		default:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		}
	}
	return append(dst, '"')
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785
// sorts keys.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return slices.Compare(utf16.Encode([]rune{ra}), utf16.Encode([]rune{rb}))
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// normalize writes a JSON number's exact decimal value in one form:
// no sign for zero, no leading or trailing zeros, plain notation while it
// is short and scientific (d.ddde±N) beyond. Equal values give equal text
// whatever the notation they were written in.
func normalize(num string) string {
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	mant, exp := num, 0
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		mant = num[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(num[i+1:], "+"))
		if err != nil { // an exponent past int: keep its text, still exact
			return "~" + num
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	digits = trimmed
	if digits == "" {
		return "0"
	}
	sign := ""
	if neg {
		sign = "-"
	}
	n := len(digits)
	switch {
	case exp >= 0 && n+exp <= 21:
		return sign + digits + strings.Repeat("0", exp)
	case exp < 0 && -exp < n:
		return sign + digits[:n+exp] + "." + digits[n+exp:]
	case exp < 0 && -exp-n < 6:
		return sign + "0." + strings.Repeat("0", -exp-n) + digits
	}
	e := exp + n - 1
	out := sign + digits[:1]
	if n > 1 {
		out += "." + digits[1:]
	}
	if e >= 0 {
		return out + "e+" + strconv.Itoa(e)
	}
	return out + "e" + strconv.Itoa(e)
}

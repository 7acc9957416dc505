package secrets

// base64Joined is the view a base64 decoder reads in wrapped text (MIME at
// 76 characters a line, PEM at 64, indented or not): the whitespace after
// a line of at least minWrapped base64 characters is removed when more
// base64 follows. Only base64 forms are looked for in it. nil when nothing
// was joined.
func base64Joined(v *view) *view {
	s := v.text
	out := make([]byte, 0, len(s))
	src := make([]int32, 0, len(s))
	changed := false
	tok := 0
	for i := 0; i < len(s); {
		c := classes[s[i]]
		if c&cSpace != 0 && tok >= minWrapped {
			j := i
			for j < len(s) && classes[s[j]]&cSpace != 0 {
				j++
			}
			if j < len(s) && classes[s[j]]&cBase64 != 0 {
				i, tok, changed = j, 0, true
				continue
			}
		}
		if c&cBase64 != 0 {
			tok++
		} else {
			tok = 0
		}
		out, src = append(out, s[i]), append(src, int32(i))
		i++
	}
	if !changed {
		return nil
	}
	return v.cut(out, src, kindBase64)
}

// maxHexSep bounds the separators between two bytes of spaced hex (", ",
// or a line break and an indent in a C array).
const maxHexSep = 8

// hexJoined is the view a hex decoder reads in spaced hex: runs of at
// least two groups of whole bytes ("73 6b", "73:6b", "73-6b", "0x73, 0x6b",
// "\x73 \x6b", "736b 5f6c"), holding MinGuarded bytes or more, with their separators
// and 0x prefixes removed and their letters lowercased. Only hex forms
// are looked for in it. nil when there is no such run.
func hexJoined(v *view) *view {
	s := v.text
	var out []byte
	var src []int32
	for i := 0; i < len(s); {
		if i > 0 && isHex(s[i-1]) {
			out, src = appendSrc(out, src, s, i)
			i++
			continue
		}
		end, digits := hexRun(s, i)
		if digits == nil {
			out, src = appendSrc(out, src, s, i)
			i++
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(s))
			src = make([]int32, 0, len(s))
			for k := 0; k < i; k++ {
				out, src = appendSrc(out, src, s, k)
			}
		}
		for n, k := range digits {
			c := s[k]
			if n%2 == 0 && (c == '0' || c == '\\') && k+1 < int32(len(s)) && s[k+1]|0x20 == 'x' {
				c = s[k+2] // the digit after a 0x prefix, which src[n] names
			}
			out, src = append(out, c|0x20), append(src, k) // digits are unchanged by |0x20
		}
		i = end
	}
	if out == nil {
		return nil
	}
	return v.cut(out, src, kindHex)
}

func appendSrc(out []byte, src []int32, s string, i int) ([]byte, []int32) {
	if out == nil {
		return nil, nil // not yet copying: nothing joined so far
	}
	return append(out, s[i]), append(src, int32(i))
}

// hexRun reads spaced hex starting at i: where it ends and the offsets of
// its digits, nil when there is no run worth joining.
func hexRun(s string, i int) (int, []int32) {
	var digits []int32
	groups := 0
	end := i
	for j := i; ; {
		p := j
		if p+2 < len(s) && (s[p] == '0' || s[p] == '\\') && (s[p+1] == 'x' || s[p+1] == 'X') && isHex(s[p+2]) {
			p += 2
		}
		k := p
		for k < len(s) && isHex(s[k]) {
			k++
		}
		if k == p || (k-p)%2 != 0 {
			break
		}
		for d := p; d < k; d++ {
			digits = append(digits, int32(d))
		}
		digits[len(digits)-(k-p)] = int32(j) // the prefix goes with its byte
		groups, end = groups+1, k
		for j = k; j < len(s) && j-k < maxHexSep && classes[s[j]]&cHexSep != 0; j++ {
		}
		if j == k {
			break
		}
	}
	if groups < 2 || len(digits) < 2*MinGuarded {
		return 0, nil
	}
	return end, digits
}

func isHex(c byte) bool { return classes[c]&(cHexUpper|cHexLower|cDigit) != 0 }

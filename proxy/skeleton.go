package proxy

import (
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// skeleton maps a tool name to the form under which names that look alike
// are equal: compatibility-normalized (NFKC: fullwidth letters, ligatures),
// case-folded as case-insensitive decoders fold, and with the Cyrillic and
// Greek letters that look like Latin ones replaced by those. tools.deny
// matches skeletons, so "Delete_all" and "dеlete_all" (a Cyrillic е) are
// denied by "delete_*"; and two tools of one upstream with the same
// skeleton are reported.
func skeleton(name string) string {
	ascii := true
	for i := 0; i < len(name) && ascii; i++ {
		ascii = name[i] < 0x80
	}
	if ascii {
		return strings.ToUpper(name) // what the folding below gives ASCII
	}
	return ijson.Fold(strings.Map(func(r rune) rune {
		if l, ok := confusables[r]; ok {
			return l
		}
		return r
	}, norm.NFKC.String(name)))
}

// confusables are letters drawn like Latin ones (after case folding).
var confusables = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ӏ': 'l',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X',
	'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'Ү': 'Y',
	// Greek
	'α': 'a', 'ο': 'o', 'ρ': 'p', 'ν': 'v', 'τ': 't', 'ι': 'i', 'κ': 'k', 'χ': 'x', 'υ': 'u',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P',
	'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Latin look-alikes
	'ı': 'i', 'ȷ': 'j', 'ℓ': 'l',
}

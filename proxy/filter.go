package proxy

import (
	"github.com/drawbridge-mcp/drawbridge/config"
)

// filtered reports why a tool is excluded by servers.<label>.tools, or "" if
// it is served. Deny wins over allow; an empty allow list allows everything.
// Deny matches whatever the case and look-alike letters (skeleton): an
// upstream may call its tool "Delete_all" or "dеlete_all" and still mean
// what the operator denied. Allow matches exactly.
func filtered(f config.ToolFilter, name string) string {
	sk := ""
	for _, g := range f.Deny {
		if sk == "" {
			sk = skeleton(name)
		}
		if globMatch(g, name) || globMatch(skeleton(g), sk) {
			return "denied by tools.deny (" + g + ")"
		}
	}
	if len(f.Allow) == 0 {
		return ""
	}
	for _, g := range f.Allow {
		if globMatch(g, name) {
			return ""
		}
	}
	return "not in tools.allow"
}

// globMatch matches name against a pattern in which * stands for any run of
// characters (including none) and every other character for itself.
func globMatch(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

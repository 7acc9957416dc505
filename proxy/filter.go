package proxy

import (
	"sort"

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

// closeNames returns up to three names near want, closest first, to help a
// model that misspelled a tool.
func closeNames(want string, names []string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	limit := max(2, len(want)/3)
	for _, n := range names {
		// Names whose lengths differ by more than the limit cannot be
		// within it: skipped without the quadratic comparison.
		if abs(len(n)-len(want)) > limit {
			continue
		}
		if d := editDistance(want, n); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	out := make([]string, 0, 3)
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

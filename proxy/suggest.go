package proxy

import (
	"sort"

	"github.com/drawbridge-mcp/drawbridge/internal/editdist"
)

// Suggestions for a model that misspelled a tool: close names by edit
// distance, bounded so a stranger's long name costs little.

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
		if d := editdist.Distance(want, n); d <= limit {
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

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

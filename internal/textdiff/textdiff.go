// Package textdiff shows how one JSON definition became another, line by
// line, for the CLI and the console.
package textdiff

import (
	"bytes"
	"encoding/json"
	"strings"
)

// JSON diffs two JSON texts, each indented one key a line.
func JSON(a, b string) string { return Lines(Pretty(a), Pretty(b)) }

// Pretty indents a JSON definition, one key a line, so a diff reads well.
func Pretty(def string) []string {
	if def == "" {
		return nil
	}
	var b bytes.Buffer
	if json.Indent(&b, []byte(def), "", "  ") != nil {
		return []string{def}
	}
	return strings.Split(b.String(), "\n")
}

// Lines is a unified-style diff of two line lists (longest common
// subsequence; definitions are short).
func Lines(a, b []string) string {
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + a[i] + "\n") // what went, before what came, as diff -u prints
			i++
		default:
			out.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return out.String()
}

package proxy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPipelineCommentIsTheCode: the numbered list of tools/call stages at
// the top of pipeline.go names, in order, the methods callTool runs, so the
// documented order of the security model cannot drift from the code.
func TestPipelineCommentIsTheCode(t *testing.T) {
	src, err := os.ReadFile("pipeline.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	var documented []string
	section := s[strings.Index(s, "// tools/call (callTool"):strings.Index(s, "// listTools answers")]
	for _, m := range regexp.MustCompile(`(?m)^//\s+\d+\.\s+(\w+)\s`).FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	run := []string{"parse"}
	list := regexp.MustCompile(`\[\]func\(context\.Context, \*call\) \*answer\{([^}]*)\}`).FindStringSubmatch(s)
	if list == nil {
		t.Fatal("callTool's list of stages not found")
	}
	for _, m := range regexp.MustCompile(`s\.(\w+)`).FindAllStringSubmatch(list[1], -1) {
		run = append(run, m[1])
	}
	run = append(run, "complete")
	if !slices.Equal(documented, run) {
		t.Errorf("pipeline.go documents stages %v, callTool runs %v", documented, run)
	}
}

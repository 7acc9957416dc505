package proxy

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"echo", "echo", true}, {"echo", "echo2", false}, {"*", "anything", true}, {"*", "", true},
		{"list_*", "list_customers", true}, {"list_*", "xlist_customers", false}, {"*_delete", "user_delete", true},
		{"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false}, {"a**", "a", true}, {"", "", true}, {"", "x", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// FuzzGlobMatch: a pattern without * matches only itself; "*"+name+"*"
// matches anything containing name; nothing panics.
func FuzzGlobMatch(f *testing.F) {
	f.Add("list_*", "list_x")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := globMatch(pattern, name)
		if !strings.Contains(pattern, "*") && got != (pattern == name) {
			t.Fatalf("globMatch(%q, %q) = %v", pattern, name, got)
		}
		if !strings.Contains(name, "*") && !globMatch("*"+name+"*", "x"+name+"y") {
			t.Fatalf("*%s* does not match x%sy", name, name)
		}
	})
}

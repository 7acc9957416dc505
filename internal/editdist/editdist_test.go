package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"serve", "serve", 0}, {"serv", "serve", 1}, {"timeuot", "timeout", 1}, {"kitten", "sitting", 3},
		{"", "abc", 3}, {"ab", "ba", 1}, {"echo", "ehco", 1}, {"delete_all", "delete_files", 4},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

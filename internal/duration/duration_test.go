package duration

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]float64{"30d": 720, "12h": 12, "90m": 1.5} {
		d, err := Parse(in)
		if err != nil || d.Hours() != want {
			t.Errorf("Parse(%q) = %v, %v; want %vh", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "-d", "3x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

package proxy

import (
	"fmt"
	"testing"
	"time"
)

// TestFlappingToolCountedAtWindowEnd shows that an upstream's changes
// beyond its budget (one per tool, changesPerWindow per window) are counted,
// not recorded, that the count is recorded once when the window ends, and
// that the next window records again.
func TestFlappingToolCountedAtWindowEnd(t *testing.T) {
	type summary struct {
		counts map[string]int
		others int
	}
	got := make(chan summary, 4)
	b := &changeBudget{window: 200 * time.Millisecond, summary: func(c map[string]int, o int) { got <- summary{c, o} }}
	if !b.allow("flap") {
		t.Fatal("the first change of a tool is not recorded")
	}
	for range 5 {
		if b.allow("flap") {
			t.Fatal("a second change of the tool in one window is recorded one by one")
		}
	}
	for i := 1; i < changesPerWindow; i++ {
		if !b.allow(fmt.Sprint("tool", i)) {
			t.Fatalf("change %d of %d distinct tools is not recorded", i+1, changesPerWindow)
		}
	}
	if b.allow("one_too_many") {
		t.Fatalf("a change beyond %d a window is recorded one by one", changesPerWindow)
	}
	select {
	case s := <-got:
		if s.counts["flap"] != 5 || s.counts["one_too_many"] != 1 || s.others != 0 || len(s.counts) != 2 {
			t.Errorf("summary = %+v, want flap 5 and one_too_many 1", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the count was not recorded at the window's end")
	}
	if !b.allow("flap") {
		t.Error("the next window does not record the tool's change")
	}
	b.flush()
	select {
	case s := <-got:
		t.Errorf("a flush with nothing counted recorded %+v", s)
	default:
	}
}

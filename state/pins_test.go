package state

import (
	"context"
	"errors"
	"testing"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPinLifecycle: first sight pins (tofu), a change quarantines once,
// an accept of the reviewed hash trusts it, a stale review is refused.
func TestPinLifecycle(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	observe := func(hash string) (Verdict, bool) {
		t.Helper()
		v, changed, err := db.Observe(ctx, "up", "echo", hash, "", "def-"+hash, true)
		if err != nil {
			t.Fatal(err)
		}
		return v, changed
	}
	if v, changed := observe("sha256:aaaaaaaaaaaaaaaa"); v != Trusted || changed {
		t.Fatalf("first sight = %v %v, want trusted", v, changed)
	}
	if v, changed := observe("sha256:bbbbbbbbbbbbbbbb"); v != Changed || !changed {
		t.Fatalf("change = %v %v, want changed, reported once", v, changed)
	}
	if _, changed := observe("sha256:bbbbbbbbbbbbbbbb"); changed {
		t.Fatal("the same change was reported twice")
	}
	err := db.AcceptReviewed(ctx, "up", "echo", "sha256:aaaaaaaa")
	if !errors.Is(err, ErrReviewedChanged) {
		t.Fatalf("accept of a stale hash = %v", err)
	}
	if err := db.AcceptReviewed(ctx, "up", "echo", "sha256:bbb"); err == nil {
		t.Fatal("a prefix shorter than 12 characters was accepted")
	}
	if err := db.AcceptReviewed(ctx, "up", "echo", "sha256:bbbbbbbb"); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Verdict(ctx, "up", "echo", "sha256:bbbbbbbbbbbbbbbb", ""); v != Trusted {
		t.Fatalf("after accept = %v", v)
	}
	if err := db.AcceptReviewed(ctx, "up", "nope", "sha256:bbbbbbbb"); err == nil {
		t.Fatal("accepting an unseen tool succeeded")
	}
}

// TestLegacyPinUpgraded: a pin made by an earlier version (a hash over
// fewer fields) is upgraded, not reported as a rug pull, when the tool is
// seen with the same legacy hash.
func TestLegacyPinUpgraded(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, _, err := db.Observe(ctx, "up", "echo", "0123legacy", "", "old-def", true); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Verdict(ctx, "up", "echo", "sha256:new", "0123legacy"); v != Trusted {
		t.Fatalf("verdict before the upgrade = %v, want trusted", v)
	}
	v, changed, err := db.Observe(ctx, "up", "echo", "sha256:new", "0123legacy", "new-def", true)
	if err != nil || v != Trusted || changed {
		t.Fatalf("observe with the legacy hash = %v %v %v", v, changed, err)
	}
	pins, _ := db.Pins(ctx, "up")
	if len(pins) != 1 || pins[0].PinnedHash != "sha256:new" || pins[0].PinnedDef != "new-def" {
		t.Fatalf("pin after the upgrade = %+v", pins)
	}
	if v, _, _ := db.Observe(ctx, "up", "echo", "sha256:other", "0123legacy", "x", true); v != Changed {
		t.Fatalf("after the upgrade the legacy hash still trusts: %v", v)
	}
}

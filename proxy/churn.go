package proxy

import (
	"context"
	"sync"
	"time"
)

// What one upstream's churn may cost. An upstream that sends
// notifications/tools/list_changed without pause, or flaps a tool's
// definition, must not make Drawbridge refetch without pause, nor grow the
// ledger and the log on its own:
//
//   - list_changed refetches the list at most once per refetchEvery (a
//     second); notifications that arrive meanwhile are coalesced into one
//     refetch at the end of that second, so the last change is always
//     fetched.
//   - At most changesPerWindow (10) tools/changed rows, and as many
//     warnings, per upstream per changeWindow (a minute), and at most one per
//     tool. Changes beyond are counted, and the count is recorded in one
//     tools/changed row (reason "changes suppressed") at the end of that
//     minute, or at shutdown: at most 11 rows a minute per upstream.
//
// Only the record is bounded, never the check: every fetch is checked
// against the pins, and what changed is quarantined whether or not its
// change was recorded one by one.
const (
	refetchEvery     = time.Second
	changeWindow     = time.Minute
	changesPerWindow = 10
	// maxCounted bounds the tools a window's count names one by one; the
	// rest are counted together.
	maxCounted = 100
)

// listChanged asks for a refetch of the tool list, at most once per
// refetchEvery (refetchOnChange).
func (u *Upstream) listChanged() {
	u.refetchOnce.Do(func() {
		u.refetch = make(chan struct{}, 1)
		go u.refetchOnChange()
	})
	u.notified.Add(1)
	select {
	case u.refetch <- struct{}{}:
	default: // one is pending already: this notification joins it
	}
}

// refetchOnChange refetches the list when notified, then waits
// refetchEvery before the next, until the upstream is closed.
func (u *Upstream) refetchOnChange() {
	for {
		select {
		case <-u.life.Done():
			return
		case <-u.refetch:
		}
		u.log.Info("upstream tool list changed; refreshing", "notifications", u.notified.Swap(0))
		u.tools.invalidate()
		ctx, cancel := context.WithTimeout(u.life, u.cfg.Timeout.D())
		if _, err := u.Tools(ctx); err != nil {
			u.log.Warn("tool list refresh failed", "err", err)
		}
		cancel()
		select {
		case <-u.life.Done():
			return
		case <-time.After(refetchEvery):
		}
	}
}

// changeBudget bounds the tools/changed events of one upstream (see the
// constants above).
type changeBudget struct {
	// summary records the changes counted in a window instead of recorded:
	// changes by tool, and how many more tools beyond maxCounted changed.
	summary func(counts map[string]int, others int)
	window  time.Duration // changeWindow; tests shorten it

	mu         sync.Mutex
	until      time.Time       // the current window's end
	recorded   map[string]bool // tools recorded one by one in it
	counted    map[string]int  // changes counted instead, by tool
	others     int             // changes of tools beyond maxCounted
	flushTimer *time.Timer
	// reported holds, by tool, the hash of the ambiguous definition last
	// reported, so a definition that stays ambiguous is reported once.
	reported map[string]string
}

// allow reports whether a change of tool may be recorded one by one now,
// and counts it when not.
func (b *changeBudget) allow(tool string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !now.Before(b.until) {
		window := b.window
		if window == 0 {
			window = changeWindow
		}
		b.until, b.recorded = now.Add(window), map[string]bool{}
	}
	if !b.recorded[tool] && len(b.recorded) < changesPerWindow {
		b.recorded[tool] = true
		return true
	}
	if _, ok := b.counted[tool]; ok || len(b.counted) < maxCounted {
		if b.counted == nil {
			b.counted = map[string]int{}
		}
		b.counted[tool]++
	} else {
		b.others++
	}
	if b.flushTimer == nil {
		b.flushTimer = time.AfterFunc(time.Until(b.until), b.flush)
	}
	return false
}

// flush records what was counted, if anything: at a window's end, and when
// the upstream is closed.
func (b *changeBudget) flush() {
	b.mu.Lock()
	counts, others := b.counted, b.others
	b.counted, b.others = nil, 0
	if b.flushTimer != nil {
		b.flushTimer.Stop()
		b.flushTimer = nil
	}
	b.mu.Unlock()
	if (len(counts) > 0 || others > 0) && b.summary != nil {
		b.summary(counts, others)
	}
}

// newAmbiguity reports whether tool's ambiguous definition (by hash) is one
// not reported yet, and remembers it.
func (b *changeBudget) newAmbiguity(tool, hash string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reported == nil {
		b.reported = map[string]string{}
	}
	if b.reported[tool] == hash {
		return false
	}
	b.reported[tool] = hash
	return true
}

// keepReported forgets the ambiguities of tools a catalog no longer holds
// (or holds unambiguous), so the memory is bounded by the list.
func (b *changeBudget) keepReported(c *catalog) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for tool := range b.reported {
		if t, ok := c.lookup(tool); !ok || t.Ambiguous == "" {
			delete(b.reported, tool)
		}
	}
}

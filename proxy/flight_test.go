package proxy

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlightSharesOneRun: callers that ask while a run is in flight get
// its result; the work runs once.
func TestFlightSharesOneRun(t *testing.T) {
	var f flight[int]
	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]int, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = f.do(context.Background(), func() (int, error) {
				runs.Add(1)
				<-release
				return 42, nil
			})
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all join
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("work ran %d times, want 1", runs.Load())
	}
	for i, r := range results {
		if r != 42 {
			t.Errorf("caller %d got %d", i, r)
		}
	}
}

// TestFlightLeaderGivesUp: the first caller's cancellation is its own; a
// waiter with time left runs the work itself.
func TestFlightLeaderGivesUp(t *testing.T) {
	var f flight[string]
	leaderCtx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		_, _ = f.do(leaderCtx, func() (string, error) {
			close(started)
			<-leaderCtx.Done()
			return "", leaderCtx.Err()
		})
	}()
	<-started
	got := make(chan string)
	go func() {
		v, err := f.do(context.Background(), func() (string, error) { return "mine", nil })
		if err != nil {
			v = err.Error()
		}
		got <- v
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case v := <-got:
		if v != "mine" {
			t.Fatalf("waiter got %q, want its own run", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter never returned")
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer stop()
	block := make(chan struct{})
	defer close(block)
	go f.do(context.Background(), func() (string, error) { <-block; return "", nil })
	time.Sleep(10 * time.Millisecond)
	if _, err := f.do(ctx, func() (string, error) { return "", nil }); err != context.DeadlineExceeded {
		t.Fatalf("a waiter whose ctx ends got %v", err)
	}
}

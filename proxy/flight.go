package proxy

import (
	"context"
	"errors"
	"sync"
)

// flight shares one run of slow work (a dial, a tool list fetch) among the
// callers that ask for it while it runs: the first caller runs it, the
// others wait for its result or for their own ctx. A run that ended with
// its caller's context error is not shared: a waiter whose own ctx is
// still live runs the work itself.
type flight[T any] struct {
	mu  sync.Mutex
	cur *flightRun[T]
}

type flightRun[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func (f *flight[T]) do(ctx context.Context, fn func() (T, error)) (T, error) {
	for {
		f.mu.Lock()
		if r := f.cur; r != nil {
			f.mu.Unlock()
			select {
			case <-r.done:
				if isContextErr(r.err) && ctx.Err() == nil {
					continue
				}
				return r.val, r.err
			case <-ctx.Done():
				var zero T
				return zero, ctx.Err()
			}
		}
		r := &flightRun[T]{done: make(chan struct{})}
		f.cur = r
		f.mu.Unlock()

		r.val, r.err = fn()

		f.mu.Lock()
		f.cur = nil
		f.mu.Unlock()
		close(r.done)
		return r.val, r.err
	}
}

func isContextErr(err error) bool {
	return err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

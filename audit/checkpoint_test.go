package audit

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWALStartsOverUnderLoad: with calls arriving without pause, the WAL
// is still copied into audit.db and started over, again and again, so it
// does not grow with everything ever written; and the chain holds across.
// (A checkpoint that raced the writer never finished: the WAL grew by
// 35 MB a second through the proxy.)
func TestWALStartsOverUnderLoad(t *testing.T) {
	defer func(d time.Duration) { checkpointEvery = d }(checkpointEvery)
	checkpointEvery = 100 * time.Millisecond
	path := filepath.Join(t.TempDir(), "audit.db")
	l, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	// restarts reads the WAL header's checkpoint sequence number, which
	// SQLite increments each time it starts the WAL over.
	restarts := func() uint32 {
		f, err := os.Open(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		hdr := make([]byte, 16)
		if _, err := f.ReadAt(hdr, 0); err != nil {
			t.Fatal(err)
		}
		return binary.BigEndian.Uint32(hdr[12:])
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var written atomic.Int64
	for p := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				ev := &Event{Kind: KindDecided, CallID: fmt.Sprintf("call_%d_%d", p, i), Server: "s", Tool: "echo"}
				if err := l.Record(context.Background(), ev); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	before := restarts()
	time.Sleep(time.Second)
	after := restarts()
	stop.Store(true)
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events; the WAL started over %d times in a second of load", written.Load(), after-before)
	if after-before < 1 {
		t.Fatalf("under continuous load the WAL started over %d times in a second (checkpoints every %v): it grows without bound", after-before, checkpointEvery)
	}
	r, err := OpenReader(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := r.Verify(context.Background(), VerifyOptions{})
	if err != nil || v.Problem != "" || v.Events != written.Load() {
		t.Fatalf("verify after the restarts: %+v, %v; want %d events and no problem", v, err, written.Load())
	}
}

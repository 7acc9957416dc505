package audit

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestSchemaChangedUnderWriter shows that a trigger added to audit.db
// while the proxy writes it is found within a checkpoint: the health check fails
// naming it until it is dropped again.
func TestSchemaChangedUnderWriter(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("needs the sqlite3 shell")
	}
	defer func(d time.Duration) { checkpointEvery = d }(checkpointEvery)
	checkpointEvery = 20 * time.Millisecond
	path := filepath.Join(t.TempDir(), "audit.db")
	l, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	shell := func(sql string) {
		t.Helper()
		if out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", path, sql).CombinedOutput(); err != nil {
			t.Fatalf("sqlite3: %v %s", err, out)
		}
	}
	until := func(what string, cond func(ok bool, detail string) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if cond(l.Check()) {
				return
			}
		}
		ok, detail := l.Check()
		t.Fatalf("%s: Check = %v %q", what, ok, detail)
	}
	shell("CREATE TRIGGER copy AFTER INSERT ON events BEGIN SELECT 1; END")
	until("after the trigger was added", func(ok bool, d string) bool { return !ok && strings.Contains(d, `trigger "copy" added`) })
	shell("DROP TRIGGER copy")
	until("after it was dropped", func(ok bool, _ string) bool { return ok })
}

package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

func openLog(t testing.TB, sync string) (*audit.Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	l, err := audit.Open(context.Background(), audit.Options{Path: path, Sync: sync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func decided(i int) *audit.Event {
	return &audit.Event{Kind: audit.KindDecided, CallID: fmt.Sprintf("call_%d", i), Client: "c", Server: "s",
		Method: "tools/call", Tool: "echo", Arguments: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		Decision: "allow", Reason: "ok", PolicyUS: audit.Micros(12 * time.Microsecond)}
}

func verify(t *testing.T, path string) audit.Verification {
	t.Helper()
	r, err := audit.OpenReader(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := r.Verify(context.Background(), audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sqlite runs the sqlite3 command-line shell on path, as a user would.
func sqlite(t *testing.T, path, sql string) (string, error) {
	t.Helper()
	mcptest.NeedSQLite3(t)
	out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", path, sql).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Tampering with rows through the sqlite3 shell: the append-only triggers
// dropped first and put back after, as a tamperer covering his tracks
// would (a ledger left without them is refused for its schema before its
// rows are looked at).
const (
	dropTriggers    = "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; "
	restoreTriggers = `; CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM prune_permit)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only; use drawbridge audit prune'); END;`
)

// TestConcurrentWritesChain: concurrent producers each get their own
// commit, and the result is one unbroken chain.
func TestConcurrentWritesChain(t *testing.T) {
	l, path := openLog(t, "normal")
	var wg sync.WaitGroup
	for p := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := l.Record(context.Background(), decided(p*100+i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l.Enqueue(decided(9999))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	v := verify(t, path)
	if v.Problem != "" || v.Events != 801 || len(v.Head) != 64 {
		t.Fatalf("Verify = %+v, want 801 events and no problem", v)
	}
	if mode, _ := sqlite(t, path, "PRAGMA journal_mode"); mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
}

// TestLedgerTampering: an UPDATE, DELETE or INSERT made with the sqlite3
// shell (triggers dropped first, as a tamperer would) is found, at the
// right row.
func TestLedgerTampering(t *testing.T) {
	tests := []struct {
		name, sql, want string
		seq             int64
	}{
		{"update", "UPDATE events SET decision = 'deny' WHERE seq = 3", "event 3 was altered", 3},
		{"update time", "UPDATE events SET at = '2020-01-01T00:00:00Z' WHERE seq = 5", "event 5 was altered", 5},
		{"delete", "DELETE FROM events WHERE seq = 4", "events 4 to 4 are missing", 5},
		{"delete first", "DELETE FROM events WHERE seq = 1", "events 1 to 1 are missing", 2},
		{"insert", "INSERT INTO events (seq, at, kind, prev_hash, hash) SELECT 1000, at, 'decided', hash, 'x' FROM events WHERE seq = 6",
			"events 7 to 999 are missing", 1000},
		{"insert inside", "INSERT INTO events (seq, at, kind, prev_hash, hash) VALUES (0, '2026-01-01T00:00:00Z', 'decided', 'x', 'y')",
			"event 0 precedes", 0},
		{"rewrite prev_hash", "UPDATE events SET prev_hash = (SELECT prev_hash FROM events WHERE seq = 2) WHERE seq = 3", "event 3 does not follow", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, path := openLog(t, "normal")
			for i := range 6 {
				if err := l.Record(context.Background(), decided(i)); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			if v := verify(t, path); v.Problem != "" || v.Events != 6 {
				t.Fatalf("before tampering: %+v", v)
			}
			if out, err := sqlite(t, path, dropTriggers+tt.sql+restoreTriggers); err != nil {
				t.Fatalf("sqlite3: %v %s", err, out)
			}
			v := verify(t, path)
			if !strings.Contains(v.Problem, tt.want) || v.Seq != tt.seq {
				t.Fatalf("Verify = %+v, want %q at %d", v, tt.want, tt.seq)
			}
		})
	}
}

// TestAppendOnlyTriggers: plain edits are refused by the database itself.
func TestAppendOnlyTriggers(t *testing.T) {
	l, path := openLog(t, "normal")
	_ = l.Record(context.Background(), decided(1))
	l.Close()
	for _, sql := range []string{"UPDATE events SET reason = 'x'", "DELETE FROM events"} {
		if out, err := sqlite(t, path, sql); err == nil || !strings.Contains(out, "append-only") {
			t.Errorf("%s = %v %q, want refused as append-only", sql, err, out)
		}
	}
}

// TestPruneKeepsChainVerifiable: retention removes old events; what is left,
// and what is written after, still verifies from the recorded anchor.
func TestPruneKeepsChainVerifiable(t *testing.T) {
	l, path := openLog(t, "normal")
	old := time.Now().Add(-48 * time.Hour)
	for i := range 5 {
		ev := decided(i)
		ev.At = old.Add(time.Duration(i) * time.Minute)
		_ = l.Record(context.Background(), ev)
	}
	for i := 5; i < 8; i++ {
		_ = l.Record(context.Background(), decided(i))
	}
	n, err := l.Prune(context.Background(), time.Now().Add(-24*time.Hour))
	if err != nil || n != 5 {
		t.Fatalf("Prune = %d, %v; want 5", n, err)
	}
	if err := l.Record(context.Background(), decided(8)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if v := verify(t, path); v.Problem != "" || v.Events != 4 {
		t.Fatalf("after prune: %+v, want 4 events verified", v)
	}
	// Deleting the first kept row is still caught.
	if out, err := sqlite(t, path, dropTriggers+"DELETE FROM events WHERE seq = 6"+restoreTriggers); err != nil {
		t.Fatal(out)
	}
	if v := verify(t, path); !strings.Contains(v.Problem, "events 6 to 6 are missing") {
		t.Fatalf("after deleting the first kept row: %+v", v)
	}
}

// TestWriteFailureReported: when SQLite refuses the write, Record says so
// and Check reports it; once writes work again, so does the log.
func TestWriteFailureReported(t *testing.T) {
	l, path := openLog(t, "normal")
	if err := l.Record(context.Background(), decided(1)); err != nil {
		t.Fatal(err)
	}
	if out, err := sqlite(t, path, "CREATE TRIGGER full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"); err != nil {
		t.Fatal(out)
	}
	err := l.Record(context.Background(), decided(2))
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Record = %v, want the write failure", err)
	}
	if ok, detail := l.Check(); ok || !strings.Contains(detail, "disk is full") {
		t.Fatalf("Check = %v %q", ok, detail)
	}
	if out, err := sqlite(t, path, "DROP TRIGGER full"); err != nil {
		t.Fatal(out)
	}
	if err := l.Record(context.Background(), decided(3)); err != nil {
		t.Fatalf("Record after recovery = %v", err)
	}
	l.Close()
	if v := verify(t, path); v.Problem != "" || v.Events != 2 {
		t.Fatalf("Verify = %+v, want the 2 committed events chained", v)
	}
}

func TestRedactor(t *testing.T) {
	r := audit.NewRedactor([]string{"x-custom"}, func(s string) string { return strings.ReplaceAll(s, "sk_live_123", "[REDACTED]") }, 20)
	got := string(r.Arguments(json.RawMessage(`{"Password":"p","nested":{"api_key":"k","list":[{"CVV":"1"}],"note":"key sk_live_123"},"X-Custom":"v","amount":20.50}`)))
	want := `{"Password":"[REDACTED]","X-Custom":"[REDACTED]","amount":20.50,"nested":{"api_key":"[REDACTED]","list":[{"CVV":"[REDACTED]"}],"note":"key [REDACTED]"}}`
	if got != want {
		t.Errorf("Arguments = %s\nwant        %s", got, want)
	}
	if got := string(r.Arguments(json.RawMessage(`not json sk_live_123`))); got != `"not json [REDACTED]"` {
		t.Errorf("unparseable arguments = %s", got)
	}
	if got := r.Result([]byte(strings.Repeat("a", 30))); got != strings.Repeat("a", 20)+"…[truncated: 30 bytes in all]" {
		t.Errorf("Result = %q", got)
	}
}

// BenchmarkWriter measures events/s through the group-commit writer at 1, 16
// and 64 concurrent producers, each waiting for its own commit.
func BenchmarkWriter(b *testing.B) {
	for _, mode := range []string{"normal", "full"} {
		for _, producers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("sync=%s/producers=%d", mode, producers), func(b *testing.B) {
				l, _ := openLog(b, mode)
				ev := decided(1)
				b.ResetTimer()
				begin := time.Now()
				var wg sync.WaitGroup
				per := (b.N + producers - 1) / producers
				for range producers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range per {
							e := *ev
							if err := l.Record(context.Background(), &e); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(per*producers)/time.Since(begin).Seconds(), "events/s")
			})
		}
	}
}

// TestEmptyColumnsAreNULL: a column an event leaves empty is NULL in the
// row, also when the insert statement last carried a value there (only
// non-empty columns are bound), in one batch and across batches.
func TestEmptyColumnsAreNULL(t *testing.T) {
	l, path := openLog(t, "normal")
	full := decided(1)
	full.Result, full.Status, full.UpstreamMS = `{"content":[]}`, audit.StatusOK, audit.Millis(time.Millisecond)
	sparse := func() *audit.Event { return &audit.Event{Kind: audit.KindCompleted, CallID: "call_1"} }
	for _, batch := range [][]*audit.Event{{full}, {sparse()}, {full, sparse()}} {
		for _, e := range batch {
			c := *e
			l.Enqueue(&c)
		}
		if err := l.Record(context.Background(), decided(2)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	out, err := sqlite(t, path, `SELECT count(*) FROM events WHERE kind = 'completed' AND call_id = 'call_1' AND client IS NULL
		AND server IS NULL AND tool IS NULL AND arguments IS NULL AND decision IS NULL AND policy_us IS NULL
		AND result IS NULL AND status IS NULL AND upstream_ms IS NULL; SELECT count(*) FROM events WHERE result IS NOT NULL`)
	if err != nil || out != "2\n2" {
		t.Fatalf("sparse rows with NULL columns, rows with a result: %q (%v), want 2 and 2", out, err)
	}
	if v := verify(t, path); v.Problem != "" || v.Events != 7 {
		t.Fatalf("Verify = %+v, want 7 events and no problem", v)
	}
}

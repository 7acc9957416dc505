package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
)

// emailLedger writes four calls, two of them send_email, and closes it.
func emailLedger(t *testing.T) string {
	t.Helper()
	l, path := openLog(t, "normal")
	for i := range 4 {
		ev := decided(i)
		if i%2 == 0 {
			ev.Tool = "send_email"
		}
		if err := l.Record(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	return path
}

// refusedEverywhere checks that verify reports the changed schema naming
// want, and that every Drawbridge reader, prune and the writer refuse the
// ledger with the same.
func refusedEverywhere(t *testing.T, path, want string) {
	t.Helper()
	ctx := context.Background()
	if v := verify(t, path); !strings.Contains(v.Problem, "schema was changed") || !strings.Contains(v.Problem, want) {
		t.Errorf("Verify = %+v, want the schema change %s named", v, want)
	}
	r, err := audit.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reads := []struct {
		name string
		read func() error
	}{
		{"Calls", func() error { _, err := r.Calls(ctx, audit.Filter{}); return err }},
		{"Call", func() error { _, _, err := r.Call(ctx, "call_1"); return err }},
		{"Stats", func() error { _, err := r.Stats(ctx, audit.Filter{}); return err }},
		{"ApprovalEvents", func() error { _, err := r.ApprovalEvents(ctx, "a"); return err }},
		{"HeadSeq", func() error { _, err := r.HeadSeq(ctx); return err }},
		{"Older", func() error { _, _, _, err := r.Older(ctx, time.Now()); return err }},
		{"Prune", func() error { _, err := audit.Prune(ctx, path, time.Now(), nil); return err }},
		{"Open", func() error {
			l, err := audit.Open(ctx, audit.Options{Path: path})
			if err == nil {
				l.Close()
			}
			return err
		}},
	}
	for _, rd := range reads {
		if err := rd.read(); !errors.Is(err, audit.ErrSchemaChanged) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s = %v, want refused with %s named", rd.name, err, want)
		}
	}
}

// TestRewrittenCallsView shows that a calls view rewritten to leave out
// every send_email call, which the hash chain does not cover, is reported
// by verify and refused by every reader, so no reader shows the ledger
// without those calls.
func TestRewrittenCallsView(t *testing.T) {
	path := emailLedger(t)
	view, err := sqlite(t, path, "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'calls'")
	if err != nil {
		t.Fatal(view)
	}
	if out, err := sqlite(t, path, "DROP VIEW calls; "+view+" AND s.tool IS NOT 'send_email';"); err != nil {
		t.Fatalf("sqlite3: %v %s", err, out)
	}
	if n, _ := sqlite(t, path, "SELECT count(*) FROM calls"); n != "2" {
		t.Fatalf("the rewritten view shows %s calls, want 2 (the attack did not take)", n)
	}
	if v := verify(t, path); v.Events != 0 {
		t.Errorf("Verify walked %d events of a ledger whose schema changed", v.Events)
	}
	refusedEverywhere(t, path, `view "calls" changed`)
}

// TestDroppedTrigger shows that a ledger whose append-only triggers were
// dropped (and left so) is reported by verify and refused by every
// reader, naming the trigger.
func TestDroppedTrigger(t *testing.T) {
	for _, trigger := range []string{"events_no_update", "events_no_delete"} {
		t.Run(trigger, func(t *testing.T) {
			path := emailLedger(t)
			if out, err := sqlite(t, path, "DROP TRIGGER "+trigger); err != nil {
				t.Fatalf("sqlite3: %v %s", err, out)
			}
			refusedEverywhere(t, path, `trigger "`+trigger+`" dropped`)
		})
	}
}

// TestAddedIndexOrView shows that each object added to the ledger's
// schema, the events table swapped for a filtering view, a view edited
// in place through PRAGMA writable_schema, and a forged migration version
// are each reported by name and refused by every reader.
func TestAddedIndexOrView(t *testing.T) {
	tests := []struct{ name, sql, want string }{
		{"index", "CREATE INDEX events_tool ON events (tool)", `index "events_tool" added (on "events")`},
		{"view", "CREATE VIEW calls_all AS SELECT * FROM events", `view "calls_all" added`},
		{"trigger", "CREATE TRIGGER hide AFTER INSERT ON events BEGIN SELECT 1; END", `trigger "hide" added (on "events")`},
		{"events swapped for a view", "ALTER TABLE events RENAME TO events_kept; " +
			"CREATE VIEW events AS SELECT * FROM events_kept WHERE tool IS NOT 'send_email'", `table "events" dropped`},
		{"writable_schema", "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = " +
			"replace(sql, '''listed'', ''bridged''', '''listed''') WHERE name = 'calls'", `view "calls" changed`},
		{"user_version", "PRAGMA user_version = 99", "schema version 99, want 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := emailLedger(t)
			if out, err := sqlite(t, path, tt.sql); err != nil {
				t.Fatalf("sqlite3: %v %s", err, out)
			}
			refusedEverywhere(t, path, tt.want)
		})
	}
}

// TestUntouchedSchemaVerifies shows that a ledger Drawbridge created,
// wrote, pruned and reopened has exactly the schema its migrations make.
func TestUntouchedSchemaVerifies(t *testing.T) {
	path := emailLedger(t)
	if _, err := audit.Prune(context.Background(), path, time.Now().Add(-time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(context.Background(), audit.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	r, err := audit.OpenReader(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.CheckSchema(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 8: the reopening closed the four calls left without an outcome.
	if v := verify(t, path); v.Problem != "" || v.Events != 8 {
		t.Fatalf("Verify = %+v", v)
	}
}

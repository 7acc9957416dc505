package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func farFuture() time.Time { return time.Now().Add(time.Hour) }

// keyedLedger writes n events under a ledger key and returns its path.
func keyedLedger(t *testing.T, key *ChainKey, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	l, err := Open(context.Background(), Options{Path: path, Key: func(int64) (*ChainKey, error) { return key, nil }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Record(context.Background(), &Event{Kind: KindDecided, CallID: fmt.Sprintf("call_%d", i),
			Tool: "create_payment_link", Arguments: json.RawMessage(fmt.Sprintf(`{"amount":%d}`, 100+i)), Decision: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	return path
}

// edit opens the file as an attacker with write access would, drops the
// triggers, runs fn and puts the triggers back as they were (the schema
// then is Drawbridge's: what is left to catch the edit is the chain), in
// one transaction.
func edit(t *testing.T, path string, fn func(tx *sql.Tx)) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var triggers []string
	for _, name := range []string{"events_no_update", "events_no_delete"} {
		var q string
		if err := tx.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?`, name).Scan(&q); err != nil {
			t.Fatal(err)
		}
		triggers = append(triggers, q)
		if _, err := tx.Exec(`DROP TRIGGER ` + name); err != nil {
			t.Fatal(err)
		}
	}
	fn(tx)
	for _, q := range triggers {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func verifyWith(t *testing.T, path string, opts VerifyOptions) Verification {
	t.Helper()
	r, err := OpenReader(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := r.Verify(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rechain recomputes every event's hash from the first on, as a rewriter
// who knows the algorithm does: unkeyed, or keyed with a key of his own.
func rechain(t *testing.T, tx *sql.Tx, key *ChainKey) {
	t.Helper()
	rows, err := tx.Query(`SELECT seq, at, kind, call_id, tool, arguments, decision FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*Event
	for rows.Next() {
		e := &Event{}
		var at string
		var call, tool, args, dec sql.NullString
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &call, &tool, &args, &dec); err != nil {
			t.Fatal(err)
		}
		e.At, _ = time.Parse(time.RFC3339Nano, at)
		e.CallID, e.Tool, e.Arguments, e.Decision = call.String, tool.String, json.RawMessage(args.String), dec.String
		evs = append(evs, e)
	}
	rows.Close()
	prev := genesis
	for _, e := range evs {
		e.PrevHash = prev
		e.Hash = e.computeHash(key.hasher())
		if _, err := tx.Exec(`UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?`, e.PrevHash, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
}

// TestLedgerRewrite: someone who can write audit.db but not read the
// master key edits an amount and recomputes the chain, unkeyed or with a
// key of their own; verify with the real ledger key says so.
func TestLedgerRewrite(t *testing.T) {
	key := NewChainKey(1)
	for _, forged := range []*ChainKey{nil, NewChainKey(1)} {
		path := keyedLedger(t, key, 5)
		if v := verifyWith(t, path, VerifyOptions{Key: key}); v.Problem != "" || v.Keyed != 5 {
			t.Fatalf("before: %+v", v)
		}
		edit(t, path, func(tx *sql.Tx) {
			if _, err := tx.Exec(`UPDATE events SET arguments = '{"amount":999999}' WHERE seq = 3`); err != nil {
				t.Fatal(err)
			}
			rechain(t, tx, forged)
		})
		v := verifyWith(t, path, VerifyOptions{Key: key})
		want := "was altered"
		if forged == nil {
			want = "is not keyed, but every event from 1 on is"
		}
		if !strings.Contains(v.Problem, want) {
			t.Errorf("rewritten with key %v: verify = %+v, want %q", forged != nil, v, want)
		}
		if v := verifyWith(t, path, VerifyOptions{}); forged != nil && v.Unchecked == 0 {
			t.Errorf("without the key, keyed events were counted as checked: %+v", v)
		}
	}
}

// TestForgedPrunePermit: deleting the start of the chain under a prune
// permit and inserting an anchor that makes it look pruned is caught: the
// anchor is not authenticated by the ledger key.
func TestForgedPrunePermit(t *testing.T) {
	key := NewChainKey(1)
	for _, mac := range []string{"", strings.Repeat("ab", 32)} {
		path := keyedLedger(t, key, 5)
		edit(t, path, func(tx *sql.Tx) {
			var prev string
			if err := tx.QueryRow(`SELECT prev_hash FROM events WHERE seq = 3`).Scan(&prev); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{`INSERT INTO prune_permit (one) VALUES (1)`, `DELETE FROM events WHERE seq < 3`, `DELETE FROM prune_permit`} {
				if _, err := tx.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			var m any
			if mac != "" {
				m = mac
			}
			if _, err := tx.Exec(`INSERT INTO anchors (first_seq, prev_hash, pruned_rows, pruned_at, mac) VALUES (3, ?, 2, '2026-01-01T00:00:00Z', ?)`, prev, m); err != nil {
				t.Fatal(err)
			}
		})
		v := verifyWith(t, path, VerifyOptions{Key: key})
		if !strings.Contains(v.Problem, "anchor") {
			t.Errorf("anchor with mac %q: verify = %+v, want the anchor refused", mac, v)
		}
	}
	// A real prune, with the key, verifies.
	path := keyedLedger(t, key, 5)
	db, _ := sql.Open("sqlite3", path)
	_, err := prune(context.Background(), db, farFuture(), key)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if v := verifyWith(t, path, VerifyOptions{Key: key}); v.Problem != "" {
		t.Errorf("after a real prune: %+v", v)
	}
}

// TestTruncationCaughtByWitness: deleting the newest events leaves a chain
// that holds together; the head witnessed before catches it.
func TestTruncationCaughtByWitness(t *testing.T) {
	key := NewChainKey(1)
	path := keyedLedger(t, key, 5)
	witnessed := verifyWith(t, path, VerifyOptions{Key: key}).Head
	edit(t, path, func(tx *sql.Tx) {
		if _, err := tx.Exec(`DELETE FROM events WHERE seq > 3`); err != nil {
			t.Fatal(err)
		}
	})
	if v := verifyWith(t, path, VerifyOptions{Key: key}); v.Problem != "" {
		t.Fatalf("a truncated chain verifies without a witness (as documented): %+v", v)
	}
	if v := verifyWith(t, path, VerifyOptions{Key: key, Head: witnessed}); !strings.Contains(v.Problem, "witnessed head") {
		t.Errorf("with the witnessed head: %+v", v)
	}
}

package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/sqlitedb"
)

// Prune deletes the events older than before from the ledger at path and
// records the anchor the chain now starts from, authenticated with key, so
// verify still checks all that is left. It returns how many events it
// removed. It is safe while the proxy writes: only a prefix of the chain is
// removed, and nothing is appended to it.
func Prune(ctx context.Context, path string, before time.Time, key *ChainKey) (int64, error) {
	db, err := sqlitedb.Open(ctx, path, migrations, "migrations")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return prune(ctx, db, before, key)
}

// Prune applies retention from the running proxy.
func (l *Log) Prune(ctx context.Context, before time.Time) (int64, error) {
	return prune(ctx, l.db, before, l.key)
}

func prune(ctx context.Context, db *sql.DB, before time.Time, key *ChainKey) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	defer tx.Rollback()
	// A trigger someone added could delete more than the prefix, or write
	// an anchor of its own: prune only a ledger whose schema is Drawbridge's,
	// checked inside the transaction that deletes.
	want, err := wantSchema(ctx)
	if err != nil {
		return 0, err
	}
	if err := want.check(ctx, tx); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	// The chain keeps from the first event at or after the cutoff.
	var first int64
	var prev string
	err = tx.QueryRowContext(ctx, `SELECT seq, prev_hash FROM events WHERE at >= ? ORDER BY seq LIMIT 1`,
		before.UTC().Format(time.RFC3339Nano)).Scan(&first, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		// Everything is older: the chain resumes after the last event.
		err = tx.QueryRowContext(ctx, `SELECT seq + 1, hash FROM events ORDER BY seq DESC LIMIT 1`).Scan(&first, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // empty ledger
		}
	}
	if err != nil {
		return 0, fmt.Errorf("prune: find cutoff: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO prune_permit (one) VALUES (1)`); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq < ?`, first)
	if err != nil {
		return 0, fmt.Errorf("prune: delete: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM prune_permit`); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	at := time.Now().UTC().Format(time.RFC3339Nano)
	var mac any // NULL without a key
	if key != nil {
		mac = key.anchorMAC(first, prev, n, at)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO anchors (first_seq, prev_hash, pruned_rows, pruned_at, mac) VALUES (?, ?, ?, ?, ?)`,
		first, prev, n, at, mac); err != nil {
		return 0, fmt.Errorf("prune: record anchor: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return n, nil
}

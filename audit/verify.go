package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Verification is what Verify found.
type Verification struct {
	// Events is how many rows were checked.
	Events int64
	// Head is the hash of the last event: record it elsewhere, and a later
	// verify that ends on the same hash proves nothing before it changed.
	Head string
	// Problem is the first inconsistency, "" when the chain holds.
	Problem string
	// Seq is the row the problem was found at.
	Seq int64
}

// Verify walks the chain from its start (genesis, or the anchor the last
// prune recorded) and reports the first row that was altered, inserted or
// deleted.
func (r *Reader) Verify(ctx context.Context) (Verification, error) {
	var v Verification
	prev, firstSeq, err := r.anchor(ctx)
	if err != nil {
		return v, err
	}
	wantSeq := firstSeq
	errStop := errors.New("stop")
	err = r.eachEvent(ctx, "ORDER BY seq", nil, func(e *Event) error {
		switch {
		case wantSeq != 0 && e.Seq < wantSeq:
			v.Problem = fmt.Sprintf("event %d precedes the chain's start at %d: inserted", e.Seq, wantSeq)
		case wantSeq != 0 && e.Seq > wantSeq:
			v.Problem = fmt.Sprintf("events %d to %d are missing: deleted", wantSeq, e.Seq-1)
		case e.PrevHash != prev:
			v.Problem = fmt.Sprintf("event %d does not follow event %d (prev_hash differs): inserted, deleted or reordered", e.Seq, e.Seq-1)
		case e.computeHash() != e.Hash:
			v.Problem = fmt.Sprintf("event %d was altered (its content no longer matches its hash)", e.Seq)
		}
		if v.Problem != "" {
			v.Seq = e.Seq
			return errStop
		}
		v.Events++
		prev, wantSeq, v.Head = e.Hash, e.Seq+1, e.Hash
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return v, err
	}
	return v, nil
}

// anchor is where the chain starts: genesis and seq 1, or what the last
// prune recorded.
func (r *Reader) anchor(ctx context.Context) (prevHash string, firstSeq int64, err error) {
	err = r.db.QueryRowContext(ctx, `SELECT prev_hash, first_seq FROM anchors ORDER BY id DESC LIMIT 1`).Scan(&prevHash, &firstSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return genesis, 1, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("read anchor: %w", err)
	}
	return prevHash, firstSeq, nil
}

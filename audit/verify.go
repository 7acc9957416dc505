package audit

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Verification is what Verify found.
type Verification struct {
	// Events is how many rows were checked.
	Events int64
	// Head is the hash of the last event: record it elsewhere (a witness),
	// and a later verify with --head proves nothing up to it changed.
	Head string
	// Problem is the first inconsistency, "" when the chain holds.
	Problem string
	// Seq is the row the problem was found at.
	Seq int64
	// Keyed counts the events whose hash is keyed; Unchecked those of them
	// whose key was not at hand (verify without the ledger key checks the
	// links, not the hashes).
	Keyed, Unchecked int64
}

// VerifyOptions are what Verify checks against besides the file itself.
type VerifyOptions struct {
	// Key is the ledger key from the vault. Without it keyed events are
	// counted as Unchecked.
	Key *ChainKey
	// Head, when set, is a hash witnessed earlier: the chain must still
	// hold it, or events were deleted from its end or rewritten.
	Head string
}

// Verify walks the chain from its start (genesis, or the anchor the last
// prune recorded) and reports the first row that was altered, inserted or
// deleted, an event written unkeyed where the ledger key says events are
// keyed (a rewrite by someone without the key), an anchor the key does
// not authenticate, a witnessed head the chain no longer holds, and,
// before all these, a schema that is not the one Drawbridge created (what
// its readers read would not be what the chain holds).
func (r *Reader) Verify(ctx context.Context, opts VerifyOptions) (Verification, error) {
	var v Verification
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return v, fmt.Errorf("verify: %w", err)
	}
	defer tx.Rollback()
	var changed *SchemaError
	switch err := r.want.check(ctx, tx); {
	case errors.As(err, &changed):
		v.Problem = "the schema was changed outside Drawbridge: " + strings.Join(changed.Changes, "; ")
		return v, nil
	case err != nil:
		return v, err
	}
	a, err := anchor(ctx, tx)
	if err != nil {
		return v, err
	}
	if why := a.check(opts.Key); why != "" {
		v.Problem, v.Seq = why, a.firstSeq
		return v, nil
	}
	prev, wantSeq := a.prevHash, a.firstSeq
	mac := opts.Key.hasher()
	sawHead := false
	errStop := errors.New("stop")
	err = eachEvent(ctx, tx, "ORDER BY seq", nil, func(e *Event) error {
		keyed := strings.HasPrefix(e.Hash, keyedPrefix)
		switch {
		case wantSeq != 0 && e.Seq < wantSeq:
			v.Problem = fmt.Sprintf("event %d precedes the chain's start at %d: inserted", e.Seq, wantSeq)
		case wantSeq != 0 && e.Seq > wantSeq:
			v.Problem = fmt.Sprintf("events %d to %d are missing: deleted", wantSeq, e.Seq-1)
		case e.PrevHash != prev:
			v.Problem = fmt.Sprintf("event %d does not follow event %d (prev_hash differs): inserted, deleted or reordered", e.Seq, e.Seq-1)
		case !keyed && opts.Key != nil && e.Seq >= opts.Key.From:
			v.Problem = fmt.Sprintf("event %d is not keyed, but every event from %d on is: the ledger was rewritten without the ledger key", e.Seq, opts.Key.From)
		case keyed && mac == nil:
			v.Unchecked++
		case e.computeHash(mac) != e.Hash:
			v.Problem = fmt.Sprintf("event %d was altered (its content no longer matches its hash)", e.Seq)
		}
		if v.Problem != "" {
			v.Seq = e.Seq
			return errStop
		}
		if keyed {
			v.Keyed++
		}
		sawHead = sawHead || (opts.Head != "" && e.Hash == opts.Head)
		v.Events++
		prev, wantSeq, v.Head = e.Hash, e.Seq+1, e.Hash
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return v, err
	}
	if v.Problem == "" && opts.Head != "" && !sawHead {
		v.Problem = fmt.Sprintf("the witnessed head %s is not in the chain: events were deleted from its end, or it was rewritten", opts.Head)
	}
	return v, nil
}

// anchorRow is where the chain starts: genesis and seq 1, or what the last
// prune recorded.
type anchorRow struct {
	prevHash string
	firstSeq int64
	pruned   int64
	at, mac  string
	exists   bool
}

func anchor(ctx context.Context, q queryer) (anchorRow, error) {
	a := anchorRow{exists: true}
	var mac sql.NullString
	err := q.QueryRowContext(ctx, `SELECT prev_hash, first_seq, pruned_rows, pruned_at, mac FROM anchors ORDER BY id DESC LIMIT 1`).
		Scan(&a.prevHash, &a.firstSeq, &a.pruned, &a.at, &mac)
	if errors.Is(err, sql.ErrNoRows) {
		return anchorRow{prevHash: genesis, firstSeq: 1}, nil
	}
	if err != nil {
		return a, fmt.Errorf("read anchor: %w", err)
	}
	a.mac = mac.String
	return a, nil
}

// check says why an anchor cannot be trusted ("" when it can): one that
// starts the chain inside the keyed part must carry the key's MAC.
func (a anchorRow) check(k *ChainKey) string {
	if !a.exists || k == nil {
		return ""
	}
	if a.mac == "" {
		if a.firstSeq > k.From {
			return fmt.Sprintf("the chain's start at event %d (a prune anchor) is not authenticated: events before it were deleted without the ledger key", a.firstSeq)
		}
		return ""
	}
	if !hmac.Equal([]byte(a.mac), []byte(k.anchorMAC(a.firstSeq, a.prevHash, a.pruned, a.at))) {
		return fmt.Sprintf("the prune anchor at event %d does not match the ledger key: it was forged or altered", a.firstSeq)
	}
	return ""
}

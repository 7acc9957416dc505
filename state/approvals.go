package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Approval is a call held for a person.
type Approval struct {
	ID     string `json:"id"`
	Client string `json:"client"`
	// ClientID identifies the client's token (TokenID); grants are keyed
	// by it, so a new token with the same name starts with none.
	ClientID  string    `json:"-"`
	Server    string    `json:"server"`
	Tool      string    `json:"tool"`
	Arguments string    `json:"arguments"`
	ArgsHash  string    `json:"-"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Status    string    `json:"status"`
	DecidedBy string    `json:"decided_by,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// Approval statuses.
const (
	Pending  = "pending"
	Approved = "approved"
	Denied   = "denied"
	Expired  = "expired"
)

// ErrNoApproval is returned for an unknown or already settled approval.
var ErrNoApproval = errors.New("no such pending approval")

// CreateApproval stores a pending approval.
func (d *DB) CreateApproval(ctx context.Context, a Approval) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO approvals (id, client, client_id, server, tool, arguments, args_hash, reason, created_at, expires_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`, a.ID, a.Client, a.ClientID, a.Server, a.Tool, a.Arguments, a.ArgsHash, a.Reason,
		a.CreatedAt.UTC().Format(time.RFC3339Nano), a.ExpiresAt.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("store approval: %w", err)
	}
	return nil
}

// Settle decides a pending approval. Approving also grants the same client
// the same call until grantUntil.
func (d *DB) Settle(ctx context.Context, id, status, by, note string, grantUntil time.Time) (Approval, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return Approval{}, fmt.Errorf("settle approval: %w", err)
	}
	defer tx.Rollback()
	a, err := scanApproval(tx.QueryRowContext(ctx, approvalSelect+` WHERE id = ? AND status = 'pending'`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Approval{}, fmt.Errorf("%w: %s", ErrNoApproval, id)
	}
	if err != nil {
		return Approval{}, err
	}
	now := d.now().UTC().Format(time.RFC3339Nano)
	if _, err := tx.ExecContext(ctx, `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?`,
		status, by, now, note, id); err != nil {
		return Approval{}, fmt.Errorf("settle approval: %w", err)
	}
	if status == Approved {
		if _, err := tx.ExecContext(ctx, `INSERT INTO grants (client, server, tool, args_hash, approval_id, approved_by, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET approval_id = excluded.approval_id,
			approved_by = excluded.approved_by, expires_at = excluded.expires_at`,
			a.grantKey(), a.Server, a.Tool, a.ArgsHash, id, by, grantUntil.UTC().Format(time.RFC3339Nano)); err != nil {
			return Approval{}, fmt.Errorf("grant: %w", err)
		}
	}
	a.Status, a.DecidedBy, a.Note = status, by, note
	return a, tx.Commit()
}

// grantKey is whom a grant covers: the client's token identity, or its
// name where there is no token (auth: none).
func (a *Approval) grantKey() string { return GrantKey(a.Client, a.ClientID) }

// GrantKey is the key grants are stored and found by.
func GrantKey(client, clientID string) string {
	if clientID != "" {
		return clientID
	}
	return "name:" + client
}

// Grant finds an unexpired grant for exactly this call; client is a
// GrantKey.
func (d *DB) Grant(ctx context.Context, client, server, tool, argsHash string) (approvalID, by string, ok bool, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT approval_id, approved_by FROM grants
		WHERE client = ? AND server = ? AND tool = ? AND args_hash = ? AND expires_at > ?`,
		client, server, tool, argsHash, d.now().UTC().Format(time.RFC3339Nano)).Scan(&approvalID, &by)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("read grants: %w", err)
	}
	return approvalID, by, true, nil
}

// PendingApprovals lists what waits for a person, oldest first.
func (d *DB) PendingApprovals(ctx context.Context) ([]Approval, error) {
	rows, err := d.db.QueryContext(ctx, approvalSelect+` WHERE status = 'pending' ORDER BY created_at`)
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ExpireApprovals settles as expired every pending approval past its expiry,
// or every one when all (at start: nobody waits for them any more).
func (d *DB) ExpireApprovals(ctx context.Context, all bool) ([]Approval, error) {
	pending, err := d.PendingApprovals(ctx)
	if err != nil {
		return nil, err
	}
	var out []Approval
	for _, a := range pending {
		if all || !d.now().Before(a.ExpiresAt) {
			if s, err := d.Settle(ctx, a.ID, Expired, "", "", time.Time{}); err == nil {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

const approvalSelect = `SELECT id, client, client_id, server, tool, arguments, args_hash, reason, created_at, expires_at, status,
	COALESCE(decided_by, ''), COALESCE(note, '') FROM approvals`

type scanner interface{ Scan(dest ...any) error }

func scanApproval(s scanner) (Approval, error) {
	var a Approval
	var created, expires string
	if err := s.Scan(&a.ID, &a.Client, &a.ClientID, &a.Server, &a.Tool, &a.Arguments, &a.ArgsHash, &a.Reason, &created, &expires,
		&a.Status, &a.DecidedBy, &a.Note); err != nil {
		return Approval{}, err
	}
	a.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	a.ExpiresAt, _ = time.Parse(time.RFC3339Nano, expires)
	return a, nil
}

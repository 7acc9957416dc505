package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Pin is what state.db knows of one upstream tool.
type Pin struct {
	Server, Tool         string
	PinnedHash, SeenHash string
	PinnedDef, SeenDef   string
	FirstSeen            time.Time
	ChangedAt            *time.Time
	AcceptedAt           *time.Time
}

// Standing says where a tool stands against its pin: "new" (never
// accepted), "changed" (advertised other than pinned) or "trusted".
func (p Pin) Standing() string {
	switch {
	case p.PinnedHash == "":
		return "new"
	case p.PinnedHash != p.SeenHash:
		return "changed"
	}
	return "trusted"
}

// Verdict says whether a definition may be served.
type Verdict int

// Verdicts.
const (
	Trusted Verdict = iota // matches the pin
	Changed                // differs from the pin: quarantined
	New                    // never accepted (strict mode): quarantined
)

// Observe records the definition an upstream advertises. A tool seen for
// the first time is pinned at once when autoPin (trust on first use). A
// pin that holds legacy (the hash an earlier version pinned by, over fewer
// fields) is upgraded to hash and def. It returns the verdict for this
// definition and whether it just changed.
func (d *DB) Observe(ctx context.Context, server, tool, hash, legacy, def string, autoPin bool) (Verdict, bool, error) {
	now := d.now().UTC().Format(time.RFC3339)
	var pinned sql.NullString
	var seen string
	err := d.db.QueryRowContext(ctx, `SELECT pinned_hash, seen_hash FROM pins WHERE server = ? AND tool = ?`, server, tool).
		Scan(&pinned, &seen)
	switch {
	case err == sql.ErrNoRows:
		var ph, pd, accepted any // NULL: waits for acceptance
		if autoPin {
			ph, pd, accepted = hash, def, now
		}
		_, err = d.db.ExecContext(ctx, `INSERT INTO pins (server, tool, pinned_hash, pinned_def, seen_hash, seen_def, first_seen, accepted_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, server, tool, ph, pd, hash, def, now, accepted)
		if err != nil {
			return 0, false, fmt.Errorf("pin %s/%s: %w", server, tool, err)
		}
		if autoPin {
			return Trusted, false, nil
		}
		return New, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("pin %s/%s: %w", server, tool, err)
	}
	if legacy != "" && pinned.String == legacy {
		if _, err = d.db.ExecContext(ctx, `UPDATE pins SET pinned_hash = ?, pinned_def = ? WHERE server = ? AND tool = ?`,
			hash, def, server, tool); err != nil {
			return 0, false, fmt.Errorf("pin %s/%s: %w", server, tool, err)
		}
		pinned.String = hash
	}
	if seen != hash {
		_, err = d.db.ExecContext(ctx, `UPDATE pins SET seen_hash = ?, seen_def = ?,
			changed_at = CASE WHEN pinned_hash IS NOT NULL AND pinned_hash != ? THEN ? ELSE changed_at END
			WHERE server = ? AND tool = ?`, hash, def, hash, now, server, tool)
		if err != nil {
			return 0, false, fmt.Errorf("pin %s/%s: %w", server, tool, err)
		}
	}
	v := verdict(pinned.String, hash)
	return v, seen != hash && v == Changed, nil
}

func verdict(pinned, hash string) Verdict {
	switch {
	case pinned == "":
		return New
	case pinned != hash:
		return Changed
	}
	return Trusted
}

// Verdict is Observe's verdict without writing, served from memory.
func (d *DB) Verdict(ctx context.Context, server, tool, hash, legacy string) (Verdict, error) {
	pins, err := d.pins.get(ctx, d.db, d.loadPins)
	if err != nil {
		return Changed, err
	}
	p, ok := pins[server+"\x00"+tool]
	if !ok {
		return New, nil
	}
	if legacy != "" && p.PinnedHash == legacy {
		return Trusted, nil // Observe is upgrading it
	}
	return verdict(p.PinnedHash, hash), nil
}

// Accept trusts what each named tool (all of the server's when none are
// named) advertises now. It returns how many pins changed.
func (d *DB) Accept(ctx context.Context, server string, tools []string) (int64, error) {
	now := d.now().UTC().Format(time.RFC3339)
	q := `UPDATE pins SET pinned_hash = seen_hash, pinned_def = seen_def, accepted_at = ?, changed_at = NULL
		WHERE server = ? AND (pinned_hash IS NULL OR pinned_hash != seen_hash)`
	args := []any{now, server}
	if len(tools) > 0 {
		q += ` AND tool IN (?` + strings.Repeat(",?", len(tools)-1) + `)`
		for _, t := range tools {
			args = append(args, t)
		}
	}
	res, err := d.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("accept %s: %w", server, err)
	}
	return res.RowsAffected()
}

// ErrReviewedChanged means a definition changed after it was reviewed.
var ErrReviewedChanged = errors.New("the definition changed since it was reviewed")

// AcceptReviewed trusts one tool's definition only if it is still the one
// reviewed: hash is what tools diff showed (the whole hash, or a prefix of
// at least 12 characters). It refuses, saying what is current, otherwise.
func (d *DB) AcceptReviewed(ctx context.Context, server, tool, hash string) error {
	var seen string
	err := d.db.QueryRowContext(ctx, `SELECT seen_hash FROM pins WHERE server = ? AND tool = ?`, server, tool).Scan(&seen)
	if err == sql.ErrNoRows {
		return fmt.Errorf("no tool %q seen on server %q", tool, server)
	}
	if err != nil {
		return fmt.Errorf("accept %s/%s: %w", server, tool, err)
	}
	if len(hash) < 12 || !strings.HasPrefix(seen, hash) {
		return fmt.Errorf("%w: %s/%s is now %s, not %s; review it again with tools diff", ErrReviewedChanged, server, tool, seen, hash)
	}
	res, err := d.db.ExecContext(ctx, `UPDATE pins SET pinned_hash = seen_hash, pinned_def = seen_def, accepted_at = ?, changed_at = NULL
		WHERE server = ? AND tool = ? AND seen_hash = ?`, d.now().UTC().Format(time.RFC3339), server, tool, seen)
	if err != nil {
		return fmt.Errorf("accept %s/%s: %w", server, tool, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s/%s changed while it was being accepted; review it again", ErrReviewedChanged, server, tool)
	}
	return nil
}

// Pins lists the pins of one server ("" for all), by server and tool.
func (d *DB) Pins(ctx context.Context, server string) ([]Pin, error) {
	all, err := d.loadPins(ctx, d.db)
	if err != nil {
		return nil, err
	}
	var out []Pin
	for _, p := range all {
		if server == "" || p.Server == server {
			out = append(out, p)
		}
	}
	sortPins(out)
	return out, nil
}

// Pin is one tool's pin; ok is false when the tool was never seen.
func (d *DB) Pin(ctx context.Context, server, tool string) (p Pin, ok bool, err error) {
	all, err := d.loadPins(ctx, d.db)
	p, ok = all[server+"\x00"+tool]
	return p, ok, err
}

func (d *DB) loadPins(ctx context.Context, q querier) (map[string]Pin, error) {
	rows, err := q.QueryContext(ctx, `SELECT server, tool, pinned_hash, pinned_def, seen_hash, seen_def, first_seen, changed_at, accepted_at FROM pins`)
	if err != nil {
		return nil, fmt.Errorf("read pins: %w", err)
	}
	defer rows.Close()
	out := map[string]Pin{}
	for rows.Next() {
		var p Pin
		var ph, pd, changed, accepted sql.NullString
		var first string
		if err := rows.Scan(&p.Server, &p.Tool, &ph, &pd, &p.SeenHash, &p.SeenDef, &first, &changed, &accepted); err != nil {
			return nil, fmt.Errorf("read pins: %w", err)
		}
		p.PinnedHash, p.PinnedDef = ph.String, pd.String
		p.FirstSeen, _ = time.Parse(time.RFC3339, first)
		p.ChangedAt, p.AcceptedAt = parseTime(changed), parseTime(accepted)
		out[p.Server+"\x00"+p.Tool] = p
	}
	return out, rows.Err()
}

func parseTime(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s.String)
	if err != nil {
		return nil
	}
	return &t
}

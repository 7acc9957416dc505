package state

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// recheck is how often the token cache asks SQLite whether state.db has
// changed: the longest a revoked token keeps working. Asking on every
// request cost about 20 µs, a tenth of what Drawbridge adds to a call.
const recheck = 100 * time.Millisecond

// tokenCache holds the token table in memory, keyed by hash. It watches
// PRAGMA data_version on a connection of its own: SQLite bumps it whenever
// any other connection, in this process or another, commits a change.
type tokenCache struct {
	checked time.Time
	mu      sync.Mutex
	conn    *sql.Conn
	check   *sql.Stmt // PRAGMA data_version, prepared once
	version int64
	loaded  bool
	byHash  map[string]tokenRow
}

// lookup returns the token with hash h and its stored hash ("" if none),
// reloading the table first if state.db has changed.
func (c *tokenCache) lookup(ctx context.Context, d *DB, h string) (Token, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		conn, err := d.db.Conn(ctx)
		if err != nil {
			return Token{}, "", fmt.Errorf("token cache: %w", err)
		}
		check, err := conn.PrepareContext(ctx, "PRAGMA data_version")
		if err != nil {
			conn.Close()
			return Token{}, "", fmt.Errorf("token cache: %w", err)
		}
		c.conn, c.check = conn, check
	}
	if err := c.refresh(ctx, d); err != nil {
		return Token{}, "", err
	}
	r, ok := c.byHash[h]
	if !ok {
		return Token{}, "", nil
	}
	return r.Token, r.hash, nil
}

// refresh reloads the table if state.db changed; c.mu is held.
func (c *tokenCache) refresh(ctx context.Context, d *DB) error {
	now := time.Now()
	if c.loaded && now.Sub(c.checked) < recheck {
		return nil
	}
	var v int64
	if err := c.check.QueryRowContext(ctx).Scan(&v); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	c.checked = now
	if !c.loaded || v != c.version {
		rows, err := d.allTokens(ctx, c.conn)
		if err != nil {
			return err
		}
		c.byHash = make(map[string]tokenRow, len(rows))
		for _, r := range rows {
			c.byHash[r.hash] = r
		}
		c.version, c.loaded = v, true
	}
	return nil
}

func (c *tokenCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.check.Close()
		c.conn.Close()
		c.conn, c.check = nil, nil
	}
}

// Package state owns state.db: the proxy's own records that are neither
// secrets nor audit events: client tokens (hashes only), tool pins,
// pending approvals and the grants they leave.
package state

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// TokenPrefix starts every client token, so a leaked one is easy to spot.
const TokenPrefix = "dbt_"

// Errors.
var (
	ErrNoToken     = errors.New("no such token")
	ErrTokenExists = errors.New("a token with that name exists")
	ErrBadToken    = errors.New("invalid, expired or revoked token")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// DB is an open state.db.
type DB struct {
	db     *sql.DB
	now    func() time.Time
	tokens cache[map[string]tokenRow]
	pins   cache[map[string]Pin]
}

// Open opens data_dir/state.db, creating it if needed.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	db, err := sqlitedb.Open(ctx, filepath.Join(dataDir, "state.db"), migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return &DB{db: db, now: time.Now}, nil
}

// Close closes the file.
func (d *DB) Close() error {
	d.tokens.close()
	d.pins.close()
	return d.db.Close()
}

// Token describes a client token; never the token itself.
type Token struct {
	// ID identifies this token, not its name (TokenID): a token created
	// later under the same name has another.
	ID        string     `json:"-"`
	Name      string     `json:"name"`
	Servers   []string   `json:"servers"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// CreateToken makes a token for name, stores its hash and returns the token,
// the only time it is ever seen. ttl 0 means it does not expire.
func (d *DB) CreateToken(ctx context.Context, name string, servers []string, ttl time.Duration) (string, error) {
	if !nameRE.MatchString(name) {
		return "", fmt.Errorf("token name %q: use letters, digits, _ . @ - (up to 64)", name)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	if servers == nil {
		servers = []string{}
	}
	now := d.now().UTC()
	var expires any
	if ttl > 0 {
		expires = now.Add(ttl).Format(time.RFC3339)
	}
	_, err := d.db.ExecContext(ctx,
		`INSERT INTO tokens (name, hash, servers, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		name, hashToken(token), string(mustJSON(servers)), now.Format(time.RFC3339), expires)
	if err != nil {
		if isUnique(err) {
			return "", fmt.Errorf("create token %q: %w; revoke it first", name, ErrTokenExists)
		}
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	return token, nil
}

// Verify returns the token matching a presented token. Tokens are held in
// memory by hash and reloaded whenever state.db has changed (another
// process's token revoke included), so a check costs one cheap PRAGMA, and a
// revocation counts from the next request. The stored hash is compared in
// constant time.
func (d *DB) Verify(ctx context.Context, token string) (Token, error) {
	h := hashToken(token)
	tokens, err := d.tokens.get(ctx, d.db, d.tokensByHash)
	if err != nil {
		return Token{}, err
	}
	row, ok := tokens[h]
	if !ok || subtle.ConstantTimeCompare([]byte(row.hash), []byte(h)) != 1 {
		return Token{}, ErrBadToken
	}
	t := row.Token
	if t.ExpiresAt != nil && !d.now().Before(*t.ExpiresAt) {
		return Token{}, ErrBadToken
	}
	t.ID = TokenID(row.hash)
	return t, nil
}

// TokenID is a token's identity from its stored hash: "tok_" and 16 hex
// digits. It names the token without revealing it.
func TokenID(hash string) string { return "tok_" + hash[:16] }

// ListTokens returns every token, by name.
func (d *DB) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := d.allTokens(ctx, d.db)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.Token
	}
	return out, nil
}

type tokenRow struct {
	Token
	hash string
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (d *DB) allTokens(ctx context.Context, q querier) ([]tokenRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, hash, servers, created_at, expires_at FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []tokenRow
	for rows.Next() {
		var t tokenRow
		var servers, created string
		var expires sql.NullString
		if err := rows.Scan(&t.Name, &t.hash, &servers, &created, &expires); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if err := t.fill(servers, created, expires); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes a token; it stops working at once.
func (d *DB) RevokeToken(ctx context.Context, name string) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM tokens WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke token %q: %w", name, ErrNoToken)
	}
	return nil
}

func (t *Token) fill(servers, created string, expires sql.NullString) error {
	if err := json.Unmarshal([]byte(servers), &t.Servers); err != nil {
		return fmt.Errorf("token %q: corrupt servers: %w", t.Name, err)
	}
	c, err := time.Parse(time.RFC3339, created)
	if err != nil {
		return fmt.Errorf("token %q: corrupt created_at: %w", t.Name, err)
	}
	t.CreatedAt = c
	if expires.Valid {
		e, err := time.Parse(time.RFC3339, expires.String)
		if err != nil {
			return fmt.Errorf("token %q: corrupt expires_at: %w", t.Name, err)
		}
		t.ExpiresAt = &e
	}
	return nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

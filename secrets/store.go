package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors.
var (
	ErrWrongKey = errors.New("the master key does not open secrets.db")
	ErrNoSecret = errors.New("no such secret")
)

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

// keyCheckPlain is what the key check seals.
const keyCheckPlain = "drawbridge secrets.db key check"

// Store is an open secrets.db with its master key.
type Store struct {
	db   *sql.DB
	aead cipher.AEAD
	key  Key
	path string
}

// Info describes a stored secret; never its value.
type Info struct {
	Name      string    `json:"name"`
	Client    string    `json:"client,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Open opens data_dir/secrets.db with the master key (see LoadKey),
// creating both on first use. A key that does not match the one the file
// was sealed with is ErrWrongKey, never garbage.
func Open(ctx context.Context, dataDir string) (*Store, error) {
	key, err := LoadKey(dataDir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, "secrets.db")
	db, err := sqlitedb.Open(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path}
	if key.Path != "" {
		if pending, ok := loadPending(key.Path); ok {
			if s.use(ctx, pending) == nil {
				if err := os.Rename(pendingKey(key.Path), key.Path); err != nil {
					db.Close()
					return nil, fmt.Errorf("finish key rotation: %w", err)
				}
				return s, nil
			}
			os.Remove(pendingKey(key.Path)) // the rotation never committed
		}
	}
	if err := s.use(ctx, key); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// use checks key against the key check (writing one into a new file) and
// adopts it.
func (s *Store) use(ctx context.Context, key Key) error {
	aead, err := newAEAD(key)
	if err != nil {
		return err
	}
	var nonce, sealed []byte
	err = s.db.QueryRowContext(ctx, `SELECT nonce, sealed FROM key_check WHERE id = 1`).Scan(&nonce, &sealed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		nonce, sealed, err = seal(aead, []byte(keyCheckPlain), "key-check")
		if err == nil {
			_, err = s.db.ExecContext(ctx, `INSERT INTO key_check (id, nonce, sealed) VALUES (1, ?, ?)`, nonce, sealed)
		}
		if err != nil {
			return fmt.Errorf("secrets key check: %w", err)
		}
	case err != nil:
		return fmt.Errorf("secrets key check: %w", err)
	default:
		plain, err := aead.Open(nil, nonce, sealed, []byte("key-check"))
		if err != nil || string(plain) != keyCheckPlain {
			where := "$" + KeyEnv
			if key.Path != "" {
				where = key.Path
			}
			return fmt.Errorf("%w (key from %s): the file was sealed with another key; restore that key rather than replace the file", ErrWrongKey, where)
		}
	}
	s.aead, s.key = aead, key
	return nil
}

func newAEAD(k Key) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.bytes)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts plain with a fresh random nonce, bound to ad.
func seal(aead cipher.AEAD, plain []byte, ad string) (nonce, sealed []byte, err error) {
	nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	return nonce, aead.Seal(nil, nonce, plain, []byte(ad)), nil
}

// ad binds a value to its name and scope.
func ad(name, client string) string { return "secret\x00" + name + "\x00" + client }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Set stores value under name, for one client ("" for every client).
func (s *Store) Set(ctx context.Context, name, client string, value Secret) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("secret name %q: letters, digits, _ . - (not starting with a digit)", name)
	}
	if value.Empty() {
		return fmt.Errorf("secret %s: empty value", name)
	}
	nonce, sealed, err := seal(s.aead, []byte(value.Reveal()), ad(name, client))
	if err != nil {
		return fmt.Errorf("seal secret %s: %w", name, err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	_, err = s.db.ExecContext(ctx, `INSERT INTO secrets (name, client, nonce, sealed, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name, client) DO UPDATE SET nonce = excluded.nonce, sealed = excluded.sealed, updated_at = excluded.updated_at`,
		name, client, nonce, sealed, now, now)
	if err != nil {
		return fmt.Errorf("store secret %s: %w", name, err)
	}
	return nil
}

// Delete removes a secret.
func (s *Store) Delete(ctx context.Context, name, client string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM secrets WHERE name = ? AND client = ?`, name, client)
	if err != nil {
		return fmt.Errorf("remove secret %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove secret %s%s: %w", name, scope(client), ErrNoSecret)
	}
	return nil
}

func scope(client string) string {
	if client == "" {
		return ""
	}
	return " for client " + client
}

// List describes every secret, by name then client.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, client, created_at, updated_at FROM secrets ORDER BY name, client`)
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	var out []Info
	for rows.Next() {
		var i Info
		var c, u string
		if err := rows.Scan(&i.Name, &i.Client, &c, &u); err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		i.CreatedAt, _ = time.Parse(time.RFC3339, c)
		i.UpdatedAt, _ = time.Parse(time.RFC3339, u)
		out = append(out, i)
	}
	return out, rows.Err()
}

// scopedName identifies a secret by name and client scope.
type scopedName struct{ name, client string }

// all decrypts every secret.
func (s *Store) all(ctx context.Context, q querier) (map[scopedName]Secret, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, client, nonce, sealed FROM secrets`)
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	defer rows.Close()
	out := map[scopedName]Secret{}
	for rows.Next() {
		var k scopedName
		var nonce, sealed []byte
		if err := rows.Scan(&k.name, &k.client, &nonce, &sealed); err != nil {
			return nil, fmt.Errorf("read secrets: %w", err)
		}
		plain, err := s.aead.Open(nil, nonce, sealed, []byte(ad(k.name, k.client)))
		if err != nil {
			return nil, fmt.Errorf("secret %s%s does not decrypt: it was altered or moved", k.name, scope(k.client))
		}
		out[k] = New(string(plain))
	}
	return out, rows.Err()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// followKey adopts the master key another process rotated to (drawbridge
// secret rotate-key while the proxy runs): the key file, or the pending
// one of a rotation still finishing. A key from KeyEnv cannot change under
// a running process, so a rotation there needs a restart.
func (s *Store) followKey(ctx context.Context) error {
	key, err := loadKey(filepath.Dir(s.path), false)
	if err != nil {
		return err
	}
	if key.Path != "" {
		if pending, ok := loadPending(key.Path); ok && s.use(ctx, pending) == nil {
			return nil
		}
	}
	if err := s.use(ctx, key); err != nil {
		if key.Path == "" {
			return fmt.Errorf("%w; the key was rotated: restart with the new %s", err, KeyEnv)
		}
		return err
	}
	return nil
}

// RotateKey re-encrypts every secret under a new key in one transaction.
// With a key file, the new key is written beside the old one first and
// moved into place after the commit (Open finishes a rotation interrupted
// in between). With KeyEnv, the new key is returned for the operator to put
// there; the file already needs it.
func (s *Store) RotateKey(ctx context.Context) (Key, error) {
	next := NewKey()
	next.Path = s.key.Path
	aead, err := newAEAD(next)
	if err != nil {
		return Key{}, err
	}
	if next.Path != "" {
		os.Remove(pendingKey(next.Path))
		if err := writeKeyFile(pendingKey(next.Path), next); err != nil {
			return Key{}, err
		}
	}
	if err := s.reseal(ctx, aead); err != nil {
		if next.Path != "" {
			os.Remove(pendingKey(next.Path))
		}
		return Key{}, err
	}
	if next.Path != "" {
		if err := os.Rename(pendingKey(next.Path), next.Path); err != nil {
			return Key{}, fmt.Errorf("move new key into place (run any drawbridge command to finish): %w", err)
		}
	}
	s.aead, s.key = aead, next
	return next, nil
}

func (s *Store) reseal(ctx context.Context, aead cipher.AEAD) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	defer tx.Rollback()
	values, err := s.all(ctx, tx)
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	for k, v := range values {
		nonce, sealed, err := seal(aead, []byte(v.Reveal()), ad(k.name, k.client))
		if err != nil {
			return fmt.Errorf("rotate key: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE secrets SET nonce = ?, sealed = ? WHERE name = ? AND client = ?`,
			nonce, sealed, k.name, k.client); err != nil {
			return fmt.Errorf("rotate key: %w", err)
		}
	}
	nonce, sealed, err := seal(aead, []byte(keyCheckPlain), "key-check")
	if err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE key_check SET nonce = ?, sealed = ? WHERE id = 1`, nonce, sealed); err != nil {
		return fmt.Errorf("rotate key: %w", err)
	}
	return tx.Commit()
}

// Package sqlitedb opens Drawbridge's SQLite files the one way they are all
// opened: WAL mode (verified), a busy timeout, foreign keys, and numbered
// migrations applied in order and recorded in PRAGMA user_version.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Sync is SQLite's synchronous setting in WAL mode: Normal survives a killed
// process, Full also survives power loss (fsync at every commit).
type Sync string

// Sync settings.
const (
	Normal Sync = "NORMAL"
	Full   Sync = "FULL"
)

// Open opens (creating if needed) the SQLite file at path, with its folder
// created 0700, and applies the migrations in dir of fsys: files named
// NNNN_name.sql, applied in number order, each in its own transaction.
func Open(ctx context.Context, path string, fsys fs.FS, dir string) (*sql.DB, error) {
	return OpenSync(ctx, path, fsys, dir, Normal)
}

// OpenSync is Open with a synchronous setting.
func OpenSync(ctx context.Context, path string, fsys fs.FS, dir string, sync Sync) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_mutex=no&_synchronous=" + string(sync)
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := setup(ctx, db, path, fsys, dir); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func setup(ctx context.Context, db *sql.DB, path string, fsys fs.FS, dir string) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("open %s: journal mode is %q, want wal", path, mode)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("restrict %s: %w", path, err)
	}
	return migrate(ctx, db, fsys, dir)
}

// Migrate applies the migrations in dir of fsys to db, as Open does: to an
// in-memory database, it gives the schema they create, to compare a file's
// with.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir string) error {
	return migrate(ctx, db, fsys, dir)
}

func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir string) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	type step struct {
		n    int
		name string
	}
	var steps []step
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return fmt.Errorf("migration %s: name must be NNNN_name.sql", e.Name())
		}
		steps = append(steps, step{n, e.Name()})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].n < steps[j].n })
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for _, s := range steps {
		if s.n <= version {
			continue
		}
		body, err := fs.ReadFile(fsys, dir+"/"+s.name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", s.name, err)
		}
		if err := apply(ctx, db, string(body), s.n); err != nil {
			return fmt.Errorf("migration %s: %w", s.name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, body string, n int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(n)); err != nil {
		return err
	}
	return tx.Commit()
}

// OpenReadOnly opens an existing file for reading only, as the CLI's
// queries do while the proxy writes: WAL lets them read a consistent
// snapshot without blocking the writer.
func OpenReadOnly(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/internal/sqlitedb"
)

// The hash chain covers the rows of audit.db, not its schema, and anyone
// who can write the file can rewrite that too: a calls view that leaves
// out a tool's rows, a trigger that edits rows as they are written, the
// events table swapped for a view. So every Drawbridge reader and writer
// compares the file's schema (each table, view, trigger and index in
// sqlite_master, and PRAGMA user_version) with the one the migrations
// create, and refuses a file that differs, naming each object added,
// dropped or changed; verify reports the same as tampering.
//
// What the file cannot carry is left out: TEMP objects live in one
// connection (a sqlite3 user's ~/.sqliterc can make one, Drawbridge's
// connections have none), and no PRAGMA but user_version persists in a
// way that changes what a query returns. sqlite_stat tables (ANALYZE)
// steer query plans, not results, and are not compared.

// ErrSchemaChanged is what a ledger whose schema differs from Drawbridge's
// is refused with (wrapped in a *SchemaError naming the differences).
var ErrSchemaChanged = errors.New("audit.db's schema is not the one Drawbridge created")

// SchemaError names how a ledger's schema differs from Drawbridge's.
type SchemaError struct {
	// Changes are the differences, one per object: `view "calls" changed`.
	Changes []string
}

func (e *SchemaError) Error() string {
	return ErrSchemaChanged.Error() + ": " + strings.Join(e.Changes, "; ") +
		" (changed outside Drawbridge; its readers, serve and prune refuse the file until it is restored)"
}

// Is makes errors.Is(err, ErrSchemaChanged) hold.
func (e *SchemaError) Is(target error) bool { return target == ErrSchemaChanged }

// queryer is a *sql.DB, *sql.Conn or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaObject is one row of sqlite_master, its SQL with whitespace
// normalised.
type schemaObject struct {
	Type, Name, Table, SQL string
}

// schema is a database's schema objects by type and name, and its
// migration version.
type schema struct {
	version int
	objects map[string]schemaObject
}

// readSchema reads q's schema.
func readSchema(ctx context.Context, q queryer) (schema, error) {
	s := schema{objects: map[string]schemaObject{}}
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&s.version); err != nil {
		return s, fmt.Errorf("read audit schema version: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT type, name, tbl_name, sql FROM sqlite_master
		WHERE name NOT LIKE 'sqlite\_stat%' ESCAPE '\'`)
	if err != nil {
		return s, fmt.Errorf("read audit schema: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o schemaObject
		var text sql.NullString // NULL for automatic indexes
		if err := rows.Scan(&o.Type, &o.Name, &o.Table, &text); err != nil {
			return s, fmt.Errorf("read audit schema: %w", err)
		}
		o.SQL = strings.Join(strings.Fields(text.String), " ")
		s.objects[o.Type+" "+o.Name] = o
	}
	return s, rows.Err()
}

// wantSchema is the schema the migrations create, read from an in-memory
// database they are applied to: it cannot drift from them.
func wantSchema(ctx context.Context) (schema, error) {
	db, err := sql.Open("sqlite3", "file::memory:?_foreign_keys=on")
	if err != nil {
		return schema{}, fmt.Errorf("build the audit schema: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	if err := sqlitedb.Migrate(ctx, db, migrations, "migrations"); err != nil {
		return schema{}, fmt.Errorf("build the audit schema: %w", err)
	}
	return readSchema(ctx, db)
}

// diff names each difference of got from s, in a stable order.
func (s schema) diff(got schema) []string {
	var out []string
	for k, w := range s.objects {
		g, ok := got.objects[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s %q dropped", w.Type, w.Name))
		case g.Table != w.Table:
			out = append(out, fmt.Sprintf("%s %q changed (now on %q, not %q)", w.Type, w.Name, g.Table, w.Table))
		case g.SQL != w.SQL:
			out = append(out, fmt.Sprintf("%s %q changed", w.Type, w.Name))
		}
	}
	for k, g := range got.objects {
		if _, ok := s.objects[k]; !ok {
			out = append(out, fmt.Sprintf("%s %q added (on %q)", g.Type, g.Name, g.Table))
		}
	}
	sort.Strings(out)
	switch {
	case got.version < s.version:
		out = append([]string{fmt.Sprintf("schema version %d, want %d (an older Drawbridge's: serve with this one migrates it)",
			got.version, s.version)}, out...)
	case got.version > s.version:
		out = append([]string{fmt.Sprintf("schema version %d, want %d (a newer Drawbridge's)", got.version, s.version)}, out...)
	}
	return out
}

// check reads q's schema and returns a *SchemaError if it is not s.
func (s schema) check(ctx context.Context, q queryer) error {
	got, err := readSchema(ctx, q)
	if err != nil {
		return err
	}
	if d := s.diff(got); len(d) > 0 {
		return &SchemaError{Changes: d}
	}
	return nil
}

// CheckSchema reports how the ledger's schema differs from Drawbridge's:
// nil when it does not, a *SchemaError when it does.
func (r *Reader) CheckSchema(ctx context.Context) error {
	return r.read(ctx, func(*sql.Tx) error { return nil })
}

// read runs fn in one read transaction after checking, in it, the schema
// fn's queries see: a reader is never answered by a view, trigger or index
// someone else wrote, even one written between the check and the query.
func (r *Reader) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	defer tx.Rollback()
	if err := r.want.check(ctx, tx); err != nil {
		return err
	}
	return fn(tx)
}

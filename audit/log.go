package audit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/sqlitedb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrClosed is returned for events offered after Close.
var ErrClosed = errors.New("audit log closed")

// Options configure a Log.
type Options struct {
	// Path of audit.db.
	Path string
	// Sync is "normal" (default: a commit survives a killed process) or
	// "full" (it survives power loss: fsync per batch).
	Sync string
	// QueueSize bounds the events waiting for the writer; producers wait
	// when it is full. Default 8192.
	QueueSize int
	// MaxBatch bounds one transaction. Default 1024.
	MaxBatch int
	Logger   *slog.Logger
	// Key returns the ledger key, which keys the chain and authenticates
	// prune anchors, given the seq of the next event (for a key made now,
	// its From). nil, or a nil key, writes the unkeyed chain (tests, and
	// ledgers before keying).
	Key func(next int64) (*ChainKey, error)
	// OnCommit, when set, is told of each batch the writer commits (or
	// fails to): how many events and how long the commit took (metrics).
	OnCommit func(events int, took time.Duration, err error)
}

// Log is an open ledger with its single writer. Record and Enqueue are safe
// for concurrent use.
type Log struct {
	db    *sql.DB
	conn  *sql.Conn                      // the writer's own connection
	stmts map[int]driver.StmtExecContext // multi-row inserts by row count, prepared on conn
	log   *slog.Logger
	queue chan *pending
	max   int

	onCommit func(int, time.Duration, error)

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	// The writer's state; only the writer goroutine touches these.
	seq  int64
	head string
	row  row       // one INSERT's arguments and the hashing scratch, reused
	mac  hash.Hash // the keyed hasher, nil for the unkeyed chain
	key  *ChainKey
	// witnessed is the head as of the last commit, for Head (any goroutine).
	witnessed atomic.Pointer[Head]

	mu      sync.Mutex
	lastErr error // the last batch's failure, nil once one succeeds

	// caughtUp is set by the background checkpoint after its passes; the
	// writer then finishes the job (finishCheckpoint).
	caughtUp atomic.Bool

	// want is the schema the migrations create; schemaVersion is the
	// file's PRAGMA schema_version when it was last compared with it
	// (checkpoint goroutine only); schemaErr is set while the file's
	// schema differs, found by that comparison.
	want          schema
	schemaVersion int64
	schemaErr     atomic.Pointer[SchemaError]
}

type pending struct {
	ev   *Event
	done chan error // nil: nobody waits
}

const insertSQL = `INSERT INTO events (seq, at, kind, call_id, request_id, client, server, method, tool, arguments,
	decision, reason, policy_mode, policy_us, approval_id, approved_by, status, error, result, upstream_ms,
	duration_ms, protocol_version, session_id, remote_addr, prev_hash, hash) VALUES `

// rowsPerInsert is how many events one INSERT statement carries: one
// statement per row costs more in the driver than SQLite spends on the row.
const rowsPerInsert = 32

// writer is the driver-level side of the writer's own connection: the
// ledger's hot path talks to go-sqlite3 directly, without database/sql's
// per-argument conversion and per-call allocations.
type writer interface {
	driver.ExecerContext
	driver.ConnPrepareContext
}

// stmtFor returns the insert statement for n rows, preparing it once.
func (l *Log) stmtFor(ctx context.Context, w writer, n int) (driver.StmtExecContext, error) {
	if st, ok := l.stmts[n]; ok {
		return st, nil
	}
	row := "(?" + strings.Repeat(", ?", columnCount-1) + ")"
	st, err := w.PrepareContext(ctx, insertSQL+row+strings.Repeat(", "+row, n-1))
	if err != nil {
		return nil, fmt.Errorf("prepare audit insert: %w", err)
	}
	l.stmts[n] = st.(driver.StmtExecContext)
	return l.stmts[n], nil
}

// Open opens (creating, migrating) audit.db and starts its writer.
func Open(ctx context.Context, opts Options) (*Log, error) {
	sync := sqlitedb.Normal
	switch opts.Sync {
	case "", "normal":
	case "full":
		sync = sqlitedb.Full
	default:
		return nil, fmt.Errorf("audit sync %q: use normal or full", opts.Sync)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	want, err := wantSchema(ctx)
	if err != nil {
		return nil, err
	}
	db, err := sqlitedb.OpenSync(ctx, opts.Path, migrations, "migrations", sync)
	if err != nil {
		return nil, err
	}
	l := &Log{db: db, log: opts.Logger, queue: make(chan *pending, opts.QueueSize), max: opts.MaxBatch, onCommit: opts.OnCommit,
		stop: make(chan struct{}), done: make(chan struct{}), want: want}
	// A ledger whose schema was changed is not written to: a trigger can
	// rewrite what is inserted, a view what is read back.
	if err := l.checkSchema(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open audit log %s: %w", opts.Path, err)
	}
	if err := l.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if opts.Key != nil {
		k, err := opts.Key(l.seq + 1)
		if err != nil {
			l.conn.Close()
			db.Close()
			return nil, fmt.Errorf("ledger key: %w", err)
		}
		l.key, l.mac = k, k.hasher()
	}
	l.witnessed.Store(&Head{Seq: l.seq, Hash: l.head})
	interrupted, err := l.interrupted(ctx)
	if err != nil {
		l.conn.Close()
		db.Close()
		return nil, err
	}
	go l.write()
	for _, ev := range interrupted {
		l.Enqueue(ev)
	}
	if len(interrupted) > 0 {
		opts.Logger.Warn("calls left without an outcome by the last run closed as interrupted", "calls", len(interrupted))
	}
	go l.checkpoint(checkpointEvery)
	return l, nil
}

// checkpointEvery is how often the WAL is folded into the database file.
var checkpointEvery = time.Second

// checkpoint folds the WAL into the database in the background, on a
// connection of its own, without blocking the writer (PASSIVE), then has
// the writer finish the job (finishCheckpoint). Each pass copies what the
// writer added during the one before, fsyncs included; passes repeat until
// one is quick, so what is left for the writer is a millisecond's worth.
func (l *Log) checkpoint(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		if l.checkpointPasses() {
			l.caughtUp.Store(true)
		}
		l.recheckSchema()
	}
}

// checkSchema compares the file's schema with the migrations' and
// remembers the schema_version it compared.
func (l *Log) checkSchema(ctx context.Context) error {
	if err := l.db.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&l.schemaVersion); err != nil {
		return fmt.Errorf("read audit schema version: %w", err)
	}
	return l.want.check(ctx, l.db)
}

// recheckSchema, run with each checkpoint, finds a schema changed under
// the running writer (SQLite bumps schema_version with every change). It
// is logged as an error and fails Check (/readyz shows it) until it is
// restored. Writing goes on: a trigger cannot change the row SQLite
// inserts, what else it does to rows the chain shows, and every reader
// and verify refuse the file meanwhile.
func (l *Log) recheckSchema() {
	before := l.schemaVersion
	var version int64
	if err := l.db.QueryRow("PRAGMA schema_version").Scan(&version); err != nil || version == before {
		return
	}
	var changed *SchemaError
	err := l.checkSchema(context.Background())
	switch {
	case errors.As(err, &changed):
		l.log.Error("audit.db's schema was changed while Drawbridge writes it; its readers refuse it until it is restored", "err", err)
		l.schemaErr.Store(changed)
	case err != nil:
		l.log.Warn("audit schema check", "err", err)
		l.schemaVersion = before // check again next time
	case l.schemaErr.Swap(nil) != nil:
		l.log.Info("audit.db's schema is Drawbridge's again")
	}
}

// checkpointPasses runs up to six PASSIVE checkpoints, until one is quick.
// It reports whether they ran; a failure is logged (and the writer is not
// asked to finish: it would fail alike).
func (l *Log) checkpointPasses() bool {
	for range 6 {
		began := time.Now()
		if _, err := l.db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			l.log.Warn("audit checkpoint", "err", err)
			return false
		}
		if time.Since(began) < 2*time.Millisecond {
			break
		}
	}
	return true
}

// interruptedWindow is how far back from the chain's head a start looks
// for calls left without an outcome: a crash leaves them at the end.
const interruptedWindow = 100000

// interrupted returns a completion for each call the last run decided and
// sent upstream but never recorded the outcome of (the process died in
// between), so no call is left without one.
func (l *Log) interrupted(ctx context.Context) ([]*Event, error) {
	rows, err := l.conn.QueryContext(ctx, `SELECT call_id, request_id, client, server, method, tool FROM events e
		WHERE seq > ? AND kind = 'decided' AND status IS NULL AND call_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM events c WHERE c.call_id = e.call_id AND c.kind = 'completed')`, l.seq-interruptedWindow)
	if err != nil {
		return nil, fmt.Errorf("find interrupted calls: %w", err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		var call, req, client, server, method, tool sql.NullString
		if err := rows.Scan(&call, &req, &client, &server, &method, &tool); err != nil {
			return nil, fmt.Errorf("find interrupted calls: %w", err)
		}
		out = append(out, &Event{Kind: KindCompleted, CallID: call.String, RequestID: req.String, Client: client.String,
			Server: server.String, Method: method.String, Tool: tool.String, Status: StatusInterrupted,
			Error: "Drawbridge stopped after this call was sent upstream and before its outcome was recorded; the upstream may have run it"})
	}
	return out, rows.Err()
}

func (l *Log) prepare(ctx context.Context) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open audit writer: %w", err)
	}
	l.conn = conn
	err = conn.QueryRowContext(ctx, `SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1`).Scan(&l.seq, &l.head)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		l.seq, l.head = 0, genesis
	case err != nil:
		return fmt.Errorf("read audit chain head: %w", err)
	}
	// Checkpoints (copying the WAL into the database file, with an fsync)
	// are mostly taken off the writer (see checkpoint): SQLite's automatic
	// ones ran inside commits and stalled every waiting call for their
	// duration.
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0"); err != nil {
		return fmt.Errorf("audit writer: %w", err)
	}
	// When the WAL starts over, its file is cut back to this size: a burst
	// does not leave it large for good.
	if _, err := conn.ExecContext(ctx, "PRAGMA journal_size_limit = 67108864"); err != nil {
		return fmt.Errorf("audit writer: %w", err)
	}
	l.stmts = map[int]driver.StmtExecContext{}
	return conn.Raw(func(dc any) error {
		if _, ok := dc.(writer); !ok {
			return fmt.Errorf("audit writer: driver connection %T cannot execute directly", dc)
		}
		return nil
	})
}

// Record writes ev and returns once it is committed (or could not be). The
// call path uses it for the decision event: nothing goes upstream that is
// not on disk first.
func (l *Log) Record(ctx context.Context, ev *Event) error {
	p := &pending{ev: ev, done: make(chan error, 1)}
	if err := l.offer(ctx, p); err != nil {
		return err
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit write: %w", ctx.Err())
	}
}

// Enqueue writes ev without waiting for the commit, for events that follow
// what they record (completions, lists, rejections). It waits only while
// the queue is full.
func (l *Log) Enqueue(ev *Event) {
	_ = l.offer(context.Background(), &pending{ev: ev})
}

func (l *Log) offer(ctx context.Context, p *pending) error {
	if p.ev.At.IsZero() {
		p.ev.At = time.Now()
	}
	p.ev.clip()
	select {
	case <-l.stop:
		return ErrClosed
	default:
	}
	select {
	case l.queue <- p:
		return nil
	case <-l.stop:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("audit queue: %w", ctx.Err())
	}
}

// QueueDepth is how many events wait for the writer.
func (l *Log) QueueDepth() int { return len(l.queue) }

// write is the one writer: it takes what is queued, up to MaxBatch events,
// commits them in one transaction and tells each waiter its own outcome.
func (l *Log) write() {
	defer close(l.done)
	batch := make([]*pending, 0, l.max)
	for {
		var first *pending
		select {
		case first = <-l.queue:
		case <-l.stop:
			// Drain what was accepted before Close.
			select {
			case first = <-l.queue:
			default:
				return
			}
		}
		batch = append(batch[:0], first)
		batch = l.fill(batch)
		t := time.Now()
		err := l.commit(batch)
		if l.onCommit != nil {
			l.onCommit(len(batch), time.Since(t), err)
		}
		l.mu.Lock()
		l.lastErr = err
		l.mu.Unlock()
		if err != nil {
			l.log.Error("audit write failed", "events", len(batch), "err", err)
		}
		for _, p := range batch {
			if p.done != nil {
				p.done <- err
			}
		}
		if l.caughtUp.Swap(false) {
			l.finishCheckpoint()
		}
	}
}

// finishCheckpoint copies into the database what was written to the WAL
// since the background checkpoint's last pass. Between the writer's
// transactions nothing new arrives, so the WAL is then wholly copied and
// the next transaction starts it over from its beginning. A checkpoint
// that races the writer never gets there: under sustained load the WAL
// grew without bound (35 MB a second through the proxy at 4k calls/s).
func (l *Log) finishCheckpoint() {
	err := l.conn.Raw(func(dc any) error {
		_, err := dc.(writer).ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)", nil)
		return err
	})
	if err != nil {
		l.log.Warn("audit checkpoint", "err", err)
	}
}

// lingerFor is how long a batch that nobody waits for (completions,
// lists, rejections) may wait for company before it is committed: those
// events then ride along with the next decision's commit instead of paying
// for one of their own.
const lingerFor = 2 * time.Millisecond

// yieldsFor is how many times a batch that a caller waits for yields the
// processor while the queue is empty, before it is committed: callers that
// are running at that moment reach the ledger and share the commit. On an
// idle machine a yield returns at once and adds nothing to the wait.
const yieldsFor = 2

// fill adds what is queued to batch, up to MaxBatch. A batch with a waiter
// yields yieldsFor times for company; one with no waiter lingers, until a
// waiter's event arrives or lingerFor has passed.
func (l *Log) fill(batch []*pending) []*pending {
	waited := batch[0].done != nil
	yields := 0
	var deadline <-chan time.Time
	for len(batch) < l.max {
		select {
		case p := <-l.queue:
			batch = append(batch, p)
			waited = waited || p.done != nil
			continue
		default:
		}
		if waited {
			if yields == yieldsFor {
				return batch
			}
			yields++
			runtime.Gosched()
			continue
		}
		if deadline == nil {
			deadline = time.After(lingerFor)
		}
		select {
		case p := <-l.queue:
			batch = append(batch, p)
			waited = waited || p.done != nil
		case <-deadline:
			return batch
		case <-l.stop:
			return batch
		}
	}
	return batch
}

func (l *Log) commit(batch []*pending) error {
	return l.conn.Raw(func(dc any) error { return l.commitOn(dc.(writer), batch) })
}

// commitOn writes batch in one transaction, driven by hand on the
// writer's own connection so the insert statements, prepared once on it,
// are reused as they are.
func (l *Log) commitOn(w writer, batch []*pending) error {
	ctx := context.Background()
	seq, head := l.seq, l.head
	// A batch that fits one statement commits with it (autocommit): no
	// BEGIN and COMMIT to parse and run, one call into SQLite. Measured in
	// the proxy under load, that is 12 µs of the writer's ~180 µs a commit.
	tx := len(batch) > rowsPerInsert
	if tx {
		if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE", nil); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
	}
	r := &l.row
	defer func() { clear(r.named[:cap(r.named)]) }() // no value of the batch is kept past it
	for start := 0; start < len(batch); start += rowsPerInsert {
		chunk := batch[start:min(start+rowsPerInsert, len(batch))]
		r.named, r.ord = r.named[:0], 0
		for _, p := range chunk {
			e := p.ev
			seq++
			e.Seq = seq
			e.seal(head, r, l.mac)
			head = e.Hash
		}
		st, err := l.stmtFor(ctx, w, len(chunk))
		if err == nil {
			_, err = st.ExecContext(ctx, r.named)
		}
		if err != nil {
			if tx {
				l.rollback(w)
			}
			return fmt.Errorf("insert: %w", err)
		}
	}
	if tx {
		if _, err := w.ExecContext(ctx, "COMMIT", nil); err != nil {
			l.rollback(w)
			return fmt.Errorf("commit: %w", err)
		}
	}
	l.seq, l.head = seq, head
	l.witnessed.Store(&Head{Seq: seq, Hash: head})
	return nil
}

func (l *Log) rollback(w writer) {
	if _, err := w.ExecContext(context.Background(), "ROLLBACK", nil); err != nil {
		l.log.Warn("audit rollback", "err", err)
	}
}

// Check reports the writer's health for /readyz.
func (l *Log) Check() (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr != nil {
		return false, "last write failed: " + l.lastErr.Error()
	}
	if changed := l.schemaErr.Load(); changed != nil {
		return false, changed.Error()
	}
	return true, "writing"
}

// Close stops accepting events, commits what was accepted, and closes the
// file.
func (l *Log) Close() error {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.done
	l.conn.Raw(func(any) error {
		for _, st := range l.stmts {
			st.(driver.Stmt).Close()
		}
		return nil
	})
	if _, err := l.conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		l.log.Warn("audit checkpoint", "err", err)
	}
	l.conn.Close()
	return l.db.Close()
}

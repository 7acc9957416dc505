package secrets

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"
)

// Vault serves decrypted secrets from memory and keeps them current: it
// re-reads secrets.db when another process (drawbridge secret set) changed
// it, without a restart.
type Vault struct {
	store *Store
	log   *slog.Logger
	snap  atomic.Pointer[map[scopedName]Secret]
	// staged holds new values while changed runs, before they are served:
	// All includes them, so a guard rebuilt by changed covers a value
	// before any request can use it.
	staged atomic.Pointer[map[scopedName]Secret]
	// changed runs on every reload (the proxy rebuilds its guard).
	changed func()
	// broken is why the last reload failed: the store holds secrets the
	// vault (and so the leak guard) does not know. nil when current.
	broken atomic.Pointer[error]
}

// NewVault loads every secret.
func NewVault(ctx context.Context, store *Store, log *slog.Logger) (*Vault, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &Vault{store: store, log: log}
	if err := v.reload(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// reload re-reads every secret. A value that does not decrypt under the
// key in use may mean the key was rotated by another process: the vault
// follows the new key and tries once more. What still fails leaves the
// vault broken (Err) until a reload succeeds.
func (v *Vault) reload(ctx context.Context) error {
	all, err := v.store.all(ctx, v.store.db)
	if err != nil {
		if ferr := v.store.followKey(ctx); ferr == nil {
			all, err = v.store.all(ctx, v.store.db)
		} else {
			err = fmt.Errorf("%w (and the master key could not be re-read: %v)", err, ferr)
		}
	}
	if err != nil {
		v.broken.Store(&err)
		return err
	}
	if v.changed != nil && v.snap.Load() != nil {
		v.staged.Store(&all)
		v.changed()
	}
	// The guard keeps the previous values until the next reload: a call
	// that took one just before the swap may still be answering.
	v.snap.Store(&all)
	v.staged.Store(nil)
	v.broken.Store(nil)
	return nil
}

// Err says why the vault is not current (nil when it is): secrets.db holds
// values it could not read, so neither credentials nor the leak guard can
// be trusted to be complete. The proxy refuses every call while it is set.
func (v *Vault) Err() error {
	if e := v.broken.Load(); e != nil {
		return *e
	}
	return nil
}

// OnChange sets what runs after the secrets are re-read.
func (v *Vault) OnChange(f func()) { v.changed = f }

// Resolve returns the secret name for client: the one scoped to that
// client when there is one, else the unscoped one.
func (v *Vault) Resolve(name, client string) (Secret, bool) {
	m := *v.snap.Load()
	if client != "" {
		if s, ok := m[scopedName{name, client}]; ok {
			return s, true
		}
	}
	s, ok := m[scopedName{name, ""}]
	return s, ok
}

// Has reports whether name exists, in any scope.
func (v *Vault) Has(name string) bool {
	for k := range *v.snap.Load() {
		if k.name == name {
			return true
		}
	}
	return false
}

// Clients lists the clients some secret is scoped to.
func (v *Vault) Clients() []string {
	seen := map[string]bool{}
	var out []string
	for k := range *v.snap.Load() {
		if k.client != "" && !seen[k.client] {
			seen[k.client] = true
			out = append(out, k.client)
		}
	}
	sort.Strings(out)
	return out
}

// All returns every secret value with its name, for the guard: the ones
// served and, during a reload, the ones about to be.
func (v *Vault) All() []Named {
	var out []Named
	for _, m := range []*map[scopedName]Secret{v.snap.Load(), v.staged.Load()} {
		if m == nil {
			continue
		}
		for k, s := range *m {
			out = append(out, Named{Name: k.name, Value: s})
		}
	}
	return out
}

// Watch re-reads the secrets whenever secrets.db changes, checking every
// interval, until ctx ends.
func (v *Vault) Watch(ctx context.Context, interval time.Duration) {
	conn, err := v.store.db.Conn(ctx)
	if err != nil {
		v.log.Error("secrets watch", "err", err)
		return
	}
	defer conn.Close()
	version := func() int64 {
		var n int64
		_ = conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&n)
		return n
	}
	last := version()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if now := version(); now != last {
			last = now
			if err := v.reload(ctx); err != nil {
				v.log.Error("secrets reload failed; the previous secrets stay in use", "err", err)
				continue
			}
			v.log.Info("secrets reloaded")
		}
	}
}

package proxy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

// Vault is where credentials come from. secrets.Vault implements it.
type Vault interface {
	// Resolve returns name for client: its own scoped value, else the
	// unscoped one.
	Resolve(name, client string) (secrets.Secret, bool)
	// All lists every stored value, for the leak guard.
	All() []secrets.Named
	// Clients lists the clients some secret is scoped to.
	Clients() []string
	// OnChange sets what runs when the stored secrets change.
	OnChange(func())
	// Err says why the vault is not current (nil when it is): the store
	// holds values it could not read, so the leak guard may be incomplete.
	Err() error
}

// noVault is the vault of a Drawbridge without secrets.db: it has nothing.
type noVault struct{}

func (noVault) Resolve(string, string) (secrets.Secret, bool) { return secrets.Secret{}, false }
func (noVault) All() []secrets.Named                          { return nil }
func (noVault) Clients() []string                             { return nil }
func (noVault) OnChange(func())                               {}
func (noVault) Err() error                                    { return nil }

// scrubber is the leak guard as the proxy uses it: every stored secret and
// every credential the config yields, in every encoding the guard knows,
// replaced by [REDACTED:NAME] wherever text leaves Drawbridge: results,
// upstream errors, logs, the ledger. It is rebuilt when secrets change.
type scrubber struct {
	g atomic.Pointer[secrets.Guard]
	// redactions counts the texts the guard changed (metrics).
	redactions atomic.Uint64
	// stale, when set, says why the guard may be older than the vault.
	stale func() error
}

// ErrVaultStale refuses calls while the leak guard may be older than the
// vault.
var ErrVaultStale = errors.New("drawbridge cannot read its current secrets, so it cannot guard against their leaking; calls are refused until it can")

// check refuses to let anything go upstream while the guard is stale.
func (s *scrubber) check() error {
	if s == nil || s.stale == nil {
		return nil
	}
	if err := s.stale(); err != nil {
		return fmt.Errorf("%w: %w", ErrVaultStale, err)
	}
	return nil
}

// String redacts s.
func (s *scrubber) String(v string) string {
	if s == nil {
		return v
	}
	r := s.g.Load().Redact(v)
	if r != v {
		s.redactions.Add(1)
	}
	return r
}

// Bytes redacts b, returning b itself when nothing matched.
func (s *scrubber) Bytes(b []byte) []byte {
	if s == nil {
		return b
	}
	r := s.g.Load().RedactBytes(b)
	if len(r) != len(b) || (len(b) > 0 && &r[0] != &b[0]) {
		s.redactions.Add(1)
	}
	return r
}

// Leaks names the secrets found in v.
func (s *scrubber) Leaks(v string) []string { return s.g.Load().Find(v) }

// lookupFor resolves ${secret:NAME} for one client.
func (s *Server) lookupFor(client string) config.Lookup { return vaultLookup(s.vault, client) }

func vaultLookup(v Vault, client string) config.Lookup {
	return func(name string) (secrets.Secret, bool) { return v.Resolve(name, client) }
}

// rebuildGuard collects what must never leave: the stored secrets, the env
// and file values the config read, and every credential the config's
// templates expand to (the servers' env, headers and auth, tracing.headers
// and public.api_key), for the unscoped case and each client that has its
// own secrets.
func (s *Server) rebuildGuard() {
	named := s.vault.All()
	clients := append([]string{""}, s.vault.Clients()...)
	add := func(name, v string) {
		if v != "" {
			named = append(named, secrets.Named{Name: name, Value: secrets.New(v)})
		}
	}
	for label, sc := range s.cfg.Servers {
		for key, t := range sc.Env {
			for _, v := range t.Resolved() {
				add(label+".env."+key, v.Reveal())
			}
		}
		for h, t := range sc.Headers {
			for _, v := range t.Resolved() {
				add(label+"."+h, v.Reveal())
			}
			for _, c := range clients {
				v, _ := t.Expand(s.lookupFor(c))
				add(label+"."+h, v)
			}
		}
		if b := sc.Auth.Basic; b != nil {
			for _, c := range clients {
				if v, err := basicValue(b, s.lookupFor(c)); err == nil {
					add(label+".Authorization", "Basic "+v)
					add(label+".Authorization", v)
				}
			}
		}
		if h := sc.Auth.HMAC; h != nil {
			for _, c := range clients {
				v, _ := h.Key.Expand(s.lookupFor(c))
				add(label+".auth.hmac", v)
			}
		}
	}
	// Drawbridge's own credentials: what it sends the trace collector and
	// the tunnel's control plane.
	global := map[string]config.Template{"public.api_key": s.cfg.Public.APIKey}
	for h, t := range s.cfg.Tracing.Headers {
		global["tracing.headers."+h] = t
	}
	for name, t := range global {
		for _, v := range t.Resolved() {
			add(name, v.Reveal())
		}
		for _, c := range clients {
			v, _ := t.Expand(s.lookupFor(c))
			add(name, v)
		}
	}
	s.scrub.g.Store(secrets.NewGuard(named))
}

// basicValue is the base64 part of a Basic Authorization header.
func basicValue(b *config.BasicAuth, lookup config.Lookup) (string, error) {
	user, err := b.Username.Expand(lookup)
	if err != nil {
		return "", err
	}
	pass, err := b.Password.Expand(lookup)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)), nil
}

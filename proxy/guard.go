package proxy

import (
	"encoding/base64"
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
}

var _ Vault = (*secrets.Vault)(nil)

// noVault is the vault of a Drawbridge without secrets.db: it has nothing.
type noVault struct{}

func (noVault) Resolve(string, string) (secrets.Secret, bool) { return secrets.Secret{}, false }
func (noVault) All() []secrets.Named                          { return nil }
func (noVault) Clients() []string                             { return nil }
func (noVault) OnChange(func())                               {}

// scrubber is the leak guard as the proxy uses it: every stored secret and
// every credential the config yields, in every encoding the guard knows,
// replaced by [REDACTED:NAME] wherever text leaves Drawbridge: results,
// upstream errors, logs, the ledger. It is rebuilt when secrets change.
type scrubber struct {
	g atomic.Pointer[secrets.Guard]
}

// String redacts s.
func (s *scrubber) String(v string) string {
	if s == nil {
		return v
	}
	return s.g.Load().Redact(v)
}

// Bytes redacts b, returning b itself when nothing matched.
func (s *scrubber) Bytes(b []byte) []byte {
	if s == nil {
		return b
	}
	return s.g.Load().RedactBytes(b)
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
// templates expand to, for the unscoped case and each client that has its
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
		for key, t := range sc.EnvT {
			for _, v := range t.Resolved() {
				add(label+".env."+key, v.Reveal())
			}
		}
		for h, t := range sc.HeadersT {
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
				v, _ := h.KeyT.Expand(s.lookupFor(c))
				add(label+".auth.hmac", v)
			}
		}
	}
	s.scrub.g.Store(secrets.NewGuard(named))
}

// basicValue is the base64 part of a Basic Authorization header.
func basicValue(b *config.BasicAuth, lookup config.Lookup) (string, error) {
	user, err := b.UsernameT.Expand(lookup)
	if err != nil {
		return "", err
	}
	pass, err := b.PasswordT.Expand(lookup)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)), nil
}

package main

import (
	"context"
	"fmt"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

// ledgerKeyName is the vault entry that holds the ledger key: sealed under
// the master key in secrets.db, never in audit.db. Removing it leaves the
// keyed part of the ledger unverifiable.
const ledgerKeyName = "DRAWBRIDGE_LEDGER_KEY"

// errLedgerKeyNotUserSecret refuses secret set and rm of the ledger key:
// Drawbridge made it, and without it the keyed ledger cannot be verified.
func errLedgerKeyNotUserSecret(verb string) error {
	return fmt.Errorf("secret %s %s: refused: it is not a user secret but the ledger key, which Drawbridge made to key "+
		"audit.db's hash chain; audit verify needs it to check the ledger, and prune to authenticate its anchors "+
		"(secret rotate-key re-encrypts it with the rest)", verb, ledgerKeyName)
}

// storedLedgerKey returns the ledger key in vault, or nil when there is
// none (a ledger that was never keyed, or no vault at hand).
func storedLedgerKey(vault *secrets.Vault) (*audit.ChainKey, error) {
	if vault == nil {
		return nil, nil
	}
	s, ok := vault.Resolve(ledgerKeyName, "")
	if !ok {
		return nil, nil
	}
	k, err := audit.ParseChainKey(s.Reveal())
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", ledgerKeyName, err)
	}
	return k, nil
}

// ledgerKey is audit.Options.Key for serve: the stored key, or a new one
// made for a ledger whose next event is next, stored before any event is
// written with it.
func ledgerKey(ctx context.Context, store *secrets.Store, vault *secrets.Vault) func(next int64) (*audit.ChainKey, error) {
	return func(next int64) (*audit.ChainKey, error) {
		if k, err := storedLedgerKey(vault); k != nil || err != nil {
			return k, err
		}
		k := audit.NewChainKey(next)
		if err := store.Set(ctx, ledgerKeyName, "", secrets.New(k.Encode())); err != nil {
			return nil, fmt.Errorf("store the ledger key: %w", err)
		}
		return k, nil
	}
}

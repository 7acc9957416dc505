// Package secrets keeps upstream credentials: encrypted at rest in
// secrets.db under a master key that never leaves the machine, held in
// memory as values that never print themselves (secrets/secret), and
// guarded on the way out by a scanner that redacts them, in every common
// encoding, from anything Drawbridge sends, logs or records.
package secrets

import "github.com/drawbridge-mcp/drawbridge/secrets/secret"

// Redacted is how a Secret prints.
const Redacted = secret.Redacted

// Secret is a credential value that never prints itself (secret.Secret).
type Secret = secret.Secret

// New wraps v.
func New(v string) Secret { return secret.New(v) }

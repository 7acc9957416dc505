// Package secrets keeps upstream credentials: encrypted at rest in
// secrets.db under a master key that never leaves the machine, held in
// memory as values that never print themselves, and guarded on the way out
// by a scanner that redacts them, in every common encoding, from anything
// Drawbridge sends, logs or records.
package secrets

import (
	"fmt"
	"log/slog"
)

// Redacted is how a Secret prints.
const Redacted = "[redacted]"

// Secret is a credential value. Printing, logging or marshalling it gives
// [redacted]; only Reveal gives the value, where it leaves for its upstream.
type Secret struct{ v string }

// New wraps v.
func New(v string) Secret { return Secret{v} }

// Reveal returns the value.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether there is no value.
func (s Secret) Empty() bool { return s.v == "" }

func (Secret) String() string               { return Redacted }
func (Secret) GoString() string             { return Redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
func (Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }

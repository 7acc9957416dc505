// Package secret holds the Secret type: a credential value that never
// prints itself. It depends on nothing of Drawbridge's, so the config
// package can hold resolved credentials without linking the encrypted
// store (and its cgo SQLite).
package secret

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

// Package policy decides, per call, whether a tool may run: it embeds OPA,
// compiles the user's Rego once, prepares the decision query once, and
// evaluates it with a pre-converted input. Anything but a well-formed
// decision is a deny. The directory is watched and reloaded atomically: a
// new policy serves only if it compiles and its tests pass.
package policy

import (
	"errors"
	"time"
)

// Actions a decision may take.
const (
	Allow   = "allow"
	Deny    = "deny"
	Approve = "approve"
)

// DefaultQuery is the decision every policy answers.
const DefaultQuery = "data.drawbridge.decision"

// DefaultOutputQuery is the optional rule over results.
const DefaultOutputQuery = "data.drawbridge.output"

// DefaultTimeout bounds one evaluation.
const DefaultTimeout = 100 * time.Millisecond

// Decision is a policy's answer for one call or one listed tool.
type Decision struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
	// Took is how long the evaluation ran.
	Took time.Duration `json:"-"`
}

// ErrPolicy marks a decision the policy did not make properly: undefined,
// malformed, an evaluation error or a timeout. Decide then returns a deny
// whose reason says "policy error", and the error carries the detail for the
// log and the audit row.
var ErrPolicy = errors.New("policy error")

func policyError(detail string) (Decision, error) {
	return Decision{Action: Deny, Reason: "policy error (see the Drawbridge log)"}, errors.Join(ErrPolicy, errors.New(detail))
}

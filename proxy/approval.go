package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/policy"
)

// Approvals holds calls for a person (internal/wire adapts approval.Broker).
type Approvals interface {
	// Granted finds a standing grant for exactly this call by this
	// client's token.
	Granted(ctx context.Context, c HeldCall) (Ruling, bool)
	// Hold records the call as pending and waits for a person, the
	// approval timeout or ctx; tick (when not nil) is called every few
	// seconds while it waits.
	Hold(ctx context.Context, c HeldCall, tick func(id string, waited, timeout time.Duration)) (Ruling, error)
}

// HeldCall is a call the policy sent to a person.
type HeldCall struct {
	Client, ClientID string // the token's name and identity (TokenID)
	Server, Tool     string
	Args             json.RawMessage // canonical, as forwarded: what a grant covers
	Shown            string          // the arguments as recorded (redacted), for the person
	Reason           string          // the policy's reason, redacted
}

// Ruling is where an approval stands.
type Ruling struct {
	ID        string
	Status    string // RulingApproved, RulingDenied or RulingPending
	DecidedBy string
	Note      string // a denial's reason
}

// Ruling statuses.
const (
	RulingApproved = "approved"
	RulingDenied   = "denied"
	RulingPending  = "pending" // nobody answered in time, or the caller left
)

// awaitApproval settles a call the policy sent to a person: a grant for
// exactly this call lets it through; otherwise it waits for an approval.
// It returns the refusal and its status, or "" to proceed.
func (s *Server) awaitApproval(ctx context.Context, c *call, d policy.Decision) (refusal, status string) {
	req := RequestFrom(ctx)
	held := HeldCall{Client: req.Client.Name, ClientID: req.Client.ID, Server: c.u.cfg.Label, Tool: c.tool.Name,
		Args: c.args, Shown: string(c.ev.Arguments), Reason: c.redact.Text(d.Reason)}
	if g, ok := s.approvals.Granted(ctx, held); ok {
		c.ev.ApprovalID, c.ev.ApprovedBy = g.ID, g.DecidedBy
		return "", ""
	}
	// Progress notifications keep a client that asked for them (a progress
	// token) informed while a person decides.
	tick := func(id string, waited, timeout time.Duration) {
		if c.meta != nil {
			RequestFrom(ctx).progress(map[string]any{"jsonrpc": "2.0", "method": "notifications/progress",
				"params": map[string]any{"progressToken": c.meta.ProgressToken, "progress": int(waited.Seconds()),
					"total": int(timeout.Seconds()), "message": "waiting for a person to approve " + id}})
		}
	}
	out, err := s.approvals.Hold(ctx, held, tick)
	if err != nil {
		s.log.Error("approval could not be stored; call refused", "request_id", c.ev.RequestID, "err", err)
		return "Denied: this call needs approval, and the approval could not be recorded.", audit.StatusDenied
	}
	c.ev.ApprovalID = out.ID
	switch out.Status {
	case RulingApproved:
		c.ev.ApprovedBy = out.DecidedBy
		// The wait may have been long: a token revoked or expired
		// meanwhile does not get its call run (the grant stays with the
		// token's identity, which no new token shares).
		if req.token != "" && s.tokens != nil {
			if _, err := s.tokens.Verify(ctx, req.token); err != nil {
				return fmt.Sprintf("Denied: the client token was revoked or expired while approval %s was awaited.", out.ID),
					audit.StatusUnauthenticated
			}
		}
		return "", ""
	case RulingDenied:
		note := out.Note
		if note == "" {
			note = "no reason given"
		}
		c.ev.ApprovedBy = out.DecidedBy
		return "Denied by operator: " + note, audit.StatusDenied
	}
	status = audit.StatusApprovalTimeout
	if errors.Is(ctx.Err(), context.Canceled) {
		// The client went away while it waited (as OpenAI's cloud does
		// after about a minute): recorded as cancelled; the approval stays
		// pending, and given later it grants the retried call.
		status = audit.StatusCancelled
	}
	return fmt.Sprintf("Approval %s is pending; ask the operator to approve it, then retry the same call", out.ID), status
}

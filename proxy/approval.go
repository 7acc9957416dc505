package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// Approvals holds calls for a person. approval.Broker implements it.
type Approvals interface {
	Granted(ctx context.Context, client, clientID, server, tool, argsHash string) (state.Approval, bool)
	Hold(ctx context.Context, a state.Approval, tick func(id string, waited, timeout time.Duration)) (approval.Outcome, error)
}

// awaitApproval settles a call the policy sent to a person: a grant for
// exactly this call lets it through; otherwise it waits for an approval.
// It returns the refusal and its status, or "" to proceed.
func (s *Server) awaitApproval(ctx context.Context, c *call, d policy.Decision) (refusal, status string) {
	req := RequestFrom(ctx)
	client, hash := req.Client.Name, approval.ArgsHash(c.args)
	if g, ok := s.approvals.Granted(ctx, client, req.Client.ID, c.u.cfg.Label, c.tool.Name, hash); ok {
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
	out, err := s.approvals.Hold(ctx, state.Approval{Client: client, ClientID: req.Client.ID, Server: c.u.cfg.Label, Tool: c.tool.Name,
		Arguments: string(c.ev.Arguments), ArgsHash: hash, Reason: c.redact.Text(d.Reason)}, tick)
	if err != nil {
		s.log.Error("approval could not be stored; call refused", "request_id", c.ev.RequestID, "err", err)
		return "Denied: this call needs approval, and the approval could not be recorded.", audit.StatusDenied
	}
	c.ev.ApprovalID = out.Approval.ID
	switch out.Status {
	case state.Approved:
		c.ev.ApprovedBy = out.Approval.DecidedBy
		// The wait may have been long: a token revoked or expired
		// meanwhile does not get its call run (the grant stays with the
		// token's identity, which no new token shares).
		if req.token != "" && s.tokens != nil {
			if _, err := s.tokens.Verify(ctx, req.token); err != nil {
				return fmt.Sprintf("Denied: the client token was revoked or expired while approval %s was awaited.", out.Approval.ID),
					audit.StatusUnauthenticated
			}
		}
		return "", ""
	case state.Denied:
		note := out.Approval.Note
		if note == "" {
			note = "no reason given"
		}
		c.ev.ApprovedBy = out.Approval.DecidedBy
		return "Denied by operator: " + note, audit.StatusDenied
	}
	status = audit.StatusApprovalTimeout
	if errors.Is(ctx.Err(), context.Canceled) {
		// The client went away while it waited (as OpenAI's cloud does
		// after about a minute): recorded as cancelled; the approval stays
		// pending, and given later it grants the retried call.
		status = audit.StatusCancelled
	}
	return fmt.Sprintf("Approval %s is pending; ask the operator to approve it, then retry the same call", out.Approval.ID), status
}

package proxy

import (
	"context"
	"encoding/json"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/policy"
)

// Decider decides calls. policy.Engine implements it.
type Decider interface {
	Decide(ctx context.Context, in *policy.Input) (policy.Decision, error)
	// DecideOutput judges a call's result; no rule allows.
	DecideOutput(ctx context.Context, in *policy.Input, result json.RawMessage) (policy.Decision, error)
}

// decide asks the policy about one tool: a call when args is not nil, the
// tool's visibility at list time otherwise. A policy that fails to decide
// is a deny (the engine makes it one); its detail goes to the log with the
// request ID.
func (s *Server) decide(ctx context.Context, u *Upstream, t *Tool, args json.RawMessage) policy.Decision {
	return s.decideInput(ctx, s.policyInput(ctx, u, t, args), u, t)
}

// decideInput is decide for an input built already (a call keeps it for
// its output rule).
func (s *Server) decideInput(ctx context.Context, in *policy.Input, u *Upstream, t *Tool) policy.Decision {
	d, err := s.policy.Decide(ctx, in)
	if err != nil {
		s.log.Warn("policy error", "request_id", in.Request.ID, "server", u.cfg.Label, "tool", t.Name, "method", in.Method, "err", err)
	}
	return d
}

// decideOutput asks the output rule about a call's (scrubbed) result.
func (s *Server) decideOutput(ctx context.Context, c *call, res json.RawMessage) (policy.Decision, error) {
	return s.policy.DecideOutput(ctx, c.input, res)
}

// policyInput is what a policy sees of a call (args not nil) or of a tool
// at list time.
func (s *Server) policyInput(ctx context.Context, u *Upstream, t *Tool, args json.RawMessage) *policy.Input {
	req := RequestFrom(ctx)
	method := "tools/list"
	if args != nil {
		method = "tools/call"
	}
	in := &policy.Input{
		Method:    method,
		Server:    u.cfg.Label,
		Tool:      policy.Tool{Name: t.Name, Description: t.Description, Annotations: t.Annotations, InputSchema: t.InputSchema},
		Arguments: args,
		Client:    policy.Client{Name: req.Client.Name, Address: req.Client.Address},
		Session:   req.Session,
		Time:      req.Received,
		Request:   policy.Request{ID: req.ID, ProtocolVersion: req.Protocol, UserAgent: req.UserAgent},
	}
	if args != nil {
		// An argument carrying a stored secret is an exfiltration attempt
		// (or a mistake): the policy can deny it by name.
		in.Leaks = s.scrub.Leaks(string(args))
	}
	return in
}

// shadow reports whether decisions are only recorded, not enforced.
func (s *Server) shadow() bool { return s.cfg.Policy.Mode == config.ModeShadow }

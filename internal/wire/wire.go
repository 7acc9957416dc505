// Package wire builds the parts a Drawbridge config describes and adapts
// them to the small interfaces the proxy declares, as serve runs them, so
// the command line and the tests wire them alike. The proxy knows none of
// these packages' types; they are checked against its interfaces here.
package wire

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/secrets"
	"github.com/drawbridge-mcp/drawbridge/state"
)

var (
	_ proxy.Tokens    = Tokens{}
	_ proxy.Pins      = Pins{}
	_ proxy.Approvals = Approvals{}
	_ proxy.Decider   = (*policy.Engine)(nil)
	_ proxy.Ledger    = (*audit.Log)(nil)
	_ proxy.Vault     = (*secrets.Vault)(nil)
)

// Policy compiles the policy engine of cfg.
func Policy(ctx context.Context, cfg *config.Config, log *slog.Logger) (*policy.Engine, error) {
	return policy.New(ctx, policy.Options{
		Dir:           cfg.Policy.Dir,
		Query:         cfg.Policy.Query,
		OutputQuery:   cfg.Policy.OutputQuery,
		Data:          cfg.Policy.Data,
		Config:        cfg.PolicyData(),
		Timeout:       cfg.Policy.Timeout.D(),
		AllowBuiltins: cfg.Policy.AllowBuiltins,
		Logger:        log,
	})
}

// Tokens verifies client tokens against state.db.
type Tokens struct{ DB *state.DB }

// Verify implements proxy.Tokens.
func (v Tokens) Verify(ctx context.Context, token string) (proxy.Identity, error) {
	t, err := v.DB.Verify(ctx, token)
	if errors.Is(err, state.ErrBadToken) {
		return proxy.Identity{}, proxy.ErrBadToken
	}
	if err != nil {
		return proxy.Identity{}, err
	}
	return proxy.Identity{ID: t.ID, Name: t.Name, Servers: t.Servers}, nil
}

// Pins keeps tool pins in state.db.
type Pins struct{ DB *state.DB }

var verdicts = map[state.Verdict]proxy.Verdict{state.Trusted: proxy.PinTrusted, state.Changed: proxy.PinChanged, state.New: proxy.PinNew}

// verdict maps state's verdict to the proxy's; one it does not know is a
// change (fail closed).
func verdict(v state.Verdict) proxy.Verdict {
	if pv, ok := verdicts[v]; ok {
		return pv
	}
	return proxy.PinChanged
}

// Observe implements proxy.Pins.
func (p Pins) Observe(ctx context.Context, server, tool, hash, legacy, def string, autoPin bool) (proxy.Verdict, bool, error) {
	v, changed, err := p.DB.Observe(ctx, server, tool, hash, legacy, def, autoPin)
	return verdict(v), changed, err
}

// Verdict implements proxy.Pins.
func (p Pins) Verdict(ctx context.Context, server, tool, hash, legacy string) (proxy.Verdict, error) {
	v, err := p.DB.Verdict(ctx, server, tool, hash, legacy)
	return verdict(v), err
}

// Approvals holds calls with an approval.Broker.
type Approvals struct{ Broker *approval.Broker }

// Granted implements proxy.Approvals.
func (a Approvals) Granted(ctx context.Context, c proxy.HeldCall) (proxy.Ruling, bool) {
	g, ok := a.Broker.Granted(ctx, c.Client, c.ClientID, c.Server, c.Tool, approval.ArgsHash(c.Args))
	return ruling(g, g.Status), ok
}

// Hold implements proxy.Approvals.
func (a Approvals) Hold(ctx context.Context, c proxy.HeldCall, tick func(id string, waited, timeout time.Duration)) (proxy.Ruling, error) {
	out, err := a.Broker.Hold(ctx, state.Approval{Client: c.Client, ClientID: c.ClientID, Server: c.Server, Tool: c.Tool,
		Arguments: c.Shown, ArgsHash: approval.ArgsHash(c.Args), Reason: c.Reason}, tick)
	return ruling(out.Approval, out.Status), err
}

// ruling maps an approval to the proxy's view; only approved and denied
// are decisions, anything else is still pending.
func ruling(a state.Approval, status string) proxy.Ruling {
	r := proxy.Ruling{ID: a.ID, Status: proxy.RulingPending, DecidedBy: a.DecidedBy, Note: a.Note}
	switch status {
	case state.Approved:
		r.Status = proxy.RulingApproved
	case state.Denied:
		r.Status = proxy.RulingDenied
	}
	return r
}

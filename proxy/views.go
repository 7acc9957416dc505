package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/drawbridge-mcp/drawbridge/policy"
)

// Visibilities of a tool, in the order they are decided.
const (
	VisibleServed      = "served"
	VisibleFiltered    = "filtered"    // by the server's tools.allow / tools.deny
	VisibleQuarantined = "quarantined" // its pin says no
	VisibleDenied      = "denied"      // the policy hides it
)

// visibility says whether tools/list shows t, and why not.
func (s *Server) visibility(ctx context.Context, u *Upstream, t *Tool) (vis, why string) {
	if why := filtered(u.cfg.Tools, t.Name); why != "" {
		return VisibleFiltered, why
	}
	if why := s.quarantined(ctx, u, t); why != "" {
		return VisibleQuarantined, why
	}
	if d := s.decide(ctx, u, t, nil); d.Action == policy.Deny {
		if s.shadow() {
			return VisibleServed, "policy would hide it (shadow mode): " + d.Reason
		}
		return VisibleDenied, d.Reason
	}
	return VisibleServed, ""
}

// ToolView is one upstream tool as an operator sees it.
type ToolView struct {
	Server, Tool string
	Visibility   string // VisibleServed, …
	Why          string // why not served (or a shadow-mode note)
	Hash         string // of the definition advertised now
}

// ToolViews lists every upstream's tools with their visibility, as
// tools/list would decide it now. An upstream that cannot list its tools
// is reported in errs by label.
func (s *Server) ToolViews(ctx context.Context) (views []ToolView, errs map[string]string) {
	errs = map[string]string{}
	for _, label := range s.cfg.Labels() {
		u := s.upstreams[label]
		cat, err := u.Tools(ctx)
		if err != nil {
			errs[label] = err.Error()
			continue
		}
		for i := range cat.tools {
			t := &cat.tools[i]
			vis, why := s.visibility(ctx, u, t)
			views = append(views, ToolView{Server: label, Tool: t.Name, Visibility: vis, Why: why, Hash: t.Hash})
		}
	}
	sort.Slice(views, func(i, j int) bool {
		if views[i].Server != views[j].Server {
			return views[i].Server < views[j].Server
		}
		return views[i].Tool < views[j].Tool
	})
	return views, errs
}

// UpstreamView is an upstream's health as an operator sees it.
type UpstreamView struct {
	Label     string
	Transport string // stdio, or the configured HTTP transport
	Connected bool
	Since     time.Time     // connected at
	Detail    string        // protocol when connected, else the last error (scrubbed)
	Latency   time.Duration // of the last answered request; 0 before one
	// LastError is the last request that failed (scrubbed), and when;
	// empty when none has.
	LastError   string
	LastErrorAt time.Time
}

// Upstreams reports every upstream, by label.
func (s *Server) Upstreams() []UpstreamView {
	out := make([]UpstreamView, 0, len(s.upstreams))
	for _, label := range s.cfg.Labels() {
		u := s.upstreams[label]
		ok, detail := u.Status()
		v := UpstreamView{Label: label, Transport: string(u.cfg.Transport), Connected: ok, Detail: detail,
			Latency: time.Duration(u.latency.Load())}
		if u.cfg.IsStdio() {
			v.Transport = "stdio"
		}
		if f := u.lastFailure.Load(); f != nil {
			v.LastError, v.LastErrorAt = f.Error, f.At
		}
		u.mu.Lock()
		if u.conn != nil {
			v.Since = u.connected
		}
		u.mu.Unlock()
		out = append(out, v)
	}
	return out
}

// EvalInput is the policy input a call of tool on server by client with
// args would get now (the tool's definition as advertised), for evaluating
// a hypothetical call. It reports an unknown server or tool.
func (s *Server) EvalInput(ctx context.Context, server, tool, client string, args json.RawMessage) (*policy.Input, error) {
	u, ok := s.upstreams[server]
	if !ok {
		return nil, fmt.Errorf("no server %q", server)
	}
	cat, err := u.Tools(ctx)
	if err != nil {
		return nil, err
	}
	t, ok := cat.lookup(tool)
	if !ok {
		return nil, fmt.Errorf("server %q has no tool %q", server, tool)
	}
	ctx = withRequest(ctx, &Request{ID: "console", Received: time.Now(), Label: server, Protocol: "2025-06-18",
		UserAgent: "drawbridge-console", Client: Client{Name: client, Address: "127.0.0.1"}})
	return s.policyInput(ctx, u, &t, args), nil
}

// Redactions counts the texts the leak guard has redacted since start.
func (s *Server) Redactions() uint64 { return s.scrub.redactions.Load() }

package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/policy"
)

// The call pipeline. Its order is the security model; each stage says why it
// stands where it stands.
//
// tools/list:
//  1. upstream catalog (cached)  served from memory so a list costs no round
//     trip; refreshed on TTL and on notifications/tools/list_changed.
//  2. config allow/deny          what the operator excluded is never shown.
//  3. policy visibility          a tool the policy denies for this client is
//     not shown (the call is still checked: lists are cached by clients).
//  4. answer                     upstream definitions byte-for-byte.
//
// tools/call:
//  1. parse params               a call without a tool name or with
//     non-object arguments is refused before anything else looks at it.
//  2. resolve the tool           against the catalog (refreshed once on a
//     miss): an unknown tool is refused with close names, and later stages
//     get the upstream's own definition.
//  3. config allow/deny          enforced on the call itself, because clients
//     cache lists and may call what they were never shown.
//  4. policy decision            on the call itself, with its arguments: the
//     API-side require_approval is set by whoever writes the request and is
//     only advice. deny and approve (until approvals exist) refuse; in
//     shadow mode the decision is logged and the call proceeds.
//  5. upstream call              credentials are added innermost, by the
//     upstream's HTTP transport or the child's environment, only now that
//     every check has passed.
//  6. scrub                      configured credentials an upstream echoes
//     back never reach the client.
//
// Later stages (approval hold, audit, pin check, output guard) slot in
// between these, in the order docs/ARCHITECTURE.md gives.

// listTools answers tools/list for one upstream.
func (s *Server) listTools(ctx context.Context, u *Upstream) (json.RawMessage, error) {
	cat, err := u.Tools(ctx)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(`{"tools":[`)
	n := 0
	for i := range cat.tools {
		t := &cat.tools[i]
		if filtered(u.cfg.Tools, t.Name) != "" {
			continue
		}
		if d := s.decide(ctx, u, t, nil); d.Action == policy.Deny && !s.shadow() {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(t.Raw)
		n++
	}
	b.WriteString(`]}`)
	return json.RawMessage(b.String()), nil
}

// callParams is what Drawbridge reads of tools/call params.
type callParams struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Meta      *struct {
		ProgressToken json.RawMessage `json:"progressToken,omitempty"`
	} `json:"_meta,omitempty"`
}

// callTool answers tools/call for one upstream. A refusal or an upstream
// failure is a tool result with isError, so the model reads why (it
// surfaces in the Responses API's mcp_call output); only malformed params
// are JSON-RPC errors.
func (s *Server) callTool(ctx context.Context, u *Upstream, params json.RawMessage) (json.RawMessage, error) {
	res, err := s.runCall(ctx, u, params)
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return toolError(fmt.Sprintf("Upstream %q failed: %s (request %s).", ue.Label, ue.Cause, RequestFrom(ctx).ID)), nil
	}
	return res, err
}

// runCall runs the tools/call stages in order.
func (s *Server) runCall(ctx context.Context, u *Upstream, params json.RawMessage) (json.RawMessage, error) {
	// 1. parse params
	var p callParams
	if err := json.Unmarshal(params, &p); err != nil || p.Name == "" {
		return nil, errorf(codeInvalidParams, `tools/call needs params {"name": string, "arguments": object}`)
	}
	if len(p.Arguments) > 0 && p.Arguments[0] != '{' && string(p.Arguments) != "null" {
		return nil, errorf(codeInvalidParams, `tools/call "arguments" must be an object`)
	}

	// 2. resolve the tool
	tool, err := s.resolveTool(ctx, u, p.Name)
	if err != nil {
		return nil, err
	}
	if tool == nil {
		return s.unknownTool(ctx, u, p.Name), nil
	}

	// 3. config allow/deny
	if why := filtered(u.cfg.Tools, tool.Name); why != "" {
		return toolError(fmt.Sprintf("Tool %q is not available on server %q: %s.", tool.Name, u.cfg.Label, why)), nil
	}

	// 4. policy decision
	args := p.Arguments
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage(`{}`)
	}
	if refusal := s.enforce(ctx, u, tool, args); refusal != nil {
		return refusal, nil
	}

	// 5. upstream call, credentials injected innermost
	up := map[string]any{"name": tool.Name}
	if len(p.Arguments) > 0 && string(p.Arguments) != "null" {
		up["arguments"] = p.Arguments
	}
	if p.Meta != nil && p.Meta.ProgressToken != nil {
		up["_meta"] = map[string]any{"progressToken": p.Meta.ProgressToken}
	}
	res, err := u.Call(ctx, "tools/call", up)
	if err != nil {
		return nil, err
	}

	// 6. scrub
	return s.scrub.Bytes(res), nil
}

// enforce applies the policy's decision to a call: nil lets it proceed,
// anything else is the refusal the model reads.
func (s *Server) enforce(ctx context.Context, u *Upstream, t *Tool, args json.RawMessage) json.RawMessage {
	d := s.decide(ctx, u, t, args)
	if s.shadow() {
		s.log.Info("shadow decision", "request_id", RequestFrom(ctx).ID, "server", u.cfg.Label, "tool", t.Name,
			"action", d.Action, "reason", d.Reason)
		return nil
	}
	reason := d.Reason
	if reason == "" {
		reason = "no reason given"
	}
	switch d.Action {
	case policy.Allow:
		return nil
	case policy.Approve:
		return toolError(fmt.Sprintf("Denied by policy: approval required (%s). Drawbridge cannot hold calls for approval yet; ask the operator to allow %q in the policy.", reason, t.Name))
	default:
		return toolError("Denied by policy: " + reason)
	}
}

// resolveTool finds a tool in the catalog, refreshing it once when the name
// is missing (the upstream may have added it since).
func (s *Server) resolveTool(ctx context.Context, u *Upstream, name string) (*Tool, error) {
	cat, err := u.Tools(ctx)
	if err != nil {
		return nil, err
	}
	if t, ok := cat.lookup(name); ok {
		return &t, nil
	}
	u.invalidate()
	if cat, err = u.Tools(ctx); err != nil {
		return nil, err
	}
	if t, ok := cat.lookup(name); ok {
		return &t, nil
	}
	return nil, nil
}

func (s *Server) unknownTool(ctx context.Context, u *Upstream, name string) json.RawMessage {
	msg := fmt.Sprintf("Unknown tool %q on server %q.", name, u.cfg.Label)
	if cat, err := u.Tools(ctx); err == nil {
		var visible []string
		for _, n := range cat.names() {
			if filtered(u.cfg.Tools, n) == "" {
				visible = append(visible, n)
			}
		}
		if near := closeNames(name, visible); len(near) > 0 {
			msg += " Did you mean: " + strings.Join(near, ", ") + "?"
		}
	}
	return toolError(msg)
}

// toolError is a tools/call result that tells the model what went wrong.
func toolError(text string) json.RawMessage {
	return mustJSON(map[string]any{
		"content": []map[string]string{{"type": "text", "text": text}},
		"isError": true,
	})
}

package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
	"github.com/drawbridge-mcp/drawbridge/policy"
)

// The call pipeline. Its order is the security model; each stage says why it
// stands where it stands.
//
// tools/list:
//  1. upstream catalog (cached)  served from memory so a list costs no round
//     trip; refreshed on TTL and on notifications/tools/list_changed.
//  2. config allow/deny          what the operator excluded is never shown.
//  3. pin check                  a tool whose definition changed since it was
//     trusted (a rug pull), or a new one under tools.pin: strict, is
//     quarantined: not shown; and so is a definition clients could read two
//     ways (keys equal but for case, a read key in another case:
//     definition.go), whatever its pin says.
//  4. policy visibility          a tool the policy denies for this client is
//     not shown (the call is still checked: lists are cached by clients).
//  5. answer                     upstream definitions byte-for-byte but for
//     annotation hints, which say what the config says; the list is
//     recorded in the ledger.
//
// tools/call (callTool; each stage is the method named):
//  1. parse       a call without a tool name, with a name over 256 bytes or
//     with non-object arguments is refused before anything else looks at it,
//     and so are arguments readers could take two ways (repeated keys, keys
//     differing only in case, numbers a double does not hold): from here on
//     the upstream, the policy, the ledger and the approver get one
//     re-encoded reading (arguments.go).
//  2. resolve     the tool in the catalog (refreshed on a miss, at most once a
//     second): an unknown tool is refused with close names, and later stages
//     get the upstream's own definition. An argument whose key differs only
//     in case from a parameter of its input schema is refused: a
//     case-insensitive upstream would bind it where the policy saw nothing.
//     Under validate_arguments the arguments must match that schema.
//  3. filter      config allow/deny, enforced on the call itself, because
//     clients cache lists and may call what they were never shown.
//  4. checkPin    a quarantined tool is refused, with how to review and
//     accept it: its new description or schema is not what the operator (or
//     the policy) looked at. One that reads two ways is refused saying that
//     accepting it would not help.
//  5. authorize   the policy decides on the call itself, with its arguments:
//     the API-side require_approval is set by whoever writes the request and
//     is only advice. deny refuses; approve holds the call for a person (or
//     passes on a grant for exactly this call by this token), and denied or
//     unanswered calls get a tool error that says what to do. In shadow mode
//     the decision is recorded and the call proceeds.
//  6. record      the decided event is committed to disk before anything
//     leaves: if the ledger cannot be written the call is refused (fail
//     closed) unless audit.on_error is allow. Refusals are recorded too.
//  7. forward     the upstream call; credentials are added innermost, by the
//     upstream's HTTP transport or the child's environment, only now that
//     every check has passed.
//  8. (scrub)     credentials an upstream echoes back never reach the client
//     (nor the output rule, nor the ledger). Upstream.Call does it as the
//     answer arrives, for every method: tool definitions, resources, prompts
//     and completions pass the same guard.
//  9. inspect     the output guard strips terminal escapes and control
//     characters from text and cuts results over max_output_bytes with a
//     marker: what the model and a terminal will read. The leak guard scans
//     through what this strips (and through escapes and encodings), and
//     scrubs again whatever this stage changed, so the ledger records exactly
//     what was sent. Then the output rule (data.drawbridge.output) may
//     withhold the result (prompt injection, data that must not reach the
//     model).
// 10. complete    the completed event: the outcome, redacted and cut to size.

// listTools answers tools/list for one upstream.
func (s *Server) listTools(ctx context.Context, u *Upstream) (json.RawMessage, error) {
	ev := s.event(ctx, audit.KindListed, u, "tools/list")
	cat, err := u.Tools(ctx)
	if err != nil {
		ev.Status, ev.Error = audit.StatusUpstreamError, s.redact.Text(err.Error())
		s.finish(ev)
		return nil, err
	}
	var b strings.Builder
	var shown []string
	b.WriteString(`{"tools":[`)
	for i := range cat.tools {
		t := &cat.tools[i]
		if v, _ := s.visibility(ctx, u, t); v != VisibleServed {
			continue
		}
		if len(shown) > 0 {
			b.WriteByte(',')
		}
		b.Write(t.Served)
		shown = append(shown, t.Name)
	}
	b.WriteString(`]}`)
	ev.Status, ev.Result = audit.StatusOK, string(mustJSON(shown))
	s.finish(ev)
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

// call is one tools/call on its way through the pipeline, with the ledger
// events it fills in.
type call struct {
	u     *Upstream
	name  string // as asked for
	tool  *Tool
	args  json.RawMessage
	argv  *ijson.Value // args, parsed
	meta  *struct{ ProgressToken json.RawMessage }
	input *policy.Input // what the policy saw, reused by the output rule
	// redact prepares this call's record: the server's Redactor, and the
	// values of its sensitive arguments wherever else they appear.
	redact *audit.Redactor
	ev     *audit.Event
	begin  time.Time
	// approvalWait and ledgerWait are how long the call was held for a
	// person and for the ledger (CallRecord).
	approvalWait, ledgerWait time.Duration
	// res and done are the upstream's answer and its completed event, once
	// forwarded.
	res  json.RawMessage
	done *audit.Event
}

// callTool answers tools/call for one upstream: the stages below, in the
// order the comment at the top of this file gives and justifies, each a
// method that either lets the call go on or answers it. A refusal or an
// upstream failure is a tool result with isError, so the model reads why
// (it surfaces in the Responses API's mcp_call output); only malformed
// params are JSON-RPC errors.
func (s *Server) callTool(ctx context.Context, u *Upstream, params json.RawMessage) (json.RawMessage, error) {
	ctx, span := s.startCall(ctx, u)
	c, a := s.parse(ctx, u, params)
	defer s.endCall(ctx, c, span)
	for _, stage := range []func(context.Context, *call) *answer{
		s.resolve, s.filter, s.checkPin, s.authorize, s.record, s.forward, s.inspect,
	} {
		if a != nil {
			return a.res, a.err
		}
		a = stage(ctx, c)
	}
	if a != nil {
		return a.res, a.err
	}
	return s.complete(c), nil
}

// answer ends a call early: the result the model reads, or a JSON-RPC
// error.
type answer struct {
	res json.RawMessage
	err error
}

func answered(res json.RawMessage, err error) *answer { return &answer{res: res, err: err} }

// parse is stage 1: the tool name and one strict reading of the arguments.
func (s *Server) parse(ctx context.Context, u *Upstream, params json.RawMessage) (*call, *answer) {
	c := &call{u: u, ev: s.event(ctx, audit.KindDecided, u, "tools/call"), begin: time.Now(), redact: s.redact}
	var p callParams
	if err := json.Unmarshal(params, &p); err != nil || p.Name == "" {
		return c, answered(nil, s.badRequest(c, params, errorf(codeInvalidParams, `tools/call needs params {"name": string, "arguments": object}`)))
	}
	if len(p.Name) > maxToolName {
		return c, answered(nil, s.badRequest(c, nil, errorf(codeInvalidParams, "tool name is %d bytes; names are at most %d", len(p.Name), maxToolName)))
	}
	c.name, c.ev.Tool = p.Name, p.Name
	if len(p.Arguments) == 0 || string(p.Arguments) == "null" {
		p.Arguments = json.RawMessage(`{}`)
	}
	args, argv, err := canonicalArgs(p.Arguments)
	if err != nil {
		return c, answered(nil, s.badRequest(c, p.Arguments, errorf(codeInvalidParams, "tools/call arguments refused: %v", err)))
	}
	c.args, c.argv = args, argv
	c.redact = s.redact.ForCall(c.args)
	c.ev.Arguments = c.redact.Arguments(c.args)
	if p.Meta != nil && p.Meta.ProgressToken != nil {
		c.meta = &struct{ ProgressToken json.RawMessage }{p.Meta.ProgressToken}
	}
	return c, nil
}

// resolve is stage 2: the tool in the catalog, and the arguments against
// its schema.
func (s *Server) resolve(ctx context.Context, c *call) *answer {
	tool, err := s.resolveTool(ctx, c.u, c.name)
	if err != nil {
		return answered(s.upstreamFailed(ctx, c, err, nil))
	}
	if tool == nil {
		return answered(s.refuse(ctx, c, audit.StatusBadRequest, "", "", s.unknownTool(ctx, c.u, c.name)))
	}
	c.tool = tool
	if err := checkArgs(c.argv, tool.schema); err != nil {
		return answered(nil, s.badRequest(c, c.args, errorf(codeInvalidParams, "tools/call arguments refused: %v", err)))
	}
	if c.u.cfg.ValidateArguments {
		if err := s.schemas.validate(tool, c.args); err != nil {
			return answered(nil, s.badRequest(c, c.args, errorf(codeInvalidParams, "tools/call arguments refused: %v", err)))
		}
	}
	return nil
}

// filter is stage 3: the config's allow and deny lists.
func (s *Server) filter(ctx context.Context, c *call) *answer {
	if why := filtered(c.u.cfg.Tools, c.tool.Name); why != "" {
		return answered(s.refuse(ctx, c, audit.StatusDenied, policy.Deny, "config: "+why,
			fmt.Sprintf("Tool %q is not available on server %q: %s.", c.tool.Name, c.u.cfg.Label, why)))
	}
	return nil
}

// checkPin is stage 4: a quarantined tool is refused, with how to review
// and accept it.
func (s *Server) checkPin(ctx context.Context, c *call) *answer {
	why := s.quarantined(ctx, c.u, c.tool)
	if why == "" {
		return nil
	}
	label, name := c.u.cfg.Label, c.tool.Name
	if c.tool.Ambiguous != "" {
		return answered(s.refuse(ctx, c, audit.StatusDenied, policy.Deny, "quarantined: "+why, fmt.Sprintf(
			"Tool %q on server %q is quarantined: %s. Accepting it would not help: the upstream must list it so that every client reads it alike.",
			name, label, why)))
	}
	return answered(s.refuse(ctx, c, audit.StatusDenied, policy.Deny, "quarantined: "+why, fmt.Sprintf(
		"Tool %q on server %q is quarantined: %s. An operator can review it with `drawbridge tools diff %s %s` and accept it with `drawbridge tools accept %s %s`.",
		name, label, why, label, name, label, name)))
}

// authorize is stage 5: the policy's decision, and for approve the hold.
func (s *Server) authorize(ctx context.Context, c *call) *answer {
	c.input = s.policyInput(ctx, c.u, c.tool, c.args)
	pctx, span := s.span(ctx, "policy")
	d := s.decideInput(pctx, c.input, c.u, c.tool)
	span.End()
	c.ev.Decision, c.ev.Reason, c.ev.PolicyUS = d.Action, c.redact.Text(d.Reason), audit.Micros(d.Took)
	if d.Action == policy.Approve && !s.shadow() && s.approvals != nil {
		actx, span := s.span(ctx, "approval wait")
		held := time.Now()
		refusal, status := s.awaitApproval(actx, c, d)
		c.approvalWait = time.Since(held)
		span.End()
		if refusal != "" {
			return answered(s.refuse(ctx, c, status, d.Action, d.Reason, refusal))
		}
		return nil
	}
	if refusal := s.enforce(ctx, c, d); refusal != "" {
		return answered(s.refuse(ctx, c, audit.StatusDenied, d.Action, d.Reason, refusal))
	}
	return nil
}

// record is stage 6: the decided event, durable before the call leaves.
func (s *Server) record(ctx context.Context, c *call) *answer {
	err := s.recordDecided(ctx, c)
	if err == nil {
		return nil
	}
	if s.cfg.Audit.OnError != config.OnErrorAllow {
		s.log.Error("audit write failed; call refused", "request_id", c.ev.RequestID, "err", err)
		return answered(toolError(fmt.Sprintf("Refused: the audit log cannot be written, and Drawbridge does not run calls it cannot record (request %s).", c.ev.RequestID)), nil)
	}
	s.log.Error("audit write failed; call proceeds unrecorded (audit.on_error: allow)", "request_id", c.ev.RequestID, "err", err)
	return nil
}

// forward is stage 7: the upstream call, credentials injected innermost
// (and its answer scrubbed, stage 8, by Upstream.Call as it arrives).
func (s *Server) forward(ctx context.Context, c *call) *answer {
	up := map[string]any{"name": c.tool.Name, "arguments": c.args}
	if c.meta != nil {
		up["_meta"] = map[string]any{"progressToken": c.meta.ProgressToken}
	}
	uctx, span := s.span(ctx, "upstream")
	sent := time.Now()
	res, err := c.u.Call(uctx, "tools/call", up)
	c.done = s.completion(c, sent)
	span.End()
	if err != nil {
		return answered(s.upstreamFailed(ctx, c, err, c.done))
	}
	c.res = res
	return nil
}

// inspect is stage 9: the output guard (then the scrub again over
// what it changed: nothing it normalizes can assemble a secret the client
// would read), and the output rule.
func (s *Server) inspect(ctx context.Context, c *call) *answer {
	if guarded, changed := guardOutput(c.res, c.u.cfg.MaxOutputBytes); changed {
		c.res = s.scrub.Bytes(guarded)
	}
	od, err := s.decideOutput(ctx, c, c.res)
	if od.Action != policy.Deny || s.shadow() {
		return nil
	}
	if err != nil {
		s.log.Warn("policy error", "request_id", c.ev.RequestID, "rule", "output", "err", err)
	}
	text := "Output withheld by policy: " + od.Reason
	c.done.Status, c.done.Error, c.done.Result = audit.StatusDenied, c.redact.Text(text), c.redact.Result(c.res)
	s.finish(c.done)
	return answered(toolError(text), nil)
}

// complete is stage 10: the completed event, and the answer.
func (s *Server) complete(c *call) json.RawMessage {
	c.done.Status = audit.StatusOK
	if isToolError(c.res) {
		c.done.Status = audit.StatusToolError
	}
	c.done.Result = c.redact.Result(c.res)
	s.finish(c.done)
	return c.res
}

// recordDecided makes the decided event durable, timed for CallRecord
// and traced.
func (s *Server) recordDecided(ctx context.Context, c *call) error {
	ctx, span := s.span(ctx, "ledger write")
	defer span.End()
	t := time.Now()
	err := s.ledger.Record(ctx, c.ev)
	c.ledgerWait += time.Since(t)
	return err
}

// enforce says how a decision refuses a call ("" lets it proceed). In
// shadow mode nothing is refused; the decision is logged and recorded.
func (s *Server) enforce(ctx context.Context, c *call, d policy.Decision) string {
	if s.shadow() {
		c.ev.PolicyMode = string(config.ModeShadow)
		s.log.Info("shadow decision", "request_id", RequestFrom(ctx).ID, "server", c.u.cfg.Label, "tool", c.tool.Name,
			"action", d.Action, "reason", d.Reason)
		return ""
	}
	reason := d.Reason
	if reason == "" {
		reason = "no reason given"
	}
	switch d.Action {
	case policy.Allow:
		return ""
	case policy.Approve:
		return fmt.Sprintf("Denied by policy: approval required (%s), and this Drawbridge holds no calls for approval.", reason)
	default:
		return "Denied by policy: " + reason
	}
}

// refuse records a call that stops before the upstream and answers the model.
func (s *Server) refuse(ctx context.Context, c *call, status, decision, reason, text string) (json.RawMessage, error) {
	c.ev.Status, c.ev.Error = status, c.redact.Text(text)
	if decision != "" {
		c.ev.Decision, c.ev.Reason = decision, c.redact.Text(reason)
	}
	c.ev.DurationMS = audit.Millis(time.Since(c.begin))
	// Recorded whether or not the caller is still there: a refusal of a
	// call whose client left (or whose tunnel deadline passed) while it
	// waited for approval is still a fact for the ledger.
	if err := s.recordDecided(context.WithoutCancel(ctx), c); err != nil {
		s.log.Error("audit write failed", "request_id", c.ev.RequestID, "err", err)
	}
	return toolError(text), nil
}

// badRequest records a malformed call and returns its JSON-RPC error.
func (s *Server) badRequest(c *call, raw json.RawMessage, e *rpcError) error {
	c.ev.Kind, c.ev.Status, c.ev.Error = audit.KindRejected, audit.StatusBadRequest, e.Message
	c.ev.Arguments = c.redact.Arguments(raw)
	c.ev.DurationMS = audit.Millis(time.Since(c.begin))
	s.finish(c.ev)
	return e
}

// completion starts the completed event of a call that went upstream.
func (s *Server) completion(c *call, sent time.Time) *audit.Event {
	now := time.Now()
	return &audit.Event{Kind: audit.KindCompleted, At: now, CallID: c.ev.CallID, RequestID: c.ev.RequestID,
		Client: c.ev.Client, Server: c.ev.Server, Method: c.ev.Method, Tool: c.ev.Tool,
		UpstreamMS: audit.Millis(now.Sub(sent)), DurationMS: audit.Millis(now.Sub(c.begin))}
}

// failureStatus is the ledger status of a request the upstream did not
// answer: the client went away, the upstream's time ran out, or it failed.
func failureStatus(ctx context.Context, err error) string {
	var ue *UpstreamError
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return audit.StatusCancelled
	case errors.As(err, &ue) && strings.HasPrefix(ue.Cause, "no answer within"):
		return audit.StatusTimeout
	}
	return audit.StatusUpstreamError
}

// upstreamFailed answers and records a call the upstream could not serve.
// done is the completed event when the call had been sent, nil when it had
// not.
func (s *Server) upstreamFailed(ctx context.Context, c *call, err error, done *audit.Event) (json.RawMessage, error) {
	var ue *UpstreamError
	var re *rpcError
	status := failureStatus(ctx, err)
	ev := c.ev
	if done != nil {
		ev = done
	} else {
		ev.Kind = audit.KindDecided
		ev.DurationMS = audit.Millis(time.Since(c.begin))
	}
	ev.Status, ev.Error = status, c.redact.Text(err.Error())
	s.finish(ev)
	switch {
	case errors.As(err, &ue):
		return toolError(fmt.Sprintf("Upstream %q failed: %s (request %s).", ue.Label, ue.Cause, RequestFrom(ctx).ID)), nil
	case errors.As(err, &re):
		return nil, re // the upstream's own JSON-RPC error, scrubbed
	}
	return nil, err
}

// maxToolName bounds a tool name (MCP suggests at most 128 characters):
// a longer one is refused before anything searches, suggests or records
// it.
const maxToolName = 256

// missRefetch is how often a call for an unknown tool may refetch the
// upstream's list: the upstream may have added the tool since, but a
// stranger's batch of made-up names must not cost one upstream tools/list
// each.
const missRefetch = time.Second

// resolveTool finds a tool in the catalog, refreshing it on a miss (the
// upstream may have added the tool since) at most once per missRefetch.
func (s *Server) resolveTool(ctx context.Context, u *Upstream, name string) (*Tool, error) {
	cat, err := u.Tools(ctx)
	if err != nil {
		return nil, err
	}
	if t, ok := cat.lookup(name); ok {
		return &t, nil
	}
	if !u.tools.missRefetchAllowed() {
		return nil, nil
	}
	u.tools.invalidate()
	if cat, err = u.Tools(ctx); err != nil {
		return nil, err
	}
	if t, ok := cat.lookup(name); ok {
		return &t, nil
	}
	return nil, nil
}

func (s *Server) unknownTool(ctx context.Context, u *Upstream, name string) string {
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
	return msg
}

// toolError is a tools/call result that tells the model what went wrong.
func toolError(text string) json.RawMessage {
	return mustJSON(map[string]any{
		"content": []map[string]string{{"type": "text", "text": text}},
		"isError": true,
	})
}

// isToolError reports whether a tools/call result has isError: true.
func isToolError(res json.RawMessage) bool {
	var r struct {
		IsError bool `json:"isError"`
	}
	return json.Unmarshal(res, &r) == nil && r.IsError
}

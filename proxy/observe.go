package proxy

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/drawbridge-mcp/drawbridge/audit"
)

// CallRecord is one finished tools/call, for the log line, metrics and
// traces: names and timings only, never arguments or results.
type CallRecord struct {
	RequestID, CallID string
	Client, Server    string
	// Tool is the tool's name when the upstream has it, else "(unknown)":
	// a stranger's made-up names must not become metric series.
	Tool             string
	Decision, Status string
	Total            time.Duration // arrival to answer
	Upstream         time.Duration // the upstream call (0: not sent)
	Policy           time.Duration // the policy's evaluation
	ApprovalWait     time.Duration // held for a person (0: not held)
	LedgerWait       time.Duration // waiting for the decided event to be durable
}

// unknownTool labels a call whose tool the upstream does not have.
const unknownTool = "(unknown)"

// startCall opens the call's span; its children are the stages that take
// time (policy, approval wait, ledger write, upstream).
func (s *Server) startCall(ctx context.Context, u *Upstream) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, "tools/call "+u.cfg.Label, trace.WithSpanKind(trace.SpanKindServer))
}

// span opens a child span of the call's.
func (s *Server) span(ctx context.Context, name string) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, name)
}

// endCall closes a call: its one log line, its metrics and its span.
func (s *Server) endCall(ctx context.Context, c *call, span trace.Span) {
	rec := CallRecord{RequestID: c.ev.RequestID, CallID: c.ev.CallID, Client: c.ev.Client, Server: c.u.cfg.Label,
		Tool: unknownTool, Decision: c.ev.Decision, Status: c.ev.Status, Total: time.Since(c.begin),
		Policy: micros(c.ev.PolicyUS), ApprovalWait: c.approvalWait, LedgerWait: c.ledgerWait}
	if c.tool != nil {
		rec.Tool = c.tool.Name
	}
	if c.done != nil {
		rec.Status = c.done.Status
		rec.Upstream = millis(c.done.UpstreamMS)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "call", slog.String("request_id", rec.RequestID), slog.String("call_id", rec.CallID),
		slog.String("client", rec.Client), slog.String("server", rec.Server), slog.String("tool", rec.Tool),
		slog.String("decision", rec.Decision), slog.String("status", rec.Status), slog.Duration("duration", rec.Total),
		slog.Duration("upstream", rec.Upstream), slog.Duration("policy", rec.Policy),
		slog.Duration("approval_wait", rec.ApprovalWait), slog.Duration("ledger_wait", rec.LedgerWait))
	if s.onCall != nil {
		s.onCall(rec)
	}
	if span.IsRecording() { // tracing off: nothing to build on every call
		span.SetAttributes(attribute.String("mcp.method.name", "tools/call"), attribute.String("drawbridge.server", rec.Server),
			attribute.String("drawbridge.call_id", rec.CallID), attribute.String("drawbridge.request_id", rec.RequestID),
			attribute.String("drawbridge.client", rec.Client), attribute.String("gen_ai.tool.name", rec.Tool),
			attribute.String("drawbridge.decision", rec.Decision), attribute.String("drawbridge.status", rec.Status))
		if rec.Status != audit.StatusOK {
			span.SetStatus(codes.Error, rec.Status)
		}
	}
	span.End()
}

func micros(p *int64) time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(*p) * time.Microsecond
}

func millis(p *int64) time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(*p) * time.Millisecond
}

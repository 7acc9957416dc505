package policy

import (
	"bytes"

	"github.com/open-policy-agent/opa/v1/topdown"
)

// Event is one line of an evaluation trace.
type Event = topdown.Event

type tracer struct{ buf *topdown.BufferTracer }

func newTracer() *tracer { return &tracer{buf: topdown.NewBufferTracer()} }

func (t *tracer) Enabled() bool { return true }

func (t *tracer) TraceEvent(ev topdown.Event) { t.buf.TraceEvent(ev) }

func (t *tracer) Config() topdown.TraceConfig { return t.buf.Config() }

func (t *tracer) events() []*Event { return *t.buf }

// PrettyTrace renders a trace the way opa eval --explain full does.
func PrettyTrace(events []*Event) string {
	var b bytes.Buffer
	topdown.PrettyTraceWithLocation(&b, events)
	return b.String()
}

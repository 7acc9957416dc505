package policy

import (
	"bytes"
	"fmt"

	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
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

// ExplainModes are opa eval's --explain modes: the whole trace, only
// trace() notes, or only the expressions that failed.
var ExplainModes = []string{"full", "notes", "fails"}

// FilterTrace keeps what an explain mode shows.
func FilterTrace(events []*Event, mode string) ([]*Event, error) {
	switch mode {
	case "full":
		return lineage.Full(events), nil
	case "notes":
		return lineage.Notes(events), nil
	case "fails":
		return lineage.Fails(events), nil
	}
	return nil, fmt.Errorf("--explain must be full, notes or fails, not %q", mode)
}

package telemetry

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/drawbridge-mcp/drawbridge/proxy"
)

// TestMetricsUnderLoad: calls counted from many goroutines while scrapes
// run, each counted once under its labels; the scrape-time gauges read
// their sources.
func TestMetricsUnderLoad(t *testing.T) {
	pending := 3
	var mu sync.Mutex
	m := NewMetrics(Sources{
		Pending: func(context.Context) (int, error) { mu.Lock(); defer mu.Unlock(); return pending, nil },
		Upstreams: func() []proxy.UpstreamView {
			return []proxy.UpstreamView{{Label: "a", Transport: "stdio", Connected: true}, {Label: "b", Transport: "auto"}}
		},
		Checks: map[string]func() (bool, string){"audit": func() (bool, string) { return false, "disk full" }},
	})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				m.ObserveCall(proxy.CallRecord{Server: "a", Tool: "echo", Decision: "allow", Status: "ok", Total: time.Millisecond})
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if _, err := m.Registry().Gather(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if n := testutil.ToFloat64(m.calls.WithLabelValues("a", "echo", "allow", "ok")); n != 2000 {
		t.Errorf("calls counted %v, want 2000", n)
	}
	mu.Lock()
	pending = 5
	mu.Unlock()
	want := `
# HELP drawbridge_approvals_pending Calls waiting for a person's approval.
# TYPE drawbridge_approvals_pending gauge
drawbridge_approvals_pending 5
# HELP drawbridge_check_ok 1 while a readiness check passes (policy, audit, certificate, tunnel).
# TYPE drawbridge_check_ok gauge
drawbridge_check_ok{check="audit"} 0
# HELP drawbridge_upstream_up 1 while the upstream is connected.
# TYPE drawbridge_upstream_up gauge
drawbridge_upstream_up{server="a",transport="stdio"} 1
drawbridge_upstream_up{server="b",transport="auto"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), MetricPending, MetricCheckOK, MetricUpstreamUp); err != nil {
		t.Error(err)
	}
}

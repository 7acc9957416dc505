// Package telemetry is what Drawbridge tells the dashboards operators
// already run: Prometheus metrics on the admin listener and OpenTelemetry
// traces over OTLP/HTTP.
package telemetry

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/drawbridge-mcp/drawbridge/proxy"
)

// Sources are what the metrics read at scrape time. A nil field's metrics
// are not registered.
type Sources struct {
	// Upstreams reports each upstream's health (proxy.Server.Upstreams).
	Upstreams func() []proxy.UpstreamView
	// Redactions counts leak-guard redactions (proxy.Server.Redactions).
	Redactions func() uint64
	// Pending counts the calls waiting for a person.
	Pending func(context.Context) (int, error)
	// QueueDepth is the ledger's queue (audit.Log.QueueDepth).
	QueueDepth func() int
	// PolicyReloads counts policy reloads and the failed ones
	// (policy.Engine.Reloads).
	PolicyReloads func() (total, failed uint64)
	// CertificateExpiry is when the served certificate expires (public
	// HTTPS only).
	CertificateExpiry func() time.Time
	// Checks are the readiness checks (policy, audit, and the certificate
	// or tunnel when public): 1 while ok.
	Checks map[string]func() (bool, string)
}

// Metrics holds Drawbridge's Prometheus metrics in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	calls            *prometheus.CounterVec
	callSeconds      *prometheus.HistogramVec
	upstreamSeconds  *prometheus.HistogramVec
	policySeconds    *prometheus.HistogramVec
	approvalSeconds  *prometheus.HistogramVec
	ledgerWait       *prometheus.HistogramVec
	ledgerCommit     prometheus.Histogram
	ledgerEvents     prometheus.Counter
	ledgerCommitErrs prometheus.Counter
}

// Names of every metric, for the dashboard check and the README.
const (
	MetricCalls            = "drawbridge_calls_total"
	MetricCallSeconds      = "drawbridge_call_duration_seconds"
	MetricUpstreamSeconds  = "drawbridge_upstream_duration_seconds"
	MetricPolicySeconds    = "drawbridge_policy_duration_seconds"
	MetricApprovalSeconds  = "drawbridge_approval_wait_seconds"
	MetricLedgerWait       = "drawbridge_ledger_wait_seconds"
	MetricLedgerCommit     = "drawbridge_ledger_commit_seconds"
	MetricLedgerEvents     = "drawbridge_ledger_events_written_total"
	MetricLedgerCommitErrs = "drawbridge_ledger_commit_errors_total"
	MetricLedgerQueue      = "drawbridge_ledger_queue_depth"
	MetricPending          = "drawbridge_approvals_pending"
	MetricUpstreamUp       = "drawbridge_upstream_up"
	MetricUpstreamLatency  = "drawbridge_upstream_last_request_seconds"
	MetricPolicyReloads    = "drawbridge_policy_reloads_total"
	MetricPolicyReloadErrs = "drawbridge_policy_reload_errors_total"
	MetricRedactions       = "drawbridge_leak_redactions_total"
	MetricCheckOK          = "drawbridge_check_ok"
	MetricCertExpiry       = "drawbridge_certificate_expiry_timestamp_seconds"
)

// latencyBuckets span a cached policy decision (tens of µs) to a slow
// upstream (tens of seconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics registers every metric, reading src at scrape time.
func NewMetrics(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hist := func(name, help string, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, labels)
		reg.MustRegister(h)
		return h
	}
	m := &Metrics{reg: reg,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricCalls,
			Help: "tools/call requests, by server, tool ((unknown) for a name the upstream does not have), decision and status."},
			[]string{"server", "tool", "decision", "status"}),
		callSeconds:     hist(MetricCallSeconds, "Whole tools/call, arrival to answer.", "server"),
		upstreamSeconds: hist(MetricUpstreamSeconds, "The upstream's part of a tools/call.", "server"),
		policySeconds:   hist(MetricPolicySeconds, "Policy evaluation of a tools/call.", "server"),
		approvalSeconds: hist(MetricApprovalSeconds, "How long held calls waited for a person.", "server"),
		ledgerWait:      hist(MetricLedgerWait, "How long a tools/call waited for its decided event to be durable.", "server"),
		ledgerCommit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricLedgerCommit,
			Help: "One ledger commit (a batch of events).", Buckets: latencyBuckets}),
		ledgerEvents:     prometheus.NewCounter(prometheus.CounterOpts{Name: MetricLedgerEvents, Help: "Events committed to the ledger."}),
		ledgerCommitErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricLedgerCommitErrs, Help: "Ledger commits that failed."}),
	}
	reg.MustRegister(m.calls, m.ledgerCommit, m.ledgerEvents, m.ledgerCommitErrs)
	if src.QueueDepth != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricLedgerQueue, Help: "Events waiting for the ledger's writer."},
			func() float64 { return float64(src.QueueDepth()) }))
	}
	if src.Pending != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricPending, Help: "Calls waiting for a person's approval."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, err := src.Pending(ctx)
				if err != nil {
					return -1
				}
				return float64(n)
			}))
	}
	if src.Redactions != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: MetricRedactions,
			Help: "Texts the leak guard changed: a stored secret (or an encoding of one) was redacted."},
			func() float64 { return float64(src.Redactions()) }))
	}
	if src.PolicyReloads != nil {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: MetricPolicyReloads, Help: "Policy loads and reloads, the first included."},
				func() float64 { n, _ := src.PolicyReloads(); return float64(n) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: MetricPolicyReloadErrs, Help: "Policy reloads that failed (the previous policy kept serving)."},
				func() float64 { _, n := src.PolicyReloads(); return float64(n) }))
	}
	if src.CertificateExpiry != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricCertExpiry,
			Help: "When the public certificate expires (Unix seconds; 0 while there is none)."},
			func() float64 {
				if t := src.CertificateExpiry(); !t.IsZero() {
					return float64(t.Unix())
				}
				return 0
			}))
	}
	reg.MustRegister(&stateCollector{src: src})
	return m
}

// ObserveCall counts a finished call (proxy.Options.Observe).
func (m *Metrics) ObserveCall(r proxy.CallRecord) {
	m.calls.WithLabelValues(r.Server, r.Tool, r.Decision, r.Status).Inc()
	m.callSeconds.WithLabelValues(r.Server).Observe(r.Total.Seconds())
	if r.Upstream > 0 {
		m.upstreamSeconds.WithLabelValues(r.Server).Observe(r.Upstream.Seconds())
	}
	if r.Policy > 0 {
		m.policySeconds.WithLabelValues(r.Server).Observe(r.Policy.Seconds())
	}
	if r.ApprovalWait > 0 {
		m.approvalSeconds.WithLabelValues(r.Server).Observe(r.ApprovalWait.Seconds())
	}
	if r.LedgerWait > 0 {
		m.ledgerWait.WithLabelValues(r.Server).Observe(r.LedgerWait.Seconds())
	}
}

// ObserveCommit counts a ledger commit (audit.Options.OnCommit).
func (m *Metrics) ObserveCommit(events int, took time.Duration, err error) {
	m.ledgerCommit.Observe(took.Seconds())
	if err != nil {
		m.ledgerCommitErrs.Inc()
		return
	}
	m.ledgerEvents.Add(float64(events))
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the registry the metrics are in (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// stateCollector reports per-upstream health and the readiness checks as
// they stand at scrape time.
type stateCollector struct{ src Sources }

var (
	upDesc  = prometheus.NewDesc(MetricUpstreamUp, "1 while the upstream is connected.", []string{"server", "transport"}, nil)
	latDesc = prometheus.NewDesc(MetricUpstreamLatency, "How long the upstream's last answered request took.",
		[]string{"server"}, nil)
	checkDesc = prometheus.NewDesc(MetricCheckOK, "1 while a readiness check passes (policy, audit, certificate, tunnel).",
		[]string{"check"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- latDesc
	ch <- checkDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Upstreams != nil {
		for _, u := range c.src.Upstreams() {
			ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, boolValue(u.Connected), u.Label, u.Transport)
			ch <- prometheus.MustNewConstMetric(latDesc, prometheus.GaugeValue, u.Latency.Seconds(), u.Label)
		}
	}
	for name, check := range c.src.Checks {
		ok, _ := check()
		ch <- prometheus.MustNewConstMetric(checkDesc, prometheus.GaugeValue, boolValue(ok), name)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	collector "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/telemetry"
)

// otlpReceiver is an OTLP/HTTP trace collector: it keeps every span it is
// sent, and the headers of the exports.
type otlpReceiver struct {
	mu      sync.Mutex
	spans   []*tracepb.Span
	headers http.Header
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want protobuf at /v1/traces", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req collector.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.headers = r.Header.Clone()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&collector.ExportTraceServiceResponse{})
	w.Write(b)
}

// trace returns the spans of the trace whose root is named name, once the
// root and want children have arrived.
func (o *otlpReceiver) trace(t *testing.T, root string, want int) (*tracepb.Span, []*tracepb.Span) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		o.mu.Lock()
		for _, s := range o.spans {
			if s.Name != root || len(s.ParentSpanId) != 0 {
				continue
			}
			var kids []*tracepb.Span
			for _, k := range o.spans {
				if string(k.ParentSpanId) == string(s.SpanId) {
					kids = append(kids, k)
				}
			}
			if len(kids) >= want {
				o.mu.Unlock()
				return s, kids
			}
		}
		o.mu.Unlock()
	}
	t.Fatalf("no trace %q with %d child spans arrived", root, want)
	return nil, nil
}

func names(spans []*tracepb.Span) string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return strings.Join(out, ",")
}

// TestTelemetry: with tracing configured, a call is one span with children
// for the policy, the approval wait, the ledger write and the upstream; its
// traceparent reaches the HTTP upstream; the export carries its configured
// credential (from the vault). /metrics counts the calls, the log has one
// line per call, and a stored secret the upstream echoes back appears in
// none of the three.
func TestTelemetry(t *testing.T) {
	recv := &otlpReceiver{}
	collectorSrv := httptest.NewServer(recv)
	t.Cleanup(collectorSrv.Close)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // export every 100 ms, not 5 s
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	data := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`auth: none
data_dir: %s
tracing:
  endpoint: %s
  headers: {Authorization: "Bearer ${secret:OTLP_TOKEN}"}
servers:
  up:
    url: %s/mcp
    headers: {Authorization: "Bearer ${secret:UP_TOKEN}"}
    tools: {read_only: [echo, headers, leak]}
`, data, collectorSrv.URL, up.URL))
	const canary = "sk_live_CANARY_4c1f9e8d7b6a"
	for name, v := range map[string]string{"OTLP_TOKEN": "otlp-credential", "UP_TOKEN": canary} {
		if code, _, errOut := cli(t, v, "secret", "set", name, "-c", cfg); code != 0 {
			t.Fatalf("secret set %s: %s", name, errOut)
		}
	}
	d := serve(t, cfg)
	c := mcpClient(t, d, "up", "")

	// The upstream sees the call's trace.
	got, _ := callText(t, c, "headers", nil)
	m := regexp.MustCompile(`00-([0-9a-f]{32})-([0-9a-f]{16})-01`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("the upstream got no traceparent: %s", got)
	}
	root, kids := recv.trace(t, "tools/call up", 3)
	if hex.EncodeToString(root.TraceId) != m[1] {
		t.Errorf("upstream traceparent is of trace %s, the call's span of %s", m[1], hex.EncodeToString(root.TraceId))
	}
	for _, want := range []string{"policy", "ledger write", "upstream"} {
		if !strings.Contains(names(kids), want) {
			t.Errorf("call span children = %s, want %s", names(kids), want)
		}
	}
	recv.mu.Lock()
	auth := recv.headers.Get("Authorization")
	recv.mu.Unlock()
	if auth != "Bearer otlp-credential" {
		t.Errorf("export Authorization = %q, want the vault's value", auth)
	}

	// A held call: its approval wait is a span of its own.
	result := make(chan string, 1)
	go func() { got, _ := callText(t, c, "add", map[string]any{"a": 1, "b": 2}); result <- got }()
	id := pendingApproval(t, "-c", cfg, "--admin", d.admin)
	if code, _, errOut := cli(t, "", "approvals", "approve", id, "-c", cfg, "--admin", d.admin); code != 0 {
		t.Fatalf("approve: %s", errOut)
	}
	if r := <-result; r != "3" {
		t.Fatalf("approved add = %q", r)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		recv.mu.Lock()
		n := names(recv.spans)
		recv.mu.Unlock()
		if strings.Contains(n, "approval wait") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no approval wait span among %s", n)
		}
	}

	// The upstream echoes the credential: redacted everywhere.
	if leaked, _ := callText(t, c, "leak", nil); strings.Contains(leaked, canary) {
		t.Fatal("the canary reached the client")
	}
	token, _ := os.ReadFile(filepath.Join(data, "admin.token"))
	metrics := scrape(t, d, data)
	for _, want := range []string{
		`drawbridge_calls_total{decision="allow",server="up",status="ok",tool="headers"} 1`,
		`drawbridge_calls_total{decision="approve",server="up",status="ok",tool="add"} 1`,
		`drawbridge_upstream_up{server="up",transport="auto"} 1`,
		`drawbridge_approvals_pending 0`,
		`drawbridge_check_ok{check="audit"} 1`,
		`drawbridge_approval_wait_seconds_count{server="up"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !regexp.MustCompile(`drawbridge_leak_redactions_total [1-9]`).MatchString(metrics) {
		t.Error("the redaction of the echoed credential was not counted")
	}
	if !regexp.MustCompile(`drawbridge_ledger_events_written_total [1-9]`).MatchString(metrics) {
		t.Error("no ledger events counted")
	}

	// One structured line per call, with its ids, outcome and timings.
	callLines := 0
	logs := d.waitLog(func(logs string) bool { return strings.Count(logs, "msg=call ") >= 3 })
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `msg=call `) {
			callLines++
			for _, field := range []string{"request_id=req_", "call_id=call_", "client=anonymous", "server=up", "tool=", "decision=", "status=", "duration=", "upstream=", "policy=", "ledger_wait="} {
				if !strings.Contains(line, field) {
					t.Errorf("call line lacks %s: %s", field, line)
				}
			}
		}
	}
	if callLines != 3 {
		t.Errorf("%d call lines for 3 calls", callLines)
	}
	recv.mu.Lock()
	spans, _ := json.Marshal(recv.spans)
	recv.mu.Unlock()
	console := consolePages(t, "http://"+d.admin, strings.TrimSpace(string(token)), "/calls?tool=leak", "/upstreams", "/tools", "/policy", "/tokens")
	if !strings.Contains(console, "[REDACTED:") {
		t.Error("the leak call's page does not show its redacted result")
	}
	for what, text := range map[string]string{"the log": d.logString(), "/metrics": metrics, "the traces": string(spans),
		"the console": console} {
		if strings.Contains(text, canary) {
			t.Errorf("the canary secret appears in %s", what)
		}
	}
}

// scrape reads a running Drawbridge's /metrics with its admin token.
func scrape(t *testing.T, d *daemon, dataDir string) string {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	return string(body)
}

// consolePages logs in to the console and returns the pages at paths, and
// the page of each call the first one links to, concatenated.
func consolePages(t *testing.T, base, adminToken string, paths ...string) string {
	t.Helper()
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie string
	for _, ck := range resp.Cookies() {
		if ck.Name == "drawbridge_console" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatalf("console login: %s", resp.Status)
	}
	get := func(path string) string {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("console %s: %s", path, resp.Status)
		}
		return string(b)
	}
	var all strings.Builder
	for i, p := range paths {
		page := get(p)
		all.WriteString(page)
		if i == 0 {
			links := regexp.MustCompile(`href="(/calls/call_[^"]+)"`).FindAllStringSubmatch(page, -1)
			if len(links) == 0 {
				t.Fatalf("no call linked from %s", p)
			}
			for _, l := range links {
				all.WriteString(get(l[1]))
			}
		}
	}
	return all.String()
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestGrafanaDashboard: every query of the shipped dashboard names metrics
// Drawbridge serves, so no panel is empty by a typo.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../../examples/grafana/drawbridge-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	// What Drawbridge serves: every metric, each given a value.
	m := telemetry.NewMetrics(telemetry.Sources{
		Upstreams:         func() []proxy.UpstreamView { return []proxy.UpstreamView{{Label: "x", Transport: "stdio"}} },
		Redactions:        func() uint64 { return 0 },
		Pending:           func(context.Context) (int, error) { return 0, nil },
		QueueDepth:        func() int { return 0 },
		PolicyReloads:     func() (uint64, uint64) { return 1, 0 },
		CertificateExpiry: func() time.Time { return time.Now().Add(90 * 24 * time.Hour) },
		Checks:            map[string]func() (bool, string){"policy": func() (bool, string) { return true, "" }},
	})
	m.ObserveCall(proxy.CallRecord{Server: "x", Tool: "y", Decision: "allow", Status: "ok", Total: 1, Upstream: 1, Policy: 1,
		ApprovalWait: 1, LedgerWait: 1})
	m.ObserveCommit(1, time.Millisecond, nil)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
	}
	metricRE := regexp.MustCompile(`\b(drawbridge_[a-z_]+?)(_bucket|_sum|_count)?\b`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			found := metricRE.FindAllStringSubmatch(tg.Expr, -1)
			if len(found) == 0 {
				t.Errorf("panel %q: query %q names no drawbridge metric", p.Title, tg.Expr)
			}
			for _, f := range found {
				if !served[f[1]] {
					t.Errorf("panel %q: %s is not a metric Drawbridge serves", p.Title, f[1])
				}
			}
		}
	}
	if queries < 8 {
		t.Errorf("the dashboard has %d queries", queries)
	}
}

package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/wire"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// testUpstream is the path of the stdio test server binary, built once.
var testUpstream string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "drawbridge-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testUpstream = filepath.Join(dir, "testupstream")
	build := exec.Command("go", "build", "-o", testUpstream, "./internal/mcptest/testupstream")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testupstream: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects log output from concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a running Drawbridge on a loopback port.
type harness struct {
	t      testing.TB
	URL    string // http://127.0.0.1:port
	Token  string // a client token for every server, "tester"
	Srv    *proxy.Server
	Engine *policy.Engine
	Broker *approval.Broker
	Audit  *audit.Log
	State  *state.DB
	Logs   *syncBuffer
	Cfg    *config.Config
	http   *http.Server
	// stopBroker ends the approval broker's background work.
	stopBroker func()
	stopped    atomic.Bool
}

// start writes yaml (which must not set data_dir or listen) to a config file,
// loads it as serve would, and serves it on a free loopback port.
//
// Without a policy: section the config gets testdata/allow, a policy that
// allows everything, so tests of other stages are not refused by the
// shipped "start with approvals" default.
func start(t testing.TB, yaml string) *harness {
	t.Helper()
	return startWith(t, yaml, harnessOpts{})
}

// harnessOpts are the parts a test may choose: nil means the real thing
// (the ledger in data_dir; no secrets).
type harnessOpts struct {
	ledger proxy.Ledger
	vault  proxy.Vault
}

// discardLedger records nothing: only for measuring what the ledger costs.
type discardLedger struct{}

func (discardLedger) Record(context.Context, *audit.Event) error { return nil }
func (discardLedger) Enqueue(*audit.Event)                       {}

// startWith is start with parts of the test's choosing.
func startWith(t testing.TB, yaml string, opts harnessOpts) *harness {
	t.Helper()
	dir := t.TempDir()
	if !strings.HasPrefix(yaml, "policy:") && !strings.Contains(yaml, "\npolicy:") {
		allow, _ := filepath.Abs("testdata/allow")
		yaml = "policy:\n  dir: " + allow + "\n" + yaml
	}
	path := filepath.Join(dir, "drawbridge.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	h := &harness{t: t, URL: "http://" + ln.Addr().String(), Logs: &syncBuffer{}, Cfg: cfg}
	ctx := context.Background()
	h.State, err = state.Open(ctx, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	h.Token, err = h.State.CreateToken(ctx, "tester", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(h.Logs, testWriter{t, &h.stopped}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.Engine, err = wire.Policy(ctx, cfg, log)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	h.Audit, err = audit.Open(ctx, audit.Options{Path: cfg.Audit.Path, Sync: string(cfg.Audit.Sync), Logger: log})
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	ledger := opts.ledger
	if ledger == nil {
		ledger = h.Audit
	}
	h.Broker = approval.New(approval.Options{DB: h.State, Timeout: cfg.Approval.Timeout.D(), GrantTTL: cfg.Approval.GrantTTL.D(),
		Webhook: cfg.Approval.WebhookURL, Logger: log, OnEvent: func(event string, a state.Approval) {
			ledger.Enqueue(&audit.Event{Kind: audit.KindApproval, Method: "approval/" + event, ApprovalID: a.ID,
				Client: a.Client, Server: a.Server, Tool: a.Tool, ApprovedBy: a.DecidedBy, Error: a.Note})
		}})
	h.stopBroker = h.Broker.Start(ctx)
	h.Srv, err = proxy.New(proxy.Options{Config: cfg, Logger: log, Tokens: wire.Tokens{DB: h.State}, Policy: h.Engine,
		Ledger: ledger, Secrets: opts.vault, Pins: wire.Pins{DB: h.State}, Approvals: wire.Approvals{Broker: h.Broker}, Checks: map[string]func() (bool, string){"policy": h.Engine.Check, "audit": h.Audit.Check}})
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	h.http = proxy.HTTPServer(cfg, h.Srv.Handler(), nil)
	go h.http.Serve(proxy.LimitListener(ln, cfg.MaxConnsPerAddress))
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.http.Shutdown(ctx)
	h.stopBroker()
	_ = h.Srv.Close()
	_ = h.Audit.Close()
	_ = h.State.Close()
	h.stopped.Store(true)
}

// testWriter sends log lines to the test's log until the harness stops:
// goroutines that outlive a test (a refresh racing shutdown) must not log
// into a finished test.
type testWriter struct {
	t       testing.TB
	stopped *atomic.Bool
}

func (w testWriter) Write(p []byte) (int, error) {
	if !w.stopped.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// post sends a raw body to /mcp/<label> with the headers a conforming client
// sends (protocol 2025-06-18, the harness token), overridden by kv pairs; a
// pair with an empty value deletes the header.
func (h *harness) post(label, body string, kv ...string) (*http.Response, []byte) {
	h.t.Helper()
	return h.do(http.MethodPost, label, body, kv...)
}

func (h *harness) do(method, label, body string, kv ...string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.URL+"/mcp/"+label, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	req.Header.Set("Authorization", "Bearer "+h.Token)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			req.Header.Del(kv[i])
		} else {
			req.Header.Set(kv[i], kv[i+1])
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, label, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

// rpcResponse is a decoded JSON-RPC response.
type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// rpc calls method on label and returns the decoded response, failing the
// test on anything but HTTP 200.
func (h *harness) rpc(label, method string, params any, kv ...string) rpcResponse {
	h.t.Helper()
	body := map[string]any{"jsonrpc": "2.0", "id": 1, "method": method}
	if params != nil {
		body["params"] = params
	}
	b, _ := json.Marshal(body)
	resp, raw := h.post(label, string(b), kv...)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("%s: HTTP %d: %s", method, resp.StatusCode, raw)
	}
	var r rpcResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		h.t.Fatalf("%s: decode %q: %v", method, raw, err)
	}
	return r
}

// toolResult is a decoded tools/call result.
type toolResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	IsError bool `json:"isError"`
}

func (r toolResult) text() string {
	var parts []string
	for _, c := range r.Content {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "\n")
}

// call runs tools/call and returns the tool result; a JSON-RPC error fails
// the test.
func (h *harness) call(label, tool string, args map[string]any, kv ...string) toolResult {
	h.t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	r := h.rpc(label, "tools/call", map[string]any{"name": tool, "arguments": args}, kv...)
	if r.Error != nil {
		h.t.Fatalf("tools/call %s: JSON-RPC error %d %s", tool, r.Error.Code, r.Error.Message)
	}
	var tr toolResult
	if err := json.Unmarshal(r.Result, &tr); err != nil {
		h.t.Fatalf("tools/call %s: decode %s: %v", tool, r.Result, err)
	}
	return tr
}

// toolNames runs tools/list and returns the names.
func (h *harness) toolNames(label string) []string {
	h.t.Helper()
	r := h.rpc(label, "tools/list", nil)
	if r.Error != nil {
		h.t.Fatalf("tools/list: %s", r.Error.Message)
	}
	var res struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, t := range res.Tools {
		names = append(names, t.Name)
	}
	return names
}

// eventually polls cond every 20ms for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func stdioServer(label string, extra string) string {
	return fmt.Sprintf("  %s:\n    command: %s\n%s", label, testUpstream, extra)
}

package expose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OpenAITunnel serves OpenAI's Secure MCP Tunnel natively: Drawbridge
// long-polls the control plane for commands addressed to its tunnel, runs
// each one through its own MCP endpoint (the Handler: the same token check,
// policy, approvals, ledger and leak guard as any request: the tunnel is a
// transport, not a bypass) and posts the answer back. Nothing listens in
// public. The wire protocol is openai/tunnel-client's docs/protocol.md.
type OpenAITunnel struct {
	// Base is the control plane (https://api.openai.com).
	Base     string
	TunnelID string
	// Key returns the tunnel API key, read from the vault for each request.
	Key func() (string, error)
	// Label is the server the tunnel serves (/mcp/<label>).
	Label   string
	Handler http.Handler
	Log     *slog.Logger
	Client  *http.Client
	// Workers bounds the commands run at once. Default 16.
	Workers int

	mu     sync.Mutex
	status string
	ok     bool
}

// Version is sent as X-Tunnel-Client-Version.
var Version = "dev"

// command is one polled command; unknown properties are ignored.
type command struct {
	RequestID       string              `json:"request_id"`
	ShardToken      string              `json:"shard_token"`
	CommandType     string              `json:"command_type"`
	Channel         string              `json:"channel,omitempty"`
	ResponseTimeout json.RawMessage     `json:"response_timeout,omitempty"`
	Headers         map[string][]string `json:"headers,omitempty"`
	JSONRPC         json.RawMessage     `json:"jsonrpc,omitempty"`
}

// reply is one POST to /response.
type reply struct {
	RequestID   string              `json:"request_id"`
	Channel     string              `json:"channel,omitempty"`
	RespJSON    json.RawMessage     `json:"resp_json,omitempty"`
	RespHeaders map[string][]string `json:"resp_headers,omitempty"`
	RespCode    int                 `json:"resp_code"`
	RespType    string              `json:"resp_type"`
}

// Run polls until ctx ends, backing off on failures.
func (t *OpenAITunnel) Run(ctx context.Context) {
	if t.Client == nil {
		t.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if t.Workers <= 0 {
		t.Workers = 16
	}
	work := make(chan struct{}, t.Workers)
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		cmds, received, err := t.poll(ctx)
		if err != nil {
			t.set(false, "poll failed: "+err.Error())
			backoff = min(max(2*backoff, 500*time.Millisecond), 30*time.Second)
			t.Log.Warn("openai tunnel poll failed", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
			case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff/4+1)))):
			}
			continue
		}
		backoff = 0
		t.set(true, "polling tunnel "+t.TunnelID)
		for _, c := range cmds {
			select {
			case work <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-work }()
				t.process(ctx, c, received)
			}()
		}
	}
}

func (t *OpenAITunnel) set(ok bool, status string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ok, t.status = ok, status
}

// Check reports the tunnel's state for /readyz.
func (t *OpenAITunnel) Check() (bool, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status == "" {
		return false, "not polled yet"
	}
	return t.ok, t.status
}

func (t *OpenAITunnel) endpoint(path string) string {
	return strings.TrimRight(t.Base, "/") + "/v1/tunnels/" + url.PathEscape(t.TunnelID) + path
}

func (t *OpenAITunnel) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	key, err := t.Key()
	if err != nil {
		return nil, fmt.Errorf("tunnel API key: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.endpoint(path), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Tunnel-Client-Name", "drawbridge")
	req.Header.Set("X-Tunnel-Client-Version", Version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// poll asks for up to 25 commands, waiting up to 15 s; it returns when the
// response headers arrived, the anchor of every command's deadline.
func (t *OpenAITunnel) poll(ctx context.Context) ([]command, time.Time, error) {
	req, err := t.request(ctx, http.MethodGet, "/poll?limit=25&timeout_ms=15000", nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return nil, time.Time{}, err
	}
	received := time.Now()
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return nil, received, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, received, fmt.Errorf("%s: the tunnel API key is refused (public.api_key) or does not own tunnel %s", resp.Status, t.TunnelID)
	case resp.StatusCode != http.StatusOK:
		return nil, received, fmt.Errorf("poll: %s", resp.Status)
	}
	var env struct {
		Commands []command `json:"commands"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&env); err != nil {
		return nil, received, fmt.Errorf("poll: malformed answer: %w", err)
	}
	return env.Commands, received, nil
}

// timeoutRE is response_timeout's wire grammar.
var timeoutRE = regexp.MustCompile(`^([0-9]+)(ns|us|ms|s|m|h)$`)

// deadline is when a command must be answered by: its receipt plus its
// response_timeout; ok is false when it has none (or a malformed one,
// which the protocol says to treat as none).
func (c *command) deadline(received time.Time) (time.Time, bool) {
	var s string
	if json.Unmarshal(c.ResponseTimeout, &s) != nil {
		return time.Time{}, false
	}
	m := timeoutRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	unit := map[string]time.Duration{"ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour}[m[2]]
	if err != nil || n > int64(1<<62)/int64(unit) {
		return time.Time{}, false
	}
	return received.Add(time.Duration(n) * unit), true
}

// process runs one command and posts its answer. A command already past
// its deadline is dropped without running; the MCP work ends a little
// before the deadline (so a held call's "pending, ask the operator" answer
// still arrives in time), and the answer is never posted late.
func (t *OpenAITunnel) process(ctx context.Context, c command, received time.Time) {
	if deadline, ok := c.deadline(received); ok {
		left := time.Until(deadline)
		if left <= 0 {
			t.Log.Warn("openai tunnel command expired before it ran; dropped", "request_id", c.RequestID)
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
		work, cancelWork := context.WithDeadline(ctx, deadline.Add(-min(2*time.Second, left/5)))
		defer cancelWork()
		t.answer(ctx, c, t.run(work, c))
		return
	}
	t.answer(ctx, c, t.run(ctx, c))
}

// run dispatches a command to the MCP endpoint, in process.
func (t *OpenAITunnel) run(ctx context.Context, c command) *reply {
	r := &reply{RequestID: c.RequestID, Channel: c.Channel}
	var req *http.Request
	switch c.CommandType {
	case "jsonrpc":
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, "/mcp/"+t.Label, bytes.NewReader(c.JSONRPC))
	case "session_termination":
		req, _ = http.NewRequestWithContext(ctx, http.MethodDelete, "/mcp/"+t.Label, nil)
	default:
		t.Log.Warn("openai tunnel command of an unknown type skipped", "request_id", c.RequestID, "command_type", c.CommandType)
		return nil
	}
	for k, vs := range c.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	// The endpoint sees an MCP client on this machine: JSON in, JSON out.
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Host, req.RemoteAddr = "localhost", "openai-tunnel:0"
	w := newCapture()
	t.Handler.ServeHTTP(w, req)
	if ctx.Err() != nil && w.code == 0 {
		return nil // cancelled: the protocol says post nothing
	}
	r.RespCode, r.RespHeaders = w.status(), allowlisted(w.header)
	switch {
	case c.CommandType == "session_termination":
		r.RespType = "session_termination_response"
	case w.body.Len() == 0:
		r.RespType = "notify_ack" // a notification: nothing to answer
	default:
		r.RespType, r.RespJSON = "jsonrpc_response", json.RawMessage(bytes.TrimSpace(w.body.Bytes()))
	}
	return r
}

// answer posts a reply, retrying transient failures until ctx ends.
func (t *OpenAITunnel) answer(ctx context.Context, c command, r *reply) {
	if r == nil || ctx.Err() != nil {
		return
	}
	body, _ := json.Marshal(r)
	for attempt := 0; ; attempt++ {
		req, err := t.request(ctx, http.MethodPost, "/response", body)
		if err != nil {
			t.Log.Error("openai tunnel answer", "request_id", c.RequestID, "err", err)
			return
		}
		req.Header.Set("X-Tunnel-Shard-Token", c.ShardToken)
		resp, err := t.Client.Do(req)
		retry := err != nil
		if err == nil {
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK, http.StatusNoContent, http.StatusNotFound: // 404: already fulfilled or gone
				return
			case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				retry, err = true, errors.New(resp.Status)
			default:
				t.Log.Error("openai tunnel answer refused", "request_id", c.RequestID, "status", resp.Status)
				return
			}
		}
		if !retry || attempt >= 5 {
			t.Log.Error("openai tunnel answer not delivered", "request_id", c.RequestID, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		}
	}
}

// responseHeaders are the MCP response headers the protocol passes on.
var responseHeaders = []string{"Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-Id",
	"Access-Control-Expose-Headers", "Www-Authenticate"}

func allowlisted(h http.Header) map[string][]string {
	out := map[string][]string{}
	for _, k := range responseHeaders {
		if v := h.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// capture is the ResponseWriter a tunnel command is answered into; it holds
// at most 64 MB, like any upstream message.
type capture struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newCapture() *capture { return &capture{header: http.Header{}} }

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

func (c *capture) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	if c.body.Len()+len(b) > 64<<20 {
		return 0, errors.New("tunnel answer over 64 MB")
	}
	return c.body.Write(b)
}

func (c *capture) Flush() {}

func (c *capture) status() int {
	if c.code == 0 {
		return http.StatusOK
	}
	return c.code
}

package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// maxMessage bounds one message from an upstream (a stdio line, an HTTP
// JSON body, one line of an event stream), so a runaway or hostile
// upstream cannot make Drawbridge hold more than this for one answer.
const maxMessage = 64 << 20

// stdioConn is a connection to a child process speaking MCP over stdio:
// one JSON-RPC message per line on stdin and stdout. The child gets only the
// environment the config gives it and runs in its own process group, so
// shutdown reaches its children too.
type stdioConn struct {
	cfg    *config.Server
	log    *slog.Logger
	lookup config.Lookup // unscoped secrets: the child serves every client

	cmd   *exec.Cmd
	stdin io.WriteCloser
	wmu   sync.Mutex // serialises writes to stdin

	mu       sync.Mutex
	pending  map[string]chan *transport.JSONRPCResponse
	onNotify func(mcp.JSONRPCNotification)

	done    chan struct{} // closed once the child has exited
	exitErr error         // why, set before done closes
}

var _ transport.Interface = (*stdioConn)(nil)

func newStdioConn(cfg *config.Server, log *slog.Logger, lookup config.Lookup) *stdioConn {
	return &stdioConn{
		cfg:     cfg,
		log:     log,
		lookup:  lookup,
		pending: make(map[string]chan *transport.JSONRPCResponse),
		done:    make(chan struct{}),
	}
}

// childEnv is the child's whole environment, from the config alone.
func childEnv(cfg *config.Server, lookup config.Lookup) ([]string, error) {
	env := make([]string, 0, len(cfg.Env))
	for k, t := range cfg.Env {
		v, err := t.Expand(lookup)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", k, err)
		}
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env, nil
}

// Start launches the child.
func (c *stdioConn) Start(context.Context) error {
	env, err := childEnv(c.cfg, c.lookup)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.cfg.Command, c.cfg.Args...)
	cmd.Env = env
	cmd.Dir = c.cfg.Cwd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = &lineLogger{log: c.log}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.cfg.Command, err)
	}
	c.cmd, c.stdin = cmd, stdin
	go c.read(stdout)
	return nil
}

// read dispatches the child's messages until its stdout closes, then reaps it
// and fails whatever is still waiting.
func (c *stdioConn) read(stdout io.Reader) {
	r := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, err := readLine(r)
		if err != nil {
			break
		}
		c.dispatch(line)
	}
	err := c.cmd.Wait()
	if err == nil {
		err = errors.New("process exited")
	} else {
		err = fmt.Errorf("process exited: %w", err)
	}
	c.mu.Lock()
	c.exitErr = err
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxMessage {
			return nil, fmt.Errorf("message over %d bytes", maxMessage)
		}
		if err == nil {
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

func (c *stdioConn) dispatch(line []byte) {
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		c.log.Warn("stdio upstream wrote a line that is not JSON-RPC", "bytes", len(line))
		return
	}
	switch k, _ := m.classify(); k {
	case kindResponse:
		c.mu.Lock()
		ch, ok := c.pending[string(m.ID)]
		delete(c.pending, string(m.ID))
		c.mu.Unlock()
		if ok {
			ch <- decodeResponse(&m)
		}
	case kindNotification:
		c.mu.Lock()
		h := c.onNotify
		c.mu.Unlock()
		var n mcp.JSONRPCNotification
		if h != nil && json.Unmarshal(line, &n) == nil {
			h(n)
		}
	case kindRequest:
		// The child asks something of its client (ping, sampling, roots).
		// Drawbridge answers ping and declines the rest: it offers no client
		// capabilities upstream.
		resp := failure(m.ID, errorf(codeMethodNotFound, "drawbridge does not offer %s to upstreams", m.Method))
		if m.Method == "ping" {
			resp = result(m.ID, json.RawMessage(`{}`))
		}
		_ = c.write(mustJSON(resp))
	}
}

func decodeResponse(m *message) *transport.JSONRPCResponse {
	r := &transport.JSONRPCResponse{JSONRPC: "2.0", Result: m.Result}
	_ = json.Unmarshal(m.ID, &r.ID)
	if m.Error != nil {
		var e mcp.JSONRPCErrorDetails
		if err := json.Unmarshal(m.Error, &e); err != nil {
			e = mcp.JSONRPCErrorDetails{Code: codeInternal, Message: "malformed error from upstream"}
		}
		r.Error = &e
	}
	return r
}

func (c *stdioConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return c.exitErr
	default:
	}
	if _, err := c.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write to child: %w", err)
	}
	return nil
}

// SendRequest writes a request and waits for its response, the context's end
// or the child's exit, whichever comes first.
func (c *stdioConn) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("marshal request: %w", err)
	}
	id := string(mustJSON(req.ID))
	ch := make(chan *transport.JSONRPCResponse, 1)
	c.mu.Lock()
	if c.exitErr != nil {
		c.mu.Unlock()
		return nil, c.exitErr
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.write(body); err != nil {
		c.forget(id)
		return nil, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, c.exitErr
		}
		return resp, nil
	case <-ctx.Done():
		c.forget(id)
		c.cancel(req.ID)
		return nil, ctx.Err()
	}
}

func (c *stdioConn) forget(id string) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// cancel tells the child a request was abandoned.
func (c *stdioConn) cancel(id mcp.RequestId) {
	n := map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
		"params": map[string]any{"requestId": id, "reason": "timeout or client gone"}}
	_ = c.write(mustJSON(n))
}

// SendNotification writes a notification.
func (c *stdioConn) SendNotification(_ context.Context, n mcp.JSONRPCNotification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("marshal notification: %w", err)
	}
	return c.write(b)
}

// SetNotificationHandler sets the handler for the child's notifications.
func (c *stdioConn) SetNotificationHandler(h func(mcp.JSONRPCNotification)) {
	c.mu.Lock()
	c.onNotify = h
	c.mu.Unlock()
}

// Done is closed when the child has exited.
func (c *stdioConn) Done() <-chan struct{} { return c.done }

// Close stops the child: stdin closed first (the spec's polite shutdown),
// then SIGTERM to its process group, then SIGKILL.
func (c *stdioConn) Close() error {
	if c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	c.wmu.Lock()
	_ = c.stdin.Close()
	c.wmu.Unlock()
	pgid := c.cmd.Process.Pid
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{0, 2 * time.Second}, {syscall.SIGTERM, 2 * time.Second}, {syscall.SIGKILL, 2 * time.Second}} {
		if step.sig != 0 {
			_ = syscall.Kill(-pgid, step.sig)
		}
		select {
		case <-c.done:
			// The leader is gone; make sure nothing it started lingers.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("child %d did not exit", pgid)
}

// GetSessionId is empty: stdio has no sessions.
func (c *stdioConn) GetSessionId() string { return "" }

// lineLogger logs a child's stderr, one record per line, bounded per line.
type lineLogger struct {
	log *slog.Logger
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 8<<10 {
		l.emit(l.buf)
		l.buf = l.buf[:0]
	}
	return len(p), nil
}

func (l *lineLogger) emit(line []byte) {
	if len(line) > 2048 {
		line = line[:2048]
	}
	l.log.Info("upstream stderr", "line", string(line))
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// binDir holds the drawbridge and testupstream binaries, built once.
var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "drawbridge-cmd")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for out, pkg := range map[string]string{"drawbridge": "./cmd/drawbridge", "testupstream": "./internal/mcptest/testupstream"} {
		build := exec.Command("go", "build", "-o", filepath.Join(binDir, out), pkg)
		build.Dir = "../.."
		if b, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, b)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// cli runs a subcommand in process and returns its exit code and output.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drawbridge.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// daemon is a drawbridge serve process.
type daemon struct {
	cmd   *exec.Cmd
	addr  string
	admin string // the admin listener, when serve chose it
	logs  *bytes.Buffer
	logMu sync.Mutex
	done  chan error
}

// logString is what the daemon logged so far.
func (d *daemon) logString() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.logs.String()
}

// waitLog waits, at most 5 s, until the daemon's log satisfies ok, and
// returns the log as it then stands. Log lines cross a pipe, so a line the
// daemon wrote before answering may still be in flight when the answer lands.
func (d *daemon) waitLog(ok func(string) bool) string {
	for i := 0; i < 100; i++ {
		if logs := d.logString(); ok(logs) {
			return logs
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d.logString()
}

// logHas is a waitLog condition: the log contains s.
func logHas(s string) func(string) bool {
	return func(logs string) bool { return strings.Contains(logs, s) }
}

// serve starts the real binary and waits until it answers /healthz.
func serve(t *testing.T, cfgPath string, extra ...string) *daemon {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"serve", "-c", cfgPath, "--listen", addr}, extra...)
	admin := ""
	if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "admin:") {
		admin = freeAddr(t)
		args = append(args, "--admin-listen", admin)
	}
	cmd := exec.Command(filepath.Join(binDir, "drawbridge"), args...)
	d := &daemon{cmd: cmd, addr: addr, admin: admin, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Log(sc.Text())
			d.logMu.Lock()
			d.logs.WriteString(sc.Text() + "\n")
			d.logMu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// done fires once the process has exited and its last log line is read,
	// so nothing logs into a finished test.
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-scanned
		d.done <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.done
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return d
		}
		select {
		case err := <-d.done:
			t.Fatalf("drawbridge serve exited: %v\n%s", err, d.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("drawbridge serve did not come up")
	return nil
}

// mcpClient connects mcp-go's client to a label of a running daemon.
func mcpClient(t *testing.T, d *daemon, label, token string) *client.Client {
	t.Helper()
	headers := map[string]string{}
	if token != "" {
		headers["Authorization"] = "Bearer " + token
	}
	c, err := client.NewStreamableHttpClient("http://"+d.addr+"/mcp/"+label, transport.WithHTTPHeaders(headers))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "cmd-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// pendingApproval waits for a call to be held and returns its approval id,
// as `drawbridge approvals` (with args: -c, --admin, …) lists it.
func pendingApproval(t *testing.T, args ...string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, out, _ := cli(t, "", append([]string{"approvals"}, args...)...)
		if i := strings.Index(out, "apr_"); i >= 0 {
			return strings.Fields(out[i:])[0]
		}
	}
	t.Fatal("no pending approval appeared")
	return ""
}

func callText(t *testing.T, c *client.Client, tool string, args map[string]any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("CallTool(%s): %v", tool, err)
	}
	var parts []string
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), res.IsError
}

// callTextErr is callText for goroutines: failures are results, not fatal.
func callTextErr(c *client.Client, tool, text string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = map[string]any{"text": text}
	res, err := c.CallTool(ctx, req)
	if err != nil || len(res.Content) == 0 {
		return "", true
	}
	tc, _ := res.Content[0].(mcp.TextContent)
	return tc.Text, res.IsError
}

func toolNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

func signalAndWait(t *testing.T, d *daemon, sig syscall.Signal) error {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		d.done <- err // for Cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("drawbridge did not exit after the signal")
		return nil
	}
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}

package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// nodeDir holds the npm packages the real-peer tests use (installed by
// .ci/run: npm ci in testdata/node).
func nodeDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs("../testdata/node")
	_, err := exec.LookPath("node")
	mcptest.NeedPeer(t, "node", err)
	_, err = os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol"))
	mcptest.NeedPeer(t, "the npm packages in testdata/node (npm ci there)", err)
	return dir
}

func everythingJS(dir string) string {
	return filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
}

// startEverythingHTTP runs server-everything over Streamable HTTP on a free
// loopback port and returns its /mcp URL.
func startEverythingHTTP(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", everythingJS(dir), "streamableHttp")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatal("server-everything did not start")
	}
	return fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
}

// TestServerEverything runs the reference server from npm behind Drawbridge
// over stdio and over Streamable HTTP: tools, resources and prompts bridged.
func TestServerEverything(t *testing.T) {
	dir := nodeDir(t)
	httpURL := startEverythingHTTP(t, dir)
	h := start(t, fmt.Sprintf(`servers:
  ev_stdio:
    command: node
    args: [%q, stdio]
    timeout: 30s
  ev_http:
    url: %s
    timeout: 30s
`, everythingJS(dir), httpURL))
	for _, label := range []string{"ev_stdio", "ev_http"} {
		t.Run(label, func(t *testing.T) {
			names := h.toolNames(label)
			if !slices.Contains(names, "echo") || !slices.Contains(names, "get-sum") {
				t.Fatalf("tools = %v, want echo and get-sum", names)
			}
			if got := h.call(label, "echo", map[string]any{"message": "through drawbridge"}).text(); !strings.Contains(got, "through drawbridge") {
				t.Fatalf("echo = %q", got)
			}
			if got := h.call(label, "get-sum", map[string]any{"a": 2, "b": 40}).text(); !strings.Contains(got, "42") {
				t.Fatalf("get-sum = %q", got)
			}
			for _, m := range []string{"resources/list", "prompts/list"} {
				r := h.rpc(label, m, nil)
				if r.Error != nil || len(r.Result) < 10 {
					t.Fatalf("%s = %+v %s, want it bridged", m, r.Error, r.Result)
				}
			}
		})
	}
}

// TestTypeScriptSDKClient drives the official TypeScript SDK client through
// Drawbridge, including ending its session and calling again with the dead
// session id on a new connection.
func TestTypeScriptSDKClient(t *testing.T) {
	dir := nodeDir(t)
	h := start(t, "servers:\n"+stdioServer("kid", ""))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs", h.URL+"/mcp/kid", h.Token, "echo", `{"text":"from typescript"}`)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client.mjs: %v\n%s", err, out)
	}
	var got struct {
		Protocol  string   `json:"protocol"`
		SessionID string   `json:"sessionId"`
		Tools     []string `json:"tools"`
		First     toolResult
		Second    toolResult
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	if got.SessionID == "" || !slices.Contains(got.Tools, "echo") {
		t.Fatalf("got %+v, want a session and echo listed", got)
	}
	if got.First.text() != "from typescript" || got.Second.text() != "from typescript" {
		t.Fatalf("calls = %q / %q, want the text back both times", got.First.text(), got.Second.text())
	}
}

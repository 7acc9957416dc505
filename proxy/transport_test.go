package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// upstreamKinds starts one upstream of each transport and returns the
// servers: block for each, keyed by label.
func upstreamKinds(t *testing.T) map[string]string {
	t.Helper()
	streamable := mcptest.Streamable(mcptest.NewServer("streamable"))
	t.Cleanup(streamable.Close)
	sse := mcptest.SSE(mcptest.NewServer("sse"))
	t.Cleanup(sse.Close)
	return map[string]string{
		"streamable": fmt.Sprintf("  streamable:\n    url: %s/mcp\n", streamable.URL),
		"sse":        fmt.Sprintf("  sse:\n    url: %s/sse\n", sse.URL),
		"auto_sse":   fmt.Sprintf("  auto_sse:\n    url: %s/sse\n    transport: auto\n", sse.URL),
		"stdio":      stdioServer("stdio", ""),
	}
}

func allServers(blocks map[string]string) string {
	var b strings.Builder
	b.WriteString("servers:\n")
	for _, k := range slices.Sorted(mapsKeys(blocks)) {
		b.WriteString(blocks[k])
	}
	return b.String()
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestMCPGoClientEveryTransport drives a real mcp-go client through
// Drawbridge to an upstream of each kind: Streamable HTTP, legacy SSE
// (explicit and found by auto's fallback) and a stdio child.
func TestMCPGoClientEveryTransport(t *testing.T) {
	blocks := upstreamKinds(t)
	h := start(t, allServers(blocks))
	for _, label := range slices.Sorted(mapsKeys(blocks)) {
		t.Run(label, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := client.NewStreamableHttpClient(h.URL+"/mcp/"+label,
				transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + h.Token}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
			init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
			if _, err := c.Initialize(ctx, init); err != nil {
				t.Fatalf("Initialize: %v", err)
			}
			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			var names []string
			for _, tl := range tools.Tools {
				names = append(names, tl.Name)
			}
			if !slices.Contains(names, "echo") || !slices.Contains(names, "raw_schema") {
				t.Fatalf("ListTools = %v, want echo and raw_schema among them", names)
			}
			req := mcp.CallToolRequest{}
			req.Params.Name = "echo"
			req.Params.Arguments = map[string]any{"text": "hello " + label}
			res, err := c.CallTool(ctx, req)
			if err != nil {
				t.Fatalf("CallTool: %v", err)
			}
			if res.IsError || len(res.Content) != 1 || res.Content[0].(mcp.TextContent).Text != "hello "+label {
				t.Fatalf("CallTool(echo) = %+v, want the text back", res)
			}
		})
	}
}

// TestRawSchemaByteForByte checks that tool schemas pass through untouched,
// keys mcp-go's typed Tool would drop included.
func TestRawSchemaByteForByte(t *testing.T) {
	blocks := upstreamKinds(t)
	h := start(t, allServers(blocks))
	for _, label := range []string{"streamable", "sse", "stdio"} {
		t.Run(label, func(t *testing.T) {
			r := h.rpc(label, "tools/list", nil)
			var res struct {
				Tools []struct {
					Name        string          `json:"name"`
					InputSchema json.RawMessage `json:"inputSchema"`
				} `json:"tools"`
			}
			if err := json.Unmarshal(r.Result, &res); err != nil {
				t.Fatal(err)
			}
			for _, tl := range res.Tools {
				if tl.Name == "raw_schema" {
					if string(tl.InputSchema) != mcptest.RawSchema {
						t.Fatalf("inputSchema = %s, want %s", tl.InputSchema, mcptest.RawSchema)
					}
					return
				}
			}
			t.Fatal("raw_schema not listed")
		})
	}
}

// TestStdioEnvironmentIsolated checks that a stdio child sees the env the
// config gives it and none of Drawbridge's own (which may hold secrets).
func TestStdioEnvironmentIsolated(t *testing.T) {
	t.Setenv("DRAWBRIDGE_OWN_SECRET", "canary-own-env-7c1f")
	t.Setenv("PASSED_ON", "passed-on-value")
	h := start(t, "servers:\n"+stdioServer("kid", "    env:\n      GIVEN: plain\n      FROM_ENV: ${env:PASSED_ON}\n"))
	got := h.call("kid", "env", nil).text()
	// A value taken from ${env:…} is treated as a credential: the child gets
	// it, and the scrubber keeps it from coming back out.
	want := "FROM_ENV=[REDACTED:kid.env.FROM_ENV]\nGIVEN=plain"
	if got != want {
		t.Fatalf("child environment = %q, want exactly %q", got, want)
	}
}

// TestStdioChildRestarted checks that a child that dies is restarted with
// backoff and serves again, and that the call it died in gets an error
// naming the upstream.
func TestStdioChildRestarted(t *testing.T) {
	h := start(t, "servers:\n"+stdioServer("kid", "    timeout: 5s\n"))
	first := h.call("kid", "echo", map[string]any{"text": "before"})
	if first.text() != "before" {
		t.Fatalf("echo = %q", first.text())
	}
	crashed := h.call("kid", "crash", nil)
	if !crashed.IsError || !strings.Contains(crashed.text(), `"kid"`) {
		t.Fatalf("crash result = %+v, want a tool error naming the upstream", crashed)
	}
	eventually(t, "the child to be restarted", func() bool {
		r := h.rpc("kid", "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "after"}})
		return r.Error == nil && strings.Contains(string(r.Result), `"after"`)
	})
	if !strings.Contains(h.Logs.String(), "stdio upstream exited; restarting") {
		t.Fatal("the restart was not logged")
	}
}

// TestStdioChildStoppedOnClose checks that closing Drawbridge stops its
// children, their process group included.
func TestStdioChildStoppedOnClose(t *testing.T) {
	h := start(t, "servers:\n"+stdioServer("kid", ""))
	h.call("kid", "echo", map[string]any{"text": "up"}) // make sure it runs
	pid := childPID(t, testUpstream)
	if err := h.Srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if !strings.Contains(string(st), ") Z ") {
			t.Fatalf("child %d still running after Close", pid)
		}
	}
}

// childPID finds the one running process whose executable is path and whose
// parent is this test process.
func childPID(t *testing.T, path string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || exe != path {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(self) {
			return pid
		}
	}
	t.Fatalf("no child process running %s", path)
	return 0
}

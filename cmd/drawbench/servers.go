package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// startEcho serves an mcp-go echo tool over Streamable HTTP on loopback.
func startEcho() (string, func(), error) {
	s := server.NewMCPServer("echo", "1.0.0", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text", mcp.Required())),
		func(_ context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(r.GetString("text", "")), nil
		})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", server.NewStreamableHTTPServer(s))
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String() + "/mcp", func() { hs.Close() }, nil
}

// drawbridge is a drawbridge serve process in front of the echo upstream.
type drawbridge struct {
	cmd   *exec.Cmd
	url   string
	token string
}

func startDrawbridge(bin, work, upstream string) (*drawbridge, error) {
	cfg := filepath.Join(work, "drawbridge.yaml")
	yaml := fmt.Sprintf("data_dir: ./data\nservers:\n  echo:\n    url: %s\n    tools: {read_only: [echo]}\n", upstream)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	out, err := exec.Command(bin, "token", "create", "bench", "-c", cfg).Output()
	if err != nil {
		return nil, fmt.Errorf("token create: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	adminAddr := admin.Addr().String()
	admin.Close()
	args := []string{"serve", "-c", cfg, "--listen", addr, "--admin-listen", adminAddr}
	if p := os.Getenv("DRAWBENCH_CPUPROFILE"); p != "" {
		args = append(args, "--cpuprofile", p)
	}
	cmd := exec.Command(bin, args...)
	logPath := filepath.Join(work, "drawbridge.log")
	if p := os.Getenv("DRAWBENCH_LOG"); p != "" {
		logPath = p
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &drawbridge{cmd: cmd, url: "http://" + addr + "/mcp/echo", token: strings.TrimSpace(string(out))}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
	}
	d.stop()
	return nil, fmt.Errorf("drawbridge did not become ready; see %s", logf.Name())
}

func (d *drawbridge) stop() {
	_ = d.cmd.Process.Signal(os.Interrupt)
	_ = d.cmd.Wait()
}

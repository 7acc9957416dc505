package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
)

// serveReverseProxy runs in a child process: a bare reverse proxy to
// upstream, the baseline every MCP gateway is compared with. It prints its
// address on stdout, then serves until killed.
func serveReverseProxy(upstream string) {
	u, err := url.Parse(upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	fmt.Println(ln.Addr().String())
	_ = http.Serve(ln, rp)
}

type child struct {
	cmd *exec.Cmd
	url string
}

func startReverseProxy(upstream string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve-reverse-proxy", upstream)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("reverse proxy did not start: %w", err)
	}
	u, _ := url.Parse(upstream)
	return &child{cmd: cmd, url: "http://" + strings.TrimSpace(line) + u.Path}, nil
}

func (c *child) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

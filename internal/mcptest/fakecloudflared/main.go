// Command fakecloudflared stands in for cloudflared in tests: run as
// `fakecloudflared tunnel --no-autoupdate --url http://ADDR`, it prints a
// trycloudflare.com URL the way cloudflared does, and proxies what reaches
// its loopback port to ADDR with the public Host, as the real edge would.
// It writes its port to $FAKE_CLOUDFLARED_PORTFILE for the test to dial.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "tunnel" {
		fmt.Fprintln(os.Stderr, "usage: fakecloudflared tunnel --no-autoupdate --url URL")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("tunnel", flag.ExitOnError)
	fs.Bool("no-autoupdate", false, "")
	target := fs.String("url", "", "")
	_ = fs.Parse(os.Args[2:])
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		fmt.Fprintln(os.Stderr, "bad --url")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if f := os.Getenv("FAKE_CLOUDFLARED_PORTFILE"); f != "" {
		_ = os.WriteFile(f, []byte(ln.Addr().String()), 0o600)
	}
	const public = "quiet-river-fake-tunnel.trycloudflare.com"
	fmt.Fprintf(os.Stderr, "2026-01-01T00:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...\n")
	fmt.Fprintf(os.Stderr, "2026-01-01T00:00:00Z INF |  https://%s  |\n", public)
	proxy := httputil.NewSingleHostReverseProxy(u)
	director := proxy.Director
	proxy.Director = func(r *http.Request) {
		director(r)
		r.Host = public
	}
	proxy.FlushInterval = -1
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(ln)
}

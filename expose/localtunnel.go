package expose

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Localtunnel is a native client of the localtunnel protocol (no Node.js):
// `GET https://HOST/?new` assigns a public URL and a TCP port on HOST;
// the client keeps up to max_conn_count connections open to HOST:port,
// and the server sends each public HTTP request down one of them. Each
// connection is spliced to the local MCP listener, and reopened when it
// drops.
type Localtunnel struct {
	// URL is the public base URL the server assigned.
	URL string

	host, local string
	port, conns int
	log         *slog.Logger
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// assignment is the server's answer to ?new.
type assignment struct {
	ID           string `json:"id"`
	Port         int    `json:"port"`
	MaxConnCount int    `json:"max_conn_count"`
	URL          string `json:"url"`
}

// StartLocaltunnel asks server (a host like localtunnel.me, or a URL) for
// a tunnel and opens its connections to local.
func StartLocaltunnel(ctx context.Context, server, local string, log *slog.Logger) (*Localtunnel, error) {
	base := server
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("public.localtunnel_host %q is not a host or URL", server)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/?new", nil)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("localtunnel %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	var a assignment
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&a) != nil || a.Port == 0 || a.URL == "" {
		return nil, fmt.Errorf("localtunnel %s: no tunnel assigned (%s)", u.Host, resp.Status)
	}
	lt := &Localtunnel{URL: a.URL, host: u.Hostname(), local: local, port: a.Port, conns: max(1, min(a.MaxConnCount, 32)), log: log}
	ctx, lt.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for range lt.conns {
		lt.wg.Add(1)
		go lt.keep(ctx)
	}
	return lt, nil
}

// keep holds one tunnel connection open, reopening it (with backoff) when
// it drops, until ctx ends.
func (lt *Localtunnel) keep(ctx context.Context) {
	defer lt.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		if err := lt.splice(ctx); err != nil && ctx.Err() == nil {
			lt.log.Debug("localtunnel connection", "err", err)
		}
		if time.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// splice connects to the tunnel server and, once it sends a request,
// to the local listener, and copies both ways until either side ends.
func (lt *Localtunnel) splice(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	remote, err := d.DialContext(ctx, "tcp", net.JoinHostPort(lt.host, fmt.Sprint(lt.port)))
	if err != nil {
		return err
	}
	defer remote.Close()
	stop := context.AfterFunc(ctx, func() { remote.Close() })
	defer stop()
	first := make([]byte, 32<<10)
	n, err := remote.Read(first) // wait for a request before dialing locally
	if err != nil {
		return err
	}
	local, err := d.DialContext(ctx, "tcp", lt.local)
	if err != nil {
		return err
	}
	defer local.Close()
	if _, err := local.Write(first[:n]); err != nil {
		return err
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(local, remote); done <- struct{}{} }()
	go func() { _, _ = io.Copy(remote, local); done <- struct{}{} }()
	<-done
	return nil
}

// Close drops the tunnel's connections.
func (lt *Localtunnel) Close() error {
	lt.cancel()
	lt.wg.Wait()
	return nil
}

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// runHealth asks a running Drawbridge for /healthz: exit 0 when it
// answers 200. It is the container's HEALTHCHECK (the image has no curl):
// liveness only, so an upstream's outage does not restart the proxy.
func runHealth(ctx context.Context, e env, args []string) error {
	f := newFlags("health", e)
	url := f.String("url", "", "base `URL` of the listener (default: the config's listen address)")
	timeout := f.Duration("timeout", 5*time.Second, "give up after this `duration`")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: health takes no arguments", errUsage)
	}
	base := *url
	if base == "" {
		cfg, err := f.load()
		if err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen %q: %w", cfg.Listen, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1" // listening everywhere: ask on loopback
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return fmt.Errorf("%w: --url: %v", errUsage, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s/healthz: %w", base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz answered %s", base, resp.Status)
	}
	fmt.Fprintf(e.stdout, "ok: %s/healthz\n", base)
	return nil
}

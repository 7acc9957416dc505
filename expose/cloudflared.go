package expose

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"regexp"
	"time"
)

// Cloudflared is a quick tunnel run by cloudflared: a child process that
// Drawbridge starts, reads the public URL from, and stops on exit.
type Cloudflared struct {
	// URL is the tunnel's public base URL (https://….trycloudflare.com).
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// trycloudflareRE finds the quick tunnel's URL in cloudflared's output.
var trycloudflareRE = regexp.MustCompile(`https://[a-z0-9-]+\.trycloudflare\.com`)

// StartCloudflared runs `exe tunnel --no-autoupdate --url http://local`
// and waits up to a minute for the URL it prints. The child's output goes
// on to the log; the child stops when ctx ends or Close is called.
func StartCloudflared(ctx context.Context, exe, local string, log *slog.Logger) (*Cloudflared, error) {
	path, err := exec.LookPath(exe)
	if err != nil {
		return nil, fmt.Errorf("public.tunnel cloudflared: %q is not installed or not on PATH: install it from Cloudflare "+
			"(its Debian/Ubuntu repository, or the release binary for your system), or set public.cloudflared to its path", exe)
	}
	cmd := exec.CommandContext(ctx, path, "tunnel", "--no-autoupdate", "--url", "http://"+local)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start cloudflared: %w", err)
	}
	c := &Cloudflared{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(io.LimitReader(out, 1<<30))
		for sc.Scan() {
			line := sc.Text()
			if u := trycloudflareRE.FindString(line); u != "" {
				select {
				case found <- u:
				default:
				}
			}
			log.Debug("cloudflared", "line", line)
		}
		_ = cmd.Wait()
	}()
	select {
	case c.URL = <-found:
		return c, nil
	case <-c.done:
		return nil, errors.New("cloudflared exited before it printed a trycloudflare.com URL (see its output with --log-format and debug)")
	case <-time.After(time.Minute):
		c.Close()
		return nil, errors.New("cloudflared printed no trycloudflare.com URL within a minute")
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// Close stops the child.
func (c *Cloudflared) Close() error {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
	<-c.done
	return nil
}

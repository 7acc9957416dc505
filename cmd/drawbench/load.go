package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

type target struct {
	name, url, token string
}

// stats accumulates call latencies over runs.
type stats struct {
	mu      sync.Mutex
	lat     []time.Duration
	elapsed time.Duration
}

func (s *stats) rate() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

func (s *stats) pct(p int) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
	return s.lat[(len(s.lat)-1)*p/100]
}

// load runs n sessions, each an mcp-go client calling echo in a loop, for
// dur, after connecting them all. Every call's latency is recorded.
func load(ctx context.Context, tg target, n int, dur time.Duration, s *stats, sample func()) error {
	clients := make([]*client.Client, n)
	for i := range clients {
		c, err := connect(ctx, tg)
		if err != nil {
			return err
		}
		defer c.Close()
		clients[i] = c
	}
	stop := time.Now().Add(dur)
	begin := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			req := mcp.CallToolRequest{}
			req.Params.Name = "echo"
			req.Params.Arguments = map[string]any{"text": "benchmark payload"}
			for time.Now().Before(stop) {
				t0 := time.Now()
				res, err := c.CallTool(ctx, req)
				if err != nil || res.IsError {
					errs <- fmt.Errorf("call: %v %+v", err, res)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			s.mu.Lock()
			s.lat = append(s.lat, mine...)
			s.mu.Unlock()
		}()
	}
	if sample != nil {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		for tick := time.NewTicker(100 * time.Millisecond); ; {
			select {
			case <-tick.C:
				sample()
				continue
			case <-done:
				tick.Stop()
			}
			break
		}
	}
	wg.Wait()
	s.elapsed += time.Since(begin)
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func connect(ctx context.Context, tg target) (*client.Client, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}}
	opts := []transport.StreamableHTTPCOption{transport.WithHTTPBasicClient(hc)}
	if tg.token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + tg.token}))
	}
	c, err := client.NewStreamableHttpClient(tg.url, opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: "drawbench", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return nil, fmt.Errorf("initialize %s: %w", tg.name, err)
	}
	return c, nil
}

// rssSampler tracks a process's resident memory.
type rssSampler struct {
	pid int
	max float64
}

func (r *rssSampler) sample() {
	if v, err := procStatus(r.pid, "VmRSS"); err == nil && v > r.max {
		r.max = v
	}
}

func (r *rssSampler) peak() (float64, error) { return procStatus(r.pid, "VmHWM") }

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func numCPU() int { return runtime.NumCPU() }

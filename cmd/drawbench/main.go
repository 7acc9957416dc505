// Command drawbench measures what Drawbridge costs: it drives tools/call of
// an echo tool against an mcp-go upstream directly and through a real
// drawbridge serve process, interleaved in one run, at several session
// counts, and prints calls/s, p50 and p99 for each, Drawbridge's memory,
// and as its last line the throughput ratio and the p50 added.
//
//	go run ./cmd/drawbench [-d 3s] [-rounds 3] [-sessions 1,16]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	dur := flag.Duration("d", 3*time.Second, "length of one measured run")
	rounds := flag.Int("rounds", 3, "interleaved rounds per session count")
	sessionsFlag := flag.String("sessions", "1,16", "comma-separated concurrent session counts")
	bin := flag.String("bin", "", "drawbridge binary (default: build ./cmd/drawbridge)")
	reverseProxy := flag.String("serve-reverse-proxy", "", "(internal) serve a bare httputil.ReverseProxy to this `URL`")
	flag.Parse()
	if *reverseProxy != "" {
		serveReverseProxy(*reverseProxy)
		return
	}
	if err := run(*dur, *rounds, *sessionsFlag, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "drawbench:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, rounds int, sessionsFlag, bin string) error {
	var counts []int
	for _, s := range strings.Split(sessionsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			return fmt.Errorf("-sessions: %q is not a count from 1 to 256", s)
		}
		counts = append(counts, n)
	}
	work, err := os.MkdirTemp("", "drawbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "drawbridge")
		build := exec.Command("go", "build", "-o", bin, "./cmd/drawbridge")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build drawbridge (run from the repository root): %w", err)
		}
	}
	upstream, stopUpstream, err := startEcho()
	if err != nil {
		return err
	}
	defer stopUpstream()
	d, err := startDrawbridge(bin, work, upstream)
	if err != nil {
		return err
	}
	defer d.stop()
	rp, err := startReverseProxy(upstream)
	if err != nil {
		return err
	}
	defer rp.stop()

	ctx := context.Background()
	targets := []target{{"direct", upstream, ""}, {"drawbridge", d.url, d.token}, {"reverseproxy", rp.url, ""}}
	results := map[string]*stats{}
	rss := &rssSampler{pid: d.cmd.Process.Pid}
	fmt.Printf("drawbench: %d round(s) of %s per target and session count, interleaved; GOMAXPROCS of this machine: %d cores\n",
		rounds, dur, numCPU())
	for _, n := range counts {
		for r := 0; r < rounds; r++ {
			order := append(targets[r%len(targets):], targets[:r%len(targets)]...)
			for _, tg := range order {
				key := fmt.Sprintf("%s/%d", tg.name, n)
				if results[key] == nil {
					results[key] = &stats{}
				}
				var sample func()
				if tg.name == "drawbridge" {
					sample = rss.sample
				}
				if err := load(ctx, tg, n, dur, results[key], sample); err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
			}
		}
	}
	fmt.Printf("\n%-12s %8s %12s %10s %10s %8s\n", "target", "sessions", "calls/s", "p50", "p99", "ratio")
	for _, n := range counts {
		direct := results[fmt.Sprintf("direct/%d", n)].rate()
		for _, tg := range targets {
			s := results[fmt.Sprintf("%s/%d", tg.name, n)]
			fmt.Printf("%-12s %8d %12.0f %10s %10s %8.2f\n", tg.name, n, s.rate(), s.pct(50).Round(time.Microsecond), s.pct(99).Round(time.Microsecond), s.rate()/direct)
		}
	}
	fmt.Println("(reverseproxy: a bare net/http/httputil.ReverseProxy in its own process, the reference point)")
	peak, _ := rss.peak()
	fmt.Printf("\ndrawbridge memory: RSS peak while under load %.1f MB; VmHWM %.1f MB\n", rss.max/1e6, peak/1e6)
	hi, lo := counts[len(counts)-1], counts[0]
	ratio := results[fmt.Sprintf("drawbridge/%d", hi)].rate() / results[fmt.Sprintf("direct/%d", hi)].rate()
	added := results[fmt.Sprintf("drawbridge/%d", lo)].pct(50) - results[fmt.Sprintf("direct/%d", lo)].pct(50)
	fmt.Printf("throughput ratio at %d sessions: %.2f; p50 added at %d session: %d us\n", hi, ratio, lo, added.Microseconds())
	return nil
}

package proxy_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
	"github.com/drawbridge-mcp/drawbridge/proxy"
)

// BenchmarkAuditCost measures what the ledger costs: tools/call of echo
// through two Drawbridges in one process (real token check, shipped
// default policy, Streamable HTTP upstream), one writing the real ledger
// and one discarding. Each of the b.N passes runs, at 16, 32 and 64
// concurrent callers, a 500 ms round of each (the order swapped every
// pass), so a machine whose speed drifts moves every figure alike. It
// reports, per caller count, the median of the passes' on/off ratios
// (ratio@N), and throughput as capacity: the best mean rate with the
// ledger and without, whatever the callers (peak-on, peak-off), and their
// ratio (peak-ratio). Run with -benchtime=Nx for N passes (20 give a
// steady median).
func BenchmarkAuditCost(b *testing.B) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	b.Cleanup(up.Close)
	yaml := fmt.Sprintf("policy: {mode: enforce}\nservers:\n  up:\n    url: %s/mcp\n    tools: {read_only: [echo]}\n", up.URL)
	on, off := startWith(b, yaml, harnessOpts{}), startWith(b, yaml, harnessOpts{ledger: discardLedger{}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"benchmark payload"}}}`
	call := func(h *harness) error {
		req, _ := http.NewRequest("POST", h.URL+"/mcp/up", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+h.Token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		if !strings.Contains(string(buf[:n]), "benchmark payload") {
			return fmt.Errorf("unexpected answer %s", buf[:n])
		}
		return nil
	}
	// round drives h with callers concurrent loops for 500 ms; calls/s.
	round := func(b *testing.B, h *harness, callers int) float64 {
		var wg sync.WaitGroup
		var total atomic.Int64
		begin := time.Now()
		stop := begin.Add(500 * time.Millisecond)
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					if err := call(h); err != nil {
						b.Error(err)
						return
					}
					total.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(total.Load()) / time.Since(begin).Seconds()
	}
	// One sub-benchmark, so the harness's logs stay out of the report.
	b.Run("callers=16,32,64", func(b *testing.B) {
		levels := []int{16, 32, 64}
		for _, callers := range levels { // warm both up
			round(b, on, callers)
			round(b, off, callers)
		}
		sumOn, sumOff := make([]float64, len(levels)), make([]float64, len(levels))
		ratios := make([][]float64, len(levels))
		for i := range b.N {
			for l, callers := range levels {
				var rOn, rOff float64
				if i%2 == 0 {
					rOn, rOff = round(b, on, callers), round(b, off, callers)
				} else {
					rOff, rOn = round(b, off, callers), round(b, on, callers)
				}
				sumOn[l], sumOff[l] = sumOn[l]+rOn, sumOff[l]+rOff
				ratios[l] = append(ratios[l], rOn/rOff)
			}
		}
		var peakOn, peakOff float64
		for l, callers := range levels {
			slices.Sort(ratios[l])
			b.ReportMetric(ratios[l][len(ratios[l])/2], fmt.Sprintf("ratio@%d", callers))
			peakOn, peakOff = max(peakOn, sumOn[l]/float64(b.N)), max(peakOff, sumOff[l]/float64(b.N))
		}
		b.ReportMetric(peakOn, "peak-on-calls/s")
		b.ReportMetric(peakOff, "peak-off-calls/s")
		b.ReportMetric(peakOn/peakOff, "peak-ratio")
	})
}

var _ proxy.Ledger = discardLedger{}

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
// and one discarding, in interleaved rounds of 500 ms (the order swapped
// every pair), at 16 and at 64 concurrent callers. It reports calls/s for
// each and the ratio on/off: the median of the pairs' ratios, which a
// noisy machine moves less than the ratio of the totals. Run with
// -benchtime=Nx for N pairs (20 give a steady median).
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
	for _, callers := range []int{16, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			round(b, on, callers)
			round(b, off, callers)
			var sumOn, sumOff float64
			ratios := make([]float64, 0, b.N)
			for i := range b.N {
				var rOn, rOff float64
				if i%2 == 0 {
					rOn, rOff = round(b, on, callers), round(b, off, callers)
				} else {
					rOff, rOn = round(b, off, callers), round(b, on, callers)
				}
				sumOn, sumOff = sumOn+rOn, sumOff+rOff
				ratios = append(ratios, rOn/rOff)
			}
			slices.Sort(ratios)
			b.ReportMetric(sumOn/float64(b.N), "calls/s-audit-on")
			b.ReportMetric(sumOff/float64(b.N), "calls/s-audit-off")
			b.ReportMetric(ratios[len(ratios)/2], "ratio")
		})
	}
}

var _ proxy.Ledger = discardLedger{}

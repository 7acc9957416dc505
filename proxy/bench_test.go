package proxy_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
	"github.com/drawbridge-mcp/drawbridge/proxy"
)

// BenchmarkAuditCost measures what the ledger costs: tools/call of echo
// through two Drawbridges in one process (real token check, shipped
// default policy, Streamable HTTP upstream), one writing the real ledger
// and one discarding, in interleaved rounds at 16 concurrent callers. It
// reports calls/s for each and their ratio. Run with -benchtime=Nx for N
// rounds of each (default 1; each round lasts 1s).
func BenchmarkAuditCost(b *testing.B) {
	up := mcptest.Streamable(mcptest.NewServer("up"))
	b.Cleanup(up.Close)
	yaml := fmt.Sprintf("policy: {mode: enforce}\nservers:\n  up:\n    url: %s/mcp\n    tools: {read_only: [echo]}\n", up.URL)
	on, off := startWith(b, yaml, harnessOpts{}), startWith(b, yaml, harnessOpts{ledger: discardLedger{}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
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
	round := func(h *harness) (int, time.Duration) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		begin := time.Now()
		stop := begin.Add(time.Second)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 0
				for time.Now().Before(stop) {
					if err := call(h); err != nil {
						b.Error(err)
						return
					}
					n++
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		return total, time.Since(begin)
	}
	round(on)
	round(off)
	b.ResetTimer()
	var calls [2]int
	var spent [2]time.Duration
	for i := range b.N {
		for j, h := range []*harness{on, off} {
			if i%2 == 1 {
				j, h = 1-j, []*harness{on, off}[1-j]
			}
			n, d := round(h)
			calls[j] += n
			spent[j] += d
		}
	}
	rateOn, rateOff := float64(calls[0])/spent[0].Seconds(), float64(calls[1])/spent[1].Seconds()
	b.ReportMetric(rateOn, "calls/s-audit-on")
	b.ReportMetric(rateOff, "calls/s-audit-off")
	b.ReportMetric(rateOn/rateOff, "ratio")
}

var _ proxy.Ledger = discardLedger{}

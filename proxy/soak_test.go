package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

// resources is what a leak would grow.
type resources struct {
	goroutines, fds int
	heapMB          float64
}

func measure() resources {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fds, _ := os.ReadDir("/proc/self/fd")
	return resources{goroutines: runtime.NumGoroutine(), fds: len(fds), heapMB: float64(m.HeapInuse) / (1 << 20)}
}

// settle waits for what a finished load leaves (idle connections closing,
// handlers returning) to go, and measures.
func settle(t *testing.T, base resources) resources {
	t.Helper()
	var r resources
	for range 50 {
		r = measure()
		if r.goroutines <= base.goroutines+8 && r.fds <= base.fds+8 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

// soakDuration is how long TestSoakSessions drives load: 3s by default,
// DRAWBRIDGE_SOAK (a duration) for a longer soak.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("DRAWBRIDGE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("DRAWBRIDGE_SOAK=%q: %v", v, err)
		}
		return d
	}
	return 3 * time.Second
}

// TestSoakSessions: 64 sessions call tools for a fixed time; goroutines,
// open files and heap measured before, during and after show no growth
// that outlives the load, and the ledger has exactly the calls made.
func TestSoakSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	up := mcptest.Streamable(mcptest.NewServer("up"))
	t.Cleanup(up.Close)
	h := start(t, fmt.Sprintf("servers:\n  up:\n    url: %s/mcp\n", up.URL))
	h.toolNames("up")
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", h.URL+"/mcp/up", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+h.Token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, resp.Status)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	var made, failed atomic.Int64
	load := func(d time.Duration) {
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for s := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(deadline) && i < 1_000_000; i++ {
					code, body := post(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"s%d-%d"}}}`, i, s, i))
					made.Add(1)
					if code != 200 || !strings.Contains(body, fmt.Sprintf("s%d-%d", s, i)) {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		client.CloseIdleConnections()
	}
	// A first round fills the pools (connections to the upstream, kept
	// alive for reuse); what a second, longer round leaves beyond that is
	// a leak.
	load(time.Second)
	base := settle(t, measure())
	mid := make(chan resources, 1)
	go func() { time.Sleep(soakDuration(t) / 2); mid <- measure() }()
	load(soakDuration(t))
	during := <-mid
	after := settle(t, base)
	t.Logf("%d calls by 64 sessions in %s (%d failed); goroutines %d -> %d -> %d, open files %d -> %d -> %d, heap %.1f -> %.1f -> %.1f MB",
		made.Load(), soakDuration(t), failed.Load(), base.goroutines, during.goroutines, after.goroutines,
		base.fds, during.fds, after.fds, base.heapMB, during.heapMB, after.heapMB)
	if failed.Load() > 0 {
		t.Errorf("%d of %d calls failed", failed.Load(), made.Load())
	}
	// Drawbridge keeps idle connections to the upstream for reuse: the
	// pool may end a round larger than the last, up to one connection per
	// session (3 goroutines and 2 descriptors each, both ends being in this
	// process). A per-call leak would be thousands.
	if after.goroutines > base.goroutines+3*64+8 || after.fds > base.fds+2*64+8 {
		t.Errorf("after the load: goroutines %d (before %d), open files %d (before %d): something outlived it",
			after.goroutines, base.goroutines, after.fds, base.fds)
	}
	if after.heapMB > base.heapMB+64 {
		t.Errorf("heap after the load %.1f MB, before %.1f MB", after.heapMB, base.heapMB)
	}
	rows := ledgerCalls(t, h, int(made.Load())+1)
	echo := 0
	for _, c := range rows {
		if c.Method == "tools/call" {
			echo++
		}
	}
	if echo != int(made.Load()) {
		t.Errorf("ledger has %d tools/call rows, %d calls were made", echo, made.Load())
	}
}

// TestManyHeldApprovals: 500 calls held for approval at once cost bounded
// goroutines and memory, all show as pending, and when denied every caller
// is answered and everything they held is released.
func TestManyHeldApprovals(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const n = 500
	// Each held call holds its connection: one client holding 500 needs
	// the per-address cap raised, as the README says.
	h, admin := approvalHarness(t, "approval: {timeout: 60s}\nmax_conns_per_address: 600\n")
	h.toolNames("up")
	base := measure()
	results := make(chan string, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 90 * time.Second}
	for i := range n {
		go func() {
			req, _ := http.NewRequest("POST", h.URL+"/mcp/up", strings.NewReader(fmt.Sprintf(
				`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":%d,"b":1}}}`, i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+h.Token)
			resp, err := client.Do(req)
			if err != nil {
				results <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- string(b)
		}()
	}
	var ids []string
	eventually(t, fmt.Sprintf("%d pending approvals", n), func() bool {
		_, body := adminCall(t, admin, "GET", "/api/approvals", "")
		ids = ids[:0]
		for _, part := range strings.Split(body, `"id":"`)[1:] {
			ids = append(ids, part[:strings.IndexByte(part, '"')])
		}
		return len(ids) == n
	})
	held := measure()
	for _, id := range ids {
		if code, body := adminCall(t, admin, "POST", "/api/approvals/"+id+"/deny", `{"reason":"load test"}`); code != http.StatusOK {
			t.Fatalf("deny %s = %d %s", id, code, body)
		}
	}
	for range n {
		select {
		case r := <-results:
			if !strings.Contains(r, "Denied by operator: load test") {
				t.Fatalf("a held call answered %s", r)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("not every held call was answered")
		}
	}
	client.CloseIdleConnections()
	after := settle(t, base)
	t.Logf("%d held: goroutines %d -> %d -> %d, heap %.1f -> %.1f -> %.1f MB", n,
		base.goroutines, held.goroutines, after.goroutines, base.heapMB, held.heapMB, after.heapMB)
	if per := float64(held.goroutines-base.goroutines) / n; per > 12 {
		t.Errorf("%.1f goroutines per held call", per)
	}
	if per := (held.heapMB - base.heapMB) / n * 1024; per > 512 {
		t.Errorf("%.0f KB of heap per held call", per)
	}
	if after.goroutines > base.goroutines+8 {
		t.Errorf("goroutines after %d, before %d: held calls left something behind", after.goroutines, base.goroutines)
	}
}

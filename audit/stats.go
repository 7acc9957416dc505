package audit

import (
	"context"
	"fmt"
	"sort"
)

// Stats summarises the calls view.
type Stats struct {
	Calls      int64            `json:"calls"`
	ByServer   map[string]int64 `json:"by_server"`
	ByTool     map[string]int64 `json:"by_tool"` // "server/tool"
	ByDecision map[string]int64 `json:"by_decision"`
	ByStatus   map[string]int64 `json:"by_status"`
	// ErrorRate is the share of tools/call calls that went upstream and did
	// not end ok.
	ErrorRate float64 `json:"error_rate"`
	// Latency percentiles of duration_ms over tools/call calls, in ms.
	P50, P95, P99 int64            `json:"-"`
	Latency       map[string]int64 `json:"latency_ms"`
}

// NoStats is the Stats of no calls: zero counts, empty maps (in JSON {}
// rather than null, the shape Stats always has).
func NoStats() Stats {
	return Stats{ByServer: map[string]int64{}, ByTool: map[string]int64{}, ByDecision: map[string]int64{},
		ByStatus: map[string]int64{}, Latency: map[string]int64{}}
}

// Stats computes counts and latency percentiles over the calls f selects.
func (r *Reader) Stats(ctx context.Context, f Filter) (Stats, error) {
	calls, err := r.Calls(ctx, f)
	if err != nil {
		return Stats{}, err
	}
	s := NoStats()
	var lat []int64
	var went, failed int64
	for _, c := range calls {
		s.Calls++
		s.ByServer[c.Server]++
		if c.Tool != "" {
			s.ByTool[c.Server+"/"+c.Tool]++
		}
		if c.Decision != "" {
			s.ByDecision[c.Decision]++
		}
		s.ByStatus[c.Status]++
		if c.Method != "tools/call" {
			continue
		}
		if c.UpstreamMS != nil {
			went++
			if c.Status != StatusOK {
				failed++
			}
		}
		if c.DurationMS != nil {
			lat = append(lat, *c.DurationMS)
		}
	}
	if went > 0 {
		s.ErrorRate = float64(failed) / float64(went)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	for _, p := range []int{50, 95, 99} {
		if len(lat) > 0 {
			s.Latency[fmt.Sprintf("p%d", p)] = lat[(len(lat)-1)*p/100]
		}
	}
	s.P50, s.P95, s.P99 = s.Latency["p50"], s.Latency["p95"], s.Latency["p99"]
	return s, nil
}

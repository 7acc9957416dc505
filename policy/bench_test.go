package policy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/policy"
)

// BenchmarkDecide measures one decision, reporting p50 and p99 besides the
// mean, for the shipped default policy and the payments example. The
// default's decisions are cached per server and tool: "default" is the
// repeated call, "default-evaluated" a new tool name every time (an
// evaluation each); the payments policy reads the arguments and is
// evaluated every time.
func BenchmarkDecide(b *testing.B) {
	schema := json.RawMessage(`{"type":"object","properties":{"amount":{"type":"integer"},"currency":{"type":"string"}},"required":["amount","currency"]}`)
	in := &policy.Input{
		Method: "tools/call", Server: "stripe",
		Tool:      policy.Tool{Name: "create_payment_link", Description: "Create a payment link.", InputSchema: schema, Annotations: json.RawMessage(`{"readOnlyHint":false}`)},
		Arguments: json.RawMessage(`{"amount": 2000, "currency": "usd"}`),
		Client:    policy.Client{Name: "openai-prod", Address: "127.0.0.1"},
		Time:      time.Now(), Request: policy.Request{ID: "req_1", ProtocolVersion: "2025-06-18", UserAgent: "bench"},
	}
	config := map[string]any{"servers": map[string]any{"stripe": map[string]any{"read_only": []any{"list_*", "create_payment_link"}}}}
	for _, tt := range []struct {
		name string
		opts policy.Options
		vary bool // a new tool name for every decision
	}{
		{"default", policy.Options{Config: config}, false},
		{"default-evaluated", policy.Options{Config: config}, true},
		{"payments", policy.Options{Dir: "../examples/policies/payments", Config: config}, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			e, err := policy.New(context.Background(), tt.opts)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if d, err := e.Decide(ctx, in); err != nil || d.Action != "allow" {
				b.Fatalf("Decide = %+v %v", d, err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			names := make([]string, 1<<16)
			for i := range names {
				names[i] = fmt.Sprintf("tool_%d", i)
			}
			for i := range b.N {
				in := *in
				if tt.vary {
					in.Tool.Name = names[i%len(names)]
				}
				t0 := time.Now()
				if _, err := e.Decide(ctx, &in); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
		})
	}
}

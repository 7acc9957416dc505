package proxy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/secrets"
)

// BenchmarkCallLogLine: the one log line per call, through the leak guard
// and the text handler to a file, as serve writes it.
func BenchmarkCallLogLine(b *testing.B) {
	f, _ := os.Create(filepath.Join(b.TempDir(), "log"))
	defer f.Close()
	sc := &scrubber{}
	sc.g.Store(secrets.NewGuard([]secrets.Named{{Name: "X", Value: secrets.New("sk_live_abcdefghijklmnop")}}))
	log := slog.New(&scrubHandler{Handler: slog.NewTextHandler(f, nil), scrub: sc})
	ctx := context.Background()
	for b.Loop() {
		log.LogAttrs(ctx, slog.LevelInfo, "call", slog.String("request_id", "req_22880313-3"), slog.String("call_id", "call_22880313-0000000004"),
			slog.String("client", "anonymous"), slog.String("server", "up"), slog.String("tool", "echo"),
			slog.String("decision", "allow"), slog.String("status", "ok"), slog.Duration("duration", time.Millisecond),
			slog.Duration("upstream", time.Millisecond), slog.Duration("policy", time.Microsecond),
			slog.Duration("approval_wait", 0), slog.Duration("ledger_wait", time.Millisecond))
	}
}

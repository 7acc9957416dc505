package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/duration"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

const auditUsage = "audit tail [-f] [--server S] [--tool T] [--decision D] [--client C] [-n N] | audit show CALL_ID | " +
	"audit verify [--head HASH] | audit export --format jsonl|csv [--since T] [--until T] | audit prune --before DURATION|DATE | audit stats"

// runAudit queries the ledger. Every command but prune opens it read-only,
// so they all work while the proxy runs.
func runAudit(ctx context.Context, e env, args []string) error {
	f := newFlags("audit", e)
	follow := f.Bool("f", false, "tail: keep printing new calls")
	server := f.String("server", "", "only calls to this server `label`")
	tool := f.String("tool", "", "only calls of this `tool`")
	decision := f.String("decision", "", "only calls with this `decision` (allow, deny, approve)")
	client := f.String("client", "", "only calls from this `client`")
	n := f.Int("n", 20, "tail: how many recent calls")
	format := f.String("format", "jsonl", "export: jsonl or csv")
	since := f.String("since", "", "export, stats: from this `time` (RFC 3339, or a duration ago: 24h, 7d)")
	until := f.String("until", "", "export, stats: before this `time`")
	before := f.String("before", "", "prune: delete events older than this (a duration ago: 90d, or an RFC 3339 date)")
	dryRun := f.Bool("dry-run", false, "prune: say what would be deleted, delete nothing")
	yes := f.Bool("yes", false, "prune: do not ask for confirmation")
	asJSON := f.Bool("json", false, "tail (JSON lines, also with -f), stats, verify: print JSON")
	head := f.String("head", "", "verify: a head `hash` witnessed earlier, which the chain must still hold")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: %s", errUsage, auditUsage)
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	switch *decision {
	case "", policy.Allow, policy.Deny, policy.Approve:
	default:
		return fmt.Errorf("%w: --decision must be allow, deny or approve, not %q", errUsage, *decision)
	}
	filter := audit.Filter{Server: *server, Tool: *tool, Decision: *decision, Client: *client}
	if filter.Since, err = parseWhen(*since); err != nil {
		return fmt.Errorf("%w: --since: %v", errUsage, err)
	}
	if filter.Until, err = parseWhen(*until); err != nil {
		return fmt.Errorf("%w: --until: %v", errUsage, err)
	}
	if *n < 1 {
		return fmt.Errorf("%w: -n must be 1 or more (how many recent calls), not %d", errUsage, *n)
	}
	if err := checkHead(*head); err != nil {
		return err
	}
	if pos[0] == "prune" {
		return auditPrune(ctx, e, cfg, *before, *dryRun, *yes)
	}
	if pos[0] == "stats" && len(pos) == 1 {
		return auditStats(ctx, e, cfg, filter, *asJSON)
	}
	r, err := audit.OpenReader(ctx, cfg.Audit.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	switch {
	case pos[0] == "tail" && len(pos) == 1:
		filter.Last = *n
		return auditTail(ctx, e, r, filter, *follow, *asJSON)
	case pos[0] == "show" && len(pos) == 2:
		c, evs, err := r.Call(ctx, pos[1])
		if err != nil {
			return err
		}
		events := make([]any, len(evs))
		for i, ev := range evs {
			events[i] = withJSONResult(ev, ev.Result)
		}
		return printJSON(e.stdout, map[string]any{"call": withJSONResult(c, c.Result), "events": events})
	case pos[0] == "verify" && len(pos) == 1:
		return auditVerify(ctx, e, cfg, r, *head, *asJSON)
	case pos[0] == "export" && len(pos) == 1:
		calls, err := r.Calls(ctx, filter)
		if err != nil {
			return err
		}
		return exportCalls(e.stdout, *format, calls)
	}
	return fmt.Errorf("%w: %s", errUsage, auditUsage)
}

// parseWhen reads an RFC 3339 time, a date, or a duration ago.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	d, err := duration.Parse(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time (2026-11-01, 2026-11-01T10:00:00Z) or a duration ago (24h, 7d)", s)
	}
	return time.Now().Add(-d), nil
}

// tailHeader and tailWidths are audit tail's columns and their widths in
// characters: fixed, so the rows -f prints later line up under the first
// page however wide they are (a longer cell is cut, ending in "…"). A
// call id, and a start time as tail prints it, fit whole.
var (
	tailHeader = []string{"STARTED", "CALL", "CLIENT", "SERVER", "TOOL", "DECISION", "STATUS", "MS", "REASON"}
	tailWidths = []int{24, 24, 16, 16, 24, 8, 16, 6}
)

// tailTime is an RFC 3339 start time in UTC to the millisecond: always 24
// characters.
func tailTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// auditTail prints the newest calls and, with follow, each call written
// after them as it is written: it follows the ledger's seq, not the
// calls' start times, so a call held for approval (recorded when decided,
// with the time it arrived) is not skipped.
func auditTail(ctx context.Context, e env, r *audit.Reader, f audit.Filter, follow, asJSON bool) error {
	lines := json.NewEncoder(e.stdout)
	lines.SetEscapeHTML(false)
	t := newFixedTable(e.stdout, tailWidths)
	if !asJSON {
		t.row(slices.Clone(tailHeader)...)
	}
	show := func(calls []audit.Call) error {
		for _, c := range calls {
			if asJSON {
				if err := lines.Encode(c); err != nil {
					return err
				}
				continue
			}
			ms := ""
			if c.DurationMS != nil {
				ms = strconv.FormatInt(*c.DurationMS, 10)
			}
			tool := c.Tool
			if tool == "" {
				tool = c.Method
			}
			t.row(tailTime(c.StartedAt), c.CallID, c.Client, c.Server, tool, c.Decision, c.Status, ms, oneLine(strings.TrimSpace(c.Reason+" "+c.Error)))
		}
		return nil
	}
	head, err := r.HeadSeq(ctx)
	if err != nil {
		return err
	}
	calls, err := r.Calls(ctx, f)
	if err != nil {
		return err
	}
	if err := show(calls); err != nil || !follow {
		return err
	}
	f.Last = 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
		next, err := r.HeadSeq(ctx)
		if errors.Is(err, audit.ErrSchemaChanged) {
			return err
		}
		if err != nil || next == head {
			continue
		}
		f.AfterSeq, f.UpToSeq, head = head, next, next
		calls, err := r.Calls(ctx, f)
		if err != nil {
			return err
		}
		if err := show(calls); err != nil {
			return err
		}
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}

func exportCalls(w io.Writer, format string, calls []audit.Call) error {
	switch format {
	case "jsonl":
		enc := json.NewEncoder(w)
		for _, c := range calls {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(audit.CallColumns)
		for _, c := range calls {
			num := func(p *int64) string {
				if p == nil {
					return ""
				}
				return strconv.FormatInt(*p, 10)
			}
			_ = cw.Write([]string{c.CallID, c.StartedAt, c.EndedAt, c.Client, c.Server, c.Method, c.Tool,
				string(c.Arguments), c.Decision, c.Reason, c.PolicyMode, c.ApprovalID, c.ApprovedBy, c.Status, c.Error,
				c.Result, num(c.DurationMS), num(c.UpstreamMS), num(c.PolicyUS), c.ProtocolVersion, c.SessionID,
				c.RequestID, c.RemoteAddr})
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("%w: --format must be jsonl or csv, not %q", errUsage, format)
}

// auditStats prints the calls' counts and latencies; on a data dir with no
// audit.db yet (no call was ever made), the zero counts.
func auditStats(ctx context.Context, e env, cfg *config.Config, f audit.Filter, asJSON bool) error {
	s := audit.NoStats()
	if _, err := os.Stat(cfg.Audit.Path); !errors.Is(err, fs.ErrNotExist) {
		r, err := audit.OpenReader(ctx, cfg.Audit.Path)
		if err != nil {
			return err
		}
		defer r.Close()
		if s, err = r.Stats(ctx, f); err != nil {
			return err
		}
	}
	if asJSON {
		return printJSON(e.stdout, s)
	}
	printStats(e.stdout, s)
	return nil
}

func printStats(w io.Writer, s audit.Stats) {
	fmt.Fprintf(w, "calls: %d   error rate (upstream calls not ok): %.1f%%   latency ms p50 %d  p95 %d  p99 %d\n",
		s.Calls, 100*s.ErrorRate, s.P50, s.P95, s.P99)
	for _, group := range []struct {
		title string
		m     map[string]int64
	}{{"by server", s.ByServer}, {"by tool", s.ByTool}, {"by decision", s.ByDecision}, {"by status", s.ByStatus}} {
		fmt.Fprintf(w, "\n%s:\n", group.title)
		keys := make([]string, 0, len(group.m))
		for k := range group.m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return group.m[keys[i]] > group.m[keys[j]] || (group.m[keys[i]] == group.m[keys[j]] && keys[i] < keys[j])
		})
		for _, k := range keys {
			fmt.Fprintf(w, "  %-40s %d\n", esc(k), group.m[k])
		}
	}
}

// auditPrune deletes old events, carefully: a date in the future is
// refused, --dry-run says what would go, and it asks first on a terminal
// (--yes otherwise).
func auditPrune(ctx context.Context, e env, cfg *config.Config, before string, dryRun, yes bool) error {
	if before == "" {
		return fmt.Errorf("%w: audit prune --before DURATION|DATE (90d, 2026-01-01)", errUsage)
	}
	cutoff, err := parseWhen(before)
	if err != nil {
		return fmt.Errorf("%w: --before: %v", errUsage, err)
	}
	if cutoff.After(time.Now()) {
		return fmt.Errorf("%w: --before %s is in the future: that would delete every event", errUsage, before)
	}
	r, err := audit.OpenReader(ctx, cfg.Audit.Path)
	if err != nil {
		return err
	}
	n, first, last, err := r.Older(ctx, cutoff)
	r.Close()
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(e.stdout, "nothing to prune: no event older than %s\n", cutoff.UTC().Format(time.RFC3339))
		return nil
	}
	what := fmt.Sprintf("%d events from %s to %s (older than %s)", n, first, last, cutoff.UTC().Format(time.RFC3339))
	if dryRun {
		fmt.Fprintf(e.stdout, "would prune %s\n", what)
		return nil
	}
	if !yes {
		if err := confirm(e, "delete "+what, "audit prune deletes "+what+"; pass --yes to confirm (or --dry-run to look first)", "nothing deleted"); err != nil {
			return err
		}
	}
	key, closeVault, err := ledgerKeyOf(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeVault()
	pruned, err := audit.Prune(ctx, cfg.Audit.Path, cutoff, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "pruned %d events older than %s; the chain now starts from a recorded anchor\n", pruned, cutoff.UTC().Format(time.RFC3339))
	return nil
}

// auditVerify walks the chain with the ledger key from the vault. Keyed
// events it cannot check (no master key here) fail the verification: a
// forger without the key could have written them.
func auditVerify(ctx context.Context, e env, cfg *config.Config, r *audit.Reader, head string, asJSON bool) error {
	key, closeVault, err := ledgerKeyOf(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeVault()
	v, err := r.Verify(ctx, audit.VerifyOptions{Key: key, Head: head})
	if err != nil {
		return err
	}
	if asJSON {
		ok := v.Problem == "" && v.Unchecked == 0
		if err := printJSON(e.stdout, map[string]any{"ok": ok, "events": v.Events, "keyed": v.Keyed, "unchecked": v.Unchecked,
			"head": v.Head, "problem": v.Problem, "seq": v.Seq, "witnessed_head": head}); err != nil || ok {
			return err
		}
		return exitError{1}
	}
	switch {
	case v.Problem != "":
		fmt.Fprintf(e.stdout, "TAMPERED: %s (%d events verified before it)\n", esc(v.Problem), v.Events)
		return exitError{1}
	case v.Unchecked > 0:
		fmt.Fprintf(e.stdout, "UNVERIFIED: %d keyed events need the ledger key, %s\n", v.Unchecked, missingLedgerKey(cfg))
		return exitError{1}
	}
	witnessed := ""
	if head != "" {
		witnessed = "; holds the witnessed head"
	}
	fmt.Fprintf(e.stdout, "ok: %d events verified (%d keyed)%s; head %s\n", v.Events, v.Keyed, witnessed, v.Head)
	return nil
}

// checkHead refuses a --head that is not a chain hash: a typo is a usage
// error, not a head the chain lacks (TAMPERED).
func checkHead(head string) error {
	if head == "" || audit.IsHash(head) {
		return nil
	}
	return fmt.Errorf("%w: --head %s is not a chain hash: want 64 lowercase hex digits, after \"k1:\" in a keyed ledger "+
		"(the head audit verify printed, or a witness line's \"hash\")", errUsage, esc(fit(head, 80)))
}

// missingLedgerKey says which key verify lacked and where it should be:
// ledgerKeyOf found no secrets.db, or one (opened with the master key)
// without the ledger key's entry.
func missingLedgerKey(cfg *config.Config) string {
	db := filepath.Join(cfg.DataDir, "secrets.db")
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("%s in %s, and there is no %s: run where the proxy's data dir is, or restore it", ledgerKeyName, db, db)
	}
	return fmt.Sprintf("%s in %s, which no longer holds it (removed, or the file replaced): restore secrets.db from a backup "+
		"to verify them; the master key (%s or data_dir/master.key) is not the problem, it opened the file", ledgerKeyName, db, secrets.KeyEnv)
}

// ledgerKeyOf reads the ledger key for a command that does not serve:
// nil when there is no secrets.db (a ledger never keyed).
func ledgerKeyOf(ctx context.Context, cfg *config.Config) (*audit.ChainKey, func(), error) {
	store, vault, err := openVault(ctx, cfg, nil, false)
	if err != nil || store == nil {
		return nil, func() {}, err
	}
	key, err := storedLedgerKey(vault)
	return key, func() { store.Close() }, err
}

// printJSON writes v indented, without HTML escaping (& < > as they are).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// withJSONResult is v (a call or an event) with its result as a JSON value
// rather than a string holding JSON, for audit show.
func withJSONResult(v any, result string) any {
	b, _ := json.Marshal(v)
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || result == "" {
		return v
	}
	m["result"] = rawJSON(result)
	return m
}

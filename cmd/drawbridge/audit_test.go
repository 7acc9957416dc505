package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

func auditConfig(t *testing.T) string {
	t.Helper()
	return writeConfig(t, fmt.Sprintf("auth: none\napproval: {timeout: 100ms}\nservers:\n  kid:\n    command: %s\n    tools: {read_only: [echo]}\n",
		filepath.Join(binDir, "testupstream")))
}

// TestAuditCommands drives every audit subcommand against the ledger of a
// running proxy.
func TestAuditCommands(t *testing.T) {
	mcptest.NeedSQLite3(t)
	cfg := auditConfig(t)
	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", "")
	toolNames(t, c)
	callText(t, c, "echo", map[string]any{"text": "one"})
	callText(t, c, "echo", map[string]any{"text": "two"})
	if got, isErr := callText(t, c, "add", map[string]any{"a": 1, "b": 2}); !isErr || !strings.Contains(got, "is pending; ask the operator") {
		t.Fatalf("add = %q", got)
	}
	time.Sleep(200 * time.Millisecond) // completions are written just after the answers

	code, out, errOut := cli(t, "", "audit", "tail", "-c", cfg)
	if code != 0 || strings.Count(out, "echo") < 2 || !strings.Contains(out, "add") || !strings.Contains(out, "tools/list") {
		t.Fatalf("audit tail = %d %q %q", code, out, errOut)
	}
	code, out, _ = cli(t, "", "audit", "tail", "--decision", "approve", "-c", cfg)
	if code != 0 || !strings.Contains(out, "add") || strings.Contains(out, "echo") {
		t.Fatalf("audit tail --decision approve = %d %q", code, out)
	}

	// A filter value that can match nothing is a usage error, not silence.
	if code, _, errOut := cli(t, "", "audit", "tail", "--decision", "maybe", "-c", cfg); code != 2 || !strings.Contains(errOut, "--decision must be allow, deny or approve") {
		t.Fatalf("audit tail --decision maybe = %d %q", code, errOut)
	}

	code, out, _ = cli(t, "", "audit", "export", "--format", "jsonl", "-c", cfg)
	var calls []audit.Call
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var c audit.Call
		decodeJSON(t, line, &c)
		calls = append(calls, c)
	}
	var echoID string
	for _, c := range calls {
		if c.Tool == "echo" && string(c.Arguments) == `{"text":"two"}` && c.Status == "ok" {
			echoID = c.CallID
		}
	}
	if code != 0 || echoID == "" {
		t.Fatalf("audit export jsonl = %d, no ok echo call in %s", code, out)
	}
	code, out, _ = cli(t, "", "audit", "export", "--format", "csv", "--since", "1h", "-c", cfg)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != len(calls)+1 || rows[0][0] != "call_id" || len(rows[0]) != len(audit.CallColumns) {
		t.Fatalf("audit export csv = %d %v, %d rows for %d calls", code, err, len(rows), len(calls))
	}

	code, out, _ = cli(t, "", "audit", "show", echoID, "-c", cfg)
	// result and arguments are JSON values, not strings holding JSON.
	type shownRow struct {
		CallID    string          `json:"call_id"`
		Kind      string          `json:"kind"`
		Arguments json.RawMessage `json:"arguments"`
		Result    json.RawMessage `json:"result"`
	}
	var shown struct {
		Call   shownRow   `json:"call"`
		Events []shownRow `json:"events"`
	}
	decodeJSON(t, out, &shown)
	if code != 0 || shown.Call.CallID != echoID || len(shown.Events) != 2 || shown.Events[0].Kind != "decided" || shown.Events[1].Kind != "completed" {
		t.Fatalf("audit show = %d %s", code, out)
	}
	if !strings.HasPrefix(string(shown.Call.Result), "{") || !strings.HasPrefix(string(shown.Call.Arguments), "{") {
		t.Fatalf("audit show: result %s and arguments %s are not JSON objects", shown.Call.Result, shown.Call.Arguments)
	}
	if code, _, errOut := cli(t, "", "audit", "show", "call_nope", "-c", cfg); code != 1 || !strings.Contains(errOut, "no such call") {
		t.Fatalf("audit show unknown = %d %q", code, errOut)
	}

	code, out, _ = cli(t, "", "audit", "stats", "-c", cfg)
	if code != 0 || !strings.Contains(out, "kid/echo") || !strings.Contains(out, "approve") || !strings.Contains(out, "p50") {
		t.Fatalf("audit stats = %d %q", code, out)
	}

	code, out, _ = cli(t, "", "audit", "verify", "-c", cfg)
	if code != 0 || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify = %d %q", code, out)
	}

	// Retention, while the proxy writes: everything so far goes; the chain
	// still verifies, and keeps verifying as new calls are recorded.
	time.Sleep(time.Second) // RFC 3339 to the second, and prune refuses a date in the future
	code, out, _ = cli(t, "", "audit", "prune", "--before", time.Now().UTC().Format(time.RFC3339), "--yes", "-c", cfg)
	if code != 0 || !strings.HasPrefix(out, "pruned ") || strings.HasPrefix(out, "pruned 0 ") {
		t.Fatalf("audit prune = %d %q", code, out)
	}
	callText(t, c, "echo", map[string]any{"text": "after prune"})
	time.Sleep(200 * time.Millisecond)
	code, out, _ = cli(t, "", "audit", "verify", "-c", cfg)
	if code != 0 || !strings.HasPrefix(out, "ok: 2 events") {
		t.Fatalf("audit verify after prune = %d %q, want the 2 new events verified", code, out)
	}

	// Tampering with the sqlite3 shell is found.
	path := filepath.Join(filepath.Dir(cfg), "data", "audit.db")
	if b, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", path, "DROP TRIGGER events_no_update; UPDATE events SET result = 'forged' WHERE kind = 'completed'").CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v %s", err, b)
	}
	code, out, _ = cli(t, "", "audit", "verify", "-c", cfg)
	if code != 1 || !strings.Contains(out, "TAMPERED") || !strings.Contains(out, `trigger "events_no_update" dropped`) {
		t.Fatalf("audit verify after tampering = %d %q, want exit 1 naming the dropped trigger", code, out)
	}
	// Put back, the trigger leaves the altered row for the chain to find.
	if b, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", path, "CREATE TRIGGER events_no_update BEFORE UPDATE ON events\n"+
		"BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;").CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v %s", err, b)
	}
	code, out, _ = cli(t, "", "audit", "verify", "-c", cfg)
	if code != 1 || !strings.Contains(out, "TAMPERED") || !strings.Contains(out, "was altered") {
		t.Fatalf("audit verify after tampering = %d %q, want exit 1 naming the altered event", code, out)
	}
}

// TestKilledProxyLosesNothing: SIGKILL during load loses no committed event:
// every call that got an answer has its decision in the ledger, the chain
// verifies, and after a restart it goes on.
func TestKilledProxyLosesNothing(t *testing.T) {
	cfg := auditConfig(t)
	d := serve(t, cfg)
	var mu sync.Mutex
	var answered []string
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		c := mcpClient(t, d, "kid", "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				text := fmt.Sprintf("w%d-%d", w, i)
				if got, isErr := callTextErr(c, "echo", text); got == text && !isErr {
					mu.Lock()
					answered = append(answered, text)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(time.Second)
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	wg.Wait()
	<-d.done
	d.done <- nil
	if len(answered) < 20 {
		t.Fatalf("only %d calls answered before the kill", len(answered))
	}
	path := filepath.Join(filepath.Dir(cfg), "data", "audit.db")
	r, err := audit.OpenReader(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := r.Calls(context.Background(), audit.Filter{Tool: "echo", Decision: "allow"})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	for _, c := range calls {
		var a struct{ Text string }
		_ = json.Unmarshal(c.Arguments, &a)
		recorded[a.Text] = true
	}
	for _, text := range answered {
		if !recorded[text] {
			t.Fatalf("call %q was answered but its decision is not in the ledger (%d answered, %d recorded)", text, len(answered), len(recorded))
		}
	}
	if code, out, _ := cli(t, "", "audit", "verify", "-c", cfg); code != 0 {
		t.Fatalf("verify after SIGKILL = %d %q", code, out)
	}
	d2 := serve(t, cfg)
	c := mcpClient(t, d2, "kid", "")
	if got, _ := callText(t, c, "echo", map[string]any{"text": "after restart"}); got != "after restart" {
		t.Fatalf("after restart: %q", got)
	}
	time.Sleep(200 * time.Millisecond)
	if code, out, _ := cli(t, "", "audit", "verify", "-c", cfg); code != 0 {
		t.Fatalf("verify after restart = %d %q", code, out)
	}
	// Every call has an outcome: the ones the kill caught between the
	// upstream and their completion were closed as interrupted at start.
	r, err = audit.OpenReader(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	after, err := r.Calls(context.Background(), audit.Filter{Tool: "echo"})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	interrupted := 0
	for _, c := range after {
		switch c.Status {
		case "":
			t.Fatalf("call %s has no outcome after the restart: %+v", c.CallID, c)
		case audit.StatusInterrupted:
			interrupted++
		}
	}
	t.Logf("%d calls answered before SIGKILL, all recorded; %d decisions in the ledger; %d closed as interrupted", len(answered), len(calls), interrupted)
}

// TestTerminalInjection: a rejected request whose path carries %0A and
// terminal escapes cannot forge a row, hide one or drive the operator's
// terminal: audit tail prints one escaped line for it.
func TestTerminalInjection(t *testing.T) {
	cfg := auditConfig(t)
	d := serve(t, cfg)
	forged := "/mcp/x%0A2026-01-01T00:00:00Z%20call_forged%20admin%20kid%20echo%20allow%20ok%1B%5B2K%1B%5BA%E2%80%AE"
	resp, err := http.Post("http://"+d.addr+forged, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(200 * time.Millisecond)
	code, out, _ := cli(t, "", "audit", "tail", "-c", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("audit tail = %d, %d lines, want the header and one row:\n%s", code, len(lines), out)
	}
	if strings.ContainsAny(out, "\x1b\r\u202e") || !strings.Contains(lines[1], `\n2026-01-01T00:00:00Z call_forged`) || !strings.Contains(lines[1], `\x1b[2K`) {
		t.Errorf("row not escaped: %q", lines[1])
	}
}

// TestWitnessedHead: serve writes the chain's head to the witness file;
// audit verify --head with it passes, with a head the chain does not hold
// it fails; every event is keyed.
func TestWitnessedHead(t *testing.T) {
	dir := t.TempDir()
	witness := filepath.Join(dir, "heads.jsonl")
	cfg := writeConfig(t, fmt.Sprintf("auth: none\naudit: {witness: {file: %s, interval: 100ms}}\nservers:\n  kid:\n    command: %s\n    tools: {read_only: [echo]}\n",
		witness, filepath.Join(binDir, "testupstream")))
	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", "")
	callText(t, c, "echo", map[string]any{"text": "one"})
	var head audit.Head
	deadline := time.Now().Add(10 * time.Second)
	for head.Hash == "" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if b, err := os.ReadFile(witness); err == nil && len(b) > 0 {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			decodeJSON(t, lines[len(lines)-1], &head)
		}
	}
	if !strings.HasPrefix(head.Hash, "k1:") {
		t.Fatalf("witness file holds %+v, want a keyed head", head)
	}
	code, out, _ := cli(t, "", "audit", "verify", "--head", head.Hash, "-c", cfg)
	if code != 0 || !strings.Contains(out, "holds the witnessed head") || strings.Contains(out, "(0 keyed)") {
		t.Fatalf("audit verify --head = %d %q", code, out)
	}
	code, out, _ = cli(t, "", "audit", "verify", "--head", "k1:"+strings.Repeat("0", 64), "-c", cfg)
	if code != 1 || !strings.Contains(out, "TAMPERED: the witnessed head") {
		t.Fatalf("audit verify --head (not in chain) = %d %q", code, out)
	}
}

// TestTailFollowAligned: rows audit tail -f adds later line up under the
// first page's columns, however much wider their cells are than the
// first page's (a held call's status, a 60-character tool name).
func TestTailFollowAligned(t *testing.T) {
	cfg := auditConfig(t)
	d := serve(t, cfg)
	c := mcpClient(t, d, "kid", "")
	callText(t, c, "echo", map[string]any{"text": "first"})
	time.Sleep(300 * time.Millisecond)
	cmd := exec.Command(filepath.Join(binDir, "drawbridge"), "audit", "tail", "-f", "-c", cfg)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("audit tail -f printed nothing more")
			return ""
		}
	}
	header, first := next(), next()
	callText(t, c, "echo", map[string]any{"text": "a much longer second call, to tempt the columns to move"})
	callText(t, c, "add", map[string]any{"a": 1, "b": 2}) // held: approve, approval_timeout
	long := strings.Repeat("x", 60)
	callText(t, c, long, nil) // no such tool: bad_request, no decision
	// col is where field starts in s, in characters.
	col := func(s, field string) int {
		i := strings.Index(s, field)
		if i < 0 {
			return -1
		}
		return utf8.RuneCountInString(s[:i])
	}
	// at is what s shows from the header's column name on, in characters.
	at := func(s, name string) string {
		r := []rune(s)
		return string(r[min(col(header, name), len(r)):])
	}
	rows := []string{first}
	for range 3 {
		rows = append(rows, next())
	}
	want := [][]string{{"echo", "allow", "ok"}, {"echo", "allow", "ok"}, {"add", "approve", "approval_timeout"}, {long[:23] + "…", "", "bad_request"}}
	for i, row := range rows {
		cells := map[string]string{"CALL": "call_", "CLIENT": "anonymous ", "SERVER": "kid ", "TOOL": want[i][0] + " ",
			"DECISION": want[i][1] + " ", "STATUS": want[i][2] + " "}
		for name, cell := range cells {
			if !strings.HasPrefix(at(row, name), cell) {
				t.Errorf("row %d: column %s holds %q, want %q: columns moved:\n%s\n%s", i, name, at(row, name), cell, header, row)
			}
		}
		if r := []rune(row); r[col(header, "REASON")-1] != ' ' || r[col(header, "MS")-1] != ' ' {
			t.Errorf("row %d: MS or REASON moved:\n%s\n%s", i, header, row)
		}
	}
}

// TestVerifyMalformedHead: audit verify --head with something that is not
// a chain hash is a usage error naming the flag and the form, not
// TAMPERED.
func TestVerifyMalformedHead(t *testing.T) {
	cfg := auditConfig(t)
	for _, head := range []string{"abc", "k1:" + strings.Repeat("g", 64), strings.Repeat("A", 64), "k2:" + strings.Repeat("0", 64)} {
		code, out, errOut := cli(t, "", "audit", "verify", "--head", head, "-c", cfg)
		if code != 2 || !strings.Contains(errOut, "--head") || !strings.Contains(errOut, "64 lowercase hex digits") || strings.Contains(out, "TAMPERED") {
			t.Errorf("audit verify --head %s = %d %q %q, want a usage error", head, code, out, errOut)
		}
	}
}

// TestStatsFreshDataDir: audit stats --json on a data dir where no call
// was ever recorded (no audit.db) prints zero counts, in the shape stats
// always has, and exits 0.
func TestStatsFreshDataDir(t *testing.T) {
	cfg := auditConfig(t)
	code, out, errOut := cli(t, "", "audit", "stats", "--json", "-c", cfg)
	var got map[string]any
	decodeJSON(t, out, &got)
	if code != 0 || got["calls"] != 0.0 || got["error_rate"] != 0.0 {
		t.Fatalf("audit stats --json = %d %q %q, want zero counts", code, out, errOut)
	}
	for _, k := range []string{"by_server", "by_tool", "by_decision", "by_status", "latency_ms"} {
		if m, ok := got[k].(map[string]any); !ok || len(m) != 0 {
			t.Errorf("audit stats --json: %s = %v, want {}", k, got[k])
		}
	}
	if code, out, _ := cli(t, "", "audit", "stats", "-c", cfg); code != 0 || !strings.HasPrefix(out, "calls: 0 ") {
		t.Errorf("audit stats = %d %q", code, out)
	}
}

// TestLedgerKeyNotUserSecret: the ledger key is not listed by secret list,
// secret rm and secret set refuse it saying why, secret rotate-key carries
// it, and audit verify with it gone (removed behind Drawbridge's back)
// says which key is missing rather than blaming the master key.
func TestLedgerKeyNotUserSecret(t *testing.T) {
	mcptest.NeedSQLite3(t)
	cfg := auditConfig(t)
	d := serve(t, cfg)
	callText(t, mcpClient(t, d, "kid", ""), "echo", map[string]any{"text": "one"})
	if err := signalAndWait(t, d, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"secret", "list"}, {"secret", "list", "--json"}} {
		if code, out, _ := cli(t, "", append(args, "-c", cfg)...); code != 0 || strings.Contains(out, "DRAWBRIDGE_LEDGER_KEY") {
			t.Errorf("%v = %d %q, want the ledger key left out", args, code, out)
		}
	}
	for _, verb := range []string{"rm", "set"} {
		code, _, errOut := cli(t, "new value\n", "secret", verb, "DRAWBRIDGE_LEDGER_KEY", "-c", cfg)
		if code != 1 || !strings.Contains(errOut, "not a user secret") || !strings.Contains(errOut, "audit verify needs it") {
			t.Errorf("secret %s DRAWBRIDGE_LEDGER_KEY = %d %q, want refused saying why", verb, code, errOut)
		}
	}
	if code, out, errOut := cli(t, "", "secret", "rotate-key", "-c", cfg); code != 0 {
		t.Fatalf("secret rotate-key = %d %q %q", code, out, errOut)
	}
	if code, out, _ := cli(t, "", "audit", "verify", "-c", cfg); code != 0 || !strings.HasPrefix(out, "ok: ") || strings.Contains(out, "(0 keyed)") {
		t.Fatalf("audit verify after rotate-key = %d %q, want the keyed chain verified", code, out)
	}
	secretsDB := filepath.Join(filepath.Dir(cfg), "data", "secrets.db")
	if b, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", secretsDB, "DELETE FROM secrets WHERE name = 'DRAWBRIDGE_LEDGER_KEY'").CombinedOutput(); err != nil {
		t.Fatalf("sqlite3: %v %s", err, b)
	}
	code, out, _ := cli(t, "", "audit", "verify", "-c", cfg)
	if code != 1 || !strings.HasPrefix(out, "UNVERIFIED") || !strings.Contains(out, "DRAWBRIDGE_LEDGER_KEY in "+secretsDB) ||
		!strings.Contains(out, "master key") || !strings.Contains(out, "not the problem") {
		t.Fatalf("audit verify without the ledger key = %d %q, want it named as the missing key", code, out)
	}
}

// TestRewrittenCallsViewRefused: with the calls view rewritten to leave
// out a tool's calls while the proxy runs, audit verify reports it, audit
// tail, export and stats and the console's calls page refuse the ledger
// naming the view, and /readyz says so, rather than any of them showing
// the ledger without those calls.
func TestRewrittenCallsViewRefused(t *testing.T) {
	mcptest.NeedSQLite3(t)
	data := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("auth: none\ndata_dir: %s\nservers:\n  kid:\n    command: %s\n    tools: {read_only: [echo]}\n",
		data, filepath.Join(binDir, "testupstream")))
	d := serve(t, cfg)
	callText(t, mcpClient(t, d, "kid", ""), "echo", map[string]any{"text": "one"})
	path := filepath.Join(data, "audit.db")
	shell := func(sql string) string {
		t.Helper()
		b, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", path, sql).CombinedOutput()
		if err != nil {
			t.Fatalf("sqlite3: %v %s", err, b)
		}
		return strings.TrimSpace(string(b))
	}
	view := shell("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'calls'")
	shell("DROP VIEW calls; " + view + " AND s.tool IS NOT 'echo';")
	const named = `view "calls" changed`
	if code, out, _ := cli(t, "", "audit", "verify", "-c", cfg); code != 1 || !strings.Contains(out, "TAMPERED") || !strings.Contains(out, named) {
		t.Errorf("audit verify = %d %q, want TAMPERED naming the view", code, out)
	}
	for _, args := range [][]string{{"tail"}, {"export"}, {"stats"}, {"show", "call_x"}} {
		code, out, errOut := cli(t, "", append(append([]string{"audit"}, args...), "-c", cfg)...)
		if code != 1 || !strings.Contains(errOut, named) || strings.Contains(out, "echo") {
			t.Errorf("audit %v = %d %q %q, want refused naming the view", args, code, out, errOut)
		}
	}

	base := "http://" + d.admin
	token, _ := os.ReadFile(filepath.Join(data, "admin.token"))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login, err := noFollow.PostForm(base+"/login", map[string][]string{"token": {strings.TrimSpace(string(token))}})
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/calls", nil)
	for _, ck := range login.Cookies() {
		req.AddCookie(ck)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(page), "view &#34;calls&#34; changed") {
		t.Errorf("console /calls = %d, want refused naming the view:\n%s", resp.StatusCode, page)
	}
	ready, inJSON := "", `view \"calls\" changed`
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !strings.Contains(ready, inJSON); time.Sleep(100 * time.Millisecond) {
		// The details are on the admin listener's /readyz (the MCP
		// listener's says only whether it is ready).
		req, _ := http.NewRequest(http.MethodGet, base+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		if r, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			ready = string(b)
		}
	}
	if !strings.Contains(ready, inJSON) {
		t.Errorf("admin /readyz = %q, want the changed schema named", ready)
	}
}

// Command reliability runs Drawbridge's reliability suite — the attacks it
// refuses, the faults it survives, the load it holds, and every fuzz target
// for a while — and writes docs/RELIABILITY.md from what happened.
//
//	go run ./cmd/reliability [-fuzztime 10s] [-o docs/RELIABILITY.md]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
)

// suites are the tests the document reports, by what they show.
var suites = []struct {
	title string
	tests []string // package/TestName
}{
	{"Attacks refused", []string{
		"proxy/TestTokenPassthrough", "proxy/TestDNSRebinding", "proxy/TestBatchSmuggling", "proxy/TestBadInput",
		"proxy/TestModernHeaderMismatch", "proxy/TestEscapedSecretLeak", "proxy/TestOutputGuardReassembly",
		"proxy/TestEscapedSecretInArguments", "proxy/TestSensitiveValueEverywhereInRecord", "proxy/TestArgumentSmuggling",
		"proxy/TestCaseVariantPolicies", "proxy/TestArgumentsAgainstSchema", "proxy/TestUpstreamGetsWhatThePolicySaw", "proxy/TestRugPull",
		"proxy/TestRugPullOutsideSixFields", "proxy/TestLyingReadOnlyHint", "proxy/TestDenyByCaseOrLookalike",
		"proxy/TestReadyzChecksHost", "proxy/TestNotificationCallRecorded", "proxy/TestRevokedWhileHeld",
		"proxy/TestGrantNotInheritedByName", "proxy/TestRotateKeyWhileServing", "proxy/TestStrangerCostsBoundedDisk",
		"proxy/TestUnknownToolsRefetchOnce", "proxy/TestSlowBodyCutOff", "proxy/TestClientThatNeverReads",
		"proxy/TestConnectionCapPerAddress", "approval/TestGrantNumberPrecision", "audit/TestLedgerRewrite",
		"audit/TestForgedPrunePermit", "audit/TestTruncationCaughtByWitness", "audit/TestLedgerTampering",
		"cmd/drawbridge/TestTerminalInjection", "cmd/drawbridge/TestAcceptWhatWasReviewed", "cmd/drawbridge/TestCanarySecretsNeverLeak",
	}},
	{"Faults survived", []string{
		"proxy/TestUpstreamFaults", "proxy/TestHTTPUpstreamFaults", "proxy/TestStdioChildRestarted",
		"proxy/TestAuditFailureRefusesCalls", "proxy/TestPolicyHotReloadThroughProxy", "proxy/TestApprovalOutlivesWriteTimeout",
		"proxy/TestEveryStatusInCallsView", "proxy/TestClientGoneWhileHeld", "proxy/TestUpstreamErrorSaidOnce", "cmd/drawbridge/TestKilledProxyLosesNothing", "cmd/drawbridge/TestGracefulShutdown",
		"audit/TestWALStartsOverUnderLoad", "proxy/TestRotateKeyWhileServing",
	}},
	{"Load held", []string{"proxy/TestSoakSessions", "proxy/TestManyHeldApprovals"}},
}

const module = "github.com/drawbridge-mcp/drawbridge/"

func main() {
	fuzztime := flag.Duration("fuzztime", 10*time.Second, "how long each fuzz target runs")
	out := flag.String("o", "docs/RELIABILITY.md", "the file to write")
	flag.Parse()
	var doc bytes.Buffer
	fmt.Fprintf(&doc, "# Reliability\n\nWritten by `go run ./cmd/reliability -fuzztime %s` on %s (%s, %d cores); "+
		"regenerate it the same way. Each line is a test that ran in that run, with what it shows (its doc comment) "+
		"and its outcome.\n", *fuzztime, time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU())
	failed := false
	for _, s := range suites {
		fmt.Fprintf(&doc, "\n## %s\n\n| test | what it shows | outcome |\n|---|---|---|\n", s.title)
		results, logs := run(s.tests)
		for _, name := range s.tests {
			outcome := results[name]
			if outcome == "" {
				outcome = "did not run"
			}
			if outcome != "pass" {
				failed = true
			}
			line := doc1(name)
			if l := logs[name]; l != "" {
				line += " Measured: " + l
			}
			fmt.Fprintf(&doc, "| `%s` | %s | %s |\n", name, cell(line), outcome)
		}
	}
	fmt.Fprintf(&doc, "\n## Fuzzing\n\nEach target ran for %s; crashers it ever found are kept under its package's "+
		"`testdata/fuzz/` and run by every `go test`.\n\n| target | executions | outcome |\n|---|---|---|\n", *fuzztime)
	for _, f := range fuzzTargets() {
		execs, ok := fuzz(f, *fuzztime)
		outcome := "pass"
		if !ok {
			outcome, failed = "FAILED", true
		}
		fmt.Fprintf(&doc, "| `%s` | %s | %s |\n", f, execs, outcome)
	}
	fmt.Fprintf(&doc, "\n## Data lost\n\n%s\n", lost(failed))
	threat, err := os.ReadFile("docs/threat-model.md")
	if err != nil {
		fatal(err)
	}
	doc.WriteString("\n")
	doc.Write(threat)
	if err := os.WriteFile(*out, doc.Bytes(), 0o644); err != nil {
		fatal(err)
	}
	fmt.Printf("wrote %s\n", *out)
	if failed {
		os.Exit(1)
	}
}

func lost(failed bool) string {
	if failed {
		return "Unknown: a test above did not pass."
	}
	return "None. `TestKilledProxyLosesNothing` kills the proxy under load: every answered call has its decision in " +
		"the ledger, the chain verifies, and the calls the kill caught mid-way are closed as `interrupted` at the next " +
		"start; `TestSoakSessions` finds exactly as many calls in the ledger as were made."
}

// run runs the named tests, package by package, and returns each one's
// outcome and the figures it logged.
func run(names []string) (map[string]string, map[string]string) {
	byPkg := map[string][]string{}
	for _, n := range names {
		pkg, test := filepath.Split(n)
		byPkg[strings.TrimSuffix(pkg, "/")] = append(byPkg[strings.TrimSuffix(pkg, "/")], test)
	}
	results, logs := map[string]string{}, map[string]string{}
	for pkg, tests := range byPkg {
		cmd := exec.Command("go", "test", "-count=1", "-json", "-run", "^("+strings.Join(tests, "|")+")$", "./"+pkg)
		cmd.Stderr = os.Stderr
		b, _ := cmd.Output()
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var ev struct{ Action, Test, Output string }
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
				continue
			}
			key := pkg + "/" + ev.Test
			switch ev.Action {
			case "pass", "fail", "skip":
				results[key] = ev.Action
			case "output":
				if m := figureRE.FindStringSubmatch(strings.TrimRight(ev.Output, "\n")); m != nil && !strings.Contains(m[1], "level=") {
					logs[key] = strings.TrimSpace(m[1])
				}
			}
		}
	}
	return results, logs
}

// figureRE picks the figures a test logs (t.Logf in the test file itself).
var figureRE = regexp.MustCompile(`^\s+\w+_test\.go:\d+: (.*\d.*)$`)

// doc1 is the first sentence of a test's doc comment, after its name.
func doc1(name string) string {
	pkg, test := filepath.Split(name)
	fset := token.NewFileSet()
	files, _ := filepath.Glob(filepath.Join(pkg, "*_test.go"))
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			continue
		}
		for _, d := range af.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == test && fn.Doc != nil {
				text := strings.Join(strings.Fields(fn.Doc.Text()), " ")
				text = strings.TrimPrefix(strings.TrimPrefix(text, test), ":")
				if i := strings.Index(text, ". "); i >= 0 {
					text = text[:i+1]
				}
				return strings.TrimSpace(text)
			}
		}
	}
	return ""
}

// fuzzTargets lists every Fuzz function, as package/Name.
func fuzzTargets() []string {
	var out []string
	_ = filepath.Walk(".", func(p string, info os.FileInfo, err error) error {
		if err != nil || !strings.HasSuffix(p, "_test.go") || strings.Contains(p, "node_modules") {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, m := range regexp.MustCompile(`(?m)^func (Fuzz\w+)\(`).FindAllSubmatch(b, -1) {
			out = append(out, filepath.Dir(p)+"/"+string(m[1]))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

var execsRE = regexp.MustCompile(`execs: (\d+)`)

// fuzz runs one target and returns its executions.
func fuzz(target string, d time.Duration) (string, bool) {
	pkg, name := filepath.Split(target)
	cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+name+"$", "-fuzztime", d.String(), "./"+strings.TrimSuffix(pkg, "/"))
	b, err := cmd.CombinedOutput()
	execs := "?"
	if m := execsRE.FindAllSubmatch(b, -1); len(m) > 0 {
		execs = string(m[len(m)-1][1])
	}
	if err != nil {
		os.Stderr.Write(b)
	}
	return execs, err == nil
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "reliability:", err)
	os.Exit(1)
}

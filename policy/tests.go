package policy

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestSummary counts a test run.
type TestSummary struct {
	Total, Failed int
	FailedNames   []string
}

// runTests runs the bundle's test_ rules (all modules compiled together, as
// opa test does). When out is not nil the results are reported there as opa
// test reports them, print() output included for failures (and for every
// test when verbose).
func runTests(ctx context.Context, b *bundle, caps *ast.Capabilities, filter string, out io.Writer, verbose bool) (TestSummary, error) {
	runner := tester.NewRunner().
		SetCompiler(newCompiler(caps)).
		SetStore(inmem.NewFromObject(b.data)).
		CapturePrintOutput(true).
		Filter(filter)
	ch, err := runner.Run(ctx, b.modules)
	if err != nil {
		return TestSummary{}, err
	}
	// Results arrive in the order the runner finishes them: sorted by
	// package and name, the report reads the same every run.
	var sum TestSummary
	var results []*tester.Result
	for r := range ch {
		sum.Total++
		if !r.Pass() {
			sum.Failed++
			sum.FailedNames = append(sum.FailedNames, r.Package+"."+r.Name)
		}
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool {
		if results[i].Package != results[j].Package {
			return results[i].Package < results[j].Package
		}
		return results[i].Name < results[j].Name
	})
	sort.Strings(sum.FailedNames)
	dup := make(chan *tester.Result, len(results))
	for _, r := range results {
		dup <- r
	}
	close(dup)
	if out == nil {
		out = io.Discard
	}
	if err := (tester.PrettyReporter{Output: out, Verbose: verbose, FailureLine: true}).Report(dup); err != nil {
		return sum, err
	}
	return sum, nil
}

// Test runs the tests of a policy directory (empty dir: the shipped
// policies), writing opa test's report to out. It returns opa test's exit
// status: 0 when every test passed, 2 when one failed, 1 when the policy
// could not be loaded or compiled (or has no tests).
func Test(ctx context.Context, dir, filter string, verbose bool, out io.Writer, data map[string]any) int {
	var fsys fs.FS
	if dir == "" {
		fsys = shippedFS()
	} else {
		fsys = os.DirFS(dir)
	}
	b, err := load(fsys, data)
	if err != nil {
		fmt.Fprintf(out, "load policy: %v\n", err)
		return 1
	}
	caps, err := capabilities(nil)
	if err != nil {
		fmt.Fprintln(out, err)
		return 1
	}
	sum, err := runTests(ctx, b, caps, filter, out, verbose)
	if err != nil {
		fmt.Fprintln(out, err)
		return 1
	}
	switch {
	case sum.Total == 0:
		fmt.Fprintln(out, "no tests were run")
		return 1
	case sum.Failed > 0:
		return 2
	}
	return 0
}

// Tests runs the engine's policy tests as a reload would (the same files,
// data and config), writing opa test's verbose report to out.
func (e *Engine) Tests(ctx context.Context, out io.Writer) (TestSummary, error) {
	b, err := load(e.fsys, e.opts.Data)
	if err != nil {
		return TestSummary{}, fmt.Errorf("load policy %s: %w", e.Source(), err)
	}
	if e.opts.Config != nil {
		b.data["config"] = e.opts.Config
	}
	return runTests(ctx, b, e.caps, "", out, true)
}

// Files lists the policy's files (Rego and data), relative to its folder.
func (e *Engine) Files() []string {
	var out []string
	_ = fs.WalkDir(e.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

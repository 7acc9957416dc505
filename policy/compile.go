package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"gopkg.in/yaml.v3"
)

// networkBuiltins reach outside the process; policies may use one only when
// the config names it in policy.allow_builtins.
var networkBuiltins = map[string]bool{
	"http.send":              true,
	"net.lookup_ip_addr":     true,
	"opa.runtime":            true, // exposes the environment, secrets included
	"providers.aws.sign_req": true,
}

// bundle is a loaded policy directory.
type bundle struct {
	modules map[string]*ast.Module // includes *_test.rego
	data    map[string]any
}

// load reads every .rego file and data.json / data.yaml under fsys.
func load(fsys fs.FS, inline map[string]any) (*bundle, error) {
	b := &bundle{modules: map[string]*ast.Module{}, data: map[string]any{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch name := d.Name(); {
		case strings.HasSuffix(name, ".rego"):
			src, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				return err
			}
			b.modules[p] = m
		case name == "data.json" || name == "data.yaml" || name == "data.yml":
			if err := b.loadData(fsys, p); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(b.modules) == 0 {
		return nil, fmt.Errorf("no .rego files")
	}
	for k, v := range inline {
		b.data[k] = v
	}
	return b, nil
}

// loadData merges a data file in at the path of its folder, as opa does.
func (b *bundle) loadData(fsys fs.FS, p string) error {
	raw, err := fs.ReadFile(fsys, p)
	if err != nil {
		return err
	}
	var v map[string]any
	if strings.HasSuffix(p, ".json") {
		err = json.Unmarshal(raw, &v)
	} else {
		err = yaml.Unmarshal(raw, &v)
	}
	if err != nil {
		return err
	}
	target := b.data
	if dir := path.Dir(p); dir != "." {
		for _, seg := range strings.Split(dir, "/") {
			next, ok := target[seg].(map[string]any)
			if !ok {
				next = map[string]any{}
				target[seg] = next
			}
			target = next
		}
	}
	for k, val := range v {
		target[k] = val
	}
	return nil
}

// capabilities are this OPA's, less the network builtins not allowed.
func capabilities(allow []string) (*ast.Capabilities, error) {
	allowed := map[string]bool{}
	for _, a := range allow {
		if !networkBuiltins[a] {
			return nil, fmt.Errorf("policy.allow_builtins: %q is not a restricted builtin (restricted: %s)", a, strings.Join(restricted(), ", "))
		}
		allowed[a] = true
	}
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, bi := range caps.Builtins {
		if !networkBuiltins[bi.Name] || allowed[bi.Name] {
			kept = append(kept, bi)
		}
	}
	caps.Builtins = kept
	return caps, nil
}

func restricted() []string {
	var out []string
	for k := range networkBuiltins {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newCompiler is the one way policies are compiled: strict (unused
// variables and shadowing are errors), restricted capabilities, print()
// enabled.
func newCompiler(caps *ast.Capabilities) *ast.Compiler {
	return ast.NewCompiler().WithStrict(true).WithCapabilities(caps).WithEnablePrintStatements(true)
}

// compiled is one generation of a policy, ready to evaluate.
type compiled struct {
	query  rego.PreparedEvalQuery
	output *rego.PreparedEvalQuery // nil when the policy has no output rule
	store  storage.Store
	cache  *decisionCache // nil when decisions depend on more than a few fields
}

// compile builds the serving policy (tests left out) and prepares the
// decision and output queries.
func compile(ctx context.Context, b *bundle, caps *ast.Capabilities, query, output string) (*compiled, error) {
	serving := map[string]*ast.Module{}
	for name, m := range b.modules {
		if !strings.HasSuffix(name, "_test.rego") {
			serving[name] = m
		}
	}
	c := newCompiler(caps)
	if c.Compile(serving); c.Failed() {
		return nil, c.Errors
	}
	store := inmem.NewFromObject(b.data)
	q, err := rego.New(rego.Query(query), rego.Compiler(c), rego.Store(store)).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", query, err)
	}
	cp := &compiled{query: q, store: store, cache: newDecisionCache(c)}
	ref, err := ast.ParseRef(output)
	if err != nil {
		return nil, fmt.Errorf("output query %s: %w", output, err)
	}
	// Most policies have no output rule: then results are not evaluated
	// at all, rather than evaluated to undefined on every call.
	if len(c.GetRules(ref)) > 0 {
		o, err := rego.New(rego.Query(output), rego.Compiler(c), rego.Store(store)).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare %s: %w", output, err)
		}
		cp.output = &o
	}
	return cp, nil
}

package policy

import (
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// A decision cache keeps the decisions of a policy that is a pure function
// of a few input fields. Most are: the shipped default decides from the
// server and the tool name only, so re-evaluating it for every call of the
// same tool repeats the same work (30 µs of a call's 40 µs policy budget).
//
// Whether a policy qualifies is read from its compiled rules, never
// assumed: every reference to input must name one of the fields below by a
// constant path (input.tool.name, input.client.name, …), and no rule may
// call a non-deterministic builtin (time.now_ns, rand.intn, http.send, …).
// A policy that reads the arguments, the time, the session, the request,
// the leak findings, input as a whole or input[x] is evaluated every time.
// The cache belongs to one compiled generation, so a reload starts empty.

// keyParts are the input paths a cacheable decision may read, each with
// the key part it contributes. A reference into a field below one of these
// paths (input.tool.annotations.readOnlyHint) reads its nearest listed
// ancestor (input.tool: the whole definition).
var keyParts = map[string]func(in *Input) string{
	"method":         func(in *Input) string { return in.Method },
	"server":         func(in *Input) string { return in.Server },
	"client":         func(in *Input) string { return string(appendKey(nil, in.Client.Name, in.Client.Address)) },
	"client.name":    func(in *Input) string { return in.Client.Name },
	"client.address": func(in *Input) string { return in.Client.Address },
	"tool":           func(in *Input) string { return in.Tool.key() },
	"tool.name":      func(in *Input) string { return in.Tool.Name },
}

// maxCachedDecisions bounds a generation's cache; when full it starts over.
const maxCachedDecisions = 4096

// decisionCache is nil for a policy whose decisions cannot be cached.
type decisionCache struct {
	paths []string // keyParts the key is made of, sorted
	mu    sync.Mutex
	m     map[string]Decision
}

// newDecisionCache reads c's rules and returns a cache for them, or nil
// when a decision may depend on more than keyParts.
func newDecisionCache(c *ast.Compiler) *decisionCache {
	used := map[string]bool{}
	cacheable := true
	var inputRefs, inputVars int
	for _, m := range c.Modules {
		ast.WalkTerms(m, func(t *ast.Term) bool {
			switch v := t.Value.(type) {
			case ast.Var:
				if v.Equal(ast.InputRootDocument.Value) {
					inputVars++
				}
			case ast.Ref:
				if v.HasPrefix(ast.InputRootRef) {
					inputRefs++
					path, ok := keyPath(v)
					cacheable = cacheable && ok
					used[path] = true
				}
			case ast.Call:
				op, ok := v[0].Value.(ast.Ref)
				cacheable = cacheable && ok && deterministic(op)
			}
			return !cacheable
		})
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if e.IsCall() {
				cacheable = cacheable && deterministic(e.Operator())
			}
			return !cacheable
		})
	}
	// Every input var must be the head of a reference counted above; one
	// more means input is used as a whole (x := input, walk(input, …)).
	if !cacheable || inputVars != inputRefs {
		return nil
	}
	dc := &decisionCache{m: map[string]Decision{}}
	for path := range used {
		if parent, _, nested := strings.Cut(path, "."); nested && used[parent] {
			continue // the whole field is in the key already
		}
		dc.paths = append(dc.paths, path)
	}
	slices.Sort(dc.paths) // a fixed order, so equal inputs make equal keys
	return dc
}

// keyPath says which of keyParts a reference to input reads: input.F.S
// when that is listed, else input.F when that is, with F and S constant
// strings.
func keyPath(r ast.Ref) (string, bool) {
	if len(r) < 2 {
		return "", false
	}
	f, ok := r[1].Value.(ast.String)
	if !ok || keyParts[string(f)] == nil {
		return "", false
	}
	if len(r) > 2 {
		if s, ok := r[2].Value.(ast.String); ok && keyParts[string(f)+"."+string(s)] != nil {
			return string(f) + "." + string(s), true
		}
	}
	return string(f), true
}

// deterministic is false for a call whose result may change between two
// evaluations with the same input (time, randomness, the network).
func deterministic(op ast.Ref) bool {
	if b, ok := ast.BuiltinMap[op.String()]; ok {
		return !b.Nondeterministic
	}
	return true // a function the policy defines: its own rules are walked
}

// key builds the cache key of in.
func (dc *decisionCache) key(in *Input) string {
	var b []byte
	for _, path := range dc.paths {
		b = appendKey(b, keyParts[path](in))
	}
	return string(b)
}

func (dc *decisionCache) get(key string) (Decision, bool) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	d, ok := dc.m[key]
	return d, ok
}

func (dc *decisionCache) put(key string, d Decision) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if len(dc.m) >= maxCachedDecisions {
		clear(dc.m)
	}
	dc.m[key] = d
}

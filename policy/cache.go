package policy

import (
	"cmp"
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

// keyFields are the input fields a cacheable decision may depend on, each
// with the parts of it a key is built from.
var keyFields = map[string]func(in *Input, sub string) string{
	"method": func(in *Input, _ string) string { return in.Method },
	"server": func(in *Input, _ string) string { return in.Server },
	"client": func(in *Input, sub string) string {
		switch sub {
		case "name":
			return in.Client.Name
		case "address":
			return in.Client.Address
		}
		return string(appendKey(nil, in.Client.Name, in.Client.Address))
	},
	"tool": func(in *Input, sub string) string {
		if sub == "name" {
			return in.Tool.Name
		}
		return in.Tool.key()
	},
}

// maxCachedDecisions bounds a generation's cache; when full it starts over.
const maxCachedDecisions = 4096

// decisionCache is nil for a policy whose decisions cannot be cached.
type decisionCache struct {
	fields []keyField // what the key is made of, in a fixed order
	mu     sync.Mutex
	m      map[string]Decision
}

type keyField struct{ field, sub string }

// newDecisionCache reads c's rules and returns a cache for them, or nil
// when a decision may depend on more than keyFields.
func newDecisionCache(c *ast.Compiler) *decisionCache {
	used := map[keyField]bool{}
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
					kf, ok := refKey(v)
					cacheable = cacheable && ok
					used[kf] = true
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
	for kf := range used {
		if used[keyField{field: kf.field}] && kf.sub != "" {
			continue // the whole field is in the key already
		}
		dc.fields = append(dc.fields, kf)
	}
	// A fixed order, so equal inputs make equal keys.
	slices.SortFunc(dc.fields, func(a, b keyField) int {
		return cmp.Or(strings.Compare(a.field, b.field), strings.Compare(a.sub, b.sub))
	})
	return dc
}

// refKey says which key field a reference to input reads: input.F or
// input.F.S with F in keyFields and constant strings F and S.
func refKey(r ast.Ref) (keyField, bool) {
	if len(r) < 2 {
		return keyField{}, false
	}
	f, ok := r[1].Value.(ast.String)
	if !ok || keyFields[string(f)] == nil {
		return keyField{}, false
	}
	kf := keyField{field: string(f)}
	if len(r) > 2 {
		if s, ok := r[2].Value.(ast.String); ok && narrows[kf.field+"."+string(s)] {
			kf.sub = string(s)
		}
	}
	return kf, true
}

// narrows are the parts of a key field a key may be narrowed to; any other
// part of it keys on the whole field.
var narrows = map[string]bool{"tool.name": true, "client.name": true, "client.address": true}

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
	for _, kf := range dc.fields {
		b = appendKey(b, keyFields[kf.field](in, kf.sub))
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

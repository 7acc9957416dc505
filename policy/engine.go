package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown/print"

	shipped "github.com/drawbridge-mcp/drawbridge/rego"
)

// Options configure an Engine.
type Options struct {
	// Dir is the policy directory; empty means the policies shipped in rego/.
	Dir string
	// Query defaults to DefaultQuery.
	Query string
	// OutputQuery defaults to DefaultOutputQuery.
	OutputQuery string
	// Data is merged at the root of data (after data.json / data.yaml).
	Data map[string]any
	// Config is what Drawbridge tells policies about its configuration, at
	// data.config (servers and their tool lists).
	Config map[string]any
	// Timeout bounds one evaluation; default DefaultTimeout.
	Timeout time.Duration
	// AllowBuiltins names restricted builtins (http.send, …) the policy may
	// use.
	AllowBuiltins []string
	Logger        *slog.Logger
}

// Engine evaluates decisions. It is safe for concurrent use; Reload swaps
// the policy atomically while evaluations continue on the old one.
type Engine struct {
	opts  Options
	fsys  fs.FS
	caps  *ast.Capabilities
	log   *slog.Logger
	cur   atomic.Pointer[compiled]
	cache toolCache

	mu         sync.Mutex // serialises reloads and guards the fields below
	loaded     time.Time
	reloadErr  error
	generation int
	// reloads and reloadErrors count Reload's outcomes (metrics).
	reloads, reloadErrors atomic.Uint64
}

// New loads, compiles and tests the policy. A policy that does not compile
// or whose tests fail is an error: Drawbridge never starts on one.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Query == "" {
		opts.Query = DefaultQuery
	}
	if opts.OutputQuery == "" {
		opts.OutputQuery = DefaultOutputQuery
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	caps, err := capabilities(opts.AllowBuiltins)
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, caps: caps, log: opts.Logger, fsys: shippedFS()}
	if opts.Dir != "" {
		if _, err := os.Stat(opts.Dir); err != nil {
			return nil, fmt.Errorf("policy dir: %w", err)
		}
		e.fsys = os.DirFS(opts.Dir)
	}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Source names where the policy comes from.
func (e *Engine) Source() string {
	if e.opts.Dir == "" {
		return "shipped default (rego/)"
	}
	return e.opts.Dir
}

// Reload builds a new generation (load, compile, run the policy's tests)
// and swaps it in. On any failure the old generation keeps serving and the
// error is returned and kept for Status.
//
// A reload of a serving engine is logged before its outcome is published
// (Status, Reloads): whoever sees the outcome can also read the log line.
func (e *Engine) Reload(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	next, err := e.build(ctx)
	serving := e.cur.Load() != nil
	if err != nil {
		if serving {
			e.log.Error("policy reload failed; the previous policy keeps serving", "dir", e.opts.Dir, "err", err)
		}
		e.reloadErr = err
		e.reloadErrors.Add(1)
		e.reloads.Add(1)
		return err
	}
	if serving {
		e.log.Info("policy reloaded", "dir", e.opts.Dir, "generation", e.generation+1)
	}
	e.cur.Store(next)
	e.loaded, e.reloadErr = time.Now(), nil
	e.generation++
	e.reloads.Add(1)
	return nil
}

func (e *Engine) build(ctx context.Context) (*compiled, error) {
	b, err := load(e.fsys, e.opts.Data)
	if err != nil {
		return nil, fmt.Errorf("load policy %s: %w", e.Source(), err)
	}
	if e.opts.Config != nil {
		b.data["config"] = e.opts.Config
	}
	c, err := compile(ctx, b, e.caps, e.opts.Query, e.opts.OutputQuery)
	if err != nil {
		return nil, fmt.Errorf("compile policy %s: %w", e.Source(), err)
	}
	sum, err := runTests(ctx, b, e.caps, "", nil, false)
	if err != nil {
		return nil, fmt.Errorf("test policy %s: %w", e.Source(), err)
	}
	if sum.Failed > 0 {
		return nil, fmt.Errorf("test policy %s: %d of %d tests failed: %v", e.Source(), sum.Failed, sum.Total, sum.FailedNames)
	}
	return c, nil
}

// Status reports the last reload's outcome for /readyz.
func (e *Engine) Status() (generation int, loaded time.Time, lastErr error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.generation, e.loaded, e.reloadErr
}

// Reloads counts reloads since start, and those that failed.
func (e *Engine) Reloads() (total, failed uint64) { return e.reloads.Load(), e.reloadErrors.Load() }

// Check is Status for /readyz: whether the last reload worked, and which
// generation serves.
func (e *Engine) Check() (ok bool, detail string) {
	gen, loaded, err := e.Status()
	if err != nil {
		return false, fmt.Sprintf("generation %d (loaded %s) serving; last reload failed: %v", gen, loaded.Format(time.RFC3339), err)
	}
	return true, fmt.Sprintf("generation %d from %s, loaded %s", gen, e.Source(), loaded.Format(time.RFC3339))
}

// Decide evaluates the decision for in. It always returns a usable
// decision: when the policy fails to make one (undefined, not an object,
// unknown action, error, past the timeout) it is a deny, and the error
// (wrapping ErrPolicy) says what went wrong.
// A policy whose decision depends only on the method, server, client and
// tool is evaluated once per distinct combination (see decisionCache).
func (e *Engine) Decide(ctx context.Context, in *Input) (Decision, error) {
	begin := time.Now()
	c := e.cur.Load()
	var key string
	if c.cache != nil {
		key = c.cache.key(in)
		if d, ok := c.cache.get(key); ok {
			d.Took = time.Since(begin)
			return d, nil
		}
	}
	d, err := e.decide(ctx, c, in, nil)
	if c.cache != nil && err == nil {
		c.cache.put(key, d)
	}
	d.Took = time.Since(begin)
	return d, err
}

func (e *Engine) decide(ctx context.Context, c *compiled, in *Input, extra []rego.EvalOption) (Decision, error) {
	v, err := in.value(&e.cache)
	if err != nil {
		return policyError("build input: " + err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	rs, err := c.query.Eval(ctx, append(extra, rego.EvalParsedInput(v))...)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return policyError(fmt.Sprintf("evaluation took longer than policy.timeout (%s)", e.opts.Timeout))
		}
		return policyError("evaluation failed: " + err.Error())
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return policyError(e.opts.Query + " is undefined for this input")
	}
	return interpret(rs[0].Expressions[0].Value)
}

// DecideOutput asks the optional output rule about a call's result: the
// call's input with input.result added. No rule (undefined) allows; a
// malformed answer or an error denies, as Decide does.
func (e *Engine) DecideOutput(ctx context.Context, in *Input, result json.RawMessage) (Decision, error) {
	begin := time.Now()
	output := e.cur.Load().output
	if output == nil {
		return Decision{Action: Allow, Reason: "no output rule"}, nil
	}
	v, err := in.value(&e.cache)
	if err != nil {
		return policyError("build input: " + err.Error())
	}
	rv, err := jsonValue(result)
	if err != nil {
		return policyError("result is not JSON: " + err.Error())
	}
	obj := v.(ast.Object)
	obj.Insert(ast.InternedTerm("result"), ast.NewTerm(rv))
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	rs, err := output.Eval(ctx, rego.EvalParsedInput(obj))
	d := Decision{Action: Allow, Reason: "no output rule"}
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		d, err = policyError(fmt.Sprintf("output rule took longer than policy.timeout (%s)", e.opts.Timeout))
	case err != nil:
		d, err = policyError("output rule failed: " + err.Error())
	case len(rs) > 0 && len(rs[0].Expressions) > 0:
		d, err = interpret(rs[0].Expressions[0].Value)
	}
	d.Took = time.Since(begin)
	return d, err
}

// interpret checks the decision's shape.
func interpret(v any) (Decision, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return policyError(fmt.Sprintf("decision is %T, not an object", v))
	}
	action, _ := obj["action"].(string)
	switch action {
	case Allow, Deny, Approve:
	default:
		return policyError(fmt.Sprintf("decision action %v is not allow, deny or approve", obj["action"]))
	}
	reason, ok := obj["reason"].(string)
	if _, present := obj["reason"]; present && !ok {
		return policyError("decision reason is not a string")
	}
	return Decision{Action: action, Reason: reason}, nil
}

// Explain evaluates with a full trace and print() captured, for `drawbridge
// policy eval --explain`.
func (e *Engine) Explain(ctx context.Context, in *Input) (Decision, error, []*Event, []string) {
	tracer := newTracer()
	prints := &printCollector{}
	d, err := e.decide(ctx, e.cur.Load(), in, []rego.EvalOption{rego.EvalQueryTracer(tracer), rego.EvalPrintHook(prints)})
	return d, err, tracer.events(), prints.lines
}

// printCollector keeps print() output.
type printCollector struct {
	mu    sync.Mutex
	lines []string
}

func (p *printCollector) Print(ctx print.Context, msg string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, fmt.Sprintf("%s: %s", ctx.Location, msg))
	return nil
}

func shippedFS() fs.FS { return shipped.FS }

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/internal/wire"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
)

// runPolicy is `drawbridge policy test` and `drawbridge policy eval`.
func runPolicy(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: policy test [DIR] [-v] [--run REGEX] | policy eval --server S --tool T [--args JSON] [--client C] [--explain]", errUsage)
	}
	switch args[0] {
	case "test":
		return runPolicyTest(ctx, e, args[1:])
	case "eval":
		return runPolicyEval(ctx, e, args[1:])
	case "-h", "--help", "help":
		return runPolicyEval(ctx, e, []string{"-h"}) // the help lists both; the flags shown are eval's, test's are -v and --run
	}
	return fmt.Errorf("%w: unknown policy command %q (test, eval)", errUsage, args[0])
}

// runPolicyTest runs *_test.rego like opa test: same report, same exit
// status (0 pass, 2 a test failed, 1 the policy did not load).
func runPolicyTest(ctx context.Context, e env, args []string) error {
	f := newFlags("policy test", e)
	verbose := f.Bool("v", false, "verbose: report every test, with print() output")
	filter := f.String("run", "", "run only tests whose name matches `REGEX`")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	dir := ""
	switch {
	case len(pos) == 1:
		dir = pos[0]
	case len(pos) > 1:
		return fmt.Errorf("%w: policy test takes one directory", errUsage)
	default:
		// No directory: the config's policy.dir when there is a config,
		// else the shipped policies.
		if cfg, err := f.load(); err == nil {
			dir = cfg.Policy.Dir
		}
	}
	where := dir
	if where == "" {
		where = "the shipped policy (rego/)"
	}
	fmt.Fprintf(e.stdout, "policy: %s\n", where)
	if code := policy.Test(ctx, dir, *filter, *verbose, e.stdout, nil); code != 0 {
		return exitError{code}
	}
	return nil
}

// runPolicyEval prints the decision for a hypothetical call.
func runPolicyEval(ctx context.Context, e env, args []string) error {
	f := newFlags("policy eval", e)
	server := f.String("server", "", "server `label` (required)")
	tool := f.String("tool", "", "tool `name` (required)")
	argsJSON := f.String("args", "{}", "the call's arguments, a JSON `object`")
	clientName := f.String("client", "cli", "client `name` (a token name)")
	explain := &explainFlag{}
	f.Var(explain, "explain", "show the input, print() output and the trace (`full`, notes or fails; --explain alone is full)")
	if _, err := f.parse(args); err != nil {
		return err
	}
	if *server == "" || *tool == "" {
		return fmt.Errorf("%w: --server and --tool are required", errUsage)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(*argsJSON), &obj); err != nil {
		return fmt.Errorf("%w: --args must be a JSON object: %v", errUsage, err)
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	if _, ok := cfg.Servers[*server]; !ok {
		return fmt.Errorf("%w: --server %q is not a server of %s; known: %s", errUsage, *server, cfg.Path, strings.Join(cfg.Labels(), ", "))
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	engine, err := wire.Policy(ctx, cfg, log)
	if err != nil {
		return err
	}
	in := &policy.Input{
		Method: "tools/call", Server: *server, Tool: policy.Tool{Name: *tool},
		Arguments: json.RawMessage(*argsJSON), Client: policy.Client{Name: *clientName, Address: "127.0.0.1"},
		Time: time.Now(), Request: policy.Request{ID: "cli", ProtocolVersion: "2025-06-18", UserAgent: "drawbridge-cli"},
	}
	if sc, ok := cfg.Servers[*server]; ok {
		v, closeVault, err := readVault(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer closeVault()
		if def, err := proxy.FetchTool(ctx, sc, *tool, log, v); err != nil {
			fmt.Fprintf(e.stderr, "note: evaluating without the tool's definition: %v\n", err)
		} else {
			in.Tool = def
		}
	}
	var (
		d      policy.Decision
		perr   error
		trace  []*policy.Event
		prints []string
	)
	if explain.mode != "" {
		d, perr, trace, prints = engine.Explain(ctx, in)
		if trace, err = policy.FilterTrace(trace, explain.mode); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	} else {
		d, perr = engine.Decide(ctx, in)
	}
	out := map[string]any{"action": d.Action, "reason": d.Reason}
	if perr != nil {
		out["policy_error"] = strings.TrimPrefix(perr.Error(), policy.ErrPolicy.Error()+"\n")
	}
	if err := printJSON(e.stdout, out); err != nil {
		return err
	}
	if explain.mode != "" {
		fmt.Fprintln(e.stdout, "\n# input")
		doc, err := in.Document()
		if err != nil {
			return err
		}
		if err := printJSON(e.stdout, doc); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "\n# print() output")
		for _, p := range prints {
			fmt.Fprintln(e.stdout, p)
		}
		fmt.Fprintln(e.stdout, "\n# trace")
		fmt.Fprint(e.stdout, policy.PrettyTrace(trace))
	}
	return nil
}

// explainFlag is --explain, --explain=full, --explain=notes or
// --explain=fails.
type explainFlag struct{ mode string }

func (f *explainFlag) String() string { return f.mode }

func (f *explainFlag) Set(v string) error {
	if v == "true" {
		v = "full"
	}
	if v == "false" {
		f.mode = ""
		return nil
	}
	if _, err := policy.FilterTrace(nil, v); err != nil {
		return err
	}
	f.mode = v
	return nil
}

// IsBoolFlag lets --explain stand alone.
func (f *explainFlag) IsBoolFlag() bool { return true }

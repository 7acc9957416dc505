package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// env is what every subcommand gets.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

var commands = map[string]command{
	"serve":            {"run the proxy", runServe},
	"check":            {"validate a config file without serving", runCheck},
	"doctor":           {"check everything the Responses API needs to reach and use Drawbridge", runDoctor},
	"token":            {"manage client tokens: create NAME, list, revoke NAME", runToken},
	"audit":            {"query the ledger: tail, show, verify, export, prune, stats", runAudit},
	"responses-config": {"print the Responses API tools array for every server, agreeing with the policy", runResponsesConfig},
	"approvals":        {"held calls: list, approve ID [--remember DUR], deny ID [--reason TEXT]", runApprovals},
	"tools":            {"tool trust: list with status, diff SERVER TOOL, accept SERVER [TOOL...]", runTools},
	"secret":           {"manage encrypted upstream credentials: set NAME, list, rm NAME, rotate-key", runSecret},
	"policy":           {"test the policy, or evaluate a hypothetical call: test [DIR], eval --server S --tool T", runPolicy},
	"version":          {"print the version", runVersion},
}

// errUsage marks an error whose message is the whole story (exit 2).
var errUsage = errors.New("usage")

// exitError carries an exit status with an already printed message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "drawbridge: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, e, args[1:])
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "drawbridge %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "drawbridge %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: drawbridge COMMAND [-c drawbridge.yaml] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}

// flags is a subcommand's flag set with the shared -c and --data-dir flags.
type flags struct {
	*flag.FlagSet
	config  *string
	dataDir *string
}

func newFlags(name string, e env) flags {
	fs := flag.NewFlagSet("drawbridge "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return flags{FlagSet: fs, config: fs.String("c", "drawbridge.yaml", "config `file`"),
		dataDir: fs.String("data-dir", "", "use this `folder` instead of the config's data_dir")}
}

// parse parses flags wherever they stand among the positional arguments
// ("token create NAME --servers a" as well as "token create --servers a
// NAME") and returns the positionals.
func (f flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			return nil, err
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (f flags) load() (*config.Config, error) {
	cfg, err := config.Load(*f.config)
	if err == nil && *f.dataDir != "" {
		cfg.SetDataDir(*f.dataDir)
	}
	return cfg, err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// env is what every subcommand gets.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command runs one subcommand; its summary, usage and examples are in
// helps.
type command func(ctx context.Context, e env, args []string) error

var commands = map[string]command{
	"serve": runServe, "check": runCheck, "doctor": runDoctor, "health": runHealth, "token": runToken, "audit": runAudit,
	"responses-config": runResponsesConfig, "approvals": runApprovals, "tools": runTools, "secret": runSecret,
	"policy": runPolicy, "version": runVersion, "init": runInit, "completion": runCompletion,
}

// errUsage marks an error whose message is the whole story (exit 2).
var errUsage = errors.New("usage")

// exitError carries an exit status with an already printed message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr}
	switch {
	case len(args) == 0:
		usage(stderr)
		return 2
	case args[0] == "-h" || args[0] == "--help" || (args[0] == "help" && len(args) == 1):
		usage(stdout)
		return 0
	case args[0] == "__complete": // what the completion scripts ask
		_ = runComplete(ctx, e, args[1:])
		return 0
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	case args[0] == "help":
		if _, ok := commands[args[1]]; !ok {
			fmt.Fprintf(stderr, "drawbridge help: unknown command %q%s\n", args[1], didYouMean(args[1]))
			return 2
		}
		args = []string{args[1], "-h"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "drawbridge: unknown command %q%s\nRun drawbridge --help for the list.\n", args[0], didYouMean(args[0]))
		return 2
	}
	err := cmd(ctx, e, args[1:])
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, flag.ErrHelp):
		return 0 // the help went to stdout
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "drawbridge %s: %v\nRun drawbridge help %s for its usage and examples.\n", args[0],
			strings.TrimPrefix(err.Error(), "usage: "), args[0])
		return 2
	default:
		fmt.Fprintf(stderr, "drawbridge %s: %v\n", args[0], err)
		return 1
	}
}

func didYouMean(name string) string {
	if c := closest(name); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

// flags is a subcommand's flag set with the shared -c and --data-dir flags.
type flags struct {
	*flag.FlagSet
	config  *string
	dataDir *string
}

// newFlags makes a command's flag set. -h prints the command's help to
// stdout (exit 0); a flag error is reported once, by run, with the
// command's prefix.
func newFlags(name string, e env) flags {
	set := flag.NewFlagSet("drawbridge "+name, flag.ContinueOnError)
	set.SetOutput(io.Discard)
	f := flags{FlagSet: set, config: set.String("c", "drawbridge.yaml", "config `file`"),
		dataDir: set.String("data-dir", "", "use this `folder` instead of the config's data_dir")}
	set.Usage = func() { commandHelp(e.stdout, strings.Fields(name)[0], set) }
	return f
}

// parse parses flags wherever they stand among the positional arguments
// ("token create NAME --servers a" as well as "token create --servers a
// NAME") and returns the positionals.
func (f flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
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

// load reads the config -c names. A missing file says how to get one.
func (f flags) load() (*config.Config, error) {
	if _, err := os.Stat(*f.config); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no config file %s: pass -c FILE, or run drawbridge init", *f.config)
	}
	cfg, err := config.Load(*f.config)
	if err == nil && *f.dataDir != "" {
		cfg.SetDataDir(*f.dataDir)
	}
	return cfg, err
}

// openState loads the config -c names and opens its state.db, for the
// commands that read or change tokens, pins and approvals. The caller
// closes the database.
func (f flags) openState(ctx context.Context) (*config.Config, *state.DB, error) {
	cfg, err := f.load()
	if err != nil {
		return nil, nil, err
	}
	db, err := state.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

// configFlag is " -c FILE" for hints that print commands, so they work as
// printed; "" for ./drawbridge.yaml, the default.
func configFlag(cfg *config.Config) string {
	if wd, err := os.Getwd(); err == nil && cfg.Path == filepath.Join(wd, "drawbridge.yaml") {
		return ""
	}
	return " -c " + cfg.Path
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

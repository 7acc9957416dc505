package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// The shell scripts only ask `drawbridge __complete WORDS…` (the last word
// being the one under the cursor), so every shell completes the same
// things: commands, subcommands, flags, and from the config and state.db
// server labels, tool names and pending approval ids.
var completionScripts = map[string]string{
	"bash": `# drawbridge completion for bash: source <(drawbridge completion bash)
_drawbridge() {
  local IFS=$'\n'
  COMPREPLY=($(drawbridge __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _drawbridge drawbridge
`,
	"zsh": `#compdef drawbridge
# drawbridge completion for zsh: source <(drawbridge completion zsh)
_drawbridge() {
  local -a candidates
  candidates=("${(@f)$(drawbridge __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
compdef _drawbridge drawbridge
`,
	"fish": `# drawbridge completion for fish: drawbridge completion fish | source
complete -c drawbridge -f -a '(drawbridge __complete (commandline -opc)[2..-1] (commandline -ct))'
`,
}

// runCompletion prints the completion script for a shell.
func runCompletion(_ context.Context, e env, args []string) error {
	f := newFlags("completion", e)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || completionScripts[pos[0]] == "" {
		return fmt.Errorf("%w: completion bash|zsh|fish", errUsage)
	}
	fmt.Fprint(e.stdout, completionScripts[pos[0]])
	return nil
}

// subcommands are the words that follow a command.
var subcommands = map[string][]string{
	"token": {"create", "list", "revoke"}, "audit": {"tail", "show", "verify", "export", "prune", "stats"},
	"approvals": {"list", "approve", "deny"}, "tools": {"diff", "accept"}, "secret": {"set", "list", "rm", "rotate-key"},
	"policy": {"test", "eval"}, "completion": {"bash", "zsh", "fish"},
}

var flagRE = regexp.MustCompile(`--?[a-z][a-z-]*`)

// complete returns the candidates for the last of words.
func complete(ctx context.Context, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, prev := words[len(words)-1], ""
	if len(words) > 1 {
		prev = words[len(words)-2]
	}
	if len(words) == 1 {
		return prefixed(sortedKeys(helps), cur)
	}
	cmd := words[0]
	if strings.HasPrefix(cur, "-") {
		return prefixed(flagRE.FindAllString(helps[cmd].usage+" -c --data-dir", -1), cur)
	}
	cfgPath := "drawbridge.yaml"
	var pos []string
	for i := 1; i < len(words)-1; i++ {
		switch w := words[i]; {
		case w == "-c":
			if i+1 < len(words)-1 {
				cfgPath = words[i+1]
			}
			i++
		case strings.HasPrefix(w, "-"):
			if i+1 < len(words)-1 && !strings.HasPrefix(words[i+1], "-") && w != "-f" && w != "-v" && w != "--json" && w != "--yes" {
				i++ // a flag's value
			}
		default:
			pos = append(pos, w)
		}
	}
	switch {
	case prev == "-c":
		return nil // the shell completes file names
	case cmd == "init" && prev == "--server":
		return prefixed(bundled(), cur)
	case prev == "--server":
		return prefixed(labels(cfgPath), cur)
	case prev == "--tool":
		return prefixed(tools(ctx, cfgPath, ""), cur)
	}
	if len(pos) == 0 && subcommands[cmd] != nil && cmd != "tools" {
		return prefixed(subcommands[cmd], cur)
	}
	switch {
	case cmd == "tools" && len(pos) == 0:
		return prefixed(append(slices.Clone(subcommands["tools"]), labels(cfgPath)...), cur)
	case cmd == "tools" && (len(pos) == 1):
		return prefixed(labels(cfgPath), cur)
	case cmd == "tools" && len(pos) >= 2:
		return prefixed(tools(ctx, cfgPath, pos[1]), cur)
	case cmd == "approvals" && len(pos) == 1 && (pos[0] == "approve" || pos[0] == "deny"):
		return prefixed(pendingIDs(ctx, cfgPath), cur)
	}
	return nil
}

func prefixed(all []string, cur string) []string {
	var out []string
	for _, s := range all {
		if strings.HasPrefix(s, cur) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// labels are the config's server labels; nothing when it does not load.
func labels(path string) []string {
	cfg, err := config.Load(path)
	if cfg == nil && err != nil {
		return nil
	}
	return cfg.Labels()
}

// tools are the tool names state.db has seen (of one server, or all).
func tools(ctx context.Context, path, server string) []string {
	var out []string
	withState(ctx, path, func(db *state.DB) {
		pins, _ := db.Pins(ctx, server)
		for _, p := range pins {
			out = append(out, p.Tool)
		}
	})
	return out
}

// pendingIDs are the approvals waiting in state.db.
func pendingIDs(ctx context.Context, path string) []string {
	var out []string
	withState(ctx, path, func(db *state.DB) {
		list, _ := db.PendingApprovals(ctx)
		for _, a := range list {
			out = append(out, a.ID)
		}
	})
	return out
}

// withState runs fn with the state.db of the config at path, when there is
// one already: completing never creates files.
func withState(ctx context.Context, path string, fn func(*state.DB)) {
	cfg, _ := config.Load(path)
	if cfg == nil {
		return
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "state.db")); err != nil {
		return
	}
	db, err := state.Open(ctx, cfg.DataDir)
	if err != nil {
		return
	}
	defer db.Close()
	fn(db)
}

// runComplete is the hidden `__complete` the scripts call.
func runComplete(ctx context.Context, e env, args []string) error {
	for _, c := range complete(ctx, args) {
		fmt.Fprintln(e.stdout, c)
	}
	return nil
}

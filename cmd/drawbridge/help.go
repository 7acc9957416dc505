package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/internal/editdist"
)

// helps are each command's usage lines and examples, printed by
// `drawbridge help CMD`, `drawbridge CMD -h` and after a usage error.
var helps = map[string]struct{ summary, usage, examples string }{
	"serve": {"run the proxy",
		"drawbridge serve [-c FILE] [--listen ADDR] [--log-format text|json]",
		"drawbridge serve -c drawbridge.yaml\ndrawbridge serve -c drawbridge.yaml --log-format json"},
	"check": {"validate a config file without serving", "drawbridge check [-c FILE]", "drawbridge check -c drawbridge.yaml"},
	"doctor": {"check everything the Responses API needs to reach and use Drawbridge",
		"drawbridge doctor [-c FILE] [--url URL] [--json]", "drawbridge doctor -c drawbridge.yaml\ndrawbridge doctor --url https://quiet-river.trycloudflare.com --json"},
	"health": {"exit 0 when a running Drawbridge answers /healthz (container health checks)",
		"drawbridge health [-c FILE] [--url URL] [--timeout DUR]", "drawbridge health -c /etc/drawbridge/drawbridge.yaml\ndrawbridge health --url http://127.0.0.1:8750"},
	"token": {"manage client tokens: create NAME, list, revoke NAME",
		"drawbridge token create NAME [--servers a,b] [--expires 30d]\ndrawbridge token list [--json]\ndrawbridge token revoke NAME",
		"drawbridge token create openai-prod --servers stripe\ndrawbridge token list --json\ndrawbridge token revoke openai-prod"},
	"audit": {"query the ledger: tail, show, verify, export, prune, stats",
		"drawbridge audit tail [-f] [--server S] [--tool T] [--decision D] [--client C] [-n N]\ndrawbridge audit show CALL_ID\n" +
			"drawbridge audit verify [--head HASH]\ndrawbridge audit export --format jsonl|csv [--since T] [--until T]\n" +
			"drawbridge audit prune --before DURATION|DATE\ndrawbridge audit stats [--since T] [--until T]",
		"drawbridge audit tail -f --decision deny\ndrawbridge audit verify --head k1:…\ndrawbridge audit export --format csv --since 24h > calls.csv"},
	"responses-config": {"print the Responses API tools array for every server, agreeing with the policy",
		"drawbridge responses-config [--url BASE] [--client NAME]",
		"drawbridge responses-config\ndrawbridge responses-config --url https://mcp.example.com --client openai-prod"},
	"approvals": {"held calls: list, approve ID [--remember DUR], deny ID [--reason TEXT]",
		"drawbridge approvals [list] [--json]\ndrawbridge approvals approve ID [--remember DUR]\ndrawbridge approvals deny ID [--reason TEXT]",
		"drawbridge approvals\ndrawbridge approvals approve apr_3f9a… --remember 1h\ndrawbridge approvals deny apr_3f9a… --reason \"not today\""},
	"tools": {"tool trust: list with status, diff SERVER TOOL, accept SERVER [TOOL...]",
		"drawbridge tools [SERVER] [--json]\ndrawbridge tools diff SERVER TOOL [--json] [--exit-code]\ndrawbridge tools accept SERVER [TOOL...] [--yes]\ndrawbridge tools accept SERVER TOOL --hash HASH",
		"drawbridge tools stripe\ndrawbridge tools diff stripe create_refund\ndrawbridge tools accept stripe create_refund --hash sha256:…"},
	"secret": {"manage encrypted upstream credentials: set NAME, list, rm NAME, rotate-key",
		"drawbridge secret set NAME [--client C]\ndrawbridge secret list [--json]\ndrawbridge secret rm NAME [--client C]\ndrawbridge secret rotate-key",
		"drawbridge secret set STRIPE_SECRET_KEY\necho -n \"$TOKEN\" | drawbridge secret set HUBSPOT_TOKEN --client bob\ndrawbridge secret list"},
	"policy": {"test the policy, or evaluate a hypothetical call: test [DIR], eval --server S --tool T",
		"drawbridge policy test [DIR] [-v] [--run REGEX]\ndrawbridge policy eval --server S --tool T [--args JSON] [--client C] [--explain[=full|notes|fails]]",
		"drawbridge policy test ./policies -v\ndrawbridge policy eval --server stripe --tool create_refund --args '{\"amount\": 9000}'"},
	"init": {"write a commented drawbridge.yaml and a policies/ folder for the servers you name",
		"drawbridge init [-c FILE] [--server NAME]...",
		"drawbridge init --server stripe --server deepwiki\ndrawbridge init -c team/drawbridge.yaml --server hubspot"},
	"completion": {"print shell completion for bash, zsh or fish (commands, flags, servers, tools, approval ids)",
		"drawbridge completion bash|zsh|fish",
		"source <(drawbridge completion bash)\nsource <(drawbridge completion zsh)\ndrawbridge completion fish | source"},
	"version": {"print the version",
		"drawbridge version", "drawbridge version"},
}

// usage prints the list of commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: drawbridge COMMAND [-c drawbridge.yaml] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(helps))
	for n := range helps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-17s %s\n", n, helps[n].summary)
	}
	fmt.Fprintln(w, "\nRun drawbridge help COMMAND (or drawbridge COMMAND -h) for its flags and examples.")
}

// commandHelp prints one command's usage, flags and examples.
func commandHelp(w io.Writer, name string, fs *flag.FlagSet) {
	h := helps[name]
	fmt.Fprintf(w, "%s\n\nusage:\n", h.summary)
	for _, l := range strings.Split(h.usage, "\n") {
		fmt.Fprintln(w, "  "+l)
	}
	if fs != nil {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fmt.Fprintln(w, "\nexamples:")
	for _, l := range strings.Split(h.examples, "\n") {
		fmt.Fprintln(w, "  "+l)
	}
}

// closest is the command nearest name by edit distance, "" when none is
// near enough to be a typo.
func closest(name string) string {
	best, bestD := "", 3
	for n := range helps {
		if d := editdist.Distance(name, n); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
		if strings.HasPrefix(n, name) && len(name) >= 3 {
			return n
		}
	}
	return best
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"
)

// table writes aligned rows for a person to read. Every cell is escaped
// (see esc): text a client or an upstream chose (a path, a tool name, a
// reason) cannot move the cursor, forge a row, hide one or reorder what
// the terminal shows.
type table struct {
	tw    *tabwriter.Writer
	out   io.Writer
	fixed []int // column widths of a fixed table
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0), out: w}
	fmt.Fprintln(t.tw, strings.Join(header, "\t"))
	return t
}

// newFixedTable writes rows at once, in columns of these widths (in
// characters), whatever the rows hold: a longer cell is cut, ending in
// "…"; the last column is neither padded nor cut. audit tail -f prints
// its first page and every call after with one, so all stay aligned.
func newFixedTable(w io.Writer, widths []int) *table { return &table{out: w, fixed: widths} }

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = esc(c)
	}
	if t.fixed != nil {
		var b strings.Builder
		for i, c := range cells {
			if i < len(cells)-1 && i < len(t.fixed) {
				fmt.Fprintf(&b, "%-*s", t.fixed[i]+2, fit(c, t.fixed[i]))
			} else {
				b.WriteString(c)
			}
		}
		fmt.Fprintln(t.out, strings.TrimRight(b.String(), " "))
		return
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// fit cuts s to width characters, the last of them "…" when it was
// longer.
func fit(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:max(width-1, 0)]) + "…"
}

func (t *table) flush() error {
	if t.fixed != nil {
		return nil
	}
	return t.tw.Flush()
}

// esc makes s safe to print in a terminal, on one line: control characters
// (newline, carriage return and tab included, ESC, C1) and invisible format
// characters (bidi overrides, zero-width characters) are written as Go
// escapes (\n, \x1b, \u202e), and so is invalid UTF-8. Text without them is
// returned as is.
func esc(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			q := fmt.Sprintf("%+q", string(r)) // "\x1b", "\n", "\u202e"
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// escLines is esc for each line of a multi-line text; the line breaks
// stay.
func escLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = esc(l)
	}
	return strings.Join(lines, "\n")
}

func unsafeRune(r rune) bool {
	return r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || unicode.Is(unicode.Cf, r) ||
		r == '\u2028' || r == '\u2029'
}

// isTerminal reports whether r is a terminal a person types at.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks a person at a terminal to confirm what a command is about
// to do; elsewhere it refuses with how to say yes (--yes). no is what it
// says when the answer is no (the command then exits 1).
func confirm(e env, question, refusal, no string) error {
	if !isTerminal(e.stdin) {
		return fmt.Errorf("%w: %s", errUsage, refusal)
	}
	fmt.Fprintf(e.stderr, "%s? [y/N] ", question)
	answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		fmt.Fprintln(e.stderr, no)
		return exitError{1}
	}
	return nil
}

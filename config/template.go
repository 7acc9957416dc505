package config

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/drawbridge-mcp/drawbridge/secrets/secret"
)

// refRE matches a ${kind:name} reference.
var refRE = regexp.MustCompile(`\$\{([a-z]+):([^}]*)\}`)

// Template is a header or env value with ${env:NAME}, ${file:PATH} and
// ${secret:NAME} references. It decodes itself from YAML: the text is split
// into literals and references, and what is wrong with it is kept for
// Validate to report with its key path. Env and file references are read
// by Config.ResolveReferences, once, and held as secret.Secret so they
// never print; secret references are resolved each time the value is used,
// for the calling client, from the vault.
type Template struct {
	raw      string
	parts    []part
	err      error
	resolved bool // env and file references have been read
}

type part struct {
	literal    string
	kind, name string        // a reference: env, file or secret
	value      secret.Secret // an env or file reference, once resolved
}

// Lookup resolves ${secret:NAME} for one use.
type Lookup func(name string) (secret.Secret, bool)

// ParseTemplate splits v into literals and references. It reads nothing;
// a problem with the text is returned by Err.
func ParseTemplate(v string) Template {
	t := Template{raw: v}
	last := 0
	for _, m := range refRE.FindAllStringSubmatchIndex(v, -1) {
		if m[0] > last {
			t.parts = append(t.parts, part{literal: v[last:m[0]]})
		}
		kind, name := v[m[2]:m[3]], v[m[4]:m[5]]
		switch {
		case kind != "secret" && kind != "env" && kind != "file":
			t.fail(fmt.Errorf("${%s:%s}: unknown reference kind %q (use secret, env or file)", kind, name, kind))
		case name == "":
			t.fail(fmt.Errorf("${%s:}: no name", kind))
		}
		t.parts = append(t.parts, part{kind: kind, name: name})
		last = m[1]
	}
	if last < len(v) {
		t.parts = append(t.parts, part{literal: v[last:]})
	}
	for _, p := range t.parts {
		if i := strings.Index(p.literal, "${"); i >= 0 {
			t.fail(fmt.Errorf("%q looks like an unfinished reference: write ${secret:NAME}, ${env:NAME} or ${file:PATH}", p.literal[i:]))
		}
		if strings.ContainsAny(p.literal, "\r\n\x00") {
			t.fail(fmt.Errorf("value contains CR, LF or NUL (header injection)"))
		}
	}
	return t
}

func (t *Template) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// UnmarshalYAML decodes a scalar into a template.
func (t *Template) UnmarshalYAML(n *yaml.Node) error {
	var v string
	if err := n.Decode(&v); err != nil {
		return err
	}
	*t = ParseTemplate(v)
	return nil
}

// IsZero reports whether the template was not set (or set to "").
func (t Template) IsZero() bool { return t.raw == "" }

// String is the text as written, references unresolved: it never holds a
// secret value.
func (t Template) String() string { return t.raw }

// Err says what is wrong with the text, nil when nothing is.
func (t Template) Err() error { return t.err }

// resolve reads the env and file references, naming what is missing and
// never a value. It returns a copy; t is not changed.
func (t Template) resolve(c *Config) (Template, error) {
	parts := slices.Clone(t.parts)
	for i, p := range parts {
		if p.kind != "env" && p.kind != "file" {
			continue
		}
		v, err := c.lookup(p.kind, p.name)
		if err != nil {
			return t, err
		}
		parts[i].value = secret.New(v)
	}
	t.parts, t.resolved = parts, true
	return t, nil
}

func (c *Config) lookup(kind, name string) (string, error) {
	var v string
	if kind == "env" {
		var ok bool
		if v, ok = os.LookupEnv(name); !ok {
			return "", fmt.Errorf("${env:%s}: environment variable %s is not set", name, name)
		}
	} else {
		b, err := os.ReadFile(c.Resolve(name))
		if err != nil {
			return "", fmt.Errorf("${file:%s}: cannot read the file: %v", name, unwrapPathError(err))
		}
		v = strings.TrimRight(string(b), "\r\n")
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", fmt.Errorf("${%s:%s}: the value contains CR, LF or NUL (header injection)", kind, name)
	}
	return v, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Expand returns the value with references filled in, secret ones through
// lookup. It fails, naming the secret, when one is missing or would inject
// a header line.
func (t Template) Expand(lookup Lookup) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.literal)
		switch p.kind {
		case "env", "file":
			if !t.resolved {
				return "", fmt.Errorf("${%s:%s} was not read: the config's references were not resolved", p.kind, p.name)
			}
			b.WriteString(p.value.Reveal())
		case "secret":
			s, ok := lookup(p.name)
			if !ok {
				return "", fmt.Errorf("secret %s is not set (drawbridge secret set %s)", p.name, p.name)
			}
			if strings.ContainsAny(s.Reveal(), "\r\n\x00") {
				return "", fmt.Errorf("secret %s contains CR, LF or NUL", p.name)
			}
			b.WriteString(s.Reveal())
		}
	}
	return b.String(), nil
}

// SecretNames are the ${secret:NAME} references in the template.
func (t Template) SecretNames() []string {
	var out []string
	for _, p := range t.parts {
		if p.kind == "secret" {
			out = append(out, p.name)
		}
	}
	return out
}

// Resolved returns the env and file values read at load, for the guard.
func (t Template) Resolved() []secret.Secret {
	var out []secret.Secret
	for _, p := range t.parts {
		if !p.value.Empty() {
			out = append(out, p.value)
		}
	}
	return out
}

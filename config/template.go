package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/secrets/secret"
)

// refRE matches a ${kind:name} reference.
var refRE = regexp.MustCompile(`\$\{([a-z]+):([^}]*)\}`)

// Template is a header or env value with ${env:NAME}, ${file:PATH} and
// ${secret:NAME} references. Env and file references are read once, at
// load, and held as secret.Secret so they never print; secret references
// are resolved each time the value is used, for the calling client, from
// the vault.
type Template struct {
	parts []part
}

type part struct {
	literal string
	value   secret.Secret // a resolved env or file reference
	secret  string        // a ${secret:NAME} reference, resolved on use
}

// Lookup resolves ${secret:NAME} for one use.
type Lookup func(name string) (secret.Secret, bool)

// parseTemplate resolves the env and file references in v and records the
// secret ones. The error names what is missing, never a value.
func (c *Config) parseTemplate(v string) (Template, error) {
	var t Template
	last := 0
	for _, m := range refRE.FindAllStringSubmatchIndex(v, -1) {
		if m[0] > last {
			t.parts = append(t.parts, part{literal: v[last:m[0]]})
		}
		kind, name := v[m[2]:m[3]], v[m[4]:m[5]]
		if kind == "secret" {
			if name == "" {
				return Template{}, fmt.Errorf("${secret:}: no secret name")
			}
			t.parts = append(t.parts, part{secret: name})
		} else {
			val, err := c.lookup(kind, name)
			if err != nil {
				return Template{}, err
			}
			t.parts = append(t.parts, part{value: secret.New(val)})
		}
		last = m[1]
	}
	if last < len(v) {
		t.parts = append(t.parts, part{literal: v[last:]})
	}
	for _, p := range t.parts {
		if i := strings.Index(p.literal, "${"); i >= 0 {
			return Template{}, fmt.Errorf("%q looks like an unfinished reference: write ${secret:NAME}, ${env:NAME} or ${file:PATH}", p.literal[i:])
		}
	}
	if s := t.static(); strings.ContainsAny(s, "\r\n\x00") {
		return Template{}, fmt.Errorf("value contains CR, LF or NUL (header injection)")
	}
	return t, nil
}

func (c *Config) lookup(kind, name string) (string, error) {
	switch kind {
	case "env":
		v, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("${env:%s}: environment variable %s is not set", name, name)
		}
		return v, nil
	case "file":
		b, err := os.ReadFile(c.Resolve(name))
		if err != nil {
			return "", fmt.Errorf("${file:%s}: cannot read the file: %v", name, unwrapPathError(err))
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	default:
		return "", fmt.Errorf("${%s:%s}: unknown reference kind %q (use secret, env or file)", kind, name, kind)
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// static is the value with secret references left empty.
func (t Template) static() string {
	v, _ := t.Expand(func(string) (secret.Secret, bool) { return secret.Secret{}, true })
	return v
}

// Expand returns the value with references filled in, secret ones through
// lookup. It fails, naming the secret, when one is missing or would inject
// a header line.
func (t Template) Expand(lookup Lookup) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.literal)
		b.WriteString(p.value.Reveal())
		if p.secret != "" {
			s, ok := lookup(p.secret)
			if !ok {
				return "", fmt.Errorf("secret %s is not set (drawbridge secret set %s)", p.secret, p.secret)
			}
			if strings.ContainsAny(s.Reveal(), "\r\n\x00") {
				return "", fmt.Errorf("secret %s contains CR, LF or NUL", p.secret)
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
		if p.secret != "" {
			out = append(out, p.secret)
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

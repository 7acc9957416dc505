package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// refRE matches a ${kind:name} reference.
var refRE = regexp.MustCompile(`\$\{([a-z]+):([^}]*)\}`)

// Template is a header or env value with ${env:NAME}, ${file:PATH} and
// (later) ${secret:NAME} references. Env and file references are read once,
// at load; the result is held as a Secret so it never prints.
type Template struct {
	parts []part
}

type part struct {
	literal string
	value   Secret // resolved reference
}

// Secret is a credential value. It never prints itself.
type Secret struct{ v string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the value; call it only where the value leaves for its
// upstream.
func (s Secret) Reveal() string { return s.v }

func (Secret) String() string   { return "[redacted]" }
func (Secret) GoString() string { return "[redacted]" }

// MarshalJSON keeps secrets out of any JSON output.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// parseTemplate resolves the references in v. The error names what is missing,
// never a value.
func (c *Config) parseTemplate(v string) (Template, error) {
	var t Template
	last := 0
	for _, m := range refRE.FindAllStringSubmatchIndex(v, -1) {
		if m[0] > last {
			t.parts = append(t.parts, part{literal: v[last:m[0]]})
		}
		kind, name := v[m[2]:m[3]], v[m[4]:m[5]]
		val, err := c.lookup(kind, name)
		if err != nil {
			return Template{}, err
		}
		t.parts = append(t.parts, part{value: NewSecret(val)})
		last = m[1]
	}
	if last < len(v) {
		t.parts = append(t.parts, part{literal: v[last:]})
	}
	if s := t.Expand(); strings.ContainsAny(s, "\r\n\x00") {
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
	case "secret":
		return "", fmt.Errorf("${secret:%s}: the secret store is not available in this version; use ${env:NAME} or ${file:PATH}", name)
	default:
		return "", fmt.Errorf("${%s:%s}: unknown reference kind %q (use env or file)", kind, name, kind)
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Expand returns the value with references filled in.
func (t Template) Expand() string {
	if len(t.parts) == 1 && t.parts[0].literal == "" {
		return t.parts[0].value.Reveal()
	}
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.literal)
		b.WriteString(p.value.Reveal())
	}
	return b.String()
}

// Secrets returns the resolved reference values, for the leak scrubber.
func (t Template) Secrets() []Secret {
	var out []Secret
	for _, p := range t.parts {
		if p.value.v != "" {
			out = append(out, p.value)
		}
	}
	return out
}

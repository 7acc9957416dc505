package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/drawbridge-mcp/drawbridge/internal/editdist"
)

// Load reads, checks and completes the config at path. The error, when not
// nil, lists every problem found — duplicate keys, unknown keys, values of
// the wrong type or form, and what validation finds — one per line, each
// with its key path, all at once. With an error, the config returned (when
// not nil) is what could be read, for tools that report more (check).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve config path: %w", err)
	}
	c, perr := Parse(data)
	if c == nil {
		return nil, fmt.Errorf("config %s is not valid:\n%w", path, perr)
	}
	c.Path, c.Dir = abs, filepath.Dir(abs)
	c.SetDefaults()
	if err := errors.Join(perr, c.Validate(), c.ResolveReferences()); err != nil {
		return c, fmt.Errorf("config %s is not valid:\n%w", path, err)
	}
	return c, nil
}

// Parse decodes YAML, reporting duplicate and unknown keys and values that
// do not decode, every one; it neither sets defaults nor validates. The
// config is returned with the error when the YAML itself could be read.
func Parse(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	c := &Config{}
	if len(root.Content) == 0 {
		return c, nil
	}
	errs := unknownKeys(root.Content[0], reflect.TypeOf(c).Elem(), "")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(c); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, errors.Join(append(errs, fmt.Errorf("decode: %w", err))...)
		}
		for _, e := range te.Errors {
			errs = append(errs, errors.New(strings.TrimPrefix(e, "yaml: ")))
		}
	}
	return c, errors.Join(errs...)
}

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// unknownKeys walks a YAML node against the Go type it decodes into and
// reports each key the type does not have, with its path.
func unknownKeys(n *yaml.Node, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return nil // it decodes itself and reports its own errors
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	var errs []error
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown key (line %d)%s", join(path, key), n.Content[i].Line, suggest(key, fields)))
				continue
			}
			errs = append(errs, unknownKeys(n.Content[i+1], ft, join(path, key))...)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		elem := t.Elem()
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if elem.Kind() == reflect.Struct && !reflect.PointerTo(elem).Implements(unmarshaler) {
				if _, isField := yamlFields(elem)[key]; isField {
					// servers: {tools: …}: a setting of one entry written
					// one level too far out.
					errs = append(errs, fmt.Errorf("%s: `%s` is under `%s`, not under one of its entries — check the indentation (line %d)",
						join(path, key), key, path, n.Content[i].Line))
					continue
				}
			}
			errs = append(errs, unknownKeys(n.Content[i+1], t.Elem(), join(path, key))...)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			errs = append(errs, unknownKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

func join(path, key string) string {
	if path == "" || key == "" {
		return path + key
	}
	return path + "." + key
}

// SetDefaults fills every setting left out and makes paths absolute
// against the config's folder. Load runs it between Parse and Validate.
func (c *Config) SetDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	c.DataDir = c.Resolve(c.DataDir)
	if c.Auth == "" {
		c.Auth = AuthToken
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = Duration(DefaultGrace)
	}
	if c.BodyTimeout == 0 {
		c.BodyTimeout = Duration(DefaultBodyTimeout)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = Duration(DefaultWriteTimeout)
	}
	if c.MaxConnsPerAddress == 0 {
		c.MaxConnsPerAddress = DefaultConnsPerAddr
	}
	if c.Policy.Mode == "" {
		c.Policy.Mode = ModeEnforce
	}
	if c.Policy.Timeout == 0 {
		c.Policy.Timeout = Duration(DefaultPolicyTime)
	}
	c.publicDefaults()
	if c.Audit.Witness.Interval == 0 {
		c.Audit.Witness.Interval = Duration(time.Minute)
	}
	if c.Audit.Witness.File != "" {
		c.Audit.Witness.File = c.Resolve(c.Audit.Witness.File)
	}
	c.Policy.Dir = c.Resolve(c.Policy.Dir)
	if c.Tracing.ServiceName == "" {
		c.Tracing.ServiceName = "drawbridge"
	}
	if c.Tracing.SampleRatio == nil {
		one := 1.0
		c.Tracing.SampleRatio = &one
	}
	if c.Admin.Listen == "" {
		c.Admin.Listen = "127.0.0.1:8751"
	}
	if c.Approval.Timeout == 0 {
		c.Approval.Timeout = Duration(DefaultApprovalTimeout)
	}
	if c.Approval.GrantTTL == 0 {
		c.Approval.GrantTTL = Duration(10 * time.Minute)
	}
	if c.Audit.Path == "" {
		c.Audit.Path = filepath.Join(c.DataDir, "audit.db")
	}
	c.Audit.Path = c.Resolve(c.Audit.Path)
	if c.Audit.Sync == "" {
		c.Audit.Sync = SyncNormal
	}
	if c.Audit.OnError == "" {
		c.Audit.OnError = OnErrorDeny
	}
	if c.Audit.MaxResultBytes == 0 {
		c.Audit.MaxResultBytes = DefaultMaxResult
	}
	for label, s := range c.Servers {
		if s == nil {
			continue
		}
		s.Label = label
		if s.Timeout == 0 {
			s.Timeout = Duration(DefaultTimeout)
		}
		if s.CacheTTL == 0 {
			s.CacheTTL = Duration(DefaultCacheTTL)
		}
		if s.MaxOutputBytes == 0 {
			s.MaxOutputBytes = DefaultMaxOutput
		}
		if s.Tools.Pin == "" {
			s.Tools.Pin = PinTOFU
		}
		if s.URL != "" && s.Transport == "" {
			s.Transport = TransportAuto
		}
		if s.Command != "" && strings.Contains(s.Command, "/") {
			s.Command = c.Resolve(s.Command)
		}
		if h := s.Auth.HMAC; h != nil && h.Algorithm == "" {
			h.Algorithm = HMACSHA256
		}
		if h := s.Auth.HMAC; h != nil && h.Encoding == "" {
			h.Encoding = HMACBase64
		}
		if s.Command != "" {
			if s.Cwd == "" {
				s.Cwd = c.Dir
			}
			s.Cwd = c.Resolve(s.Cwd)
		}
	}
}

// Resolve makes a path from the config file absolute against its folder.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// SetDataDir moves data_dir (the --data-dir flag), taking the default audit
// path along.
func (c *Config) SetDataDir(dir string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	if c.Audit.Path == filepath.Join(c.DataDir, "audit.db") {
		c.Audit.Path = filepath.Join(abs, "audit.db")
	}
	c.DataDir = abs
}

// suggest is "; did you mean X?" for the field nearest a mistyped key.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for f := range fields {
		if d := editdist.Distance(key, f); d < bestD || (d == bestD && f < best) {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %s?", best)
}

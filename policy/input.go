package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Input is what a policy sees of a call (method tools/call) or of one tool
// at list time (method tools/list, no arguments). Request headers are not
// in it, so credentials never can be.
type Input struct {
	Method    string
	Server    string
	Tool      Tool
	Arguments json.RawMessage // a JSON object; nil at list time
	Client    Client
	Session   string
	Time      time.Time
	Request   Request
	// Leaks names stored secrets found in the arguments.
	Leaks []string
}

// Tool is the upstream's definition of the tool, as it advertised it.
type Tool struct {
	Name        string
	Description string
	Annotations json.RawMessage
	InputSchema json.RawMessage
}

// Client is who called.
type Client struct {
	Name    string
	Address string
}

// Request describes the HTTP request the call came in.
type Request struct {
	ID              string
	ProtocolVersion string
	UserAgent       string
}

// toolCache converts each tool definition to an OPA value once: the same
// definition comes with every call of that tool.
type toolCache struct {
	mu sync.Mutex
	m  map[string]*ast.Term
}

const maxCachedTools = 4096

// key identifies a tool definition: every field of it, each length-prefixed
// (an upstream chooses these bytes, NULs included: no two definitions may
// share a key).
func (t *Tool) key() string {
	return string(appendKey(nil, t.Name, t.Description, string(t.Annotations), string(t.InputSchema)))
}

// appendKey appends parts to b, each as <length>:<bytes>, so that no two
// lists of parts encode alike.
func appendKey(b []byte, parts ...string) []byte {
	for _, p := range parts {
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
	}
	return b
}

func (c *toolCache) get(t *Tool) (*ast.Term, error) {
	key := t.key()
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := t.term()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedTools {
		c.m = make(map[string]*ast.Term)
	}
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}

func (t *Tool) term() (*ast.Term, error) {
	obj := ast.NewObject(
		ast.Item(ast.InternedTerm("name"), ast.StringTerm(t.Name)),
		ast.Item(ast.InternedTerm("description"), ast.StringTerm(t.Description)),
	)
	for _, f := range []struct {
		key string
		raw json.RawMessage
	}{{"annotations", t.Annotations}, {"input_schema", t.InputSchema}} {
		v := ast.Value(ast.NewObject())
		if len(f.raw) > 0 {
			var err error
			if v, err = jsonValue(f.raw); err != nil {
				return nil, fmt.Errorf("tool %s: %w", f.key, err)
			}
		}
		obj.Insert(ast.StringTerm(f.key), ast.NewTerm(v))
	}
	return ast.NewTerm(obj), nil
}

func jsonValue(raw json.RawMessage) (ast.Value, error) {
	return ast.ValueFromReader(bytes.NewReader(raw))
}

// value builds the input document as an OPA value directly, without a JSON
// round trip.
func (in *Input) value(cache *toolCache) (ast.Value, error) {
	tool, err := cache.get(&in.Tool)
	if err != nil {
		return nil, err
	}
	obj := ast.NewObject(
		ast.Item(ast.InternedTerm("method"), ast.StringTerm(in.Method)),
		ast.Item(ast.InternedTerm("server"), ast.StringTerm(in.Server)),
		ast.Item(ast.InternedTerm("tool"), tool),
		ast.Item(ast.InternedTerm("client"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("name"), ast.StringTerm(in.Client.Name)),
			ast.Item(ast.InternedTerm("address"), ast.StringTerm(in.Client.Address)))),
		ast.Item(ast.InternedTerm("session"), ast.StringTerm(in.Session)),
		ast.Item(ast.InternedTerm("time"), ast.StringTerm(in.Time.UTC().Format(time.RFC3339Nano))),
		ast.Item(ast.InternedTerm("request"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("id"), ast.StringTerm(in.Request.ID)),
			ast.Item(ast.InternedTerm("protocol_version"), ast.StringTerm(in.Request.ProtocolVersion)),
			ast.Item(ast.InternedTerm("user_agent"), ast.StringTerm(in.Request.UserAgent)))),
	)
	if in.Arguments != nil {
		args := ast.Value(ast.NewObject())
		if len(in.Arguments) > 0 && string(in.Arguments) != "null" {
			var err error
			if args, err = jsonValue(in.Arguments); err != nil {
				return nil, fmt.Errorf("arguments: %w", err)
			}
		}
		obj.Insert(ast.InternedTerm("arguments"), ast.NewTerm(args))
	}
	if len(in.Leaks) > 0 {
		leaks := make([]*ast.Term, len(in.Leaks))
		for i, l := range in.Leaks {
			leaks[i] = ast.StringTerm(l)
		}
		obj.Insert(ast.InternedTerm("leaks"), ast.ArrayTerm(leaks...))
	}
	return obj, nil
}

// Document is the input as the policy sees it, as JSON: what `policy eval
// --explain` shows.
func (in *Input) Document() (json.RawMessage, error) {
	v, err := in.value(&toolCache{})
	if err != nil {
		return nil, err
	}
	x, err := ast.JSON(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(x)
}

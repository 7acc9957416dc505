package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// valueCache converts the JSON parts of a tool definition once: they repeat
// on every call of that tool.
type valueCache struct {
	mu sync.Mutex
	m  map[string]ast.Value
}

const maxCachedValues = 4096

func (c *valueCache) get(raw json.RawMessage) (ast.Value, error) {
	key := string(raw)
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := jsonValue(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedValues {
		c.m = make(map[string]ast.Value)
	}
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}

func jsonValue(raw json.RawMessage) (ast.Value, error) {
	return ast.ValueFromReader(bytes.NewReader(raw))
}

// value builds the input document as an OPA value directly, without a JSON
// round trip.
func (in *Input) value(cache *valueCache) (ast.Value, error) {
	tool := ast.NewObject(
		ast.Item(ast.InternedTerm("name"), ast.StringTerm(in.Tool.Name)),
		ast.Item(ast.InternedTerm("description"), ast.StringTerm(in.Tool.Description)),
	)
	for _, f := range []struct {
		key string
		raw json.RawMessage
	}{{"annotations", in.Tool.Annotations}, {"input_schema", in.Tool.InputSchema}} {
		v := ast.Value(ast.NewObject())
		if len(f.raw) > 0 {
			var err error
			if v, err = cache.get(f.raw); err != nil {
				return nil, fmt.Errorf("tool %s: %w", f.key, err)
			}
		}
		tool.Insert(ast.StringTerm(f.key), ast.NewTerm(v))
	}
	obj := ast.NewObject(
		ast.Item(ast.InternedTerm("method"), ast.StringTerm(in.Method)),
		ast.Item(ast.InternedTerm("server"), ast.StringTerm(in.Server)),
		ast.Item(ast.InternedTerm("tool"), ast.NewTerm(tool)),
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

// JSON renders the input document, for `drawbridge policy eval` and tests.
func (in *Input) JSON() ([]byte, error) {
	v, err := in.value(&valueCache{})
	if err != nil {
		return nil, err
	}
	x, err := ast.JSON(v)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(x, "", "  ")
}

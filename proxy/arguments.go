package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// canonicalArgs is what the upstream, the policy, the ledger and the
// approver all get of a call's arguments: one reading, re-encoded so that
// no reader can take it another way. It refuses what readers could
// disagree on: keys repeated or differing only in case (refused already
// with the message, by ijson) and numbers a double does not hold as
// written. The parsed value is returned too, for checkArgs.
func canonicalArgs(raw json.RawMessage) (json.RawMessage, *ijson.Value, error) {
	v, err := ijson.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	if v.Kind != ijson.Object {
		return nil, nil, fmt.Errorf(`"arguments" must be an object`)
	}
	if err := v.Exact(); err != nil {
		return nil, nil, err
	}
	return v.AppendCompact(make([]byte, 0, len(raw))), v, nil
}

// checkArgs refuses arguments with a key that differs only in case from a
// parameter of the tool's input schema ({"Path": …} where the schema says
// "path": a case-insensitive upstream binds it to path, while a policy
// reading input.arguments.path sees nothing).
func checkArgs(v *ijson.Value, schema *ijson.Value) error {
	if schema == nil {
		return nil // no schema to collide with
	}
	return schemaCollision(v, schema, "$")
}

// schemaCollision finds an argument key that is not a property of the
// schema but folds to one, at any depth the schema describes.
func schemaCollision(v, schema *ijson.Value, path string) error {
	switch v.Kind {
	case ijson.Object:
		props := schema.Get("properties")
		if props == nil || props.Kind != ijson.Object {
			return nil
		}
		for _, m := range v.Members {
			if p := props.Get(m.Key); p != nil {
				if err := schemaCollision(m.Value, p, path+"."+m.Key); err != nil {
					return err
				}
				continue
			}
			for _, p := range props.Members {
				if ijson.Fold(p.Key) == ijson.Fold(m.Key) {
					return fmt.Errorf("argument %q at %s differs only in case from the tool's parameter %q", m.Key, path, p.Key)
				}
			}
		}
	case ijson.Array:
		if items := schema.Get("items"); items != nil {
			for _, it := range v.Items {
				if err := schemaCollision(it, items, path+"[]"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// schemas compiles each pinned input schema once, by the tool's hash.
type schemas struct{ m sync.Map } // hash -> *jsonschema.Schema or error

// validate checks args against t's input schema.
func (c *schemas) validate(t *Tool, args json.RawMessage) error {
	v, ok := c.m.Load(t.Hash)
	if !ok {
		sch, err := compileSchema(t.InputSchema)
		if err != nil {
			v = fmt.Errorf("the tool's input schema cannot be used to check arguments (%v), so none are accepted", err)
		} else {
			v = sch
		}
		c.m.Store(t.Hash, v)
	}
	if err, ok := v.(error); ok {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return err
	}
	if err := v.(*jsonschema.Schema).Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("they do not match the tool's input schema: %s", strings.Join(strings.Fields(ve.Error()), " "))
		}
		return err
	}
	return nil
}

func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	if len(raw) == 0 {
		raw = json.RawMessage(`{"type":"object"}`)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource("drawbridge:///input-schema.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("drawbridge:///input-schema.json")
}

// noLoader refuses every document a schema refers to: an upstream's
// schema must not make Drawbridge read files or fetch URLs.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas may not refer to other documents (%s)", url)
}

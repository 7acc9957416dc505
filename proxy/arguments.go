package proxy

import (
	"encoding/json"
	"fmt"

	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// canonicalArgs is what the upstream, the policy, the ledger and the
// approver all get of a call's arguments: one reading, re-encoded so that
// no reader can take it another way. It refuses what readers could
// disagree on: keys repeated or differing only in case (refused already
// with the message, by ijson), numbers a double does not hold as written,
// and keys that differ only in case from a parameter of the tool's input
// schema ({"Path": …} where the schema says "path": a case-insensitive
// upstream binds it to path, while a policy reading input.arguments.path
// sees nothing).
func canonicalArgs(raw json.RawMessage, schema json.RawMessage) (json.RawMessage, error) {
	v, err := ijson.Parse(raw)
	if err != nil {
		return nil, err
	}
	if v.Kind != ijson.Object {
		return nil, fmt.Errorf(`"arguments" must be an object`)
	}
	if err := v.Exact(); err != nil {
		return nil, err
	}
	if s, err := ijson.Parse(schema); err == nil {
		if err := schemaCollision(v, s, "$"); err != nil {
			return nil, err
		}
	}
	return v.AppendCompact(make([]byte, 0, len(raw))), nil
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

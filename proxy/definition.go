package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// A tool definition is read the way clients read it. Clients disagree on
// case: a Go client (mcp-go, encoding/json) binds "NAME", "Description" or
// "Annotations" to the fields name, description and annotations, the last
// such key winning, while a TypeScript or Python client reads only the keys
// spelled as the spec spells them. So Drawbridge reads every field by its
// exact key (what a case-sensitive client sees: the name the deny globs,
// the pins and the policy judge is the name that client calls), and a
// definition the two kinds of reader would read differently is refused
// (quarantined with the reason, whatever the pins say): one whose objects
// hold keys equal under case folding, repeated keys or text that does not
// read one way (ijson), or a key Drawbridge or clients read spelled in
// another case (readKeys). Annotation hints in any case are not refused
// but removed (served).

// readKeys are the keys Drawbridge or clients read from a definition, by
// the member of the tool they sit in ("" for the tool itself). Hints are
// left out: whatever their case they are removed from what clients get.
var readKeys = map[string][]string{
	"": {"name", "title", "description", "inputSchema", "outputSchema", "annotations", "icons", "execution",
		"_meta", "defer_loading"},
	"annotations":  {"title"},
	"inputSchema":  schemaKeys,
	"outputSchema": schemaKeys,
	"execution":    {"taskSupport"},
}

// schemaKeys are the keys a client decodes from an input or output schema's
// top level (mcp-go's ToolArgumentsSchema, and $schema).
var schemaKeys = []string{"$schema", "$defs", "definitions", "type", "properties", "required", "additionalProperties"}

// maxReason bounds how much of an upstream's keys a refusal repeats.
const maxReason = 300

// readTool reads a definition's fields by their exact keys, as a
// case-sensitive client does. It reports false for a definition without a
// name (or with fields of the wrong type): a tool no client can call.
func readTool(raw json.RawMessage) (Tool, bool) {
	var m map[string]json.RawMessage
	var t Tool
	if json.Unmarshal(raw, &m) != nil || json.Unmarshal(m["name"], &t.Name) != nil || t.Name == "" {
		return Tool{}, false
	}
	if d, ok := m["description"]; ok && json.Unmarshal(d, &t.Description) != nil {
		return Tool{}, false
	}
	t.InputSchema, t.Annotations = m["inputSchema"], m["annotations"]
	return t, true
}

// ambiguity says why readers could read a definition two ways, or "" when
// they read it alike.
func ambiguity(raw []byte) string {
	v, err := ijson.Parse(raw)
	if err != nil {
		return clip("its definition reads two ways: " + err.Error())
	}
	if v.Kind != ijson.Object {
		return "its definition is not an object"
	}
	if why := miscased(v, "$", readKeys[""]); why != "" {
		return why
	}
	for _, m := range v.Members {
		if keys, ok := readKeys[m.Key]; ok && m.Key != "" && m.Value.Kind == ijson.Object {
			if why := miscased(m.Value, "$."+m.Key, keys); why != "" {
				return why
			}
		}
	}
	return ""
}

// miscased reports a key of obj that is one of keys in another case.
func miscased(obj *ijson.Value, path string, keys []string) string {
	for _, m := range obj.Members {
		for _, k := range keys {
			if m.Key != k && ijson.Fold(m.Key) == ijson.Fold(k) {
				return clip(fmt.Sprintf("its definition reads two ways: key %q at %s is %q in another case "+
					"(case-insensitive clients read it as %s, others ignore it)", m.Key, path, k, k))
			}
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Ambiguity says why readers could read a definition (as pinned: canonical
// JSON, or the bytes received) two ways, or "": such a tool is quarantined
// whatever its pin says, for `drawbridge tools`.
func Ambiguity(def string) string { return ambiguity([]byte(def)) }

// isHint reports an annotation key that is a hint in any case
// (readOnlyHint, DestructiveHint, costHINT…): a claim by the upstream.
func isHint(key string) bool { return strings.HasSuffix(ijson.Fold(key), "HINT") }

// trustedHint reports a hint kept under trust_annotations: one spelled as
// the spec spells it, or a hint the spec does not name (no client reads it
// in another spelling). A spec hint in another case is removed even then.
func trustedHint(key string) bool {
	for _, h := range hintKeys {
		if ijson.Fold(key) == ijson.Fold(h) {
			return key == h
		}
	}
	return true
}

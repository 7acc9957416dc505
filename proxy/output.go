package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/drawbridge-mcp/drawbridge/secrets"
)

// The output guard: what the model and a terminal will read of a result.

// cleanText removes escape sequences and control characters but newline
// and tab: the leak guard's own definition, so what it scanned through is
// exactly what is dropped here.
func cleanText(s string) (string, bool) { return secrets.StripControls(s) }

// guardOutput strips control characters from a result's text content and
// cuts a result over max bytes, saying so. A result it does not change is
// returned as is, byte for byte.
func guardOutput(res json.RawMessage, max int) (json.RawMessage, bool) {
	var r map[string]json.RawMessage
	if json.Unmarshal(res, &r) != nil {
		return res, false
	}
	var content []map[string]json.RawMessage
	_ = json.Unmarshal(r["content"], &content)
	changed := false
	for _, c := range content {
		var typ, text string
		_ = json.Unmarshal(c["type"], &typ)
		if typ != "text" || json.Unmarshal(c["text"], &text) != nil {
			continue
		}
		if clean, ok := cleanText(text); ok {
			c["text"] = mustJSON(clean)
			changed = true
		}
	}
	if changed {
		r["content"] = mustJSON(content)
		res = mustJSON(r)
	}
	if max > 0 && len(res) > max {
		return truncated(r, content, len(res), max), true
	}
	return res, changed
}

// truncated keeps the text of a too-large result up to max bytes and says
// what was cut; other content (images, structured content) is dropped.
func truncated(r map[string]json.RawMessage, content []map[string]json.RawMessage, size, max int) json.RawMessage {
	var text strings.Builder
	for _, c := range content {
		var t string
		if json.Unmarshal(c["text"], &t) == nil {
			text.WriteString(t)
		}
	}
	keep := text.String()
	if len(keep) > max {
		keep = keep[:max]
		for !utf8.ValidString(keep) {
			keep = keep[:len(keep)-1]
		}
	}
	keep += fmt.Sprintf("\n[truncated by Drawbridge: the result was %d bytes, over this server's max_output_bytes of %d]", size, max)
	out := map[string]any{"content": []map[string]string{{"type": "text", "text": keep}}}
	if isErr, ok := r["isError"]; ok {
		out["isError"] = isErr
	}
	return mustJSON(out)
}

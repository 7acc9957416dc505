package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// Pins remembers the tool definitions an operator trusts (internal/wire
// adapts state.DB).
type Pins interface {
	// Observe records what an upstream advertises, pinning a new tool when
	// autoPin; changed reports a definition that just stopped matching. A
	// pin made by an earlier version (legacy) is upgraded to hash.
	Observe(ctx context.Context, server, tool, hash, legacy, def string, autoPin bool) (v Verdict, changed bool, err error)
	// Verdict says whether a definition may be served, from memory.
	Verdict(ctx context.Context, server, tool, hash, legacy string) (Verdict, error)
}

// Verdict is what a tool's pin says of a definition.
type Verdict int

// Verdicts.
const (
	PinTrusted Verdict = iota // matches the pin
	PinChanged                // differs from the pin: quarantined
	PinNew                    // never accepted (strict mode): quarantined
)

// definition returns what a tool's pin covers, and its hash: the whole
// definition as received, every key (_meta, vendor fields and keys that
// differ only in case among them: any of it may reach a model or steer a
// client), in canonical form when it reads strictly, else its bytes.
// Hashes are "sha256:" and hex, told apart from an earlier version's
// (legacyHash).
func definition(raw json.RawMessage) (hash, def string) {
	def = string(raw)
	if v, err := ijson.Parse(raw); err == nil {
		def = string(v.AppendCanonical(nil))
	}
	sum := sha256.Sum256([]byte(def))
	return "sha256:" + hex.EncodeToString(sum[:]), def
}

// legacyFields are what an earlier version's pins covered.
var legacyFields = []string{"name", "description", "inputSchema", "outputSchema", "annotations", "title"}

// legacyHash is the hash an earlier version pinned a definition by (six
// fields only). A pin that still holds one is upgraded to the whole
// definition the next time the tool is seen unchanged in those fields.
func legacyHash(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	kept := map[string]json.RawMessage{}
	for _, f := range legacyFields {
		if v, ok := m[f]; ok {
			kept[f] = v
		}
	}
	b, _ := json.Marshal(kept) // sorted keys, compacted values
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hintKeys are the annotation hints clients act on.
var hintKeys = []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}

// served returns the definition clients get: the upstream's, with its
// annotation hints replaced by what the config says. Hints are claims by
// the upstream, and the Responses API trusts readOnlyHint for
// allowed_tools and require_approval: a tool that writes but says it only
// reads would skip approval. So the config decides (tools.read_only,
// tools.destructive), the upstream's own hints survive only under
// trust_annotations (and only as the spec spells them), and everything
// else is forwarded byte-for-byte. Hints are removed in any case (any key
// ending in "hint") from any member a client may read as annotations
// ("Annotations" too: see definition.go).
func served(raw json.RawMessage, name string, cfg *config.Server) json.RawMessage {
	readOnly, destructive := matchAny(cfg.Tools.ReadOnly, name), matchAny(cfg.Tools.Destructive, name)
	var tool map[string]json.RawMessage
	if json.Unmarshal(raw, &tool) != nil {
		return raw
	}
	changed := false
	for k, v := range tool { // "annotations", and any other case of it a client may read as it
		if ijson.Fold(k) != foldedAnnotations {
			continue
		}
		if ann, stripped := withoutHints(v, cfg.TrustAnnotations && k == "annotations"); stripped {
			changed = true
			if tool[k] = mustJSON(ann); len(ann) == 0 {
				delete(tool, k)
			}
		}
	}
	if readOnly || destructive {
		var ann map[string]json.RawMessage
		_ = json.Unmarshal(tool["annotations"], &ann)
		if ann == nil {
			ann = map[string]json.RawMessage{}
		}
		ann["readOnlyHint"], ann["destructiveHint"] = json.RawMessage("false"), json.RawMessage("true")
		if readOnly {
			ann["readOnlyHint"], ann["destructiveHint"] = json.RawMessage("true"), json.RawMessage("false")
		}
		tool["annotations"], changed = mustJSON(ann), true
	}
	if !changed {
		return raw // nothing to change: byte-for-byte
	}
	return mustJSON(tool)
}

var foldedAnnotations = ijson.Fold("annotations")

// withoutHints returns an annotations object without its hints in any case
// (but for the ones trustedHint keeps, when trust), and whether it removed
// any.
func withoutHints(v json.RawMessage, trust bool) (map[string]json.RawMessage, bool) {
	var ann map[string]json.RawMessage
	if json.Unmarshal(v, &ann) != nil {
		return nil, false
	}
	n := len(ann)
	for k := range ann {
		if isHint(k) && !(trust && trustedHint(k)) {
			delete(ann, k)
		}
	}
	return ann, len(ann) != n
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if globMatch(p, name) {
			return true
		}
	}
	return false
}

// observe records each tool's definition after a catalog fetch, and reports
// the ones that changed under their pins, and the ones whose definition
// reads two ways: logged, and recorded in the ledger, within the upstream's
// budget (churn.go). An ambiguous definition is never pinned on first use.
func (s *Server) observe(ctx context.Context, u *Upstream, cat *catalog) {
	defer u.changes.keepReported(cat)
	pinning := u.cfg.Tools.Pin != config.PinOff && s.pins != nil
	for i := range cat.tools {
		t := &cat.tools[i]
		if t.Ambiguous != "" && u.changes.newAmbiguity(t.Name, t.Hash) {
			s.toolChanged(u, t, "upstream tool definition reads two ways: quarantined", fmt.Sprintf(
				"tool quarantined: %s; it stays quarantined until the upstream lists it so that every client reads it alike", t.Ambiguous))
		}
		if !pinning {
			continue
		}
		_, changed, err := s.pins.Observe(ctx, u.cfg.Label, t.Name, t.Hash, t.Legacy, t.Def,
			u.cfg.Tools.Pin == config.PinTOFU && t.Ambiguous == "")
		if err != nil {
			s.log.Error("tool pin", "server", u.cfg.Label, "tool", t.Name, "err", err)
			continue
		}
		if changed && t.Ambiguous == "" {
			s.toolChanged(u, t, "upstream tool changed: quarantined", fmt.Sprintf(
				"tool definition changed since it was pinned; quarantined until drawbridge tools accept %s %s", u.cfg.Label, t.Name))
		}
	}
}

// toolChanged logs and records a tool's quarantine, or counts it when the
// upstream's budget is spent.
func (s *Server) toolChanged(u *Upstream, t *Tool, warning, msg string) {
	if !u.changes.allow(t.Name) {
		return
	}
	s.log.Warn(warning, "server", u.cfg.Label, "tool", t.Name, "hash", t.Hash)
	s.ledger.Enqueue(&audit.Event{Kind: audit.KindRejected, CallID: s.ids.call(), Server: u.cfg.Label,
		Method: "tools/changed", Tool: t.Name, Decision: "deny", Reason: "quarantined", Status: audit.StatusDenied, Error: msg})
}

// changesSuppressed records the changes an upstream's budget counted
// instead of recording them one by one: one row, with the count by tool.
func (s *Server) changesSuppressed(u *Upstream, counts map[string]int, others int) {
	total, names := others, make([]string, 0, len(counts))
	for name, n := range counts {
		total += n
		names = append(names, name)
	}
	sort.Strings(names)
	tool, list := "", strings.Join(names, ", ")
	if len(names) == 1 && others == 0 {
		tool = names[0]
	}
	if others > 0 {
		list += fmt.Sprintf(" and %d changes of other tools", others)
	}
	msg := fmt.Sprintf("%d more tool quarantines not recorded one by one (at most %d a %s per server, one per tool): %s; "+
		"every fetch is still checked, and what changed stays quarantined", total, changesPerWindow, changeWindow, list)
	s.log.Warn("upstream tool changes suppressed", "server", u.cfg.Label, "changes", total, "tools", len(names))
	s.ledger.Enqueue(&audit.Event{Kind: audit.KindRejected, CallID: s.ids.call(), Server: u.cfg.Label,
		Method: "tools/changed", Tool: tool, Decision: "deny", Reason: "changes suppressed", Status: audit.StatusDenied,
		Error: msg, Result: string(mustJSON(map[string]any{"suppressed": total, "tools": counts, "others": others}))})
}

// quarantined says why a tool may not be served ("" when it may).
func (s *Server) quarantined(ctx context.Context, u *Upstream, t *Tool) string {
	if t.Ambiguous != "" {
		return t.Ambiguous // whatever the pins say: accepting would not make it read one way
	}
	if u.cfg.Tools.Pin == config.PinOff || s.pins == nil {
		return ""
	}
	v, err := s.pins.Verdict(ctx, u.cfg.Label, t.Name, t.Hash, t.Legacy)
	if err != nil {
		s.log.Error("tool pin", "server", u.cfg.Label, "tool", t.Name, "err", err)
		return "its pin could not be checked" // fail closed
	}
	switch {
	case v == PinChanged:
		return "its definition changed since it was approved"
	case v == PinNew && u.cfg.Tools.Pin == config.PinStrict:
		return "it is new and tools.pin is strict"
	}
	return ""
}

// ServedAnnotations returns the annotations clients are given for a tool
// whose definition (as pinned: canonical JSON) is def, and the ones its
// upstream advertises, for `drawbridge tools`.
func ServedAnnotations(def, name string, cfg *config.Server) (advertised, servedAnn json.RawMessage) {
	var m map[string]json.RawMessage
	_ = json.Unmarshal([]byte(def), &m)
	var s map[string]json.RawMessage
	_ = json.Unmarshal(served(json.RawMessage(def), name, cfg), &s)
	return m["annotations"], s["annotations"]
}

// Filtered says why config filtering hides a tool ("" when it does not).
func Filtered(cfg *config.Server, name string) string { return filtered(cfg.Tools, name) }

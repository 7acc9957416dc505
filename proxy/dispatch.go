package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
)

// Protocol versions Drawbridge serves downstream, newest first.
const modernVersion = "2026-07-28"

var supportedVersions = []string{modernVersion, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// latestLegacy is what initialize offers a client asking for a version
// Drawbridge does not know.
const latestLegacy = "2025-11-25"

func versionSupported(v string) bool {
	for _, s := range supportedVersions {
		if s == v {
			return true
		}
	}
	return false
}

// bridged methods are passed to the upstream when it declared the capability
// they belong to; Drawbridge does not interpret them.
var bridged = map[string]string{
	"resources/list":           "resources",
	"resources/templates/list": "resources",
	"resources/read":           "resources",
	"resources/subscribe":      "resources",
	"resources/unsubscribe":    "resources",
	"prompts/list":             "prompts",
	"prompts/get":              "prompts",
	"completion/complete":      "completions",
}

// dispatch answers one JSON-RPC request addressed to upstream u. Anything
// Drawbridge does not understand gets a JSON-RPC error; nothing is passed on
// blindly.
func (s *Server) dispatch(ctx context.Context, u *Upstream, m *message) (json.RawMessage, error) {
	switch m.Method {
	case "initialize":
		return s.initialize(ctx, u, m.Params)
	case "server/discover":
		return s.discover(ctx, u)
	case "ping":
		return json.RawMessage(`{}`), nil
	case "logging/setLevel":
		// The upstream connection is shared by every client, so one client's
		// level must not change what the others get: accepted, not forwarded.
		return json.RawMessage(`{}`), nil
	case "tools/list":
		return s.listTools(ctx, u)
	case "tools/call":
		return s.callTool(ctx, u, m.Params)
	}
	capability, ok := bridged[m.Method]
	if !ok {
		return nil, &rpcError{Code: codeMethodNotFound, Message: fmt.Sprintf("method %q is not supported by drawbridge", m.Method), status: http.StatusNotFound}
	}
	info, err := u.Info(ctx)
	if err != nil {
		return nil, err
	}
	if !info.has(capability) {
		return nil, &rpcError{Code: codeMethodNotFound, Message: fmt.Sprintf("server %q does not offer %s", u.cfg.Label, capability), status: http.StatusNotFound}
	}
	return s.bridge(ctx, u, m)
}

// bridge passes a resources/*, prompts/* or completion request on, and
// records it with what it asked and what came back: no decision governs
// it, but the ledger still answers "what did the model read".
func (s *Server) bridge(ctx context.Context, u *Upstream, m *message) (json.RawMessage, error) {
	ev := s.event(ctx, audit.KindBridged, u, m.Method)
	begin := time.Now()
	params := stripMeta(m.Params)
	ev.Arguments = s.redact.Arguments(mustJSON(params))
	res, err := u.Call(ctx, m.Method, params)
	ev.DurationMS = audit.Millis(time.Since(begin))
	if err != nil {
		ev.Status, ev.Error = failureStatus(ctx, err), s.redact.Text(err.Error())
	} else {
		ev.Status, ev.Result = audit.StatusOK, s.redact.Result(res)
	}
	s.finish(ev)
	return res, err
}

// stripMeta removes _meta from params: it carries the downstream client's
// protocol details, which are not the upstream's business.
func stripMeta(params json.RawMessage) any {
	var p map[string]json.RawMessage
	if len(params) == 0 || json.Unmarshal(params, &p) != nil {
		return map[string]any{}
	}
	delete(p, "_meta")
	return p
}

// capabilities is what Drawbridge offers downstream: tools always, and the
// bridged capabilities the upstream declared (when it can be reached).
func (s *Server) capabilities(ctx context.Context, u *Upstream) map[string]any {
	caps := map[string]any{"tools": map[string]any{"listChanged": false}, "logging": map[string]any{}}
	info, err := u.Info(ctx)
	if err != nil {
		return caps
	}
	var up map[string]json.RawMessage
	_ = json.Unmarshal(info.Capabilities, &up)
	for _, c := range []string{"resources", "prompts", "completions"} {
		if v, ok := up[c]; ok {
			caps[c] = json.RawMessage(s.scrub.Bytes(v))
		}
	}
	return caps
}

func (s *Server) serverInfo(u *Upstream) map[string]any {
	return map[string]any{"name": "drawbridge/" + u.cfg.Label, "version": Version}
}

// initialize answers the legacy handshake. Drawbridge keeps no session
// state, so this only negotiates a version and describes the server.
func (s *Server) initialize(ctx context.Context, u *Upstream, params json.RawMessage) (json.RawMessage, error) {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(params, &p); err != nil || p.ProtocolVersion == "" {
		return nil, errorf(codeInvalidParams, `initialize needs params {"protocolVersion": string, ...}`)
	}
	v := p.ProtocolVersion
	if v == modernVersion || !versionSupported(v) {
		v = latestLegacy
	}
	RequestFrom(ctx).Protocol = v
	out := map[string]any{
		"protocolVersion": v,
		"capabilities":    s.capabilities(ctx, u),
		"serverInfo":      s.serverInfo(u),
	}
	if info, err := u.Info(ctx); err == nil && info.Instructions != "" {
		out["instructions"] = s.scrub.String(info.Instructions)
	}
	return mustJSON(out), nil
}

// discover answers 2026-07-28's server/discover.
func (s *Server) discover(ctx context.Context, u *Upstream) (json.RawMessage, error) {
	return mustJSON(map[string]any{
		"resultType":        "complete",
		"supportedVersions": supportedVersions,
		"capabilities":      s.capabilities(ctx, u),
		"serverInfo":        s.serverInfo(u),
	}), nil
}

// asRPCError turns a dispatch error into what the client sees: JSON-RPC
// errors pass through; anything else becomes a safe message naming the
// request ID, with the detail left to the log.
func asRPCError(ctx context.Context, err error) *rpcError {
	var re *rpcError
	if errors.As(err, &re) {
		return re
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return errorf(codeInternal, "%s (request %s)", ue.Error(), RequestFrom(ctx).ID)
	}
	return errorf(codeInternal, "internal error (request %s)", RequestFrom(ctx).ID)
}

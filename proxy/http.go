package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/config"
)

// Handler returns the MCP listener's handler. Serve it with HTTPServer,
// whose deadlines come first (limits.go): the body must arrive within
// body_timeout and each write finish within write_timeout, so a slow client
// holds nothing for long, while approval waits and event streams live on.
// Then the HTTP layer's order, outer to inner, and why:
//
//  1. recover       a panic in any stage answers 500 with the request ID and
//     never takes the process down.
//  2. request ID    every later log line, error and response names it.
//  3. Host/Origin   DNS-rebinding pages are turned away before they can try
//     a token or learn anything.
//  4. client token  nothing below runs for an unauthenticated caller, and it
//     learns nothing about the configured servers.
//  5. protocol      an unsupported MCP-Protocol-Version is refused before the
//     body is read.
//  6. label, scope  an unknown label is a 404 naming the known ones (to an
//     authenticated client only); a token scoped to other servers is a 403.
//  7. body limit    the body is read through a cap, so size is bounded before
//     any parsing.
//  8. MCP endpoint  parse, dispatch, call pipeline.
//
// /healthz and /readyz answer anyone under an allowed Host, with a status
// and nothing more: the details are on the admin listener (Readiness).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("/mcp/{label}", s.mcp)
	mux.HandleFunc("/mcp/{label}/", s.mcp)
	return s.recoverer(s.identify(mux))
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				id := RequestFrom(r.Context()).ID
				s.log.Error("panic serving request", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeHTTPError(w, http.StatusInternalServerError, codeInternal, "internal error (request "+id+")")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := &Request{ID: s.ids.next(), Received: time.Now(), UserAgent: r.UserAgent(),
			Session: r.Header.Get("Mcp-Session-Id")}
		req.Client.Address, _, _ = net.SplitHostPort(r.RemoteAddr)
		w.Header().Set("X-Request-Id", req.ID)
		next.ServeHTTP(w, r.WithContext(withRequest(r.Context(), req)))
	})
}

// mcp runs stages 3 to 8 for /mcp/<label>.
func (s *Server) mcp(w http.ResponseWriter, r *http.Request) {
	req := RequestFrom(r.Context())
	if why := s.hosts.check(r); why != "" {
		s.rejectHTTP(w, r, audit.StatusUnauthenticated, http.StatusForbidden, why)
		return
	}
	if !s.authenticate(w, r, req) {
		return
	}
	req.Protocol = r.Header.Get("MCP-Protocol-Version")
	if req.Protocol == "" {
		req.Protocol = "2025-03-26"
	}
	if !versionSupported(req.Protocol) {
		s.recordRejection(r, audit.StatusBadRequest, "unsupported protocol version "+strconv.Quote(req.Protocol))
		writeJSON(w, http.StatusBadRequest, failure(nil, &rpcError{Code: codeUnsupportedVer,
			Message: "Unsupported protocol version " + strconv.Quote(req.Protocol),
			Data:    map[string]any{"supported": supportedVersions, "requested": req.Protocol}}))
		return
	}
	req.Label = r.PathValue("label")
	u, ok := s.upstreams[req.Label]
	if !ok {
		s.rejectHTTP(w, r, audit.StatusBadRequest, http.StatusNotFound,
			fmt.Sprintf("unknown server %q; known servers: %s", req.Label, strings.Join(s.cfg.Labels(), ", ")))
		return
	}
	if len(req.Client.Servers) > 0 && !slices.Contains(req.Client.Servers, req.Label) {
		s.rejectHTTP(w, r, audit.StatusDenied, http.StatusForbidden,
			fmt.Sprintf("client token %q may not use server %q", req.Client.Name, req.Label))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	s.serveMCP(w, r, u)
}

// authenticate checks the client token and fills in the client's identity.
// It writes the 401 itself and reports whether to go on.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, req *Request) bool {
	if s.cfg.Auth == config.AuthNone {
		req.Client.Name = "anonymous"
		return true
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="drawbridge"`)
		s.rejectHTTP(w, r, audit.StatusUnauthenticated, http.StatusUnauthorized,
			"missing client token: send Authorization: Bearer <token> (drawbridge token create NAME)")
		return false
	}
	id, err := s.tokens.Verify(r.Context(), strings.TrimSpace(token))
	if err != nil {
		if !errors.Is(err, ErrBadToken) {
			s.log.Error("token check failed", "request_id", req.ID, "err", err)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="drawbridge", error="invalid_token"`)
		s.rejectHTTP(w, r, audit.StatusUnauthenticated, http.StatusUnauthorized, "invalid, expired or revoked client token")
		return false
	}
	req.Client.Name, req.Client.ID, req.Client.Servers, req.token = id.Name, id.ID, id.Servers, strings.TrimSpace(token)
	return true
}

// healthz answers 200 while serving. Asked for an event stream, it sends
// three events a quarter of a second apart: `drawbridge doctor` times them
// to tell whether a tunnel or proxy in front buffers streams (which makes
// approvals and progress arrive all at once, or time out).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, _, stream := wantsSSE(r.Header.Get("Accept")); !stream || r.URL.Query().Get("stream") == "" {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	st := &sseStream{w: w}
	for i := range 3 {
		if i > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
		st.send([]byte(`{"status":"ok","event":` + strconv.Itoa(i) + `}`))
	}
}

// readyz answers whether every upstream is connected: 200 {"ready": true},
// or 503 {"ready": false}, and nothing more, whoever asks. The MCP listener
// cannot tell a stranger by address: localtunnel and cloudflared deliver
// the world's requests from loopback. Which upstream is down and why (dial
// errors name hosts), the policy's path and the ledger's state are on the
// admin listener (Readiness). The Host check still applies: a
// DNS-rebinding page learns not even the status.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if why := s.hosts.check(r); why != "" {
		s.rejectHTTP(w, r, audit.StatusUnauthenticated, http.StatusForbidden, why)
		return
	}
	ready := true
	for _, u := range s.upstreams {
		ok, _ := u.Status()
		ready = ready && ok
	}
	writeJSON(w, readyStatus(ready), map[string]any{"ready": ready})
}

// Readiness serves the detailed readiness report, for the admin listener
// only (behind the admin token): the status /readyz gives, each upstream's
// state and last error, and each named check (policy, audit, certificate,
// tunnel) with its detail.
func (s *Server) Readiness() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		servers := map[string]any{}
		ready := true
		for l, u := range s.upstreams {
			ok, detail := u.Status()
			ready = ready && ok
			servers[l] = map[string]any{"ready": ok, "detail": detail}
		}
		body := map[string]any{"ready": ready, "servers": servers}
		for name, check := range s.checks {
			ok, detail := check()
			body[name] = map[string]any{"ok": ok, "detail": detail}
		}
		writeJSON(w, readyStatus(ready), body)
	})
}

func readyStatus(ready bool) int {
	if ready {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

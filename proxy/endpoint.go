package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/internal/ijson"
)

// serveMCP is the Streamable HTTP endpoint of one upstream. Drawbridge keeps
// no session state: every request is authorized and answered on its own, so
// a client that drops, deletes or reuses Mcp-Session-Id (OpenAI's deletes the
// session after tools/list, then calls a tool with the dead id) still works.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request, u *Upstream) {
	req := RequestFrom(r.Context())
	switch r.Method {
	case http.MethodPost:
	case http.MethodDelete:
		if req.Protocol == modernVersion {
			methodNotAllowed(w, "POST")
			return
		}
		// Ending a session ends nothing: there is no state to drop.
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		// No standalone GET stream: Drawbridge sends nothing unprompted.
		methodNotAllowed(w, "POST, DELETE")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.rejectHTTP(w, r, audit.StatusBadRequest, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	sse, ok, canStream := wantsSSE(r.Header.Get("Accept"))
	if !ok {
		s.rejectHTTP(w, r, audit.StatusBadRequest, http.StatusNotAcceptable, "Accept must include application/json or text/event-stream")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	msgs, batch, perr := parseBody(body, req.Protocol)
	if perr != nil {
		s.recordRejection(r, audit.StatusBadRequest, perr.Message)
		writeJSON(w, http.StatusBadRequest, failure(nil, perr))
		return
	}
	if !batch && canStream {
		req.stream = &sseStream{w: w}
	}
	if !batch && req.Protocol == modernVersion {
		if id, e := checkModernHeaders(r, msgs[0]); e != nil {
			s.recordRejection(r, audit.StatusBadRequest, e.Message)
			writeJSON(w, http.StatusBadRequest, failure(id, e))
			return
		}
	}
	var out []*response
	status := http.StatusOK
	for _, m := range msgs {
		resp := s.handleMessage(r, u, m)
		if resp == nil {
			continue
		}
		if resp.Error != nil && resp.Error.status != 0 && !batch && req.Protocol == modernVersion {
			status = resp.Error.status
		}
		out = append(out, resp)
	}
	writeResponses(w, req, out, batch, sse, status)
}

// readBody reads the request body through its cap and its deadline, and
// refuses (writing the answer) one that is too large or does not arrive.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The read deadline stays (Deadlines): the server's discard of
		// the rest is bounded by it, and the connection closes.
		w.Header().Set("Connection", "close")
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.rejectHTTP(w, r, audit.StatusBadRequest, http.StatusRequestEntityTooLarge, "request body is over the limit of "+itoa(tooBig.Limit)+" bytes")
			return nil, false
		}
		s.rejectHTTP(w, r, audit.StatusBadRequest, http.StatusBadRequest, "unreadable request body")
		return nil, false
	}
	return body, true
}

// writeResponses answers a body's messages: 202 when there is nothing to
// answer (notifications only), the event stream when one was asked for or
// already started, JSON (an array for a batch) otherwise.
func writeResponses(w http.ResponseWriter, req *Request, out []*response, batch, sse bool, status int) {
	if len(out) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if req.Session != "" && req.Protocol != modernVersion {
		w.Header().Set("Mcp-Session-Id", req.Session)
	}
	if sse || (req.stream != nil && req.stream.started) {
		req.stream.finish(w, out)
		return
	}
	var b []byte
	if batch {
		b = append(b, '[')
	}
	for i, r := range out {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendJSON(b)
	}
	if batch {
		b = append(b, ']')
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", itoa(int64(len(b))))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// handleMessage answers one message of a body, or returns nil for
// notifications and client responses, which are accepted and dropped.
func (s *Server) handleMessage(r *http.Request, u *Upstream, raw json.RawMessage) *response {
	var m message
	// One reading for every stage: a message with repeated keys, keys
	// differing only in case, or strings no UTF-16 reader agrees on is
	// refused whole, before any field is taken from it. (What is not JSON
	// at all is reported as such below.)
	if _, err := ijson.Parse(raw); err != nil && json.Valid(raw) {
		e := errorf(codeInvalidRequest, "message refused: %v", err)
		s.recordRejection(r, audit.StatusBadRequest, e.Message)
		return failure(nil, e)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		e := errorf(codeInvalidRequest, "message is not a JSON-RPC object")
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			e = errorf(codeParseError, "request body is not valid JSON")
		}
		s.recordRejection(r, audit.StatusBadRequest, e.Message)
		return failure(nil, e)
	}
	k, why := m.classify()
	switch k {
	case kindInvalid:
		s.recordRejection(r, audit.StatusBadRequest, "invalid JSON-RPC message: "+why)
		return failure(m.ID, errorf(codeInvalidRequest, "%s", why))
	case kindResponse:
		return nil
	case kindNotification:
		// A request sent without an id gets no answer, so it is not run;
		// one that is not a notification is recorded, so a tools/call
		// that was dropped is not dropped silently.
		if !strings.HasPrefix(m.Method, "notifications/") {
			s.recordRejection(r, audit.StatusBadRequest, fmt.Sprintf("%s sent as a notification (no id): not run", clipMethod(m.Method)))
		}
		return nil
	}
	ctx := r.Context()
	if m.Method == "initialize" {
		RequestFrom(ctx).Session = newID("mcs_")
	}
	res, err := s.dispatch(ctx, u, &m)
	if err != nil {
		e := asRPCError(ctx, err)
		if e.Code == codeInternal {
			s.log.Warn("request failed", "request_id", RequestFrom(ctx).ID, "method", m.Method, "err", err)
		}
		return failure(m.ID, e)
	}
	return result(m.ID, res)
}

// clipMethod keeps a client-chosen method name short enough to quote.
func clipMethod(m string) string {
	if len(m) > 64 {
		return strconv.Quote(m[:64]) + "…"
	}
	return strconv.Quote(m)
}

// checkModernHeaders enforces 2026-07-28's rule that the HTTP headers which
// mirror the body agree with it, so nothing that routes on headers can be
// told one thing while the body does another. Absent mirrors are tolerated;
// contradicting ones are refused.
func checkModernHeaders(r *http.Request, raw json.RawMessage) (json.RawMessage, *rpcError) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
			Meta struct {
				Version *string `json:"io.modelcontextprotocol/protocolVersion"`
			} `json:"_meta"`
		} `json:"params"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return nil, nil // shape errors are reported per message
	}
	mismatch := func(what, header, body string) *rpcError {
		return errorf(codeHeaderMismatch, "Header mismatch: %s header %q does not match body value %q", what, header, body)
	}
	if h := r.Header.Get("Mcp-Method"); h != "" && h != m.Method {
		return m.ID, mismatch("Mcp-Method", h, m.Method)
	}
	if h := r.Header.Get("Mcp-Name"); h != "" {
		name := m.Params.Name
		if name == "" {
			name = m.Params.URI
		}
		if decodeHeaderValue(h) != name {
			return m.ID, mismatch("Mcp-Name", h, name)
		}
	}
	if v := m.Params.Meta.Version; v != nil && *v != modernVersion {
		return m.ID, mismatch("MCP-Protocol-Version", modernVersion, *v)
	}
	return nil, nil
}

// decodeHeaderValue undoes the =?base64?…?= sentinel encoding.
func decodeHeaderValue(h string) string {
	if strings.HasPrefix(h, "=?base64?") && strings.HasSuffix(h, "?=") {
		if b, err := base64.StdEncoding.DecodeString(h[len("=?base64?") : len(h)-2]); err == nil {
			return string(b)
		}
	}
	return h
}

// wantsSSE picks the response format from Accept: JSON unless the client
// accepts only an event stream. ok is false when it accepts neither;
// canStream says it accepts an event stream (for notifications before the
// response, such as progress while a call waits for approval).
func wantsSSE(accept string) (sse, ok, canStream bool) {
	if accept == "" {
		return false, true, false
	}
	var jsonOK, sseOK bool
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case "application/json", "application/*", "*/*":
			jsonOK = true
		case "text/event-stream":
			sseOK = true
		}
	}
	return sseOK && !jsonOK, jsonOK || sseOK, sseOK
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "<token>" reads as written
	_ = enc.Encode(v)
}

// sseStream answers one request as an event stream: notifications while it
// runs, then the response. It starts (headers sent) on its first event.
type sseStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	started bool
	done    bool
}

func (s *sseStream) start() {
	if s.started {
		return
	}
	s.started = true
	s.w.Header().Set("Content-Type", "text/event-stream")
	s.w.Header().Set("Cache-Control", "no-cache")
	s.w.Header().Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

// send writes one event now.
func (s *sseStream) send(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.start()
	writeEvent(s.w, msg)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

// finish writes the responses and ends the stream.
func (s *sseStream) finish(w http.ResponseWriter, out []*response) {
	if s == nil {
		s = &sseStream{w: w}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start()
	for _, r := range out {
		writeEvent(s.w, r.appendJSON(nil))
	}
	s.done = true
}

// writeEvent writes one SSE event. A message may hold line breaks (JSON
// allows CR and LF between tokens, and an upstream's result is forwarded as
// it came): SSE ends a line at CRLF, LF or CR alike, so each line gets its
// own data: field, which SSE joins back. (A bare CR left inside one field
// cut the message short for every SSE client: found by FuzzSSEFrame.)
func writeEvent(w io.Writer, msg []byte) {
	b := []byte("event: message\n")
	msg = bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n"))
	msg = bytes.ReplaceAll(msg, []byte("\r"), []byte("\n"))
	for _, line := range bytes.Split(msg, []byte("\n")) {
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	_, _ = w.Write(append(b, '\n'))
}

// writeHTTPError writes an HTTP error whose body is a JSON-RPC error without
// an id, as the transport spec allows.
func writeHTTPError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, failure(nil, errorf(code, "%s", msg)))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeHTTPError(w, http.StatusMethodNotAllowed, codeInvalidRequest, "method not allowed; use "+allow)
}

package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// JSON-RPC error codes used on the wire.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeInternal       = -32603
	codeHeaderMismatch = -32020 // 2026-07-28: HTTP headers disagree with the body
	codeUnsupportedVer = -32022 // 2026-07-28: UnsupportedProtocolVersionError
)

// message is one inbound JSON-RPC message, decoded only as far as routing
// needs: params and results stay raw so they travel byte-for-byte.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

// kind classifies a message; the zero value is invalid.
type kind int

const (
	kindInvalid kind = iota
	kindRequest
	kindNotification
	kindResponse // a client answering a server request; accepted and dropped
)

// classify checks the JSON-RPC 2.0 shape and says what the message is, or why
// it is not a message.
func (m *message) classify() (kind, string) {
	if m.JSONRPC != "2.0" {
		return kindInvalid, `"jsonrpc" must be "2.0"`
	}
	if len(m.Params) > 0 && m.Params[0] != '{' && m.Params[0] != '[' {
		return kindInvalid, `"params" must be an object or an array (JSON-RPC 2.0 allows both; MCP methods take objects)`
	}
	if m.Method == "" {
		if m.ID == nil || (m.Result == nil) == (m.Error == nil) {
			return kindInvalid, `a message needs "method", or "id" with one of "result" and "error"`
		}
		return kindResponse, ""
	}
	if m.ID == nil {
		return kindNotification, ""
	}
	if !validID(m.ID) {
		return kindInvalid, `"id" must be a string or an integer`
	}
	return kindRequest, ""
}

func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	if id[0] == '"' {
		var s string
		return json.Unmarshal(id, &s) == nil
	}
	var n json.Number
	if err := json.Unmarshal(id, &n); err != nil {
		return false
	}
	_, err := n.Int64()
	return err == nil
}

// response is one outbound JSON-RPC response.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// rpcError is a JSON-RPC error object. It doubles as a Go error inside the
// dispatcher, carrying the HTTP status a modern (2026-07-28) client expects.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
	status  int
}

// appendJSON writes the response with its result exactly as it came, not
// re-encoded: encoding/json would compact it and escape <, > and & in it,
// and a forwarded result travels byte-for-byte.
func (r *response) appendJSON(b []byte) []byte {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	if r.ID == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, r.ID...)
	}
	if r.Error != nil {
		b = append(b, `,"error":`...)
		b = append(b, mustJSON(r.Error)...)
	} else {
		b = append(b, `,"result":`...)
		b = append(b, r.Result...)
	}
	return append(b, '}')
}

func (e *rpcError) Error() string { return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message) }

func errorf(code int, format string, args ...any) *rpcError {
	return &rpcError{Code: code, Message: fmt.Sprintf(format, args...)}
}

var nullID = json.RawMessage("null")

func result(id json.RawMessage, v json.RawMessage) *response {
	return &response{JSONRPC: "2.0", ID: id, Result: v}
}

func failure(id json.RawMessage, e *rpcError) *response {
	if id == nil {
		id = nullID
	}
	return &response{JSONRPC: "2.0", ID: id, Error: e}
}

// mustJSON marshals values that cannot fail to marshal (maps of strings,
// structs of plain fields).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	return b
}

// isBatch reports whether a body is a JSON array.
func isBatch(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '['
}

// parseBody splits a body into messages. Batches are accepted only under
// 2025-03-26, the one version that requires servers to take them; later
// versions removed them, so a batch there is refused whole rather than
// half-understood.
func parseBody(body []byte, version string) ([]json.RawMessage, bool, *rpcError) {
	if !isBatch(body) {
		// Validity is checked when the message is decoded.
		return []json.RawMessage{body}, false, nil
	}
	if version != "2025-03-26" {
		return nil, true, errorf(codeInvalidRequest, "JSON-RPC batches are not allowed in protocol version %s", version)
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, true, errorf(codeParseError, "request body is not valid JSON")
	}
	if len(msgs) == 0 {
		return nil, true, errorf(codeInvalidRequest, "a batch must be a non-empty array of messages")
	}
	return msgs, true, nil
}

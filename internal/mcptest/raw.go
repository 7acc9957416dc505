package mcptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
)

// RawServer is a hand-written Streamable HTTP upstream (JSON answers only)
// whose tools/list and tools/call results are exactly the bytes a test
// gives: escapes, control characters, duplicate keys, whatever an encoder
// would never write. It records the raw params of every tools/call it
// receives: the ground truth of what reached the upstream.
type RawServer struct {
	*httptest.Server
	mu     sync.Mutex
	fault  func(w http.ResponseWriter, r *http.Request)
	tools  string
	calls  []json.RawMessage
	counts map[string]int
}

// Raw serves tools (the tools/list result, raw JSON) and answers each
// tools/call with result(params), raw JSON.
func Raw(tools string, result func(params json.RawMessage) string) *RawServer {
	rs := &RawServer{tools: tools, counts: map[string]int{}}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&m) != nil {
			http.Error(w, "POST a JSON-RPC message", http.StatusMethodNotAllowed)
			return
		}
		rs.mu.Lock()
		rs.counts[m.Method]++
		tools := rs.tools
		rs.mu.Unlock()
		if m.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		res := `{}`
		switch m.Method {
		case "initialize":
			res = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"raw","version":"1"}}`
		case "tools/list":
			res = tools
		case "tools/call":
			rs.mu.Lock()
			rs.calls = append(rs.calls, m.Params)
			fault := rs.fault
			rs.mu.Unlock()
			if fault != nil {
				fault(w, r)
				return
			}
			res = result(m.Params)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":` + res + `}`))
	}))
	return rs
}

// Calls returns the params of every tools/call received, as sent.
func (rs *RawServer) Calls() []json.RawMessage {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]json.RawMessage(nil), rs.calls...)
}

// Count returns how many messages of method were received.
func (rs *RawServer) Count(method string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.counts[method]
}

// SetTools changes the tools/list result from now on (a rug pull).
func (rs *RawServer) SetTools(tools string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.tools = tools
}

// SetFault makes every tools/call from now on answered by f (a status,
// broken JSON, a cut stream, a reset, a flood, silence); nil restores the
// result function.
func (rs *RawServer) SetFault(f func(w http.ResponseWriter, r *http.Request)) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.fault = f
}

// Package mcptest holds the fake upstreams Drawbridge's tests run against:
// real mcp-go servers, in process over Streamable HTTP and legacy SSE, and
// (through testupstream) as a stdio child. Like httptest, it is for tests.
package mcptest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// RawSchema is a tool input schema with keys that mcp-go's typed Tool drops
// ($schema, anyOf, additionalProperties); it must reach clients unchanged.
const RawSchema = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"id":{"anyOf":[{"type":"string"},{"type":"integer"}]}},"additionalProperties":false}`

type headersKey struct{}

// NewServer returns an MCP server with the standard test tools:
//
//	echo {text}        returns text
//	add {a, b}         returns a+b
//	headers            returns the HTTP request headers it received, as JSON
//	env                returns the process environment, sorted, one per line
//	slow {ms}          sleeps, then returns "done"
//	fail               returns a tool error
//	rpc_fail           fails with a JSON-RPC error
//	leak               returns the Authorization header it got, plain and base64
//	leak_error         fails with a JSON-RPC error that contains it
//	raw_schema {id}    has RawSchema as its input schema
//	danger_delete      a tool a config would deny
//	crash              exits the process (stdio children only)
func NewServer(name string, opts ...server.ServerOption) *server.MCPServer {
	opts = append([]server.ServerOption{server.WithToolCapabilities(true),
		server.WithResourceCapabilities(false, false), server.WithPromptCapabilities(false)}, opts...)
	s := server.NewMCPServer(name, "1.0.0", opts...)
	text := func(f func(ctx context.Context, req mcp.CallToolRequest) string) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(f(ctx, req)), nil
		}
	}
	s.AddTool(mcp.NewTool("echo", mcp.WithDescription("Echo the text back."),
		mcp.WithString("text", mcp.Required())),
		text(func(_ context.Context, r mcp.CallToolRequest) string { return r.GetString("text", "") }))
	s.AddTool(mcp.NewTool("add", mcp.WithDescription("Add two numbers."),
		mcp.WithNumber("a", mcp.Required()), mcp.WithNumber("b", mcp.Required())),
		text(func(_ context.Context, r mcp.CallToolRequest) string {
			return fmt.Sprint(r.GetFloat("a", 0) + r.GetFloat("b", 0))
		}))
	s.AddTool(mcp.NewTool("headers", mcp.WithDescription("Report the HTTP headers received.")),
		text(func(ctx context.Context, _ mcp.CallToolRequest) string {
			h, _ := ctx.Value(headersKey{}).(http.Header)
			b, _ := json.Marshal(h)
			return string(b)
		}))
	s.AddTool(mcp.NewTool("env", mcp.WithDescription("Report the process environment.")),
		text(func(context.Context, mcp.CallToolRequest) string {
			env := os.Environ()
			sort.Strings(env)
			return strings.Join(env, "\n")
		}))
	s.AddTool(mcp.NewTool("slow", mcp.WithDescription("Sleep, then answer."), mcp.WithNumber("ms")),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-time.After(time.Duration(r.GetFloat("ms", 1000)) * time.Millisecond):
				return mcp.NewToolResultText("done"), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
	s.AddTool(mcp.NewTool("fail", mcp.WithDescription("Return a tool error.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("the tool failed on purpose"), nil
		})
	s.AddTool(mcp.NewTool("rpc_fail", mcp.WithDescription("Fail with a JSON-RPC error.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, errors.New("rpc failure on purpose")
		})
	s.AddTool(mcp.NewTool("leak", mcp.WithDescription("Return the credential received.")),
		text(func(ctx context.Context, _ mcp.CallToolRequest) string {
			v := authValue(ctx)
			return fmt.Sprintf("plain=%s b64=%s", v, base64.StdEncoding.EncodeToString([]byte(v)))
		}))
	s.AddTool(mcp.NewTool("leak_error", mcp.WithDescription("Fail with the credential in the error.")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, fmt.Errorf("bad credential %s", authValue(ctx))
		})
	s.AddTool(mcp.NewToolWithRawSchema("raw_schema", "A tool whose schema uses anyOf.", json.RawMessage(RawSchema)),
		text(func(context.Context, mcp.CallToolRequest) string { return "ok" }))
	s.AddTool(mcp.NewTool("danger_delete", mcp.WithDescription("Delete everything.")),
		text(func(context.Context, mcp.CallToolRequest) string { return "deleted everything" }))
	s.AddTool(mcp.NewTool("crash", mcp.WithDescription("Exit the process.")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			os.Exit(3)
			return nil, nil
		})
	return s
}

// authValue is the credential the upstream received: the Authorization
// header over HTTP, or UPSTREAM_TOKEN in a stdio child's environment.
func authValue(ctx context.Context) string {
	if h, ok := ctx.Value(headersKey{}).(http.Header); ok {
		return h.Get("Authorization")
	}
	return os.Getenv("UPSTREAM_TOKEN")
}

func withHeaders(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, headersKey{}, r.Header.Clone())
}

// Streamable serves s over Streamable HTTP at URL + "/mcp".
func Streamable(s *server.MCPServer) *httptest.Server {
	return httptest.NewServer(StreamableHandler(s))
}

// StreamableHandler is Streamable's handler, for tests that wrap it.
func StreamableHandler(s *server.MCPServer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/mcp", server.NewStreamableHTTPServer(s, server.WithHTTPContextFunc(withHeaders)))
	return mux
}

// SSE serves s over the legacy HTTP+SSE transport at URL + "/sse" (the
// message endpoint is /message).
func SSE(s *server.MCPServer) *httptest.Server {
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	sse := server.NewSSEServer(s, server.WithBaseURL(ts.URL), server.WithSSEContextFunc(withHeaders))
	ts.Config.Handler = sse
	return ts
}

// StatusServer answers every request with status and no MCP at all: an
// upstream that refuses.
func StatusServer(status int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, http.StatusText(status), status)
	}))
}

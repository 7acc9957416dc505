// Command upstream is the quickstart's example MCP server: a few harmless
// tools and one dangerous one, served over stdio (the default) or, with
// -http ADDR, over Streamable HTTP at /mcp.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func main() {
	addr := flag.String("http", "", "serve Streamable HTTP on this `address` instead of stdio")
	flag.Parse()
	s := newServer()
	var err error
	if *addr != "" {
		fmt.Fprintf(os.Stderr, "example upstream on http://%s/mcp\n", *addr)
		err = server.NewStreamableHTTPServer(s).Start(*addr)
	} else {
		err = server.ServeStdio(s)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

func newServer() *server.MCPServer {
	s := server.NewMCPServer("quickstart-upstream", "1.0.0", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("echo",
		mcp.WithDescription("Echo a message back."),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithString("message", mcp.Required(), mcp.Description("what to echo"))),
		func(_ context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(r.GetString("message", "")), nil
		})
	s.AddTool(mcp.NewTool("word_count",
		mcp.WithDescription("Count the words in a text."),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithString("text", mcp.Required())),
		func(_ context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(fmt.Sprint(len(strings.Fields(r.GetString("text", ""))))), nil
		})
	s.AddTool(mcp.NewTool("current_time",
		mcp.WithDescription("The server's current time, RFC 3339."),
		mcp.WithReadOnlyHintAnnotation(true)),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(time.Now().UTC().Format(time.RFC3339)), nil
		})
	s.AddTool(mcp.NewTool("delete_all_files",
		mcp.WithDescription("Delete every file the server can reach. (It only pretends.)"),
		mcp.WithDestructiveHintAnnotation(true)),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("pretended to delete every file"), nil
		})
	return s
}

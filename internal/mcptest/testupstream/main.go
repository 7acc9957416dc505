// Command testupstream serves mcptest's tools over stdio, as a child process
// for Drawbridge's tests.
package main

import (
	"fmt"
	"os"

	"github.com/mark3labs/mcp-go/server"

	"github.com/drawbridge-mcp/drawbridge/internal/mcptest"
)

func main() {
	if err := server.ServeStdio(mcptest.NewServer("testupstream")); err != nil {
		fmt.Fprintln(os.Stderr, "testupstream:", err)
		os.Exit(1)
	}
}

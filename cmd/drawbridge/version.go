package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/drawbridge-mcp/drawbridge/proxy"
)

func runVersion(_ context.Context, e env, _ []string) error {
	fmt.Fprintf(e.stdout, "drawbridge %s (%s %s/%s)\n", proxy.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

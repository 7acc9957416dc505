package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/drawbridge-mcp/drawbridge/proxy"
)

func runVersion(_ context.Context, e env, args []string) error {
	f := newFlags("version", e)
	asJSON := f.Bool("json", false, "print the version as JSON")
	if _, err := f.parse(args); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, map[string]string{"version": proxy.Version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH})
	}
	fmt.Fprintf(e.stdout, "drawbridge %s (%s %s/%s)\n", proxy.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

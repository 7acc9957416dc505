// Package rego holds the policies Drawbridge ships, embedded in the binary:
// the default policy (drawbridge.rego) and its tests. They are what serves
// when the config names no policy.dir.
package rego

import "embed"

// FS is the shipped policy directory: *.rego, *_test.rego.
//
//go:embed *.rego
var FS embed.FS

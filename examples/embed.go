// Package examples holds the runnable configs and policies users start
// from; the server blocks are embedded for `drawbridge init`.
package examples

import "embed"

// Servers are the ready server blocks, one YAML file per service
// (servers/stripe.yaml, …).
//
//go:embed servers/*.yaml
var Servers embed.FS

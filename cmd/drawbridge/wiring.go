package main

import (
	"github.com/drawbridge-mcp/drawbridge/approval"
	"github.com/drawbridge-mcp/drawbridge/audit"
	"github.com/drawbridge-mcp/drawbridge/policy"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/secrets"
	"github.com/drawbridge-mcp/drawbridge/state"
)

// The implementations serve wires into the proxy, checked where they are
// wired: the proxy declares the small interfaces it needs and knows none of
// these types.
var (
	_ proxy.Tokens    = tokenVerifier{}
	_ proxy.Decider   = (*policy.Engine)(nil)
	_ proxy.Ledger    = (*audit.Log)(nil)
	_ proxy.Vault     = (*secrets.Vault)(nil)
	_ proxy.Pins      = (*state.DB)(nil)
	_ proxy.Approvals = (*approval.Broker)(nil)
)

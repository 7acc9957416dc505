package config

// The values of the config's enumerations. Compare with these, never with
// string literals.

// AuthMode is how MCP clients authenticate (auth).
type AuthMode string

// Auth modes.
const (
	AuthToken AuthMode = "token" // a client token on every request (the default)
	AuthNone  AuthMode = "none"  // nobody: loopback listeners only, never with public
)

// Transport is how a url upstream is spoken to (servers.X.transport).
type Transport string

// Transports.
const (
	TransportAuto       Transport = "auto" // Streamable HTTP, falling back to legacy SSE
	TransportStreamable Transport = "streamable-http"
	TransportSSE        Transport = "sse"
)

// PinMode is how tool definitions are pinned (servers.X.tools.pin).
type PinMode string

// Pin modes.
const (
	PinTOFU   PinMode = "tofu"   // pinned when first seen (the default)
	PinStrict PinMode = "strict" // new tools wait for acceptance too
	PinOff    PinMode = "off"
)

// SyncMode is how durably the ledger commits (audit.sync).
type SyncMode string

// Sync modes.
const (
	SyncNormal SyncMode = "normal" // survives a killed process (the default)
	SyncFull   SyncMode = "full"   // survives power loss
)

// OnError is what happens to calls the ledger cannot record
// (audit.on_error).
type OnError string

// Ledger failure policies.
const (
	OnErrorDeny  OnError = "deny" // refuse them (the default)
	OnErrorAllow OnError = "allow"
)

// PolicyMode is whether decisions are enforced (policy.mode).
type PolicyMode string

// Policy modes.
const (
	ModeEnforce PolicyMode = "enforce" // the default
	ModeShadow  PolicyMode = "shadow"  // decide and record, let every call through
)

// HMACAlgorithm is the hash of a request signature
// (servers.X.auth.hmac.algorithm).
type HMACAlgorithm string

// Signature hashes.
const (
	HMACSHA256 HMACAlgorithm = "sha256" // the default
	HMACSHA1   HMACAlgorithm = "sha1"
)

// HMACEncoding is how a request signature is written
// (servers.X.auth.hmac.encoding).
type HMACEncoding string

// Signature encodings.
const (
	HMACBase64 HMACEncoding = "base64" // the default
	HMACHex    HMACEncoding = "hex"
)

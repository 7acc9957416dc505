package mcptest

import (
	"os"
	"os/exec"
	"testing"
)

// RequirePeersEnv, when set, turns a missing real peer (node, the npm
// packages, the sqlite3 shell) into a test failure instead of a skip. CI
// sets it, so those tests cannot silently not run.
const RequirePeersEnv = "DRAWBRIDGE_REQUIRE_PEERS"

// NeedPeer skips (or, under RequirePeersEnv, fails) a test whose real peer
// is missing: err says why.
func NeedPeer(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv(RequirePeersEnv) != "" {
		t.Fatalf("%s is required (%s is set): %v", what, RequirePeersEnv, err)
	}
	t.Skipf("%s not available: %v", what, err)
}

// NeedSQLite3 requires the sqlite3 shell.
func NeedSQLite3(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath("sqlite3")
	NeedPeer(t, "the sqlite3 shell", err)
}

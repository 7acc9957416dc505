package proxy_test

import (
	"testing"
	"time"

	"github.com/drawbridge-mcp/drawbridge/audit"
)

// TestOperatorDeniedEndedAt shows that a call an operator denied after
// holding it ended, in the ledger's calls view, when the operator ruled,
// not when it arrived.
func TestOperatorDeniedEndedAt(t *testing.T) {
	h, admin := approvalHarness(t, "")
	res := callAsync(h, "add", map[string]any{"a": 1, "b": 1})
	id := pendingID(t, admin, "add")
	time.Sleep(50 * time.Millisecond) // the ruling comes well after the arrival
	ruled := time.Now()
	adminCall(t, admin, "POST", "/api/approvals/"+id+"/deny", `{"reason": "not today", "by": "bob"}`)
	if got := <-res; !got.IsError {
		t.Fatalf("denied call = %+v", got)
	}
	for _, c := range ledgerCalls(t, h, 1) {
		if c.ApprovalID != id {
			continue
		}
		started, err1 := time.Parse(time.RFC3339Nano, c.StartedAt)
		ended, err2 := time.Parse(time.RFC3339Nano, c.EndedAt)
		if err1 != nil || err2 != nil || c.Status != audit.StatusDenied {
			t.Fatalf("denied call = %+v (%v, %v)", c, err1, err2)
		}
		// The view keeps the end to the millisecond.
		if ended.Before(ruled.Add(-time.Millisecond)) || !ended.After(started) {
			t.Fatalf("ended_at %s, started_at %s, ruled at %s: want the end at the ruling", c.EndedAt, c.StartedAt,
				ruled.UTC().Format(time.RFC3339Nano))
		}
		return
	}
	t.Fatal("the denied call is not in the ledger")
}

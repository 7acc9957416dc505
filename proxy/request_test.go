package proxy

import "testing"

// TestCallIDsSortInOrder: call IDs compare as text in the order they were
// made, across digit boundaries (the ledger's call_id index appends, and
// `ORDER BY call_id` in sqlite3 is call order).
func TestCallIDsSortInOrder(t *testing.T) {
	ids := newRequestIDs()
	for _, start := range []uint64{0, 8, 98, 99998, 999_999_998} {
		ids.n.Store(start)
		a, b, c := ids.call(), ids.call(), ids.call()
		if !(a < b && b < c) {
			t.Errorf("calls %d..%d: IDs %q, %q, %q do not sort in order", start+1, start+3, a, b, c)
		}
	}
}

package storage

import "fmt"

// CheckCommit reports whether ops and snap are a well-formed Commit
// argument: at least one op, ops[0].V >= 0, consecutive versions, and
// snap.V == last op's V+1. It does not look at the stored version; that is
// the store's compare-and-set. Stores call it before writing so that a
// caller's mistake is returned as an error instead of corrupting an op log.
func CheckCommit(ops []Op, snap Snapshot) error {
	if len(ops) == 0 {
		return fmt.Errorf("storage: invalid commit: no ops")
	}
	first := ops[0].V
	if first < 0 {
		return fmt.Errorf("storage: invalid commit: negative version %d", first)
	}
	for i, op := range ops {
		if want := first + int64(i); op.V != want {
			return fmt.Errorf("storage: invalid commit: op %d has version %d, want %d", i, op.V, want)
		}
	}
	if want := first + int64(len(ops)); snap.V != want {
		return fmt.Errorf("storage: invalid commit: snapshot version %d, want %d", snap.V, want)
	}
	return nil
}

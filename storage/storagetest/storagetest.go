package storagetest

import (
	"testing"

	"github.com/tandemhq/tandem/storage"
)

// Type URIs used by the suite. The store treats them as opaque strings.
const (
	json0URI = "http://sharejs.org/types/JSONv0"
	textURI  = "http://sharejs.org/types/text-unicode"
)

// Run runs the conformance suite as parallel subtests of t. newStore must
// return a new, empty store for each call (it is called from parallel
// subtests) and should close it in t.Cleanup; Run may close a store itself
// first, so a second Close must not fail the cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"NeverCreated", testNeverCreated},
		{"CreateThenSnapshot", testCreateThenSnapshot},
		{"OpsRanges", testOpsRanges},
		{"VersionConflict", testVersionConflict},
		{"BatchCommit", testBatchCommit},
		{"Snapshots", testSnapshots},
		{"DeleteThenRecreate", testDeleteThenRecreate},
		{"MetaRoundTrip", testMetaRoundTrip},
		{"JSONRoundTrip", testJSONRoundTrip},
		{"NamesDoNotMix", testNamesDoNotMix},
		{"CommitCopiesInput", testCommitCopiesInput},
		{"ReadsReturnCopies", testReadsReturnCopies},
		{"ConcurrentSameVersion", testConcurrentSameVersion},
		{"ConcurrentRetryLoop", testConcurrentRetryLoop},
		{"List", testList},
		{"ListPagination", testListPagination},
		{"Milestones", testMilestones},
		{"Ping", testPing},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each subtest has its own store; in parallel, the fsync waits
			// of a durable store overlap.
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// Package storagetest is the conformance suite for storage.Store
// implementations: Memory, storage/bolt and storage/mongo all run Run, so
// they behave the same behind the interface.
//
// The suite tests only behaviour the storage package documents: versions,
// the compare-and-set of Commit, Ops ranges and ErrMissingOps, bulk reads,
// metadata and JSON round trips, isolation of collections and ids, copying,
// concurrency, Lister order and pagination (when implemented), Pinger and
// Close. JSON data is compared by meaning (a store may re-encode it, as a
// MongoDB store does), but a nil json.RawMessage must come back nil.
//
// A store's test file runs it with a factory that returns a new, empty
// store and closes it at cleanup:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), bolt.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close(context.Background()) })
//			return s
//		})
//	}
//
// Tests of the optional interfaces (Lister, Pinger) skip when a store does
// not implement them. BenchmarkCommit and BenchmarkOps are shared
// benchmarks that take the same kind of factory.
package storagetest

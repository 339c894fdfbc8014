package mongo

import (
	"testing"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/storagetest"
)

// The shared storage benchmarks against the test server (or
// TANDEM_TEST_MONGO_URL); see docs/bench/mongo.md.

func BenchmarkCommit(b *testing.B) {
	storagetest.BenchmarkCommit(b, func(b *testing.B) storage.Store { return openStore(b, "") })
}

func BenchmarkOps(b *testing.B) {
	storagetest.BenchmarkOps(b, func(b *testing.B) storage.Store { return openStore(b, "") })
}

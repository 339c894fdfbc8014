// Package storage persists documents as an op log plus the current snapshot,
// with the commit rule of sharedb: ops and the snapshot they produce are
// written together, conditional on the stored version (compare-and-set), so
// any number of server instances can share one store without locks.
//
// Store is the small interface the rest of Tandem uses. Implementations:
// Memory (the in-memory twin, for tests and --store memory), storage/bolt
// (the embedded persistent default) and storage/mongo (schema-compatible
// with sharedb-mongo). storage/storagetest holds the conformance suite every
// implementation runs.
//
// Versions: a document that was never created has version 0 and an empty
// Type. Each committed op increments the version by one; the op at version v
// turns snapshot v into snapshot v+1. A deleted document keeps its version
// and has an empty Type; it may be created again.
//
// Implementations are safe for concurrent use. A Commit that returns nil is
// durable (for bolt: fsynced) before it returns.
package storage

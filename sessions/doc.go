// Package sessions owns the live documents of one Tandem instance and
// speaks the ShareDB protocol with its clients.
//
// A Manager holds one session per open document. A session is a goroutine
// that alone owns the document's snapshot, version, a window of recent ops,
// its subscribers and their doc presence; everything that happens to the
// document arrives on its mailbox and is handled in order. Submissions that
// queue up while a commit is in flight are transformed against each other
// and committed together in one store call (group commit), so a busy
// document costs one round trip to the store per batch, not per op.
//
// An Agent is one client connection, whatever carries it (WebSocket, or the
// HTTP fallbacks): it decodes messages, checks access and forwards
// document requests to sessions. The transport it writes to is bounded and
// non-blocking: a session never waits for a client, and a client that cannot
// keep up is disconnected by its transport.
//
// Multi-instance: sessions publish committed ops on the broker after the
// commit and apply ops committed elsewhere as they arrive. The store is the
// arbiter: a commit is conditional on the version, and a conflict makes the
// session catch up from the store and transform its batch again. Pub/sub is
// at most once; a gap in versions makes the session read the missing ops
// from the store, so no client misses an op.
//
// A panic while handling one document is recovered and logged; that
// session reloads its state from the store and no other document is
// affected.
package sessions

// Package loadtest is the engine of `tandem load`: it simulates editors and
// viewers of Tandem documents, measures the server, and checks at the end
// that nothing was lost, duplicated or diverged.
//
// # What it simulates
//
// An editor is a ShareDB client written here, speaking the wire protocol
// over gorilla/websocket with the state machine of sharedb's Doc: one op in
// flight (seq from a per-connection counter), later edits composed into one
// pending op, incoming ops transformed against both (own op 'left', server
// op 'right'), acks matched by src and seq, a fetch when an ack or an op
// does not fit the version, and after a lost socket a reconnect with the
// previous connection id and a resend of the in-flight op with the same src
// and seq. Error replies are handled as sharedb's hard rollback, since
// neither supported type can invert our ops.
//
// Editors type like people: short inserts and deletes at random places of
// their own copy, formatting for rich-text, in bursts with pauses around
// the requested rate, each editor from its own PRNG seeded from the run's
// seed. Every edit inserts a marker "[<tag>.<editor>.<n>]" and deletes only
// filler outside markers, so the final text shows each acknowledged edit
// exactly once if the server did its job.
//
// A viewer holds the document's Server-Sent Events stream, applies its
// snapshot and op events to its own copy, and reconnects with Last-Event-ID;
// with ViewerTransport "ws" it is instead a ShareDB client that subscribes
// and never writes, resubscribing from its version after a lost socket.
//
// # Phases
//
// Setup creates the documents (or reuses them), the ramp connects everyone,
// the measured phase lasts Config.Duration, the quiet phase stops typing and
// waits until every op is acknowledged and everyone holds the server's
// version, and the verification compares every copy with the server's
// snapshot and every acknowledged op with the text and the op log.
//
// # Concurrency and memory
//
// Each editor has one goroutine, reading its socket; everything else it
// does (typing, sending) runs under its mutex from that goroutine or from
// the shared scheduler's few workers, so an idle editor costs one parked
// goroutine, a socket with 1 KiB read buffer (write buffers come from a
// pool), and its state. Fan-out latency is measured without a shared map:
// each editor keeps the send times of its last 64 ops in a lock-free ring
// that receivers look up by src and seq. Latencies go into fixed-size
// log-linear histograms (1.6% resolution) with atomic counters.
//
// The package reads no flags and no environment; cmd/tandem does.
package loadtest

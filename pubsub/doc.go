// Package pubsub relays committed ops and presence between Tandem
// instances, on the channels of sharedb-redis-pubsub: "<collection>",
// "<collection>.<id>" and "$presence.<channel>", with JSON payloads in
// sharedb's format.
//
// Broker is the small interface; Memory is the in-process twin used by the
// embedded default (one instance), and pubsub/redis talks to Redis.
// Delivery is at most once, as with Redis pub/sub: a subscriber that may
// have missed messages (a dropped connection, a full queue) is told so with
// a nil message and catches up from the store. Handlers are called on the
// broker's delivery goroutine, in publish order per channel, and must not
// block.
//
// Buffers: Publish does not keep msg, so the caller may reuse it at once. A
// handler's msg is valid only during the call: brokers may share it between
// the handlers of a channel and reuse it for the next message, so handlers
// neither modify nor keep it (they copy what they keep). An empty payload
// arrives as an empty, non-nil msg. pubsubtest checks every broker for all
// of this.
package pubsub

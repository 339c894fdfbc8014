// Package redis is the Redis pub/sub Broker: several Tandem instances relay
// committed ops and presence through one Redis server, on the channels and
// with the payloads of sharedb-redis-pubsub 5.1.0, so Tandem and sharedb
// processes can share a Redis.
//
// # Wire format
//
// A channel is used as named ("<collection>", "<collection>.<id>",
// "$presence.<channel>"), or as "<Prefix> <channel>" when Config.Prefix is
// set, as sharedb's prefix option does. Publish runs one script per call,
// exactly as sharedb-redis-pubsub does:
//
//	EVAL "for i = 2, #ARGV do redis.call(\"publish\", ARGV[i], ARGV[1]) end" 0 <payload> <channel>...
//
// (as EVALSHA, falling back to EVAL when Redis does not know the script).
// Payloads are passed through byte for byte.
//
// # Connections and concurrency
//
// A Broker holds a small pool of connections for publishing and exactly one
// subscribing connection, whatever the number of local subscribers: the
// first local handler of a channel SUBSCRIBEs it, the last one to leave
// UNSUBSCRIBEs it. Messages are read by one goroutine and queued for one
// delivery goroutine, which calls the channel's handlers in the order
// Redis delivered the messages. Handlers must not block: while one runs, no
// other message is delivered. A slow handler never stalls the connection
// itself; when more than Config.QueueSize messages wait, further messages
// are dropped and the handlers of their channels get a nil message.
//
// Subscribe returns once Redis has confirmed the subscription (or after
// Config.SubscribeTimeout, or at once while Redis is unreachable); if it
// returns before that, the handler gets a nil message when the subscription
// becomes live, so a subscriber that loads state after Subscribe returns
// never silently misses a message.
//
// # Failures
//
// Redis pub/sub is at most once. When the subscribing connection drops
// (Redis restarts, the network fails, CLIENT KILL) or stays silent for two
// Config.PingInterval, the Broker reconnects with a backoff (50ms doubling
// up to 2s), subscribes every channel again and then calls every registered
// handler once with a nil message: messages may have been lost, catch up
// from the store. Publish returns errors; it does not queue or retry beyond
// go-redis's own retries.
//
// This package does not persist anything, does not use pattern or sharded
// subscriptions, and does not support Redis Cluster or Sentinel.
package redis

// Package pubsubtest is the conformance suite every pubsub.Broker runs:
//
//	func TestConformance(t *testing.T) {
//		pubsubtest.Run(t, func(t *testing.T) pubsub.Broker { return pubsub.NewMemory() })
//	}
//
// It checks delivery to exactly the subscribers of a channel, publishing to
// several channels at once, order per channel, unsubscribing (idempotent,
// per registration, from inside a handler, and subscribing again), payloads
// byte for byte, copy semantics, concurrent use, Close, and, given WithPeer,
// that two brokers on one backend (two instances) see each other's
// messages.
//
// The copy semantics checked and relied on: Publish does not keep msg (the
// caller may reuse its buffer as soon as Publish returns), and a handler's
// msg is valid only during the call (a handler that keeps it copies it, and
// none modifies it). A nil msg means "messages may have been lost"; the
// suite tolerates such calls at any time but counts on them being rare, as
// the brokers it runs against lose nothing while healthy. An empty payload
// arrives as an empty, non-nil msg.
//
// Channel names are unique per test, so brokers sharing one backend (a
// Redis server) across tests and packages do not see each other's traffic.
package pubsubtest

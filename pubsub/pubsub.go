package pubsub

import (
	"context"
	"errors"
)

// Handler receives one message published on a channel it subscribed to.
// msg == nil means messages may have been lost (for example Redis
// reconnected); the subscriber should catch up from the store. Handlers
// must not block and must not keep msg after returning.
type Handler func(msg []byte)

// Broker publishes and subscribes to channels.
type Broker interface {
	// Publish sends msg to every channel, in order.
	Publish(ctx context.Context, channels []string, msg []byte) error
	// Subscribe registers h for channel. The returned function removes
	// exactly this registration; it is safe to call more than once.
	Subscribe(channel string, h Handler) (unsubscribe func(), err error)
	// Close stops delivery.
	Close() error
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("pubsub: closed")

// DocChannel is the channel of one document's ops, as sharedb names it.
func DocChannel(collection, id string) string { return collection + "." + id }

// PresenceChannel is the broker channel of a presence channel.
func PresenceChannel(ch string) string { return "$presence." + ch }

package redis

import (
	"errors"
	"log/slog"
	"time"
)

// Config configures a Broker. Zero values mean the documented defaults.
type Config struct {
	// URL is the Redis server: redis://[[user]:password@]host[:port][/db],
	// or rediss:// for TLS, with go-redis's query options
	// (?dial_timeout=3s&protocol=2 ...). Required.
	URL string
	// Prefix, when not empty, turns every channel into "<Prefix> <channel>",
	// as sharedb-redis-pubsub's prefix option does.
	Prefix string
	// Logger receives connection events. Nil means slog.Default().
	Logger *slog.Logger
	// SubscribeTimeout is how long Subscribe waits for Redis to confirm a
	// new channel. Zero means 5s.
	SubscribeTimeout time.Duration
	// PublishTimeout bounds one Publish whose context has no earlier
	// deadline. Zero means 5s.
	PublishTimeout time.Duration
	// PingInterval is how long the subscribing connection may be silent
	// before the broker pings Redis; without an answer for another interval
	// the connection is replaced. Zero means 3s.
	PingInterval time.Duration
	// QueueSize is how many received messages may wait for the delivery
	// goroutine; beyond it messages are dropped and their channels'
	// handlers get a nil message. Zero means 65536.
	QueueSize int
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SubscribeTimeout == 0 {
		c.SubscribeTimeout = 5 * time.Second
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 5 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 3 * time.Second
	}
	if c.QueueSize == 0 {
		c.QueueSize = 1 << 16
	}
	return c
}

// Validate reports a missing URL or a negative setting.
func (c Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("pubsub/redis: URL is required")
	case c.SubscribeTimeout < 0, c.PublishTimeout < 0, c.PingInterval < 0:
		return errors.New("pubsub/redis: timeouts must not be negative")
	case c.QueueSize < 0:
		return errors.New("pubsub/redis: QueueSize must not be negative")
	}
	return nil
}

// Reconnect backoff of the subscribing connection.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tandemhq/tandem/pubsub"
)

// publishScript is sharedb-redis-pubsub's PUBLISH_SCRIPT, byte for byte.
var publishScript = goredis.NewScript(`for i = 2, #ARGV do redis.call("publish", ARGV[i], ARGV[1]) end`)

// Broker is a pubsub.Broker on Redis. See the package documentation.
type Broker struct {
	cfg    Config
	log    *slog.Logger
	pub    *goredis.Client // publishing pool
	sub    *goredis.Client // makes the subscribing connection only
	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// epoch counts subscribing connections made (go-redis's OnConnect):
	// go-redis may reconnect on its own, for example after a failed write,
	// and this is how the reader learns of reconnections it did not see.
	epoch atomic.Uint64
	kick  chan struct{} // wakes the subscription manager; cap 1
	q     queue
	// synced is closed after the first connection is established.
	synced     chan struct{}
	syncedOnce sync.Once

	psMu     sync.Mutex // guards ps and psClosed
	ps       *goredis.PubSub
	psClosed bool

	mu     sync.Mutex // guards everything below
	closed bool
	// chans holds the local handlers of each channel, by Redis name
	// (prefixed).
	chans  map[string]*channel
	nextID uint64
	// sent holds the channels in the PubSub's set: SUBSCRIBE was sent, and
	// go-redis subscribes them again on every new connection. Only the
	// manager changes it (and replacePubSub clears it).
	sent map[string]bool
	// dirty holds channels whose first handler came or last handler went
	// since the manager last looked.
	dirty map[string]struct{}
	// resync asks the manager to confirm every subscription and then tell
	// every handler it may have missed messages.
	resync bool
	// barriers are outstanding PINGs, by payload: the PONG means every
	// command sent before it is in effect.
	barriers    map[string]*barrier
	nextBarrier uint64
	// connected is false from a lost connection until the resync after it.
	connected bool
	// down is closed when the connection is lost, to release waiting
	// Subscribe calls; then replaced.
	down chan struct{}
}

// channel is the local state of one Redis channel.
type channel struct {
	name string
	// handlers is copied on write: the delivery goroutine iterates a
	// snapshot without holding the lock.
	handlers []registration
	// ready means Redis has confirmed the subscription on the current
	// connection; readyC is closed then.
	ready  bool
	readyC chan struct{}
	// notify means a Subscribe returned before ready: the handlers get a
	// nil message when the channel becomes ready.
	notify bool
}

type registration struct {
	id uint64
	h  pubsub.Handler
}

type barrier struct {
	seq    uint64
	resync bool
	chans  []*channel
}

var _ pubsub.Broker = (*Broker)(nil)

// New connects to Redis and starts the broker. It returns an error if Redis
// cannot be reached before ctx ends.
func New(ctx context.Context, cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	opt, err := goredis.ParseURL(cfg.URL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep
		// only what is wrong with it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("pubsub/redis: URL: %w", err)
	}
	b := &Broker{
		cfg:      cfg,
		log:      cfg.Logger,
		kick:     make(chan struct{}, 1),
		synced:   make(chan struct{}),
		chans:    make(map[string]*channel),
		sent:     make(map[string]bool),
		dirty:    make(map[string]struct{}),
		barriers: make(map[string]*barrier),
		down:     make(chan struct{}),
		resync:   true,
	}
	b.q.init(cfg.QueueSize)
	subOpt := *opt
	subOpt.OnConnect = func(ctx context.Context, cn *goredis.Conn) error {
		b.epoch.Add(1)
		if opt.OnConnect != nil {
			return opt.OnConnect(ctx, cn)
		}
		return nil
	}
	b.pub = goredis.NewClient(opt)
	b.sub = goredis.NewClient(&subOpt)
	if err := b.pub.Ping(ctx).Err(); err != nil {
		_ = b.pub.Close()
		_ = b.sub.Close()
		return nil, fmt.Errorf("pubsub/redis: ping %s: %w", opt.Addr, err)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.ps = b.sub.Subscribe(b.ctx)
	// Connect before the reader starts, so that it does not take the first
	// connection for a reconnection.
	if err := b.ps.Ping(ctx, healthPing); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("pubsub/redis: subscribing connection to %s: %w", opt.Addr, err)
	}
	b.wg.Add(3)
	go b.read(b.epoch.Load())
	go b.manage()
	go b.deliver()
	b.poke()
	select {
	case <-b.synced:
		return b, nil
	case <-ctx.Done():
		_ = b.Close()
		return nil, fmt.Errorf("pubsub/redis: subscribing connection to %s: %w", opt.Addr, ctx.Err())
	}
}

// name is the Redis channel of channel.
func (b *Broker) name(channel string) string {
	if b.cfg.Prefix == "" {
		return channel
	}
	return b.cfg.Prefix + " " + channel
}

// Publish sends msg to every channel with one script call. It does not keep
// msg.
func (b *Broker) Publish(ctx context.Context, channels []string, msg []byte) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return pubsub.ErrClosed
	}
	if len(channels) == 0 {
		return nil
	}
	if msg == nil {
		msg = []byte{}
	}
	args := make([]any, 1, 1+len(channels))
	args[0] = msg
	for _, ch := range channels {
		args = append(args, b.name(ch))
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
	defer cancel()
	// The script returns nothing, which go-redis reports as goredis.Nil.
	err := publishScript.Run(ctx, b.pub, nil, args...).Err()
	switch {
	case err == nil, errors.Is(err, goredis.Nil):
		return nil
	case errors.Is(err, goredis.ErrClosed):
		return pubsub.ErrClosed // Close ran meanwhile
	}
	return fmt.Errorf("pubsub/redis: publish: %w", err)
}

// Subscribe registers h for channel. When this is the channel's first local
// handler it subscribes on Redis and waits for the confirmation (see the
// package documentation). h runs on the delivery goroutine, must not block,
// and must not keep or modify msg after returning (copy it).
func (b *Broker) Subscribe(ch string, h pubsub.Handler) (func(), error) {
	if h == nil {
		return nil, errors.New("pubsub/redis: nil handler")
	}
	name := b.name(ch)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, pubsub.ErrClosed
	}
	b.nextID++
	id := b.nextID
	c := b.chans[name]
	if c == nil {
		c = &channel{name: name, readyC: make(chan struct{})}
		b.chans[name] = c
		b.dirty[name] = struct{}{}
		b.poke()
	}
	c.handlers = append(slices.Clip(c.handlers), registration{id, h})
	ready, readyC, down, connected := c.ready, c.readyC, b.down, b.connected
	b.mu.Unlock()

	if !ready && connected {
		t := time.NewTimer(b.cfg.SubscribeTimeout)
		select {
		case <-readyC:
			ready = true
		case <-down:
		case <-t.C:
			b.log.Warn("redis pubsub: subscription not confirmed in time", "channel", name, "timeout", b.cfg.SubscribeTimeout)
		case <-b.ctx.Done():
		}
		t.Stop()
	}
	if !ready {
		b.mu.Lock()
		if !c.ready {
			c.notify = true
		}
		b.mu.Unlock()
	}
	var once sync.Once
	return func() { once.Do(func() { b.unsubscribe(name, id) }) }, nil
}

func (b *Broker) unsubscribe(name string, id uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.chans[name]
	if c == nil {
		return
	}
	i := slices.IndexFunc(c.handlers, func(r registration) bool { return r.id == id })
	if i < 0 {
		return
	}
	if len(c.handlers) == 1 {
		delete(b.chans, name)
		b.dirty[name] = struct{}{}
		b.poke()
		return
	}
	c.handlers = slices.Delete(slices.Clone(c.handlers), i, i+1)
}

// Close stops delivery, waits for the broker's goroutines and closes the
// connections. It is idempotent. It must not be called from a handler.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	if b.cancel != nil {
		b.cancel()
		b.psMu.Lock()
		b.psClosed = true
		ps := b.ps
		b.psMu.Unlock()
		_ = ps.Close() // ends a blocked Receive
		b.wg.Wait()
	}
	return errors.Join(b.pub.Close(), b.sub.Close())
}

// poke wakes the manager.
func (b *Broker) poke() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func (b *Broker) pubsub() *goredis.PubSub {
	b.psMu.Lock()
	defer b.psMu.Unlock()
	return b.ps
}

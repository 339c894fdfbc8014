package redis

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The subscribing connection is driven by two goroutines:
//
//   - read is the only caller of Receive. It queues messages for delivery,
//     answers barrier PONGs, notices lost connections and reconnections and
//     keeps the connection honest with PINGs.
//   - manage is the only sender of SUBSCRIBE, UNSUBSCRIBE and barrier PINGs.
//     It brings Redis in line with the local handlers in batches, so that
//     commands for one channel are never reordered.
//
// Knowing when a subscription is in effect: Redis answers commands on one
// connection in order, so the PONG of a "PING <token>" sent after
// SUBSCRIBE proves the subscription. That holds across go-redis's own
// reconnects too: go-redis adds a channel to its set when SUBSCRIBE is
// sent and subscribes the whole set on every new connection before any
// other command, so whatever connection the PING went out on had the
// channel.

const (
	barrierPrefix = "tandem:"
	healthPing    = "tandem:health"
)

// read runs the subscribing connection; seen is the epoch of the
// connection New made.
func (b *Broker) read(seen uint64) {
	defer b.wg.Done()
	var (
		needResync bool
		pinged     bool // a health PING is unanswered
		dropping   bool // the delivery queue is full
		backoff    = minBackoff
		failures   int
		ps         = b.pubsub()
		ctx        = b.ctx
	)
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.cfg.PingInterval)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !isTimeout(err) {
			if cur := b.pubsub(); errors.Is(err, goredis.ErrClosed) && cur != ps {
				ps = cur // replaced under us
				continue
			}
			failures++
			if failures == 1 {
				b.log.Warn("redis pubsub: connection lost; reconnecting", "err", err)
			} else {
				b.log.Debug("redis pubsub: reconnect failed", "err", err, "attempt", failures)
			}
			b.lost()
			needResync, pinged = true, false
			d := backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		if failures > 0 {
			b.log.Info("redis pubsub: reconnected", "attempts", failures)
			failures = 0
		}
		backoff = minBackoff
		if e := b.epoch.Load(); e != seen {
			seen = e
			needResync = true
		}
		if needResync {
			needResync = false
			b.requestResync()
		}
		if err != nil { // a timeout: nothing came for PingInterval
			if !pinged {
				pinged = true
				pctx, cancel := context.WithTimeout(ctx, b.cfg.PingInterval)
				_ = ps.Ping(pctx, healthPing)
				cancel()
				continue
			}
			b.log.Warn("redis pubsub: connection silent; replacing it", "silent_for", 2*b.cfg.PingInterval)
			ps = b.replacePubSub(ps)
			b.lost()
			needResync, pinged = true, false
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Message:
			switch ok := b.q.push(m.Channel, m.Payload); {
			case !ok && !dropping:
				b.log.Warn("redis pubsub: delivery queue full; dropping messages, subscribers will catch up", "queue_size", b.cfg.QueueSize)
				dropping = true
			case ok:
				dropping = false
			}
		case *goredis.Pong:
			b.onPong(m.Payload)
		case *goredis.Subscription:
			// Confirmations carry no order guarantee we could use across
			// reconnects; barriers do.
		}
	}
}

// isTimeout reports a read deadline passing: the connection is fine but
// quiet. A dial timeout is a failure like any other.
func isTimeout(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "read" && oe.Timeout()
}

// lost records that the subscribing connection went away: no channel is
// confirmed any more and outstanding barriers will never be answered.
func (b *Broker) lost() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.connected {
		b.connected = false
		close(b.down)
		b.down = make(chan struct{})
	}
	clear(b.barriers)
	for _, c := range b.chans {
		if c.ready {
			c.ready = false
			c.readyC = make(chan struct{})
		}
	}
}

// requestResync asks the manager for a barrier over every channel; its
// PONG tells every handler that messages may have been lost.
func (b *Broker) requestResync() {
	b.mu.Lock()
	b.resync = true
	b.mu.Unlock()
	b.poke()
}

// replacePubSub closes a connection that stopped answering and starts a
// new, empty PubSub; the manager subscribes every channel on it again.
func (b *Broker) replacePubSub(old *goredis.PubSub) *goredis.PubSub {
	b.psMu.Lock()
	if b.psClosed || b.ps != old {
		ps := b.ps
		b.psMu.Unlock()
		return ps
	}
	b.ps = b.sub.Subscribe(b.ctx)
	ps := b.ps
	b.psMu.Unlock()
	_ = old.Close()
	b.mu.Lock()
	clear(b.sent)
	for name := range b.chans {
		b.dirty[name] = struct{}{}
	}
	b.mu.Unlock()
	b.poke()
	return ps
}

func (b *Broker) onPong(payload string) {
	if payload == healthPing || len(payload) <= len(barrierPrefix) || payload[:len(barrierPrefix)] != barrierPrefix {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.barriers[payload]
	if br == nil {
		return
	}
	// Redis answers in order: barriers sent before this one and still
	// unanswered went out on a connection that is gone, and the resync
	// after that reconnection covers their channels.
	for token, old := range b.barriers {
		if old.seq <= br.seq {
			delete(b.barriers, token)
		}
	}
	for _, c := range br.chans {
		if b.chans[c.name] != c {
			continue // gone since
		}
		if br.resync || c.notify {
			b.q.pushMissed(c.name)
			c.notify = false
		}
		if !c.ready {
			c.ready = true
			close(c.readyC)
		}
	}
	if br.resync {
		b.connected = true
		b.syncedOnce.Do(func() { close(b.synced) })
	}
}

// manage sends SUBSCRIBE and UNSUBSCRIBE for the channels whose first
// handler came or last handler went, then a barrier PING for those not yet
// confirmed (and, on resync, for all).
func (b *Broker) manage() {
	defer b.wg.Done()
	ctx := b.ctx
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
		var subs, unsubs []string
		var wait []*channel
		b.mu.Lock()
		for name := range b.dirty {
			c := b.chans[name]
			switch {
			case c != nil && !b.sent[name]:
				subs = append(subs, name)
				b.sent[name] = true
			case c == nil && b.sent[name]:
				unsubs = append(unsubs, name)
				delete(b.sent, name)
			}
			if c != nil && !c.ready {
				wait = append(wait, c)
			}
		}
		clear(b.dirty)
		resync := b.resync
		b.resync = false
		if resync {
			wait = wait[:0]
			for _, c := range b.chans {
				wait = append(wait, c)
			}
		}
		var token string
		if len(wait) > 0 || resync {
			b.nextBarrier++
			token = barrierPrefix + strconv.FormatUint(b.nextBarrier, 10)
			b.barriers[token] = &barrier{seq: b.nextBarrier, resync: resync, chans: wait}
		}
		b.mu.Unlock()

		// Errors need no handling here: go-redis keeps its channel set
		// whether or not the command went out, a lost connection is the
		// reader's business, and the resync after it covers every channel.
		ps := b.pubsub()
		if len(unsubs) > 0 {
			if err := ps.Unsubscribe(ctx, unsubs...); err != nil {
				b.log.Debug("redis pubsub: unsubscribe", "channels", len(unsubs), "err", err)
			}
		}
		if len(subs) > 0 {
			if err := ps.Subscribe(ctx, subs...); err != nil {
				b.log.Debug("redis pubsub: subscribe", "channels", len(subs), "err", err)
			}
		}
		if token != "" {
			if err := ps.Ping(ctx, token); err != nil {
				b.log.Debug("redis pubsub: barrier ping", "err", err)
			}
		}
	}
}

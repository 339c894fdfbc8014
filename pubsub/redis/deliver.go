package redis

import "sync"

// queue hands received messages from the reader to the delivery goroutine.
// The reader never waits: past limit, messages are dropped and replaced by
// one "missed" marker per channel.
type queue struct {
	mu    sync.Mutex // guards items, msgs and missed
	items []item
	msgs  int // messages (not markers) in items
	// missed holds channels with a marker in items.
	missed map[string]bool
	limit  int
	wake   chan struct{} // cap 1
}

// item is a message, or a marker (missed) telling the channel's handlers
// that messages may have been lost.
type item struct {
	channel string
	payload string
	missed  bool
}

func (q *queue) init(limit int) {
	q.limit = limit
	q.missed = make(map[string]bool)
	q.wake = make(chan struct{}, 1)
}

// push queues a message; it reports false if the queue was full and the
// message was dropped.
func (q *queue) push(channel, payload string) bool {
	q.mu.Lock()
	if q.msgs >= q.limit {
		q.mu.Unlock()
		q.pushMissed(channel)
		return false
	}
	q.msgs++
	q.items = append(q.items, item{channel: channel, payload: payload})
	q.mu.Unlock()
	q.signal()
	return true
}

// pushMissed queues a marker for channel unless one is already waiting.
func (q *queue) pushMissed(channel string) {
	q.mu.Lock()
	if q.missed[channel] {
		q.mu.Unlock()
		return
	}
	q.missed[channel] = true
	q.items = append(q.items, item{channel: channel, missed: true})
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take swaps the queued items for spare (emptied).
func (q *queue) take(spare []item) []item {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = spare[:0]
	q.msgs = 0
	for _, it := range items {
		if it.missed {
			delete(q.missed, it.channel)
		}
	}
	return items
}

// maxScratch is the largest delivery buffer kept between messages.
const maxScratch = 1 << 20

// deliver calls handlers, one message at a time, in the order received.
func (b *Broker) deliver() {
	defer b.wg.Done()
	var (
		batch, spare []item
		scratch      = make([]byte, 0, 4096)
	)
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.q.wake:
		}
		for {
			batch = b.q.take(spare)
			if len(batch) == 0 {
				spare = batch
				break
			}
			for i := range batch {
				if b.ctx.Err() != nil {
					return
				}
				it := &batch[i]
				hs := b.handlers(it.channel)
				if it.missed {
					for _, r := range hs {
						r.h(nil)
					}
				} else if len(hs) > 0 {
					// One copy shared by the channel's handlers, reused for
					// the next message: handlers must not keep it.
					scratch = append(scratch[:0], it.payload...)
					msg := scratch[:len(scratch):len(scratch)]
					for _, r := range hs {
						r.h(msg)
					}
					if cap(scratch) > maxScratch {
						scratch = make([]byte, 0, 4096)
					}
				}
				*it = item{}
			}
			spare = batch
		}
	}
}

// handlers returns the current handlers of channel; the slice is never
// modified in place.
func (b *Broker) handlers(channel string) []registration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.chans[channel]; c != nil {
		return c.handlers
	}
	return nil
}

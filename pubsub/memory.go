package pubsub

import (
	"context"
	"sync"
)

// Memory is the in-process Broker: every subscriber in this process gets
// every message, in publish order, from one delivery goroutine. Publish
// never blocks on subscribers: messages wait in an unbounded queue, which
// the delivery goroutine drains.
type Memory struct {
	mu sync.Mutex // guards everything below
	// subs maps a channel to its handlers, keyed by registration id.
	subs   map[string]map[uint64]Handler
	nextID uint64
	queue  []delivery
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

type delivery struct {
	channel string
	msg     []byte
}

var _ Broker = (*Memory)(nil)

// NewMemory starts an in-process broker.
func NewMemory() *Memory {
	m := &Memory{
		subs: make(map[string]map[uint64]Handler),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	go m.run()
	return m
}

// Publish queues msg for every channel.
func (m *Memory) Publish(_ context.Context, channels []string, msg []byte) error {
	cp := make([]byte, len(msg)) // never nil: nil means "missed"
	copy(cp, msg)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	for _, ch := range channels {
		m.queue = append(m.queue, delivery{ch, cp})
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return nil
}

// Subscribe registers h on channel.
func (m *Memory) Subscribe(channel string, h Handler) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.nextID++
	id := m.nextID
	hs := m.subs[channel]
	if hs == nil {
		hs = make(map[uint64]Handler)
		m.subs[channel] = hs
	}
	hs[id] = h
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if hs := m.subs[channel]; hs != nil {
				delete(hs, id)
				if len(hs) == 0 {
					delete(m.subs, channel)
				}
			}
		})
	}, nil
}

// Close stops the delivery goroutine; queued messages are dropped.
func (m *Memory) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.queue = nil
	m.mu.Unlock()
	close(m.done)
	return nil
}

func (m *Memory) run() {
	var handlers []Handler
	for {
		select {
		case <-m.done:
			return
		case <-m.wake:
		}
		for {
			m.mu.Lock()
			if m.closed || len(m.queue) == 0 {
				m.mu.Unlock()
				break
			}
			d := m.queue[0]
			m.queue[0] = delivery{}
			m.queue = m.queue[1:]
			handlers = handlers[:0]
			for _, h := range m.subs[d.channel] {
				handlers = append(handlers, h)
			}
			m.mu.Unlock()
			for _, h := range handlers {
				h(d.msg)
			}
		}
	}
}

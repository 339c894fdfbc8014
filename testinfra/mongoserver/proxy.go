package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// Wire protocol constants (MongoDB OP_MSG and friends).
const (
	opMsg        = 2013
	headerLen    = 16
	maxMsgLen    = 48_000_000 // maxMessageSizeBytes that FerretDB reports
	flagMoreToCo = 1 << 1     // OP_MSG moreToCome: the sender expects no reply
)

// serialized lists the commands that run under the write lock: every
// command that changes data or the catalog. FerretDB's update, delete and
// findAndModify read the matching documents and write them back without
// anything atomic in between, so two conditional updates could both match.
var serialized = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true, "findandmodify": true,
	"create": true, "createIndexes": true, "drop": true, "dropDatabase": true, "dropIndexes": true,
	"renameCollection": true, "collMod": true,
}

// proxy forwards MongoDB wire-protocol connections to the backend, one
// backend connection per client connection, and holds writeLock from
// forwarding a serialized command until its reply is back, so that no two
// writes run inside the backend at once.
type proxy struct {
	dial func(ctx context.Context) (net.Conn, error)
	log  *slog.Logger
	// writeLock is a one-slot semaphore rather than a sync.Mutex because it
	// is taken on a connection's request goroutine and released on its
	// reply goroutine.
	writeLock chan struct{}
	// serialize is false only in the test that shows the lock is needed.
	serialize bool

	mu    sync.Mutex // guards conns
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(dial func(ctx context.Context) (net.Conn, error), log *slog.Logger, serialize bool) *proxy {
	return &proxy{dial: dial, log: log, writeLock: make(chan struct{}, 1), serialize: serialize,
		conns: make(map[net.Conn]struct{})}
}

// serve accepts connections until ln is closed or ctx is done, then closes
// every open connection and waits for their goroutines.
func (p *proxy) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer func() {
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(ctx, c)
		}()
	}
}

func (p *proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

// pending is the lock state of one connection pair: the request id of the
// serialized command whose reply is awaited, if the lock is held for one.
type pending struct {
	mu   sync.Mutex // guards held and id
	held bool
	id   int32
}

func (p *proxy) handle(ctx context.Context, client net.Conn) {
	defer client.Close()
	backend, err := p.dial(ctx)
	if err != nil {
		p.log.Error("dial backend", "err", err)
		return
	}
	defer backend.Close()
	p.track(client, true)
	p.track(backend, true)
	defer p.track(client, false)
	defer p.track(backend, false)

	var st pending
	// Whatever ends the pair, a lock it holds is given back.
	defer func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.held {
			st.held = false
			<-p.writeLock
		}
	}()

	done := make(chan struct{})
	go func() {
		defer close(done)
		defer client.Close()
		defer backend.Close()
		// Replies: backend -> client. The reply to the serialized command
		// gives the lock back before it is passed on.
		r := bufio.NewReaderSize(backend, 64<<10)
		for {
			msg, err := readMessage(r)
			if err != nil {
				return
			}
			responseTo := int32(binary.LittleEndian.Uint32(msg[8:12]))
			st.mu.Lock()
			if st.held && st.id == responseTo {
				st.held = false
				<-p.writeLock
			}
			st.mu.Unlock()
			if _, err := client.Write(msg); err != nil {
				return
			}
		}
	}()

	// Requests: client -> backend.
	r := bufio.NewReaderSize(client, 64<<10)
	for {
		msg, err := readMessage(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.log.Debug("read request", "err", err)
			}
			break
		}
		if name, reply := commandOf(msg); p.serialize && serialized[name] && reply {
			select {
			case p.writeLock <- struct{}{}:
			case <-done:
				// The reply side is gone: nothing more can be answered.
				backend.Close()
				return
			}
			// Recorded before the command is sent, so its reply cannot
			// arrive first.
			st.mu.Lock()
			st.held, st.id = true, int32(binary.LittleEndian.Uint32(msg[4:8]))
			st.mu.Unlock()
		}
		if _, err := backend.Write(msg); err != nil {
			break
		}
	}
	backend.Close()
	<-done
}

// readMessage reads one whole wire-protocol message, header included.
func readMessage(r *bufio.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.LittleEndian.Uint32(h[:])))
	if n < headerLen || n > maxMsgLen {
		return nil, fmt.Errorf("bad message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, h[:])
	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// commandOf returns the command name of an OP_MSG request (the first key of
// its body section) and whether the sender expects a reply. Other opcodes
// (OP_QUERY handshakes; OP_COMPRESSED is never negotiated because FerretDB
// offers no compressor) return "".
func commandOf(msg []byte) (name string, reply bool) {
	if len(msg) < headerLen+4 || binary.LittleEndian.Uint32(msg[12:16]) != opMsg {
		return "", true
	}
	flags := binary.LittleEndian.Uint32(msg[16:20])
	reply = flags&flagMoreToCo == 0
	end := len(msg)
	if flags&1 != 0 { // checksumPresent
		end -= 4
	}
	for i := headerLen + 4; i < end; {
		kind := msg[i]
		i++
		if i+4 > end {
			return "", reply
		}
		size := int(int32(binary.LittleEndian.Uint32(msg[i:])))
		if size < 5 || i+size > end {
			return "", reply
		}
		if kind == 0 {
			// BSON document: int32 length, then elements: type, cstring key, value.
			doc := msg[i : i+size]
			if doc[4] == 0 {
				return "", reply
			}
			for j := 5; j < len(doc); j++ {
				if doc[j] == 0 {
					return string(doc[5:j]), reply
				}
			}
			return "", reply
		}
		i += size
	}
	return "", reply
}

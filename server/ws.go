package server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/sessions"
)

// hijackWriter is the http.ResponseWriter gorilla's Upgrader needs, over a
// connection fasthttp has handed to us.
type hijackWriter struct {
	conn     net.Conn
	h        http.Header
	code     int
	hijacked bool
	sent     bool
}

func (w *hijackWriter) Header() http.Header { return w.h }
func (w *hijackWriter) WriteHeader(c int)   { w.code = c }

// Write is only used when the handshake is refused.
func (w *hijackWriter) Write(p []byte) (int, error) {
	if !w.sent {
		w.sent = true
		if w.code == 0 {
			w.code = http.StatusOK
		}
		fmt.Fprintf(w.conn, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
			w.code, http.StatusText(w.code), len(p))
	}
	return w.conn.Write(p)
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	return w.conn, bufio.NewReadWriter(bufio.NewReaderSize(w.conn, 16), bufio.NewWriterSize(w.conn, 16)), nil
}

// gorillaHandler hands an upgrade request to gorilla/websocket. prepare
// runs in the Fiber handler (it may refuse the request with an HTTP error);
// serve runs on a goroutine of its own once the connection is hijacked.
func gorillaHandler(up *websocket.Upgrader, prepare func(c *fiber.Ctx) (any, error), serve func(ws *websocket.Conn, bc *batchConn, state any)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, err := url.ParseRequestURI(string(c.Request().RequestURI()))
		if err != nil {
			return fiber.ErrBadRequest
		}
		r := &http.Request{Method: c.Method(), URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: string(c.Request().Host()), RemoteAddr: c.Context().RemoteAddr().String()}
		c.Request().Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
		if !websocket.IsWebSocketUpgrade(r) {
			return fiber.NewError(fiber.StatusUpgradeRequired, "this endpoint speaks WebSocket")
		}
		if !up.CheckOrigin(r) {
			return fiber.NewError(fiber.StatusForbidden, "origin not allowed")
		}
		state, err := prepare(c)
		if err != nil {
			return err
		}
		c.Context().HijackSetNoResponse(true)
		c.Context().Hijack(func(conn net.Conn) {
			// Serve on the raw socket in a goroutine of our own and let
			// fasthttp's handler return, so it frees its request context
			// and read buffer at once instead of holding them for the
			// connection's life (about 6 KiB each). Nothing can be lost in
			// fasthttp's buffer: a WebSocket client sends nothing before
			// the 101 (RFC 6455 4.1), and the upgrade has not happened yet.
			if u, ok := conn.(interface{ UnsafeConn() net.Conn }); ok {
				conn = u.UnsafeConn()
			}
			go func() {
				bc := &batchConn{Conn: conn}
				ws, err := up.Upgrade(&hijackWriter{conn: bc, h: http.Header{}}, r, nil)
				if err != nil {
					conn.Close()
					ws = nil
				}
				serve(ws, bc, state) // serve releases what prepare took, even on failure
			}()
		})
		return nil
	}
}

// batchConn lets the writer put several frames into one system call: while
// batching, writes are collected and sent by flush. Outside a batch, writes
// (the reader answering a close or ping through gorilla) go straight out.
type batchConn struct {
	net.Conn
	mu       sync.Mutex // guards buf and batching
	buf      []byte
	batching bool
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

func (b *batchConn) startBatch() {
	b.mu.Lock()
	b.batching = true
	b.mu.Unlock()
}

// flush ends a batch and writes what it collected.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	if cap(b.buf) > 64<<10 {
		b.buf = nil // let a burst's buffer go
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// wsConn is one client WebSocket. It implements sessions.Transport. The
// reader is the connection's goroutine; writing happens on a goroutine
// started when something is queued and gone when the queue is empty, so
// an idle connection holds one goroutine and no buffers. The queue is a
// slice that grows with what is waiting and shrinks back.
type wsConn struct {
	ws       *websocket.Conn
	bc       *batchConn
	maxBytes int

	mu      sync.Mutex // guards queue, queued, writing and pingDue
	queue   [][]byte
	queued  int  // bytes in queue
	writing bool // a drain goroutine is running
	pingDue bool

	done     chan struct{} // closed by Close
	once     sync.Once
	reason   atomic.Value  // string
	finished chan struct{} // closed once the socket is closed
}

func newWSConn(ws *websocket.Conn, bc *batchConn, maxBytes int64) *wsConn {
	return &wsConn{ws: ws, bc: bc, maxBytes: int(maxBytes), done: make(chan struct{}), finished: make(chan struct{})}
}

// Send queues msg. A client that cannot keep up is disconnected rather
// than allowed to make the server buffer without bound.
func (c *wsConn) Send(msg []byte) bool {
	if c.closed() {
		return false
	}
	c.mu.Lock()
	if c.queued+len(msg) > c.maxBytes {
		c.mu.Unlock()
		c.Close("slow client: send queue full")
		return false
	}
	c.queue = append(c.queue, msg)
	c.queued += len(msg)
	c.startWriterLocked()
	c.mu.Unlock()
	return true
}

// ping asks the writer to send a ping (the server's pinger calls it).
func (c *wsConn) ping() {
	c.mu.Lock()
	c.pingDue = true
	c.startWriterLocked()
	c.mu.Unlock()
}

// startWriterLocked starts a drain goroutine unless one runs. c.mu held.
func (c *wsConn) startWriterLocked() {
	if !c.writing {
		c.writing = true
		go c.drain()
	}
}

// Close ends the connection; safe from any goroutine, any number of times.
// The writer sends what is queued (unless the client is slow) and a close
// frame, then closes the socket.
func (c *wsConn) Close(reason string) {
	c.once.Do(func() {
		c.reason.Store(reason)
		close(c.done)
		c.mu.Lock()
		c.startWriterLocked()
		c.mu.Unlock()
	})
}

func (c *wsConn) closeReason() string {
	if r, ok := c.reason.Load().(string); ok {
		return r
	}
	return ""
}

func (c *wsConn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

const writeWait = 10 * time.Second

// drain is the only writer of the socket while it runs: it writes what is
// queued in batches (one system call each) and exits when the queue is
// empty, or closes the connection when Close was called.
func (c *wsConn) drain() {
	var batch [][]byte
	for {
		c.mu.Lock()
		if c.closed() {
			c.mu.Unlock()
			c.finish()
			return
		}
		if len(c.queue) == 0 && !c.pingDue {
			c.writing = false
			c.mu.Unlock()
			return
		}
		batch = append(batch[:0], c.queue...)
		clear(c.queue)
		c.queue = c.queue[:0]
		if cap(c.queue) > 64 {
			c.queue = nil
		}
		c.queued = 0
		ping := c.pingDue
		c.pingDue = false
		c.mu.Unlock()

		if err := c.writeBatch(batch, ping, time.Now().Add(writeWait)); err != nil {
			c.Close("write failed")
			c.finish()
			return
		}
		clear(batch)
		if cap(batch) > 64 {
			batch = nil
		}
	}
}

// writeBatch writes batch (and a ping) in one system call.
func (c *wsConn) writeBatch(batch [][]byte, ping bool, deadline time.Time) error {
	_ = c.ws.SetWriteDeadline(deadline)
	c.bc.startBatch()
	for _, msg := range batch {
		if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			c.bc.flush()
			return err
		}
	}
	if ping {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
			c.bc.flush()
			return err
		}
	}
	return c.bc.flush()
}

// finish writes what was still queued (acks of ops committed just before
// a shutdown, say; not for a slow client), a close frame with the reason,
// and closes the socket. It runs once, on the last drain.
func (c *wsConn) finish() {
	defer close(c.finished)
	defer c.ws.Close() // also unblocks the reader
	reason := c.closeReason()
	code := websocket.CloseNormalClosure
	flush := true
	switch {
	case strings.HasPrefix(reason, "slow client"):
		code = websocket.ClosePolicyViolation
		flush = false // do not feed a client that is not reading
	case reason == "server shutting down":
		code = websocket.CloseServiceRestart
	case reason == "document store unavailable":
		code = websocket.CloseTryAgainLater
	case reason == "invalid UTF-8":
		code = websocket.CloseInvalidFramePayloadData
	case reason == "token expired":
		code = 4001
	case reason == "ping timeout":
		// The peer answered no ping: it is gone or not reading.
		code = websocket.CloseGoingAway
	case reason == "write failed":
		return
	}
	if flush {
		c.mu.Lock()
		pending := c.queue
		c.queue = nil
		c.mu.Unlock()
		if c.writeBatch(pending, false, time.Now().Add(time.Second)) != nil {
			return
		}
	}
	if len(reason) > 120 {
		reason = reason[:120]
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// readLoop reads frames until the connection ends and hands them, in
// order, to a handler goroutine that runs only while there is something to
// handle. The reader itself does nothing but read, so the goroutine parked
// on an idle socket keeps a small stack; the handling (JSON, sessions) runs
// on a goroutine that is gone when the client is quiet. At most
// maxPendingFrames wait: a client sending faster than it is handled is
// slowed down by TCP, never buffered without bound. It returns once the
// handler is done, so the agent can be closed.
func (c *wsConn) readLoop(agent *sessions.Agent, maxMessage int64, pingEvery time.Duration) {
	h := &frameHandler{agent: agent, conn: c, room: make(chan struct{}, 1), idle: make(chan struct{}, 1)}
	defer h.wait()
	c.ws.SetReadLimit(maxMessage)
	wait := pingEvery * 5 / 2
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(wait)) })
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.Close(readEndReason(err))
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(wait))
		if typ != websocket.TextMessage {
			c.Close("binary frames are not part of the protocol")
			return
		}
		if !utf8.Valid(data) {
			c.Close("invalid UTF-8")
			return
		}
		if !h.push(data) {
			return
		}
	}
}

// readEndReason names why reading ended, for the close frame and the log.
// It never carries the error text itself: that holds socket addresses,
// which are not the peer's business.
func readEndReason(err error) string {
	var netErr net.Error
	var closeErr *websocket.CloseError
	switch {
	case errors.Is(err, websocket.ErrReadLimit), websocket.IsCloseError(err, websocket.CloseMessageTooBig):
		return "message too large"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "ping timeout"
	case errors.As(err, &closeErr):
		return fmt.Sprintf("closed by the client (%d)", closeErr.Code)
	}
	return "connection lost"
}

const maxPendingFrames = 64

// frameHandler feeds frames to the agent on an on-demand goroutine.
type frameHandler struct {
	agent *sessions.Agent
	conn  *wsConn

	mu      sync.Mutex // guards frames, running and stop
	frames  [][]byte
	running bool
	stop    bool          // the agent refused a frame: read no more
	room    chan struct{} // signalled when the queue shrinks
	idle    chan struct{} // signalled when the handler goroutine exits
}

// push queues a frame, waiting while too many are pending; false means
// the connection must end.
func (h *frameHandler) push(frame []byte) bool {
	for {
		h.mu.Lock()
		if h.stop {
			h.mu.Unlock()
			return false
		}
		if len(h.frames) < maxPendingFrames {
			h.frames = append(h.frames, frame)
			if !h.running {
				h.running = true
				go h.run()
			}
			h.mu.Unlock()
			return true
		}
		h.mu.Unlock()
		select {
		case <-h.room:
		case <-h.conn.done:
			return false
		}
	}
}

func (h *frameHandler) run() {
	for {
		h.mu.Lock()
		if len(h.frames) == 0 || h.stop {
			h.running = false
			h.mu.Unlock()
			select {
			case h.idle <- struct{}{}:
			default:
			}
			return
		}
		frame := h.frames[0]
		h.frames[0] = nil
		h.frames = h.frames[1:]
		if len(h.frames) == 0 {
			h.frames = nil
		}
		h.mu.Unlock()
		select {
		case h.room <- struct{}{}:
		default:
		}
		if !h.agent.Handle(frame) {
			h.mu.Lock()
			h.stop = true
			h.mu.Unlock()
			h.conn.Close("message is not a JSON object")
		}
	}
}

// wait returns once no handler goroutine runs (pending frames are
// dropped: the connection is over).
func (h *frameHandler) wait() {
	h.mu.Lock()
	h.stop = true
	running := h.running
	h.mu.Unlock()
	for running {
		<-h.idle
		h.mu.Lock()
		running = h.running
		h.mu.Unlock()
	}
}

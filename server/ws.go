package server

import (
	"bufio"
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
// serve runs on the hijacked connection's goroutine.
func gorillaHandler(up *websocket.Upgrader, prepare func(c *fiber.Ctx) (any, error), serve func(ws *websocket.Conn, state any)) fiber.Handler {
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
			ws, err := up.Upgrade(&hijackWriter{conn: conn, h: http.Header{}}, r, nil)
			if err != nil {
				conn.Close()
				ws = nil
			}
			serve(ws, state) // serve releases what prepare took, even on failure
		})
		return nil
	}
}

// wsConn is one client WebSocket: the reader is the hijack goroutine, the
// writer drains a bounded queue. It implements sessions.Transport. The
// queue is a slice that grows with what is waiting and shrinks back, so an
// idle connection holds no buffer.
type wsConn struct {
	ws       *websocket.Conn
	maxBytes int

	mu     sync.Mutex // guards queue and queued
	queue  [][]byte
	queued int           // bytes in queue
	wake   chan struct{} // one pending signal for the writer

	done   chan struct{}
	once   sync.Once
	reason atomic.Value // string
	ping   time.Duration
}

func newWSConn(ws *websocket.Conn, maxBytes int64, ping time.Duration) *wsConn {
	return &wsConn{ws: ws, maxBytes: int(maxBytes), wake: make(chan struct{}, 1), done: make(chan struct{}), ping: ping}
}

// Send queues msg. A client that cannot keep up is disconnected rather
// than allowed to make the server buffer without bound.
func (c *wsConn) Send(msg []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.mu.Lock()
	if c.queued+len(msg) > c.maxBytes {
		c.mu.Unlock()
		c.Close("slow client: send queue full")
		return false
	}
	c.queue = append(c.queue, msg)
	c.queued += len(msg)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// takeAll empties the queue.
func (c *wsConn) takeAll(into [][]byte) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	into = append(into[:0], c.queue...)
	clear(c.queue)
	c.queue = c.queue[:0]
	if cap(c.queue) > 64 {
		c.queue = nil // let a burst's backing array go
	}
	c.queued = 0
	return into
}

// Close ends the connection; safe from any goroutine, any number of times.
func (c *wsConn) Close(reason string) {
	c.once.Do(func() {
		c.reason.Store(reason)
		close(c.done)
	})
}

func (c *wsConn) closeReason() string {
	if r, ok := c.reason.Load().(string); ok {
		return r
	}
	return ""
}

const writeWait = 10 * time.Second

// writeLoop is the only writer of the socket.
func (c *wsConn) writeLoop() {
	ticker := time.NewTicker(c.ping)
	defer ticker.Stop()
	defer c.ws.Close() // also unblocks the reader
	var batch [][]byte
	for {
		select {
		case <-c.wake:
			batch = c.takeAll(batch)
			for i, msg := range batch {
				_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
				if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
					c.Close("write failed")
					return
				}
				batch[i] = nil
			}
			if cap(batch) > 64 {
				batch = nil
			}
		case <-ticker.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.Close("ping failed")
				return
			}
		case <-c.done:
			c.flushAndClose()
			return
		}
	}
}

// flushAndClose writes what is already queued (acks of ops committed just
// before a shutdown, say), then a close frame with the reason.
func (c *wsConn) flushAndClose() {
	deadline := time.Now().Add(time.Second)
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
	}
	if flush {
		_ = c.ws.SetWriteDeadline(deadline)
		for _, msg := range c.takeAll(nil) {
			if c.ws.WriteMessage(websocket.TextMessage, msg) != nil {
				return
			}
		}
	}
	if len(reason) > 120 {
		reason = reason[:120]
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// readLoop feeds frames to the agent until the connection ends.
func (c *wsConn) readLoop(agent *sessions.Agent, maxMessage int64) {
	c.ws.SetReadLimit(maxMessage)
	wait := c.ping * 5 / 2
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(wait)) })
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseMessageTooBig) || err == websocket.ErrReadLimit {
				c.Close("message too large")
			} else {
				c.Close("read: " + err.Error())
			}
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
		if !agent.Handle(data) {
			c.Close("message is not a JSON object")
			return
		}
	}
}

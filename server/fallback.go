package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/sessions"
)

// HTTP fallbacks for clients whose proxies refuse WebSocket upgrades. They
// carry exactly the ShareDB messages a WebSocket would, and the server
// treats them as the same kind of connection (a sessions.Agent over a
// Transport):
//
//	GET  /sharedb/sse              open a connection; messages come down as SSE
//	                               ("open" event with {"id"}, then one "message" per frame)
//	POST /sharedb/poll             open a long-polling connection: {"id"}
//	GET  /sharedb/poll?id=&ack=N   wait (up to 20 s) for frames after N:
//	                               {"messages":[...],"last":M}; frames up to ack are forgotten
//	POST /sharedb/send?id=         a JSON array of messages, handled in order
//	POST /sharedb/close?id=        close the connection
//
// Authentication is as for /ws (token, name, colour on the opening
// request); the connection id, 128 random bits, then authorises the other
// requests. Send requests must come one at a time (the client queues
// them), so the agent sees messages in order. A long-polling connection
// that stops polling is closed after pollTimeout, an SSE one when its
// stream ends.
const (
	pollWait    = 20 * time.Second
	pollTimeout = 45 * time.Second
)

// httpConn is one fallback connection. It implements sessions.Transport.
type httpConn struct {
	id    string
	ip    string
	agent *sessions.Agent
	max   int

	mu       sync.Mutex // guards everything below
	queue    [][]byte   // frames after acked, in order
	queued   int        // bytes in queue
	acked    int64      // index of the last frame the client has
	closed   bool
	reason   string
	lastSeen time.Time
	wake     chan struct{} // poked on new frames and on close

	handle sync.Mutex // one send request at a time
}

func (c *httpConn) Send(msg []byte) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if c.queued+len(msg) > c.max {
		c.mu.Unlock()
		c.Close("slow client: send queue full")
		return false
	}
	c.queue = append(c.queue, msg)
	c.queued += len(msg)
	c.mu.Unlock()
	c.poke()
	return true
}

func (c *httpConn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *httpConn) Close(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.reason = true, reason
	c.mu.Unlock()
	c.poke()
}

// take returns the frames after ack (forgetting those up to it) and the
// index of the last one.
func (c *httpConn) take(ack int64) (frames [][]byte, last int64, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeen = time.Now()
	if drop := ack - c.acked; drop > 0 {
		drop = min(drop, int64(len(c.queue)))
		for _, f := range c.queue[:drop] {
			c.queued -= len(f)
		}
		c.queue = append([][]byte(nil), c.queue[drop:]...)
		c.acked += drop
	}
	return c.queue, c.acked + int64(len(c.queue)), c.closed
}

func newConnID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) fallbackRoutes() {
	g := s.app.Group("/sharedb")
	g.Get("/sse", s.fallbackSSE)
	g.Post("/poll", s.fallbackOpen)
	g.Get("/poll", s.fallbackPoll)
	g.Post("/send", s.fallbackSend)
	g.Post("/close", s.fallbackClose)
}

// openHTTPConn authenticates like /ws and starts an agent.
func (s *Server) openHTTPConn(c *fiber.Ctx) (*httpConn, error) {
	if !s.originAllowed(c) {
		return nil, apiError(fiber.StatusForbidden, protocol.ErrForbidden, "origin not allowed")
	}
	if s.stopping.Load() {
		return nil, apiError(fiber.StatusServiceUnavailable, protocol.ErrShuttingDown, "server shutting down")
	}
	st := &wsState{remote: c.IP()}
	if err := s.authorizeToken(c, st); err != nil {
		return nil, err
	}
	if !s.acquireIP(st.remote) {
		return nil, tooManyConns(st.remote)
	}
	hc := &httpConn{id: newConnID(), ip: st.remote, max: int(s.cfg.SendQueueBytes), wake: make(chan struct{}, 1), lastSeen: time.Now()}
	cfg := s.cfg.Agent
	cfg.RemoteAddr, cfg.User = st.remote, st.user
	if st.claims != nil {
		cfg.Access, cfg.User = st.claims, st.claims.User()
		if exp := st.claims.Expiry(); !exp.IsZero() {
			time.AfterFunc(time.Until(exp), func() { hc.Close("token expired") })
		}
	}
	hc.agent = s.cfg.Manager.NewAgent(hc, cfg)
	s.mu.Lock()
	s.httpConns[hc.id] = hc
	s.mu.Unlock()
	hc.agent.Start()
	return hc, nil
}

// endHTTPConn forgets a connection once it is closed.
func (s *Server) endHTTPConn(hc *httpConn) {
	hc.Close("closed")
	s.mu.Lock()
	_, ok := s.httpConns[hc.id]
	delete(s.httpConns, hc.id)
	s.mu.Unlock()
	if ok {
		hc.agent.Close()
		s.releaseIP(hc.ip)
	}
}

func (s *Server) lookupHTTPConn(c *fiber.Ctx) (*httpConn, error) {
	s.mu.Lock()
	hc := s.httpConns[c.Query("id")]
	s.mu.Unlock()
	if hc == nil {
		return nil, apiError(fiber.StatusGone, "ERR_CONNECTION_CLOSED", "no such connection; open a new one")
	}
	return hc, nil
}

// originAllowed applies the WebSocket origin rule to fallback requests,
// so another site's page cannot drive a user's connection.
func (s *Server) originAllowed(c *fiber.Ctx) bool {
	r := &http.Request{Header: http.Header{"Origin": {c.Get(fiber.HeaderOrigin)}}, Host: string(c.Request().Host())}
	return s.checkOrigin(r)
}

func (s *Server) fallbackSSE(c *fiber.Ctx) error {
	hc, err := s.openHTTPConn(c)
	if err != nil {
		return err
	}
	setEventStreamHeaders(c)
	conn := c.Context().Conn()
	shutdown := c.Context().Done()
	go watchDeparture(conn, func() { hc.Close("client left") })
	hb := s.cfg.SSEHeartbeat
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.endHTTPConn(hc)
		ticker := time.NewTicker(hb)
		defer ticker.Stop()
		w.WriteString("retry: 1000\nevent: open\ndata: ")
		w.WriteString(`{"id":"` + hc.id + `"}`)
		w.WriteString("\n\n")
		if w.Flush() != nil {
			return
		}
		var sent int64
		for {
			frames, last, closed := hc.take(sent)
			for _, f := range frames {
				w.WriteString("data: ")
				w.Write(bytes.ReplaceAll(f, []byte("\n"), []byte("\ndata: ")))
				w.WriteString("\n\n")
			}
			sent = last
			if closed {
				w.WriteString("event: close\ndata: " + strconv.Quote(hc.reason) + "\n\n")
				w.Flush()
				return
			}
			if len(frames) > 0 {
				if w.Flush() != nil {
					return
				}
			}
			select {
			case <-hc.wake:
			case <-ticker.C:
				w.WriteString(": hb\n\n")
				if w.Flush() != nil {
					return
				}
			case <-shutdown:
				return
			}
		}
	})
	return nil
}

func (s *Server) fallbackOpen(c *fiber.Ctx) error {
	hc, err := s.openHTTPConn(c)
	if err != nil {
		return err
	}
	go s.expirePoll(hc)
	return c.JSON(fiber.Map{"id": hc.id})
}

// expirePoll closes a long-polling connection whose client stopped
// polling.
func (s *Server) expirePoll(hc *httpConn) {
	t := time.NewTicker(pollTimeout / 3)
	defer t.Stop()
	for range t.C {
		hc.mu.Lock()
		idle := time.Since(hc.lastSeen) > pollTimeout
		closed := hc.closed
		hc.mu.Unlock()
		if idle || closed || s.stopping.Load() {
			// A closed connection lingers one more poll so the client
			// can read why; then it is gone.
			if !closed {
				hc.Close("no poll for too long")
			}
			s.endHTTPConn(hc)
			return
		}
	}
}

func (s *Server) fallbackPoll(c *fiber.Ctx) error {
	hc, err := s.lookupHTTPConn(c)
	if err != nil {
		return err
	}
	ack, err := strconv.ParseInt(c.Query("ack", "0"), 10, 64)
	if err != nil || ack < 0 {
		return apiError(fiber.StatusBadRequest, protocol.ErrMessageBadlyFormed, "ack must be a frame index")
	}
	ctx, cancel := context.WithTimeout(context.Background(), pollWait)
	defer cancel()
	for {
		frames, last, closed := hc.take(ack)
		if len(frames) > 0 || closed {
			out := []byte(`{"messages":[`)
			for i, f := range frames {
				if i > 0 {
					out = append(out, ',')
				}
				out = append(out, f...)
			}
			out = append(out, `],"last":`...)
			out = strconv.AppendInt(out, last, 10)
			if closed {
				out = append(out, `,"closed":`...)
				reason, _ := json.Marshal(hc.reason)
				out = append(out, reason...)
			}
			out = append(out, '}')
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.Send(out)
		}
		select {
		case <-hc.wake:
		case <-ctx.Done():
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.JSON(fiber.Map{"messages": []any{}, "last": last})
		case <-c.Context().Done():
			return nil
		}
	}
}

func (s *Server) fallbackSend(c *fiber.Ctx) error {
	if !s.originAllowed(c) {
		return apiError(fiber.StatusForbidden, protocol.ErrForbidden, "origin not allowed")
	}
	hc, err := s.lookupHTTPConn(c)
	if err != nil {
		return err
	}
	var frames []json.RawMessage
	if err := json.Unmarshal(c.Body(), &frames); err != nil {
		return apiError(fiber.StatusBadRequest, protocol.ErrMessageBadlyFormed, "the body must be a JSON array of messages")
	}
	hc.handle.Lock()
	defer hc.handle.Unlock()
	hc.mu.Lock()
	hc.lastSeen = time.Now()
	hc.mu.Unlock()
	for _, f := range frames {
		if !hc.agent.Handle(f) {
			hc.Close("message is not a JSON object")
			break
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) fallbackClose(c *fiber.Ctx) error {
	if !s.originAllowed(c) {
		return apiError(fiber.StatusForbidden, protocol.ErrForbidden, "origin not allowed")
	}
	hc, err := s.lookupHTTPConn(c)
	if err != nil {
		return err
	}
	s.endHTTPConn(hc)
	return c.SendStatus(fiber.StatusNoContent)
}

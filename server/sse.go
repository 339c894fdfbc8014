package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/sessions"
)

// events serves a document's Server-Sent Events stream (see docs/api.md).
// The stream writer is the only goroutine writing the response; a second
// goroutine blocks reading the socket so a departed viewer is noticed at
// once (fasthttp itself reports nothing until a write fails).
func (s *Server) events(presenceOnly bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		coll, id, ident, err := s.readable(c, true)
		if err != nil {
			return err
		}
		if s.stopping.Load() {
			return apiError(fiber.StatusServiceUnavailable, protocol.ErrShuttingDown, "server shutting down")
		}
		ip := c.IP()
		if !s.acquireIP(ip) {
			return tooManyConns(ip)
		}
		streaming := false
		defer func() {
			if !streaming {
				s.releaseIP(ip)
			}
		}()
		opts := sessions.WatchOptions{PresenceOnly: presenceOnly, User: ident.user()}
		last := c.Get("Last-Event-ID")
		if last == "" {
			last = c.Query("lastEventId")
		}
		if last != "" {
			v, err := strconv.ParseInt(last, 10, 64)
			if err != nil || v < 0 {
				return apiError(fiber.StatusBadRequest, protocol.ErrMessageBadlyFormed, "Last-Event-ID must be a document version")
			}
			opts.LastEventID = &v
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		viewer, err := s.cfg.Manager.Watch(ctx, coll, id, opts)
		cancel()
		switch {
		case errors.Is(err, sessions.ErrDocNotFound):
			return apiError(fiber.StatusNotFound, protocol.ErrDocDoesNotExist, "document "+coll+"/"+id+" does not exist")
		case err != nil:
			return apiError(fiber.StatusServiceUnavailable, protocol.ErrStoreUnavailable, err.Error())
		}
		setEventStreamHeaders(c)
		conn := c.Context().Conn()
		shutdown := c.Context().Done()
		s.met.viewers.Inc()
		go watchDeparture(conn, viewer.Close)
		hb := s.cfg.SSEHeartbeat
		streaming = true
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			defer s.releaseIP(ip)
			defer s.met.viewers.Dec()
			defer viewer.Close()
			ticker := time.NewTicker(hb)
			defer ticker.Stop()
			for {
				select {
				case f := <-viewer.Frames():
					w.Write(f)
					// Write what else is queued in the same chunk.
					for n := len(viewer.Frames()); n > 0; n-- {
						w.Write(<-viewer.Frames())
					}
				case <-ticker.C:
					w.WriteString(": hb\n\n")
				case <-viewer.Done():
					return
				case <-shutdown:
					return
				}
				if err := w.Flush(); err != nil {
					return
				}
			}
		})
		return nil
	}
}

// watchDeparture calls gone when the client's side of the socket closes.
// A stream's client never sends anything after its request, so any read
// result means it is gone.
func watchDeparture(conn net.Conn, gone func()) {
	if conn == nil {
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	var buf [1]byte
	_, _ = conn.Read(buf[:])
	gone()
}

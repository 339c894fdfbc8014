package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// An editor's socket life cycle: connect, handshake with the previous id,
// read until the socket is lost, reconnect with backoff.

// run connects, and reconnects with backoff whenever the socket is lost,
// until the editor is closed or ctx ends.
func (e *editor) run(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil || e.isClosed() {
			return
		}
		if attempt > 0 {
			if !sleepCtx(ctx, backoff(attempt)) {
				return
			}
		}
		conn, err := e.r.dialWS(ctx, e.ep)
		if err != nil {
			if ctx.Err() == nil && !e.isClosed() {
				e.r.dialFailed(err)
				e.ep = e.r.failover(e.ep)
			}
			continue
		}
		if !e.attach(conn) {
			conn.Close()
			return
		}
		err = e.readLoop(conn)
		if e.detach(conn, err) {
			attempt = 0
		}
	}
}

func (e *editor) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// close stops the editor and closes its socket.
func (e *editor) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.conn != nil {
		e.conn.Close()
	}
}

func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt-1, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// attach makes conn the editor's socket and sends the handshake with the
// previous connection id, so the server keeps our src.
func (e *editor) attach(conn *websocket.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.conn = conn
	e.writeLocked(handshake(e.src))
	return true
}

// detach forgets a lost socket; the in-flight op stays, to be resent with
// the same src and seq. It reports whether the connection had got as far
// as a subscription (so the next reconnect starts a fresh backoff).
func (e *editor) detach(conn *websocket.Conn, err error) bool {
	conn.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	wasUp := e.subscribed
	if wasUp {
		e.r.st.editorsConnected.Add(-1)
	}
	e.conn, e.connected, e.subscribed = nil, false, false
	e.fetching, e.fetchAgain = false, false
	if !e.closed {
		e.r.st.editorReconnects.Add(1)
		e.r.st.event(disconnectKind(err), fmt.Sprintf("editor %d: %v", e.idx, err))
	}
	return wasUp
}

func disconnectKind(err error) string {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return "WS_CLOSED_" + strconv.Itoa(ce.Code)
	case errors.Is(err, net.ErrClosed):
		return "WS_CLOSED_LOCALLY"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "WS_READ_TIMEOUT"
	}
	return "WS_LOST"
}

func (e *editor) readLoop(conn *websocket.Conn) error {
	_ = conn.SetReadDeadline(time.Now().Add(readWait))
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(readWait))
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		if err == websocket.ErrCloseSent {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(readWait))
		e.handle(data)
	}
}

// writeLocked sends one frame (see writeFrame).
func (e *editor) writeLocked(msg []byte) { writeFrame(e.conn, msg) }

// writeFrame sends one frame on conn, if any; a failed write closes the
// socket, which ends the read loop and leads to a reconnect.
func writeFrame(conn *websocket.Conn, msg []byte) {
	if conn == nil {
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		conn.Close()
	}
}

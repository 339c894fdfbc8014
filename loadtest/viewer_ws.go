package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"
)

// The WebSocket viewer (Config.ViewerTransport "ws"): a ShareDB client
// that subscribes to its document and never writes, for servers without
// Server-Sent Events (the reference ShareDB server). It keeps its copy as
// an SSE viewer does: the subscription's snapshot, then every op in
// version order. A lost socket is reconnected with backoff and the
// subscription resent from the copy's version, so the server sends the
// missed ops; an op from a future version (a gap) makes it fetch the ops
// since its version.

func (v *viewer) runWS(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil || v.isClosed() {
			return
		}
		if attempt > 0 {
			v.r.st.viewerReconnects.Add(1)
			if !sleepCtx(ctx, backoff(min(attempt, 4))) {
				return
			}
		}
		conn, err := v.r.dialWS(ctx, v.ep)
		if err != nil {
			if ctx.Err() == nil && !v.isClosed() {
				v.r.dialFailed(err)
				v.ep = v.r.failover(v.ep)
			}
			continue
		}
		if !v.attachWS(conn) {
			conn.Close()
			return
		}
		err = v.readWS(conn)
		if v.detachWS(conn, err) {
			attempt = 0
		}
		if errors.Is(err, errDiverged) {
			return
		}
	}
}

// attachWS makes conn the viewer's socket and sends the handshake.
func (v *viewer) attachWS(conn *websocket.Conn) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return false
	}
	v.conn = conn
	writeFrame(v.conn, handshake(""))
	return true
}

// detachWS forgets a lost socket; it reports whether the connection got as
// far as a subscription.
func (v *viewer) detachWS(conn *websocket.Conn, err error) bool {
	conn.Close()
	v.mu.Lock()
	defer v.mu.Unlock()
	wasUp := v.subscribed
	if wasUp {
		v.r.st.viewersConnected.Add(-1)
	}
	v.conn, v.subscribed, v.fetching = nil, false, false
	if !v.closed {
		v.r.st.event(disconnectKind(err), fmt.Sprintf("viewer %d: %v", v.idx, err))
	}
	return wasUp
}

func (v *viewer) readWS(conn *websocket.Conn) error {
	extend := func() { _ = conn.SetReadDeadline(time.Now().Add(readWait)) }
	extend()
	conn.SetPingHandler(func(data string) error {
		extend()
		// A failed pong shows up as a failed read soon enough.
		_ = conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		return nil
	})
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		extend()
		if err := v.handleWS(data); err != nil {
			return err
		}
	}
}

// docRequestLocked is an s or f request from our version, if we have a copy.
func (v *viewer) docRequestLocked(action string) []byte {
	return docRequest(action, v.r.cfg.Collection, v.doc.id, v.have, v.version)
}

func (v *viewer) fetchLocked() {
	if v.fetching || v.conn == nil {
		return
	}
	v.fetching = true
	writeFrame(v.conn, v.docRequestLocked("f"))
}

// handleWS handles one server message; an error ends the connection for
// good (the copy diverged).
func (v *viewer) handleWS(data []byte) error {
	var m inMsg
	if err := decodeMsg(data, &m); err != nil {
		v.r.st.clientError("BAD_MESSAGE", fmt.Sprintf("viewer %d: %v: %.200s", v.idx, err, data))
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch m.A {
	case "hs":
		if m.Error != nil {
			v.r.st.serverError(m.Error.code(), m.Error.Message)
			v.conn.Close()
			return nil
		}
		writeFrame(v.conn, v.docRequestLocked("s"))
	case "s", "f":
		if m.C != v.r.cfg.Collection || m.D != v.doc.id {
			return nil
		}
		if m.A == "f" {
			v.fetching = false
		}
		if m.Error != nil {
			v.r.st.serverError(m.Error.code(), m.Error.Message)
			return nil
		}
		if m.A == "s" && !v.subscribed {
			v.subscribed = true
			v.r.st.viewersConnected.Add(1)
			if !v.ready {
				v.ready = true
				v.r.st.viewersReady.Add(1)
			}
		}
		if len(m.Data) > 0 {
			var s snapshotMsg
			if err := json.Unmarshal(m.Data, &s); err != nil {
				v.r.st.clientError("BAD_SNAPSHOT", fmt.Sprintf("viewer %d: %v", v.idx, err))
				return nil
			}
			if s.Type == nil {
				v.r.st.clientError("DOC_MISSING", fmt.Sprintf("viewer %d: document %s has no type", v.idx, v.doc.id))
				return nil
			}
			if v.have {
				if s.V > v.version {
					v.fetchLocked()
				}
				return nil
			}
			snap, err := v.r.typ.DecodeSnapshot(s.Data)
			if err != nil {
				v.r.st.clientError("BAD_SNAPSHOT", fmt.Sprintf("viewer %d: %v", v.idx, err))
				return nil
			}
			v.node = v.doc.chain.join(v.r.typ, s.V, snap)
			v.version, v.have = s.V, true
		}
	case "op":
		if m.C != v.r.cfg.Collection || m.D != v.doc.id {
			return nil
		}
		if m.Error != nil {
			v.r.st.serverError(m.Error.code(), m.Error.Message)
			return nil
		}
		if m.V == nil || m.Seq == nil {
			v.r.st.clientError("BAD_MESSAGE", fmt.Sprintf("viewer %d: op without v or seq", v.idx))
			return nil
		}
		switch {
		case !v.have:
			return nil // the subscription's snapshot comes next
		case *m.V < v.version:
			return nil // already have it (resubscribed or fetched)
		case *m.V > v.version:
			v.r.st.event("WS_VIEWER_GAP", fmt.Sprintf("viewer %d: op v%d, copy at v%d", v.idx, *m.V, v.version))
			v.fetchLocked()
			return nil
		case m.Op == nil:
			v.failed = fmt.Sprintf("op v%d without op (create or del)", *m.V)
			v.r.st.clientError("WS_VIEWER_OP_FAILED", fmt.Sprintf("viewer %d: %s", v.idx, v.failed))
			return errDiverged
		}
		return v.applyLocked(&sseOp{V: *m.V, Src: m.Src, Seq: *m.Seq, Op: m.Op}, "WS_VIEWER_OP_FAILED")
	}
	return nil
}

package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// viewer is one simulated read-only viewer: an SSE client that keeps its
// own copy of the document from the snapshot and op events, and
// reconnects with Last-Event-ID; or, with ViewerTransport "ws", a
// WebSocket client that subscribes to the document and never writes
// (viewer_ws.go).
type viewer struct {
	r   *Runner
	idx int
	doc *docInfo
	ep  *endpoint

	mu      sync.Mutex // guards the copy
	have    bool
	version int64
	node    *snapNode          // the copy (once have), shared with the viewers that hold the same one
	cancel  context.CancelFunc // of the current stream
	closed  bool
	// failed says why the viewer gave up: an op event that did not apply
	// to its copy. Its copy is kept as it was, for the verdict.
	failed string
	ready  bool // owned by run: has streamed at least once
	// The WebSocket transport's connection state (viewer_ws.go).
	conn       *websocket.Conn
	subscribed bool // subscribe answered on conn
	fetching   bool // an f request is outstanding on conn
}

// errDiverged ends a viewer whose copy no longer fits the stream.
var errDiverged = errors.New("viewer copy diverged")

// streamIdle is how long a stream may stay silent (the server sends a
// heartbeat every few seconds) before the viewer reconnects.
const streamIdle = 30 * time.Second

var errGap = errors.New("op event from a future version")

func (v *viewer) run(ctx context.Context) {
	if v.r.cfg.ViewerTransport == ViewerWS {
		v.runWS(ctx)
		return
	}
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
		err := v.stream(ctx)
		if ctx.Err() != nil || v.isClosed() {
			return
		}
		switch {
		case err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			v.r.st.event("SSE_ENDED", fmt.Sprintf("viewer %d: stream ended", v.idx))
		case errors.Is(err, errGap):
			// counted where it was seen
		case errors.Is(err, errDiverged):
			return
		default:
			v.r.st.clientError("SSE_FAILED", fmt.Sprintf("viewer %d: %v", v.idx, err))
			v.ep = v.r.failover(v.ep)
		}
	}
}

func (v *viewer) isClosed() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.closed
}

func (v *viewer) close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	if v.cancel != nil {
		v.cancel()
	}
	if v.conn != nil {
		v.conn.Close()
	}
}

func (v *viewer) stream(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.cancel = cancel
	last := ""
	if v.have {
		last = strconv.FormatInt(v.version, 10)
	}
	v.mu.Unlock()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.r.docURL(v.ep, v.doc.id)+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	v.r.authorize(req)
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	resp, err := v.r.sse.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		v.r.st.clientError("SSE_HTTP_"+strconv.Itoa(resp.StatusCode), fmt.Sprintf("viewer %d: %s", v.idx, bytes.TrimSpace(body)))
		return errGap // already counted
	}
	v.r.st.viewersConnected.Add(1)
	defer v.r.st.viewersConnected.Add(-1)
	if !v.ready {
		v.ready = true
		v.r.st.viewersReady.Add(1)
	}

	br := bufio.NewReaderSize(resp.Body, 1024)
	var event, data []byte
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, line...)
			continue
		}
		if err != nil {
			return err
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		idle.Reset(streamIdle)
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if event != nil || data != nil {
				if err := v.dispatch(string(event), data); err != nil {
					return err
				}
			}
			event, data = nil, nil
		case line[0] == ':':
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				event = append(event[:0], value...)
			case "data":
				if data != nil {
					data = append(data, '\n')
				}
				data = append(data, value...)
				if data == nil {
					data = []byte{}
				}
			}
		}
	}
}

type sseOp struct {
	V      int64           `json:"v"`
	Src    string          `json:"src"`
	Seq    uint64          `json:"seq"`
	Op     json.RawMessage `json:"op"`
	Create json.RawMessage `json:"create"`
	Del    bool            `json:"del"`
}

func (v *viewer) dispatch(event string, data []byte) error {
	switch event {
	case "snapshot":
		var s snapshotMsg
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("snapshot event: %w", err)
		}
		if s.Type == nil {
			return fmt.Errorf("document %s has no type", v.doc.id)
		}
		snap, err := v.r.typ.DecodeSnapshot(s.Data)
		if err != nil {
			return fmt.Errorf("snapshot event: %w", err)
		}
		v.mu.Lock()
		v.node = v.doc.chain.join(v.r.typ, s.V, snap)
		v.version, v.have = s.V, true
		v.mu.Unlock()
	case "op":
		var o sseOp
		if err := decodeOpEvent(data, &o); err != nil {
			return fmt.Errorf("op event: %w", err)
		}
		return v.applyOp(&o)
	}
	return nil
}

func (v *viewer) applyOp(o *sseOp) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case !v.have:
		v.r.st.clientError("SSE_OP_BEFORE_SNAPSHOT", fmt.Sprintf("viewer %d: op v%d before any snapshot", v.idx, o.V))
		return errGap
	case o.V < v.version:
		v.r.st.clientError("SSE_DUPLICATE_OP", fmt.Sprintf("viewer %d: op v%d, copy at v%d", v.idx, o.V, v.version))
		return nil
	case o.V > v.version:
		v.r.st.clientError("SSE_GAP", fmt.Sprintf("viewer %d: op v%d, copy at v%d", v.idx, o.V, v.version))
		return errGap
	case o.Op == nil:
		return fmt.Errorf("op event v%d without op (create or del)", o.V)
	}
	return v.applyLocked(o, "SSE_OP_FAILED")
}

// applyLocked applies the op at our version to the copy and records its
// fan-out latency; failedKind names the client error if it does not apply.
func (v *viewer) applyLocked(o *sseOp, failedKind string) error {
	if h := v.r.hooks.viewerOp; h != nil && h(v, o) {
		v.version++ // the test hook dropped it: a viewer that lost an event
		return nil
	}
	next, err := v.doc.chain.step(v.r.typ, v.node, v.version, o.Op)
	if err != nil {
		v.failed = fmt.Sprintf("op event v%d does not apply: %v", o.V, err)
		v.r.st.clientError(failedKind, fmt.Sprintf("viewer %d: %s", v.idx, v.failed))
		return errDiverged
	}
	v.node = next
	v.version++
	if at, ok := v.r.sentAt(o.Src, o.Seq); ok {
		v.r.st.fanViewer.record(v.r.st.now() - at)
	}
	return nil
}

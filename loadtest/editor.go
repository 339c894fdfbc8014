package loadtest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/protocol"
)

// pendingOp is an op not yet acknowledged: the in-flight one or the
// pending one that later edits are composed into.
type pendingOp struct {
	op     ot.Op
	seq    uint64        // 0 until first sent; kept on resends
	src    string        // the connection id when first sent
	sentAt time.Duration // first send, since the run started
	mFrom  uint32        // markers [mFrom, mTo) of the edits composed in
	mTo    uint32
}

// ackRec is one acknowledged op.
type ackRec struct {
	src        string
	seq        uint64
	mFrom, mTo uint32
}

// sentRing remembers when an editor's recent ops were first sent, so the
// editors and viewers receiving them can measure fan-out latency without a
// shared map. Each slot packs the seq's low 24 bits and the time in µs.
type sentRing [64]atomic.Uint64

const ringTimeBits = 40

func (r *sentRing) put(seq uint64, at time.Duration) {
	r[seq%uint64(len(r))].Store((seq&0xFFFFFF)<<ringTimeBits | uint64(at/time.Microsecond)&(1<<ringTimeBits-1))
}

func (r *sentRing) get(seq uint64) (time.Duration, bool) {
	x := r[seq%uint64(len(r))].Load()
	if x == 0 || x>>ringTimeBits != seq&0xFFFFFF {
		return 0, false
	}
	return time.Duration(x&(1<<ringTimeBits-1)) * time.Microsecond, true
}

// editor is one simulated editor: a ShareDB client with the real client's
// state machine for one document. Its reader goroutine (run) owns the
// socket's read side; typing comes from the shared scheduler (tick).
type editor struct {
	r   *Runner
	idx int
	doc *docInfo
	ep  *endpoint
	rng *rand.Rand // typing only; seeded from the run's seed

	ring atomic.Pointer[sentRing] // set at the first send

	mu sync.Mutex // guards everything below, and writes to conn
	// Connection.
	conn       *websocket.Conn
	connected  bool // handshake answered on conn
	subscribed bool // subscribe answered on conn (and counted in stats.editorsConnected)
	ready      bool // has been subscribed at least once
	closed     bool // the run is over: do not reconnect
	src        string
	seq        uint64 // per-connection op counter, kept across reconnects
	// Document, as sharedb's Doc.
	haveCopy   bool
	version    int64
	snap       ot.Snapshot
	text       string // plain text of snap (rich-text) as of mirrorLag; unused for text-unicode
	ascii      bool   // text is pure ASCII (so UTF-16 offsets are byte offsets)
	mirrorLag  ot.Op  // remote ops applied to snap but not yet to text, composed; nil if none
	inflight   *pendingOp
	pending    *pendingOp
	fetching   bool
	fetchAgain bool
	// Typing and bookkeeping.
	scheduled  bool
	burstLeft  int
	nextMarker uint32
	acked      []ackRec
	dropped    [][2]uint32 // marker ranges of ops rolled back after an error
}

// inMsg is any message from the server; fields absent from a message stay
// zero.
type inMsg struct {
	A      string          `json:"a"`
	C      string          `json:"c"`
	D      string          `json:"d"`
	V      *int64          `json:"v"`
	Src    string          `json:"src"`
	Seq    *uint64         `json:"seq"`
	ID     json.RawMessage `json:"id"`
	Op     json.RawMessage `json:"op"`
	Create json.RawMessage `json:"create"`
	Del    json.RawMessage `json:"del"`
	Data   json.RawMessage `json:"data"`
	Error  *wireError      `json:"error"`
}

type wireError struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
}

func (w *wireError) code() string {
	var s string
	if json.Unmarshal(w.Code, &s) == nil {
		return s
	}
	return string(w.Code) // numeric codes (database adapters)
}

type snapshotMsg struct {
	V    int64           `json:"v"`
	Type *string         `json:"type"`
	Data json.RawMessage `json:"data"`
}

const (
	readWait  = 90 * time.Second // the server pings every 20s by default
	writeWait = 10 * time.Second
)

func (e *editor) handle(data []byte) {
	var m inMsg
	if err := decodeMsg(data, &m); err != nil {
		e.r.st.clientError("BAD_MESSAGE", fmt.Sprintf("editor %d: %v: %.200s", e.idx, err, data))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch m.A {
	case "hs":
		e.onHandshakeLocked(&m)
	case "s", "f":
		e.onSnapshotReplyLocked(&m)
	case "op":
		e.onOpLocked(&m)
	}
}

func (e *editor) onHandshakeLocked(m *inMsg) {
	if m.Error != nil {
		e.r.st.serverError(m.Error.code(), m.Error.Message)
		e.conn.Close()
		return
	}
	var id string
	if err := json.Unmarshal(m.ID, &id); err != nil || id == "" {
		e.r.st.clientError("BAD_HANDSHAKE", fmt.Sprintf("editor %d: hs reply without an id: %s", e.idx, m.ID))
		e.conn.Close()
		return
	}
	if e.src != "" && id != e.src {
		e.r.st.clientError("SRC_CHANGED", fmt.Sprintf("editor %d: asked to keep id %s, server answered %s", e.idx, e.src, id))
	}
	if id != e.src {
		e.src = id
		e.r.srcs.Store(id, e)
	}
	e.connected = true
	// As sharedb on connect: the pending (or re-queued in-flight) op
	// first, then the subscription, with our version if we have one.
	if e.inflight != nil {
		e.sendOpLocked()
	} else {
		e.flushLocked()
	}
	e.writeLocked(docRequest("s", e.r.cfg.Collection, e.doc.id, e.haveCopy, e.version))
}

// handshake is the hs request; src asks the server to keep a previous
// connection id ("" asks for a new one).
func handshake(src string) []byte {
	o := protocol.NewObj(80).Str("a", "hs")
	if src == "" {
		o.Null("id")
	} else {
		o.Str("id", src)
	}
	return o.Int("protocol", 1).Int("protocolMinor", 2).Bytes()
}

// docRequest is an f or s request for a document, from version v if we
// have a copy (have), else from scratch.
func docRequest(action, collection, id string, have bool, v int64) []byte {
	o := protocol.NewObj(64+len(collection)+len(id)).Str("a", action).Str("c", collection).Str("d", id)
	if !have {
		return o.Null("v").Bytes()
	}
	return o.Int("v", v).Bytes()
}

func (e *editor) onSnapshotReplyLocked(m *inMsg) {
	if m.C != e.r.cfg.Collection || m.D != e.doc.id {
		return
	}
	if m.A == "f" {
		e.fetching = false
	}
	if m.Error != nil {
		e.r.st.serverError(m.Error.code(), m.Error.Message)
		return
	}
	if m.A == "s" && !e.subscribed {
		e.subscribed = true
		e.r.st.editorsConnected.Add(1)
		if !e.ready {
			e.ready = true
			e.r.st.editorsReady.Add(1)
		}
	}
	if len(m.Data) > 0 {
		var s snapshotMsg
		if err := json.Unmarshal(m.Data, &s); err != nil {
			e.r.st.clientError("BAD_SNAPSHOT", fmt.Sprintf("editor %d: %v", e.idx, err))
		} else {
			e.ingestLocked(&s)
		}
	}
	if e.fetchAgain && !e.fetching {
		e.fetchAgain = false
		e.fetchLocked()
	}
	e.kickLocked()
}

// ingestLocked takes a snapshot, as sharedb's ingestSnapshot: only when we
// have no copy; a newer snapshot than our copy makes us fetch the ops.
func (e *editor) ingestLocked(s *snapshotMsg) {
	if s.Type == nil {
		e.r.st.clientError("DOC_MISSING", fmt.Sprintf("editor %d: document %s has no type", e.idx, e.doc.id))
		return
	}
	if e.haveCopy {
		if s.V > e.version {
			e.fetchLocked()
		}
		return
	}
	if *s.Type != e.r.typ.URI() {
		e.r.st.clientError("WRONG_TYPE", fmt.Sprintf("document %s has type %s", e.doc.id, *s.Type))
		return
	}
	snap, err := e.r.typ.DecodeSnapshot(s.Data)
	if err != nil {
		e.r.st.clientError("BAD_SNAPSHOT", fmt.Sprintf("editor %d: %v", e.idx, err))
		return
	}
	text, err := e.r.plainOf(snap)
	if err != nil {
		e.r.st.clientError("BAD_SNAPSHOT", fmt.Sprintf("editor %d: %v", e.idx, err))
		return
	}
	e.snap, e.text, e.ascii, e.version, e.haveCopy = snap, text, isASCII(text), s.V, true
	e.mirrorLag = nil
	e.startTypingLocked()
}

// fetchLocked asks for the ops since our version (or a snapshot when we
// have no copy); one fetch at a time, like sharedb.
func (e *editor) fetchLocked() {
	if !e.connected {
		return // the subscription sent on reconnect catches us up
	}
	if e.fetching {
		e.fetchAgain = true
		return
	}
	e.fetching = true
	e.writeLocked(docRequest("f", e.r.cfg.Collection, e.doc.id, e.haveCopy, e.version))
}

func (e *editor) onOpLocked(m *inMsg) {
	if m.C != e.r.cfg.Collection || m.D != e.doc.id {
		return
	}
	if m.Error != nil {
		e.onOpErrorLocked(m)
		return
	}
	if m.Seq == nil || m.V == nil {
		e.r.st.clientError("BAD_MESSAGE", fmt.Sprintf("editor %d: op without v or seq", e.idx))
		return
	}
	// Our own op coming back, as an ack or in a catch-up: whatever its keys.
	if in := e.inflight; in != nil && in.seq != 0 && m.Src == in.src && *m.Seq == in.seq {
		e.onAckLocked(*m.V)
		return
	}
	if !e.haveCopy || *m.V > e.version {
		e.fetchLocked()
		return
	}
	if *m.V < e.version {
		return // already have it
	}
	if m.Op == nil {
		e.r.st.clientError("UNEXPECTED_CREATE_OR_DEL", fmt.Sprintf("editor %d: %.200s", e.idx, m.Create))
		e.hardRollbackLocked()
		return
	}
	if err := e.applyRemoteLocked(m.Op); err != nil {
		e.r.st.clientError("REMOTE_OP_FAILED", fmt.Sprintf("editor %d: %v", e.idx, err))
		e.hardRollbackLocked()
		return
	}
	if at, ok := e.r.sentAt(m.Src, *m.Seq); ok {
		e.r.st.fanEditor.record(e.r.st.now() - at)
	}
}

// applyRemoteLocked transforms a remote op and our unacknowledged ops
// against each other, as sharedb's client does for types without
// transformX: client op 'left', server op 'right'. Then it applies the
// server op to our copy.
func (e *editor) applyRemoteLocked(raw json.RawMessage) error {
	typ := e.r.typ
	sop, err := typ.DecodeOp(raw)
	if err != nil {
		return err
	}
	for _, p := range []*pendingOp{e.inflight, e.pending} {
		if p == nil {
			continue
		}
		c, err := typ.Transform(p.op, sop, ot.Left)
		if err != nil {
			return fmt.Errorf("transform own op: %w", err)
		}
		s, err := typ.Transform(sop, p.op, ot.Right)
		if err != nil {
			return fmt.Errorf("transform server op: %w", err)
		}
		p.op, sop = c, s
	}
	snap, err := typ.Apply(e.snap, sop)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if e.r.rich {
		// The plain-text mirror catches up when this editor next types
		// (syncMirrorLocked): one pass over the text for all the remote
		// ops in between, not one per op, which on a large document with
		// many editors was most of the tester's work.
		lag := sop
		if e.mirrorLag != nil {
			if lag, err = typ.Compose(e.mirrorLag, sop); err != nil {
				return fmt.Errorf("compose for the plain text: %w", err)
			}
		}
		e.mirrorLag = lag
	}
	e.snap = snap
	e.version++
	return nil
}

// syncMirrorLocked applies the remote ops composed since the mirror was
// last brought up to date (rich-text only).
func (e *editor) syncMirrorLocked() error {
	if e.mirrorLag == nil {
		return nil
	}
	lag := e.mirrorLag
	e.mirrorLag = nil
	enc, err := e.r.typ.EncodeOp(lag)
	if err == nil {
		var text string
		var ascii bool
		if text, ascii, err = applyRichPlain(e.text, e.ascii, enc); err == nil {
			e.text, e.ascii = text, ascii
			return nil
		}
	}
	// Recover from the copy, so the editor can go on typing; the verdict
	// counts this as a tester bug.
	e.r.st.clientError("MIRROR_FAILED", fmt.Sprintf("editor %d: plain text: %v", e.idx, err))
	if text, perr := e.r.plainOf(e.snap); perr == nil {
		e.text, e.ascii = text, isASCII(text)
	}
	return err
}

func (e *editor) onAckLocked(v int64) {
	if v != e.version {
		// sharedb: "Invalid version from server"; it fetches and keeps
		// the op in flight until the op itself comes back.
		e.r.st.event("ACK_VERSION_MISMATCH", fmt.Sprintf("editor %d: ack at v%d, copy at v%d", e.idx, v, e.version))
		e.fetchLocked()
		return
	}
	in := e.inflight
	e.version++
	now := e.r.st.now()
	e.r.st.ack.record(now - in.sentAt)
	e.r.st.acked.Add(1)
	e.r.st.sec(now).acked.Add(1)
	e.acked = append(e.acked, ackRec{src: in.src, seq: in.seq, mFrom: in.mFrom, mTo: in.mTo})
	e.inflight = nil
	e.flushLocked()
	e.kickLocked()
}

// onOpErrorLocked handles an error reply to our op. Neither type can
// invert our ops, so this is sharedb's hard rollback: drop the in-flight
// and pending ops and fetch a fresh snapshot.
func (e *editor) onOpErrorLocked(m *inMsg) {
	e.r.st.serverError(m.Error.code(), m.Error.Message)
	in := e.inflight
	if in == nil || (m.Seq != nil && *m.Seq != in.seq) {
		return
	}
	e.hardRollbackLocked()
}

func (e *editor) hardRollbackLocked() {
	for _, p := range []*pendingOp{e.inflight, e.pending} {
		if p != nil {
			e.dropped = append(e.dropped, [2]uint32{p.mFrom, p.mTo})
			e.r.st.rolledBack.Add(uint64(p.mTo - p.mFrom))
		}
	}
	e.inflight, e.pending = nil, nil
	e.haveCopy, e.snap, e.text, e.version, e.mirrorLag = false, nil, "", 0, nil
	e.fetchLocked()
}

// flushLocked sends the pending op when nothing is in flight.
func (e *editor) flushLocked() {
	if !e.connected || e.inflight != nil || e.pending == nil {
		return
	}
	e.inflight, e.pending = e.pending, nil
	e.sendOpLocked()
}

// sendOpLocked sends (or resends) the in-flight op. The first send takes
// the next seq and carries no src; a resend carries the same src and seq.
func (e *editor) sendOpLocked() {
	in := e.inflight
	resend := in.seq != 0
	now := e.r.st.now()
	if !resend {
		e.seq++
		in.seq, in.src, in.sentAt = e.seq, e.src, now
		ring := e.ring.Load()
		if ring == nil {
			ring = new(sentRing)
			e.ring.Store(ring)
		}
		ring.put(in.seq, now)
		e.r.st.sent.Add(1)
		e.r.st.sec(now).sent.Add(1)
	} else {
		e.r.st.resent.Add(1)
	}
	raw, err := e.r.typ.EncodeOp(in.op)
	if err != nil {
		e.r.st.clientError("ENCODE_FAILED", err.Error())
		return
	}
	o := protocol.NewObj(128+len(raw)).Str("a", "op").Str("c", e.r.cfg.Collection).Str("d", e.doc.id).
		Int("v", e.version).Int("seq", int64(in.seq)).Raw("x", []byte("{}"))
	if resend {
		o.Str("src", in.src)
	}
	e.writeLocked(o.Raw("op", raw).Bytes())
	if h := e.r.hooks.afterSend; h != nil {
		h(e, resend)
	}
}

// settledLocked reports whether nothing of ours is outstanding.
func (e *editor) settledLocked() bool {
	return e.haveCopy && e.connected && e.subscribed && e.inflight == nil && e.pending == nil && !e.fetching
}

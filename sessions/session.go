package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/storage"
)

type reqKind int

const (
	reqFetch reqKind = iota
	reqSubscribe
	reqUnsubscribe
	reqSubmit
	reqPresence
	reqBulk
	reqDrop // an agent went away: forget it
	reqView // an SSE viewer joins (see viewers.go)
)

// request is one message to a session.
type request struct {
	kind  reqKind
	agent *Agent
	req   *protocol.Request
	// v is the client's version for fetch/subscribe (nil = snapshot).
	v *int64
	// sub is set for reqSubmit.
	sub *submission
	// bulk is set for reqBulk: the session answers on it.
	bulk      chan<- bulkPart
	subscribe bool
	// viewer, since and viewReply are set for reqView.
	viewer    *Viewer
	since     *int64
	viewReply chan error
	// presence is set for reqPresence.
	presence *presenceUpdate
}

// bulkPart is one document's share of a bf/bs reply.
type bulkPart struct {
	id   string
	data []byte // snapshot encoding, or nil
	err  *protocol.Error
}

// committedOp is an op the session knows to be committed.
type committedOp struct {
	rec storage.Op
	op  ot.Op  // decoded edit (nil for create/del or undecodable)
	msg []byte // broadcast form, encoded once for every subscriber
}

// session serializes everything that happens to one document on this
// instance. All fields below mailbox are owned by run.
type session struct {
	m       *Manager
	key     docKey
	mailbox chan *request
	remote  chan remoteMsg // from the broker: ops, presence, rosters
	missed  atomic.Bool    // remote overflowed or the broker lost messages
	pending atomic.Int32   // senders between lookup and mailbox (see Manager.send)
	done    chan struct{}  // closed when run returns

	loaded bool
	snap   storage.Snapshot // current, Data kept in sync with doc lazily (see encodeSnapshot)
	typ    ot.Type          // nil when the document does not exist
	doc    ot.Snapshot
	// dataStale means snap.Data does not reflect doc yet.
	dataStale bool
	dataSize  int // len(snap.Data) when last encoded
	window    []*committedOp
	subs      map[*Agent]struct{}
	viewers   viewerSet
	editors   map[string]*editor // by src
	// rosterSentAt is when this instance last announced its editors.
	rosterSentAt time.Time
	flushTimer   *time.Timer // coalesced cursor updates for viewers
	flushArmed   bool
	// stash is a request taken from the mailbox while collecting a batch,
	// handled right after it.
	stash *request
}

func newSession(m *Manager, key docKey) *session {
	return &session{
		m:       m,
		key:     key,
		mailbox: make(chan *request, 256),
		remote:  make(chan remoteMsg, 1024),
		done:    make(chan struct{}),
		subs:    make(map[*Agent]struct{}),
		editors: make(map[string]*editor),
	}
}

func (s *session) run() {
	defer s.m.wg.Done()
	defer close(s.done)
	for _, sub := range []struct {
		channel string
		kind    remoteKind
	}{
		{pubsub.DocChannel(s.key.c, s.key.d), remoteOp},
		{pubsub.PresenceChannel(pubsub.DocChannel(s.key.c, s.key.d)), remotePresence},
		{rosterChannel(s.key.c, s.key.d), remoteRoster},
	} {
		kind := sub.kind
		unsub, err := s.m.broker.Subscribe(sub.channel, func(msg []byte) { s.onRemote(kind, msg) })
		if err != nil {
			s.m.log.Warn("broker subscribe failed", "channel", sub.channel, "err", err)
			continue
		}
		defer unsub()
	}
	s.requestRosters()
	// The session retires once nobody has needed it for IdleTimeout. Only
	// requests count as need: presence ticks and other instances' rosters
	// must not keep an unused document in memory for ever.
	idle := time.NewTimer(s.m.cfg.IdleTimeout)
	defer idle.Stop()
	lastUse := s.m.now()
	presenceTick := time.NewTicker(s.m.rosterTick())
	defer presenceTick.Stop()
	for {
		select {
		case <-s.m.ctx.Done():
			s.shutdown()
			return
		case r := <-s.mailbox:
			lastUse = s.m.now()
			s.dispatch(r)
		case msg := <-s.remote:
			s.safely(func() { s.onRemoteMsg(msg) })
		case <-presenceTick.C:
			s.safely(func() { s.rosterTick() })
		case <-s.flushC():
			s.safely(func() { s.flushCursors() })
		case <-idle.C:
			left := s.m.cfg.IdleTimeout - s.m.now().Sub(lastUse)
			if left <= 0 && s.idle() && s.m.tryRetire(s) {
				s.shutdown()
				return
			}
			idle.Reset(max(left, s.m.cfg.IdleTimeout/4))
		}
		if s.missed.Load() {
			s.safely(func() { s.catchUpMissed() })
		}
	}
}

// dispatch handles r; a submission takes every submission queued behind
// it into one batch.
func (s *session) dispatch(r *request) {
	if r.kind != reqSubmit {
		s.safely(func() { s.handle(r) }, r)
		return
	}
	batch := s.collectSubmits(r)
	s.safely(func() { s.handleSubmits(batch) }, batch...)
	if next := s.stash; next != nil {
		s.stash = nil
		s.safely(func() { s.handle(next) }, next)
	}
}

// idle reports whether nobody needs this session any more.
func (s *session) idle() bool {
	s.viewers.prune()
	return len(s.subs) == 0 && s.viewers.len() == 0
}

// flushC is the cursor-flush timer's channel, nil when not armed.
func (s *session) flushC() <-chan time.Time {
	if s.flushTimer == nil || !s.flushArmed {
		return nil
	}
	return s.flushTimer.C
}

func (s *session) shutdown() {
	if len(s.editors) > 0 {
		for _, e := range s.editors {
			clear(e.agents)
		}
		s.publishRoster() // an empty list: our editors are gone
	}
	s.viewers.closeAll()
}

// safely runs f, recovering a panic: it is logged, the requests involved
// get an error, and the session drops its state so the next request reloads
// it from the store. No other document is affected.
func (s *session) safely(f func(), reqs ...*request) {
	defer func() {
		if p := recover(); p != nil {
			s.m.met.Panics.Inc()
			s.m.log.Error("panic in document session", "doc", s.key.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			for _, r := range reqs {
				if r.agent != nil && r.req != nil {
					r.agent.replyError(r.req, protocol.Errorf(protocol.ErrUnknownError, "internal error"))
				}
			}
			s.reset()
		}
	}()
	f()
}

// reset forgets the cached document; the next request reloads it.
func (s *session) reset() {
	s.loaded = false
	s.window = nil
	s.typ, s.doc = nil, nil
	s.snap = storage.Snapshot{}
	s.dataStale = false
}

func (s *session) storeCtx() (context.Context, context.CancelFunc) {
	// Store calls outlive a shutdown signal so in-flight commits finish.
	return context.WithTimeout(context.WithoutCancel(s.m.ctx), 15*time.Second)
}

// ensureLoaded reads the snapshot from the store the first time.
func (s *session) ensureLoaded() error {
	if s.loaded {
		return nil
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	snap, err := s.m.store.Snapshot(ctx, s.key.c, s.key.d)
	if err != nil {
		return err
	}
	if err := s.setSnapshot(snap); err != nil {
		return err
	}
	s.loaded = true
	return nil
}

func (s *session) setSnapshot(snap storage.Snapshot) error {
	s.snap = snap
	s.typ, s.doc = nil, nil
	s.dataStale = false
	s.dataSize = len(snap.Data)
	if snap.Type == "" {
		return nil
	}
	typ, ok := s.m.types.Lookup(snap.Type)
	if !ok {
		return fmt.Errorf("document %s has unknown type %q", s.key, snap.Type)
	}
	doc, err := typ.DecodeSnapshot(snap.Data)
	if err != nil {
		return fmt.Errorf("document %s: %w", s.key, err)
	}
	s.typ, s.doc = typ, doc
	return nil
}

// snapshotData returns the encoded current data, encoding it if needed.
func (s *session) snapshotData() (json.RawMessage, error) {
	if s.dataStale {
		b, err := s.typ.EncodeSnapshot(s.doc)
		if err != nil {
			return nil, err
		}
		s.snap.Data = b
		s.dataSize = len(b)
		s.dataStale = false
	}
	return s.snap.Data, nil
}

// loadError converts a store error into a client error.
func loadError(err error) *protocol.Error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, storage.ErrInvalidData) {
		return protocol.Errorf(protocol.ErrStoreRejected, "%v", err)
	}
	return protocol.Errorf(protocol.ErrStoreUnavailable, "document store unavailable, retry: %v", err)
}

func (s *session) handle(r *request) {
	switch r.kind {
	case reqFetch, reqSubscribe:
		s.handleFetch(r)
	case reqUnsubscribe:
		delete(s.subs, r.agent)
		s.removeLocalEditor(r.agent)
		if r.bulk != nil {
			r.bulk <- bulkPart{id: s.key.d}
		} else if r.req != nil {
			r.agent.send(protocol.NewObj(64).Str("a", protocol.ActionUnsubscribe).Str("c", s.key.c).Str("d", s.key.d).Bytes())
		}
	case reqDrop:
		delete(s.subs, r.agent)
		s.removeLocalEditor(r.agent)
	case reqBulk:
		s.handleBulk(r)
	case reqPresence:
		s.handlePresence(r)
	case reqView:
		s.handleView(r)
	}
}

// snapshotJSON is the snapshot encoding of fetch/subscribe replies:
// {v, data, type}, type omitted for json0 and null for a missing doc.
func (s *session) snapshotJSON() ([]byte, error) {
	o := protocol.NewObj(64+s.dataSize).Int("v", s.snap.V)
	if s.typ == nil {
		return o.Null("type").Bytes(), nil
	}
	data, err := s.snapshotData()
	if err != nil {
		return nil, err
	}
	o.Raw("data", data)
	if s.typ.Name() != "json0" {
		o.Str("type", s.typ.URI())
	}
	return o.Bytes(), nil
}

// freshen catches up with commits of other instances that pub/sub has not
// delivered yet (see Config.Shared).
func (s *session) freshen() error {
	if !s.m.cfg.Shared || !s.loaded {
		return s.ensureLoaded()
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	snap, err := s.m.store.Snapshot(ctx, s.key.c, s.key.d)
	if err != nil {
		return err
	}
	if snap.V > s.snap.V {
		return s.catchUp()
	}
	return nil
}

func (s *session) handleFetch(r *request) {
	if err := s.freshen(); err != nil {
		r.agent.replyError(r.req, loadError(err))
		return
	}
	action := protocol.ActionFetch
	if r.kind == reqSubscribe {
		action = protocol.ActionSubscribe
	}
	if r.v == nil {
		data, err := s.snapshotJSON()
		if err != nil {
			r.agent.replyError(r.req, loadError(err))
			return
		}
		if r.kind == reqSubscribe {
			s.addSub(r.agent)
		}
		r.agent.send(protocol.NewObj(len(data)+64).Str("a", action).Str("c", s.key.c).Str("d", s.key.d).Raw("data", data).Bytes())
		return
	}
	ops, err := s.opsSince(*r.v)
	if err != nil {
		r.agent.replyError(r.req, loadError(err))
		return
	}
	for _, op := range ops {
		r.agent.send(op.msg)
	}
	if r.kind == reqSubscribe {
		s.addSub(r.agent)
	}
	r.agent.send(protocol.NewObj(64).Str("a", action).Str("c", s.key.c).Str("d", s.key.d).Bytes())
}

func (s *session) handleBulk(r *request) {
	part := bulkPart{id: s.key.d}
	defer func() { r.bulk <- part }()
	if err := s.freshen(); err != nil {
		part.err = loadError(err)
		return
	}
	if r.v == nil {
		data, err := s.snapshotJSON()
		if err != nil {
			part.err = loadError(err)
			return
		}
		part.data = data
	} else {
		ops, err := s.opsSince(*r.v)
		if err != nil {
			part.err = loadError(err)
			return
		}
		for _, op := range ops {
			r.agent.send(op.msg)
		}
	}
	if r.subscribe {
		s.addSub(r.agent)
	}
}

func (s *session) addSub(a *Agent) {
	s.subs[a] = struct{}{}
	s.addLocalEditor(a)
}

// opsSince returns the committed ops from version v to the current one,
// from the window when it reaches back far enough, else from the store.
func (s *session) opsSince(v int64) ([]*committedOp, error) {
	cur := s.snap.V
	if v >= cur {
		return nil, nil
	}
	if n := len(s.window); n > 0 && s.window[0].rec.V <= v {
		start := int(v - s.window[0].rec.V)
		return s.window[start:], nil
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	recs, err := s.m.store.Ops(ctx, s.key.c, s.key.d, v, cur)
	if err != nil {
		return nil, err
	}
	if int64(len(recs)) != cur-v {
		return nil, protocol.Errorf(protocol.ErrSubmitTransformOpsNotFound, "store is missing ops %d..%d", v, cur)
	}
	out := make([]*committedOp, len(recs))
	for i, rec := range recs {
		out[i] = s.newCommitted(rec, nil)
	}
	return out, nil
}

// newCommitted wraps a committed record, encoding its broadcast form once.
// op may be nil; it is decoded lazily when a transform needs it.
func (s *session) newCommitted(rec storage.Op, op ot.Op) *committedOp {
	return &committedOp{rec: rec, op: op, msg: encodeOpMessage(s.key, rec)}
}

// remember appends committed ops to the window, keeping it bounded.
func (s *session) remember(ops ...*committedOp) {
	s.window = append(s.window, ops...)
	if over := len(s.window) - s.m.cfg.OpWindow; over > 0 {
		// Copy so the dropped prefix can be collected.
		s.window = append([]*committedOp(nil), s.window[over:]...)
	}
}

// broadcast sends a committed op to every subscriber but its author, and
// to viewers.
func (s *session) broadcast(op *committedOp) {
	for a := range s.subs {
		if op.rec.Src != "" && a.Src() == op.rec.Src {
			continue
		}
		a.deliver(s.key, op.msg)
	}
	s.viewers.op(s, op)
	s.transformCursors(op)
}

// encodeOpMessage is the broadcast shape of an op:
// {"a":"op","c","d","v","src","seq", op|create|del}.
func encodeOpMessage(key docKey, rec storage.Op) []byte {
	o := protocol.NewObj(96+len(rec.Op)).Str("a", protocol.ActionOp).Str("c", key.c).Str("d", key.d).
		Int("v", rec.V).Str("src", rec.Src).Int("seq", rec.Seq)
	appendOpBody(o, rec)
	return o.Bytes()
}

func appendOpBody(o *protocol.Obj, rec storage.Op) {
	switch {
	case rec.Create != nil:
		c := protocol.NewObj(32+len(rec.Create.Data)).Str("type", rec.Create.Type)
		if rec.Create.Data != nil {
			c.Raw("data", rec.Create.Data)
		}
		o.Raw("create", c.Bytes())
	case rec.Del:
		o.Bool("del", true)
	default:
		o.Raw("op", rec.Op)
	}
}

// encodePubsubOp is sharedb-redis-pubsub's payload for a committed op.
func encodePubsubOp(key docKey, rec storage.Op) []byte {
	o := protocol.NewObj(96+len(rec.Op)).Str("src", rec.Src).Int("seq", rec.Seq).Int("v", rec.V)
	appendOpBody(o, rec)
	return o.Str("c", key.c).Str("d", key.d).Bytes()
}

package sessions

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/storage"
)

type opKind int

const (
	opEdit opKind = iota
	opCreate
	opDel
)

// submission is one op a client submitted, and what became of it.
type submission struct {
	agent    *Agent
	req      *protocol.Request
	src      string
	seq      int64
	v        *int64 // the client's base version; nil for null
	kind     opKind
	raw      json.RawMessage // edit op as sent
	ctype    string          // create type, name or URI
	cdata    json.RawMessage // create data; nil when absent
	received time.Time

	// Outcome of the current attempt (see prepare).
	err    *protocol.Error
	dup    bool
	dupV   int64
	op     ot.Op   // decoded and transformed edit
	opType ot.Type // the type op was decoded with
	rec    storage.Op
}

// work is the document as a batch is being built on top of the committed
// state.
type work struct {
	v    int64
	typ  ot.Type
	doc  ot.Snapshot
	meta storage.SnapshotMeta
	size int
}

// collectSubmits takes first and every submission already waiting in the
// mailbox, up to MaxBatch. A non-submit request stops the scan and is
// handled right after the batch, so per-client order holds.
func (s *session) collectSubmits(first *request) []*request {
	batch := []*request{first}
	for len(batch) < s.m.cfg.MaxBatch {
		select {
		case r := <-s.mailbox:
			if r.kind != reqSubmit {
				s.stash = r
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (s *session) handleSubmits(reqs []*request) {
	subs := make([]*submission, len(reqs))
	for i, r := range reqs {
		subs[i] = r.sub
	}
	defer s.replyUncommitted(subs)
	if err := s.ensureLoaded(); err != nil {
		for _, sub := range subs {
			sub.err = loadError(err)
		}
		return
	}
	for _, sub := range subs {
		if sub.v != nil && *sub.v > s.snap.V {
			// A client that saw a newer version through another
			// instance: our pub/sub feed may lag.
			_ = s.catchUp()
			break
		}
	}
	deadline := s.m.now().Add(s.m.cfg.CommitRetryFor)
	backoff := 10 * time.Millisecond
	for {
		prepared, w := s.prepare(subs)
		if len(prepared) == 0 {
			return
		}
		snap, err := s.workSnapshot(w)
		if err == nil {
			recs := make([]storage.Op, len(prepared))
			for i, sub := range prepared {
				recs[i] = sub.rec
			}
			ctx, cancel := s.storeCtx()
			err = s.m.store.Commit(ctx, s.key.c, s.key.d, recs, snap)
			cancel()
		}
		if err == nil {
			s.committed(prepared, w, snap)
			return
		}
		if errors.Is(err, storage.ErrInvalidData) {
			// Nothing was written and retrying cannot help. Commit the
			// submissions one by one so only the unstorable one fails.
			if len(prepared) > 1 {
				s.commitOneByOne(subs)
				return
			}
			prepared[0].err = loadError(err)
			return
		}
		s.m.met.Retries.Inc()
		if errors.Is(err, storage.ErrVersionConflict) {
			// Another instance committed first: take its ops and
			// transform the batch again. They are usually on their way
			// over pub/sub already, which is cheaper than reading the
			// store.
			if s.drainRemote(20 * time.Millisecond) {
				continue
			}
			if cerr := s.catchUp(); cerr == nil {
				continue
			}
		}
		if s.m.now().After(deadline) {
			// We do not know whether the last attempt was stored.
			// Drop the cache and disconnect the submitters: their ops
			// stay pending in the client, which resends them with the
			// same src and seq after reconnecting, and deduplication
			// makes sure each is applied once.
			s.m.log.Warn("commit failed, disconnecting submitters", "doc", s.key.String(), "err", err)
			s.reset()
			for _, sub := range subs {
				sub.agent.closeRetryable("document store unavailable")
				sub.err, sub.dup = nil, false
			}
			return
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, time.Second)
		if !s.loaded {
			_ = s.ensureLoaded()
		} else {
			_ = s.catchUp()
		}
	}
}

// commitOneByOne handles each submission as its own batch. The replies
// of the outer call must not be sent twice, so it clears their outcomes.
func (s *session) commitOneByOne(subs []*submission) {
	for _, sub := range subs {
		s.handleSubmits([]*request{{kind: reqSubmit, agent: sub.agent, req: sub.req, sub: sub}})
		sub.err, sub.dup = nil, false
	}
}

// drainRemote applies what pub/sub has brought (waiting up to wait for the
// first op, then only while more keep coming) and reports whether the
// document moved on.
func (s *session) drainRemote(wait time.Duration) bool {
	start := s.snap.V
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case m := <-s.remote:
			s.onRemoteMsg(m)
			if s.snap.V > start {
				timer.Reset(2 * time.Millisecond)
			}
		case <-timer.C:
			return s.snap.V > start
		}
	}
}

// replyUncommitted answers submissions that were refused or found to be
// duplicates (a resend after a reconnect is acknowledged with the version
// it was committed at, as sharedb turns ERR_OP_ALREADY_SUBMITTED into an
// ack).
func (s *session) replyUncommitted(subs []*submission) {
	for _, sub := range subs {
		switch {
		case sub.err != nil:
			sub.agent.replyError(sub.req, sub.err)
		case sub.dup:
			sub.agent.send(s.ackMessage(sub.src, sub.seq, sub.dupV))
		}
	}
}

func (s *session) ackMessage(src string, seq, v int64) []byte {
	return protocol.NewObj(96).Str("a", protocol.ActionOp).Str("c", s.key.c).Str("d", s.key.d).
		Str("src", src).Int("seq", seq).Int("v", v).Bytes()
}

// prepare transforms and applies every submission on top of the committed
// state, in order, as if each were committed alone. It returns the ones to
// commit and the resulting document; the others carry an error or a
// duplicate ack.
func (s *session) prepare(subs []*submission) ([]*submission, *work) {
	w := &work{v: s.snap.V, typ: s.typ, doc: s.doc, meta: s.snap.Meta, size: s.dataSize}
	var prepared []*submission
	var batch []*committedOp
	now := s.m.now().UnixMilli()
	for _, sub := range subs {
		sub.err, sub.dup, sub.op, sub.opType = nil, false, nil, nil
		if err := s.prepareOne(sub, w, batch, now); err != nil {
			sub.err = err
			continue
		}
		if sub.dup {
			continue
		}
		prepared = append(prepared, sub)
		batch = append(batch, &committedOp{rec: sub.rec, op: sub.op})
	}
	return prepared, w
}

func (s *session) prepareOne(sub *submission, w *work, batch []*committedOp, now int64) *protocol.Error {
	var ver int64
	if sub.v == nil {
		if sub.kind == opCreate && w.typ != nil && sub.src != "" {
			if c := w.meta.Create; c != nil && c.Src == sub.src && c.Seq == sub.seq {
				sub.dup, sub.dupV = true, c.V
				return nil
			}
			return protocol.Errorf(protocol.ErrDocAlreadyCreated, "Invalid op submitted. Document already created")
		}
		ver = w.v
	} else {
		ver = *sub.v
	}
	if ver > w.v {
		return protocol.Errorf(protocol.ErrOpVersionNewer, "Invalid op submitted. Op version newer than current snapshot")
	}
	if ver < w.v {
		history, err := s.opsRange(ver, s.snap.V)
		if err != nil {
			return loadError(err)
		}
		history = history[:len(history):len(history)]
		for _, b := range batch {
			if b.rec.V >= ver {
				history = append(history, b)
			}
		}
		for _, h := range history {
			if sub.src != "" && h.rec.Src == sub.src && h.rec.Seq == sub.seq {
				sub.dup, sub.dupV = true, h.rec.V
				return nil
			}
			if perr := s.transformAgainst(sub, h); perr != nil {
				return perr
			}
		}
	}
	return s.applyTo(sub, w, now)
}

// transformAgainst moves sub past an op committed concurrently, with the
// rules of sharedb's ot.transform (side left for the incoming op).
func (s *session) transformAgainst(sub *submission, h *committedOp) *protocol.Error {
	switch {
	case h.rec.Del:
		if sub.kind != opDel {
			return protocol.Errorf(protocol.ErrDocWasDeleted, "Document was deleted")
		}
	case h.rec.Create != nil:
		return protocol.Errorf(protocol.ErrDocAlreadyCreated, "Document was created remotely")
	case sub.kind == opCreate:
		return protocol.Errorf(protocol.ErrDocAlreadyCreated, "Document was created remotely")
	case sub.kind == opEdit:
		typ := s.typ
		if typ == nil {
			return protocol.Errorf(protocol.ErrDocDoesNotExist, "Document does not exist")
		}
		if perr := sub.decode(typ); perr != nil {
			return perr
		}
		applied, err := h.decoded(typ)
		if err != nil {
			return protocol.Errorf(protocol.ErrOpNotApplied, "stored op %d: %v", h.rec.V, err)
		}
		op, err := typ.Transform(sub.op, applied, ot.Left)
		if err != nil {
			return opError(err)
		}
		sub.op = op
	}
	return nil
}

// decode parses the edit with typ, once per attempt.
func (sub *submission) decode(typ ot.Type) *protocol.Error {
	if sub.op != nil && sub.opType == typ {
		return nil
	}
	op, err := typ.DecodeOp(sub.raw)
	if err != nil {
		return opError(err)
	}
	sub.op, sub.opType = op, typ
	return nil
}

// decoded returns the committed edit decoded with typ.
func (c *committedOp) decoded(typ ot.Type) (ot.Op, error) {
	if c.op != nil {
		return c.op, nil
	}
	op, err := typ.DecodeOp(c.rec.Op)
	if err != nil {
		return nil, err
	}
	c.op = op
	return op, nil
}

// opError maps an OT error to the client error code sharedb would send.
func opError(err error) *protocol.Error {
	if errors.Is(err, ot.ErrInvalidOp) || errors.Is(err, ot.ErrLoneSurrogate) {
		return protocol.Errorf(protocol.ErrOpBadlyFormed, "%v", err)
	}
	return protocol.Errorf(protocol.ErrOpNotApplied, "%v", err)
}

func (s *session) applyTo(sub *submission, w *work, now int64) *protocol.Error {
	rec := storage.Op{V: w.v, Src: sub.src, Seq: sub.seq, Meta: storage.OpMeta{TS: now}}
	switch sub.kind {
	case opCreate:
		if w.typ != nil {
			return protocol.Errorf(protocol.ErrDocAlreadyCreated, "Document already exists")
		}
		typ, ok := s.m.types.Lookup(sub.ctype)
		if !ok {
			return protocol.Errorf(protocol.ErrDocTypeNotRecognized, "Unknown type")
		}
		doc, err := typ.Create(sub.cdata)
		if err != nil {
			return opError(err)
		}
		rec.Create = &storage.Create{Type: typ.URI(), Data: sub.cdata}
		w.typ, w.doc = typ, doc
		w.size = len(sub.cdata)
		w.meta.Create = &storage.OpID{Src: sub.src, Seq: sub.seq, V: w.v}
		w.meta.CTime = now
	case opDel:
		if w.typ != nil {
			data, err := w.typ.EncodeSnapshot(w.doc)
			if err != nil {
				return opError(err)
			}
			rec.Meta.DelData = data
		}
		rec.Del = true
		w.typ, w.doc, w.size = nil, nil, 0
	case opEdit:
		if w.typ == nil {
			return protocol.Errorf(protocol.ErrDocDoesNotExist, "Document does not exist")
		}
		if perr := sub.decode(w.typ); perr != nil {
			return perr
		}
		doc, err := w.typ.Apply(w.doc, sub.op)
		if err != nil {
			return opError(err)
		}
		enc, err := w.typ.EncodeOp(sub.op)
		if err != nil {
			return opError(err)
		}
		size := w.size + len(enc)
		if size > s.m.cfg.MaxDocBytes {
			// The estimate can only overstate; measure exactly.
			data, err := w.typ.EncodeSnapshot(doc)
			if err != nil {
				return opError(err)
			}
			if size = len(data); size > s.m.cfg.MaxDocBytes {
				return protocol.Errorf(protocol.ErrTooLarge, "document would be %d bytes, over the limit of %d", size, s.m.cfg.MaxDocBytes)
			}
		}
		rec.Op = enc
		w.doc, w.size = doc, size
	}
	w.meta.MTime = now
	sub.rec = rec
	w.v++
	return nil
}

// workSnapshot encodes the document a batch produces.
func (s *session) workSnapshot(w *work) (storage.Snapshot, error) {
	snap := storage.Snapshot{V: w.v, Meta: w.meta}
	if w.typ != nil {
		data, err := w.typ.EncodeSnapshot(w.doc)
		if err != nil {
			return snap, err
		}
		snap.Type, snap.Data = w.typ.URI(), data
	}
	return snap, nil
}

// committed makes a stored batch the session's state and tells everyone:
// subscribers get each op (not its author), each author gets the ops it
// was transformed against unless it is subscribed, then its ack, and the
// broker gets each op for other instances.
func (s *session) committed(prepared []*submission, w *work, snap storage.Snapshot) {
	prevV := s.snap.V
	s.snap = snap
	s.typ, s.doc = w.typ, w.doc
	s.dataStale, s.dataSize = false, len(snap.Data)
	s.m.met.OpsCommitted.Add(float64(len(prepared)))
	s.m.met.CommitBatches.Observe(float64(len(prepared)))
	payloads := make([][]byte, 0, len(prepared))
	for _, sub := range prepared {
		co := s.newCommitted(sub.rec, sub.op)
		s.remember(co)
		s.broadcast(co)
		if _, subscribed := s.subs[sub.agent]; !subscribed {
			from := co.rec.V
			if sub.v != nil {
				from = *sub.v
			}
			missed, err := s.opsRange(from, co.rec.V)
			if err == nil {
				for _, m := range missed {
					sub.agent.send(m.msg)
				}
			}
		}
		sub.agent.send(s.ackMessage(sub.src, sub.seq, co.rec.V))
		s.m.met.SubmitLatency.Observe(s.m.now().Sub(sub.received).Seconds())
		payloads = append(payloads, encodePubsubOp(s.key, sub.rec))
	}
	channels := []string{s.key.c, pubsub.DocChannel(s.key.c, s.key.d)}
	for _, p := range payloads {
		if err := s.m.broker.Publish(s.m.ctx, channels, p); err != nil {
			s.m.log.Warn("publish failed; other instances will catch up on their next op", "doc", s.key.String(), "err", err)
		}
	}
	s.saveMilestone(prevV, snap)
}

// saveMilestone stores snap as a milestone when this commit passed a
// multiple of the interval. It runs after the acks went out; a failure
// only means a later history read replays further.
func (s *session) saveMilestone(prevV int64, snap storage.Snapshot) {
	n := s.m.cfg.MilestoneInterval
	ms, ok := s.m.store.(storage.Milestones)
	if !ok || n <= 0 || snap.V/n == prevV/n {
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := ms.SaveMilestone(ctx, s.key.c, s.key.d, snap); err != nil {
		s.m.log.Warn("milestone not saved", "doc", s.key.String(), "v", snap.V, "err", err)
	}
}

// opsRange returns committed ops with from <= v < to.
func (s *session) opsRange(from, to int64) ([]*committedOp, error) {
	if from >= to {
		return nil, nil
	}
	ops, err := s.opsSince(from)
	if err != nil {
		return nil, err
	}
	n := to - from
	if int64(len(ops)) < n {
		return nil, protocol.Errorf(protocol.ErrSubmitTransformOpsNotFound, "missing ops %d..%d", from, to)
	}
	return ops[:n], nil
}

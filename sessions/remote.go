package sessions

import (
	"encoding/json"

	"github.com/tandemhq/tandem/storage"
)

type remoteKind int

const (
	remoteOp remoteKind = iota
	remotePresence
	remoteRoster
)

// remoteMsg is a broker message for the session.
type remoteMsg struct {
	kind remoteKind
	msg  []byte
}

// onRemote runs on the broker's goroutine for every message on this
// document's channels, including our own (ops are ignored by version). It
// never blocks: when the queue is full the session catches up from the
// store (ops) or waits for the next refresh (presence, rosters).
func (s *session) onRemote(kind remoteKind, msg []byte) {
	if msg != nil {
		msg = append([]byte(nil), msg...)
	} else if kind == remoteOp {
		s.missed.Store(true)
	}
	select {
	case s.remote <- remoteMsg{kind, msg}:
	default:
		if kind == remoteOp {
			s.missed.Store(true)
		}
	}
}

func (s *session) onRemoteMsg(m remoteMsg) {
	if m.msg == nil {
		return
	}
	switch m.kind {
	case remoteOp:
		s.applyRemote(m.msg)
	case remotePresence:
		if s.loaded {
			s.onPresence(m.msg)
		}
	case remoteRoster:
		s.onRoster(m.msg)
	}
}

// pubsubOp is sharedb-redis-pubsub's op payload.
type pubsubOp struct {
	Src    string          `json:"src"`
	Seq    int64           `json:"seq"`
	V      *int64          `json:"v"`
	Op     json.RawMessage `json:"op"`
	Create *struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	} `json:"create"`
	Del bool   `json:"del"`
	C   string `json:"c"`
	D   string `json:"d"`
}

// applyRemote takes an op committed by another instance.
func (s *session) applyRemote(msg []byte) {
	if msg == nil || !s.loaded {
		return // a later load reads the store, which has it
	}
	var p pubsubOp
	if err := json.Unmarshal(msg, &p); err != nil || p.V == nil {
		return
	}
	// Channel names are plain concatenations: "a.b"+"c" collides with
	// "a"+"b.c", so check the op is really ours.
	if p.C != s.key.c || p.D != s.key.d {
		return
	}
	v := *p.V
	switch {
	case v < s.snap.V:
		return // ours, or already caught up
	case v > s.snap.V:
		_ = s.catchUp() // we missed something
		return
	}
	if p.Create != nil || p.Del || s.typ == nil || p.Op == nil {
		// Rare; the store has the exact metadata (ctime, create id).
		_ = s.catchUp()
		return
	}
	rec := storage.Op{V: v, Src: p.Src, Seq: p.Seq, Op: p.Op}
	op, err := s.typ.DecodeOp(p.Op)
	if err == nil {
		var doc any
		doc, err = s.typ.Apply(s.doc, op)
		if err == nil {
			s.doc = doc
			s.advance(s.newCommitted(rec, op), s.m.now().UnixMilli())
			return
		}
	}
	s.m.log.Warn("remote op does not apply; reloading from store", "doc", s.key.String(), "v", v, "err", err)
	s.reset()
}

// advance records an op already applied to s.doc: version, metadata,
// window, subscribers, presence.
func (s *session) advance(co *committedOp, ts int64) {
	s.snap.V = co.rec.V + 1
	s.snap.Meta.MTime = ts
	s.dataStale = true
	s.dataSize += len(co.rec.Op)
	s.remember(co)
	s.broadcast(co)
}

func (s *session) catchUpMissed() {
	s.missed.Store(false)
	if s.loaded {
		if err := s.catchUp(); err != nil {
			s.m.log.Warn("catch-up after missed messages failed; reloading on next use", "doc", s.key.String(), "err", err)
			s.reset()
		}
	}
}

// catchUp applies every op the store has beyond our version, telling
// subscribers as if they had arrived over pub/sub.
func (s *session) catchUp() error {
	if !s.loaded {
		return s.ensureLoaded()
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	recs, err := s.m.store.Ops(ctx, s.key.c, s.key.d, s.snap.V, -1)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.V != s.snap.V {
			continue
		}
		var op any
		switch {
		case rec.Create != nil:
			typ, ok := s.m.types.Lookup(rec.Create.Type)
			if !ok {
				s.reset()
				return s.ensureLoaded()
			}
			doc, err := typ.Create(rec.Create.Data)
			if err != nil {
				s.reset()
				return s.ensureLoaded()
			}
			s.typ, s.doc = typ, doc
			s.snap.Type = typ.URI()
			s.snap.Meta.CTime = rec.Meta.TS
			s.snap.Meta.Create = &storage.OpID{Src: rec.Src, Seq: rec.Seq, V: rec.V}
			s.dataSize = len(rec.Create.Data)
		case rec.Del:
			s.typ, s.doc = nil, nil
			s.snap.Type, s.snap.Data = "", nil
			s.dataSize = 0
		default:
			if s.typ == nil {
				s.reset()
				return s.ensureLoaded()
			}
			dec, err := s.typ.DecodeOp(rec.Op)
			if err != nil {
				s.reset()
				return s.ensureLoaded()
			}
			doc, err := s.typ.Apply(s.doc, dec)
			if err != nil {
				s.reset()
				return s.ensureLoaded()
			}
			s.doc, op = doc, dec
		}
		s.advance(s.newCommitted(rec, op), rec.Meta.TS)
		if s.typ == nil {
			s.dataStale = false
		}
	}
	return nil
}

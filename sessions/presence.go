package sessions

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/pubsub"
)

// presenceUpdate is a presence message: {a:"p", ch, src, id, p, pv} plus
// c, d, v, t for doc presence.
type presenceUpdate struct {
	ch, src, id string
	p           json.RawMessage // null when the presence is gone
	pv          *int64
	c, d        string
	v           *int64
	t           string
}

func (u *presenceUpdate) isDoc() bool { return u.c != "" && u.d != "" }

func (u *presenceUpdate) gone() bool { return u.p == nil || string(u.p) == "null" }

// encode gives the wire form, which is also the pub/sub payload.
func (u *presenceUpdate) encode() []byte {
	o := protocol.NewObj(96+len(u.p)).Str("a", protocol.ActionPresence).Str("ch", u.ch).
		Str("src", u.src).Str("id", u.id)
	if u.p == nil {
		o.Null("p")
	} else {
		o.Raw("p", u.p)
	}
	if u.pv != nil {
		o.Int("pv", *u.pv)
	}
	if u.c != "" {
		o.Str("c", u.c)
	}
	if u.d != "" {
		o.Str("d", u.d)
	}
	if u.v != nil {
		o.Int("v", *u.v)
	}
	if u.t != "" {
		o.Str("t", u.t)
	}
	return o.Bytes()
}

// presenceHub fans presence messages from the broker out to this
// instance's subscribed connections: one broker subscription per channel,
// however many local subscribers.
type presenceHub struct {
	m  *Manager
	mu sync.Mutex // guards chans
	// chans maps a presence channel to its local subscribers and the
	// broker registration.
	chans map[string]*presenceChan
}

type presenceChan struct {
	agents map[*Agent]struct{}
	unsub  func()
}

func newPresenceHub(m *Manager) *presenceHub {
	return &presenceHub{m: m, chans: make(map[string]*presenceChan)}
}

func (h *presenceHub) subscribe(ch string, a *Agent) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	pc := h.chans[ch]
	if pc == nil {
		pc = &presenceChan{agents: make(map[*Agent]struct{})}
		unsub, err := h.m.broker.Subscribe(pubsub.PresenceChannel(ch), func(msg []byte) { h.deliver(ch, msg) })
		if err != nil {
			return err
		}
		pc.unsub = unsub
		h.chans[ch] = pc
	}
	pc.agents[a] = struct{}{}
	return nil
}

func (h *presenceHub) unsubscribe(ch string, a *Agent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pc := h.chans[ch]
	if pc == nil {
		return
	}
	delete(pc.agents, a)
	if len(pc.agents) == 0 {
		pc.unsub()
		delete(h.chans, ch)
	}
}

// presenceEnvelope is what the hub needs to know of a presence payload.
type presenceEnvelope struct {
	Src string `json:"src"`
	R   bool   `json:"r"`
	Ch  string `json:"ch"`
}

// deliver runs on the broker's goroutine: it must not block, and does not
// (Agent.send never blocks).
func (h *presenceHub) deliver(ch string, msg []byte) {
	if msg == nil {
		return // presence is refreshed by clients; nothing to catch up
	}
	var env presenceEnvelope
	if json.Unmarshal(msg, &env) != nil {
		return
	}
	out := msg
	if env.R {
		out = protocol.NewObj(32+len(ch)).Str("a", protocol.ActionPresenceRequest).Str("ch", ch).Bytes()
	} else {
		out = append([]byte(nil), msg...)
	}
	h.mu.Lock()
	pc := h.chans[ch]
	var targets []*Agent
	if pc != nil {
		targets = make([]*Agent, 0, len(pc.agents))
		for a := range pc.agents {
			if a.Src() != env.Src {
				targets = append(targets, a)
			}
		}
	}
	h.mu.Unlock()
	for _, a := range targets {
		a.send(out)
	}
}

// deliverLocal hands msg to this instance's subscribers of ch only.
func (h *presenceHub) deliverLocal(ch string, msg []byte) { h.deliver(ch, msg) }

func (h *presenceHub) publish(ch string, msg []byte) error {
	return h.m.broker.Publish(h.m.ctx, []string{pubsub.PresenceChannel(ch)}, msg)
}

// canReadChannel reports whether the connection may see presence on ch.
// A doc presence channel is "<collection>.<id>"; as both may hold dots,
// any split that names a readable document will do, or the default role.
func (a *Agent) canReadChannel(ch string) bool {
	if a.cfg.Access == nil || a.role("", "") >= RoleViewer {
		return true
	}
	for i := strings.IndexByte(ch, '.'); i >= 0; {
		if a.role(ch[:i], ch[i+1:]) >= RoleViewer {
			return true
		}
		j := strings.IndexByte(ch[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func (a *Agent) presenceSubscribe(req *protocol.Request) *protocol.Error {
	ch := req.Ch
	if ch == "" {
		return protocol.BadlyFormed("Invalid presence channel")
	}
	if !a.canReadChannel(ch) {
		return protocol.Errorf(protocol.ErrForbidden, "no access to presence channel %s", ch)
	}
	if req.HasSeq && req.Seq < a.presenceSeq[ch] {
		// A stale request: the client has since asked otherwise.
		a.send(protocol.NewObj(64).Str("ch", ch).Int("seq", req.Seq).Str("a", req.Action).Bytes())
		return nil
	}
	a.presenceSeq[ch] = req.Seq
	if !a.presenceSubs[ch] {
		if err := a.m.presence.subscribe(ch, a); err != nil {
			return protocol.Errorf(protocol.ErrUnknownError, "presence unavailable: %v", err)
		}
		a.presenceSubs[ch] = true
		a.publishPresenceRequest(ch)
	}
	a.send(protocol.NewObj(64).Str("ch", ch).Int("seq", req.Seq).Str("a", req.Action).Bytes())
	return nil
}

func (a *Agent) publishPresenceRequest(ch string) {
	msg := protocol.NewObj(64).Str("ch", ch).Bool("r", true).Str("src", a.clientID).Bytes()
	if err := a.m.presence.publish(ch, msg); err != nil {
		a.m.log.Warn("presence request not published", "ch", ch, "err", err)
	}
}

func (a *Agent) presenceUnsubscribe(req *protocol.Request) *protocol.Error {
	ch := req.Ch
	a.presenceSeq[ch] = req.Seq
	if a.presenceSubs[ch] {
		delete(a.presenceSubs, ch)
		a.m.presence.unsubscribe(ch, a)
		a.leavePresence(ch)
	}
	a.send(protocol.NewObj(64).Str("ch", ch).Int("seq", req.Seq).Str("a", req.Action).Bytes())
	return nil
}

func (a *Agent) presenceRequest(req *protocol.Request) *protocol.Error {
	if req.Ch != "" {
		a.publishPresenceRequest(req.Ch)
	}
	a.send([]byte(`{"a":"pr"}`))
	return nil
}

func (a *Agent) presenceUpdate(req *protocol.Request) *protocol.Error {
	if req.Ch == "" {
		return protocol.BadlyFormed("Invalid presence channel")
	}
	id, _ := req.String("id")
	pv, _ := req.Version("pv")
	t, _ := req.String("t")
	p := req.Get("p")
	if p != nil {
		if err := ot.CheckSurrogates(p); err != nil {
			return protocol.BadlyFormed("Invalid presence value: " + err.Error())
		}
	}
	u := &presenceUpdate{ch: req.Ch, src: a.Src(), id: id, p: p, pv: pv, c: req.C, d: req.D, v: req.V, t: t}
	if role := a.role(u.c, u.d); role < RoleEditor {
		return forbidden(role, "send presence to", u.c, u.d)
	}
	if !u.gone() && !a.presLimit.take(a.m.now) {
		return protocol.Errorf(protocol.ErrRateLimited, "too many presence updates, slow down")
	}
	a.rememberPresence(u)
	if u.isDoc() {
		return a.toSession(docKey{u.c, u.d}, &request{kind: reqPresence, agent: a, req: req, presence: u})
	}
	msg := u.encode()
	if err := a.m.presence.publish(u.ch, msg); err != nil {
		return protocol.Errorf(protocol.ErrUnknownError, "presence not published: %v", err)
	}
	a.send(msg)
	return nil
}

func (a *Agent) rememberPresence(u *presenceUpdate) {
	byID := a.presences[u.ch]
	if byID == nil {
		byID = make(map[string]*presenceUpdate)
		a.presences[u.ch] = byID
	}
	if prev := byID[u.id]; prev == nil || prev.pv == nil || u.pv == nil || *prev.pv < *u.pv {
		byID[u.id] = u
	}
}

// leavePresence announces this client's presences on ch gone, as sharedb
// does when a presence stream ends.
func (a *Agent) leavePresence(ch string) {
	for _, u := range a.presences[ch] {
		gone := *u
		gone.p = nil
		if gone.isDoc() {
			_ = a.m.send(docKey{gone.c, gone.d}, &request{kind: reqPresence, agent: a, presence: &gone})
			continue
		}
		_ = a.m.presence.publish(ch, gone.encode())
	}
	delete(a.presences, ch)
}

func (a *Agent) leaveAllPresence() {
	for ch := range a.presenceSubs {
		a.m.presence.unsubscribe(ch, a)
	}
	for ch := range a.presences {
		a.leavePresence(ch)
	}
	a.presenceSubs = nil
}

// handlePresence transforms a doc presence to the current version, then
// publishes it and acknowledges it to its sender with the same object.
func (s *session) handlePresence(r *request) {
	u := r.presence
	reply := func(e *protocol.Error) {
		if r.req != nil && e != nil {
			r.agent.replyError(r.req, e)
		}
	}
	if err := s.ensureLoaded(); err != nil {
		reply(loadError(err))
		return
	}
	if u.t != "" {
		typ, ok := s.m.types.Lookup(u.t)
		if !ok {
			reply(protocol.Errorf(protocol.ErrDocTypeNotRecognized, "Unknown type"))
			return
		}
		if _, ok := typ.(ot.PresenceTransformer); !ok {
			reply(protocol.Errorf(protocol.ErrTypeDoesNotSupportPresence, "Type does not support presence: %s", u.t))
			return
		}
	}
	if u.v != nil && *u.v != s.snap.V {
		if *u.v > s.snap.V {
			_ = s.catchUp()
		}
		if u.gone() {
			// Nothing to transform, but stamp the latest version as
			// sharedb does: a client holding a newer version would
			// otherwise try to catch the null up and never apply it.
			if *u.v < s.snap.V {
				v := s.snap.V
				u.v = &v
			}
		} else if perr := s.transformPresenceFrom(u); perr != nil {
			reply(perr)
			return
		}
	}
	msg := u.encode()
	if err := s.m.presence.publish(u.ch, msg); err != nil {
		reply(protocol.Errorf(protocol.ErrUnknownError, "presence not published: %v", err))
		return
	}
	if r.req != nil {
		r.agent.send(msg)
	}
}

// transformPresenceFrom moves u from its version to the current one.
func (s *session) transformPresenceFrom(u *presenceUpdate) *protocol.Error {
	if *u.v > s.snap.V {
		return nil // ahead of us still; pass it on unchanged
	}
	ops, err := s.opsSince(*u.v)
	if err != nil {
		return loadError(err)
	}
	typ, _ := s.m.types.Lookup(u.t)
	pt, _ := typ.(ot.PresenceTransformer)
	for _, op := range ops {
		if err := transformPresenceOnce(u, op, pt, typ); err != nil {
			return err
		}
	}
	return nil
}

func transformPresenceOnce(u *presenceUpdate, op *committedOp, pt ot.PresenceTransformer, typ ot.Type) *protocol.Error {
	v := op.rec.V + 1
	u.v = &v
	if op.rec.Create != nil || op.rec.Del {
		u.p = []byte("null")
		return nil
	}
	if u.gone() || pt == nil {
		return nil
	}
	applied, err := op.decoded(typ)
	if err != nil {
		return protocol.Errorf(protocol.ErrPresenceTransformFailed, "%v", err)
	}
	p, err := pt.TransformPresence(u.p, applied, op.rec.Src == u.src)
	if err != nil {
		return protocol.Errorf(protocol.ErrPresenceTransformFailed, "%v", err)
	}
	u.p = p
	return nil
}

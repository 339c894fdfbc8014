package sessions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemhq/tandem/protocol"
)

// Transport carries one client connection's messages, whatever the wire
// (WebSocket, SSE + POST, long polling).
type Transport interface {
	// Send queues msg without blocking. It returns false when the
	// connection is closing: closed already, or too slow to keep up and
	// now being dropped.
	Send(msg []byte) bool
	// Close ends the connection; reason goes to logs and, where the wire
	// allows, to the client.
	Close(reason string)
}

// Role is what a connection may do with a document.
type Role int

const (
	// RoleNone may not even read.
	RoleNone Role = iota
	// RoleViewer may read: fetch, subscribe, snapshots, presence.
	RoleViewer
	// RoleEditor may also write: ops and presence updates.
	RoleEditor
)

func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleEditor:
		return "editor"
	}
	return "none"
}

// Access decides a connection's role per document. Plain presence channels
// (not of a document) use Role("", "").
type Access interface {
	Role(collection, id string) Role
}

// User describes who is behind a connection, for presence lists.
type User struct {
	ID, Name, Color string
}

// AgentConfig configures one connection. Zero values mean the defaults.
type AgentConfig struct {
	// Access is nil when the server runs open: everyone is an editor.
	Access Access
	User   User
	// MaxSubscriptions caps documents subscribed at once. Zero means 5000.
	MaxSubscriptions int
	// MessagesPerSecond throttles reading from a connection that sends
	// faster (the reader waits; nothing is dropped). Zero means 1000.
	MessagesPerSecond float64
	// OpsPerSecond throttles op submissions the same way. Zero means 500.
	OpsPerSecond float64
	// PresencePerSecond limits presence updates; excess ones get
	// ERR_RATE_LIMITED. Zero means 50.
	PresencePerSecond float64
	// MaxJSONDepth refuses messages nested deeper. Zero means 100.
	MaxJSONDepth int
	// RemoteAddr is for logs.
	RemoteAddr string
}

func (c AgentConfig) withDefaults() AgentConfig {
	if c.MaxSubscriptions == 0 {
		c.MaxSubscriptions = 5000
	}
	if c.MessagesPerSecond == 0 {
		c.MessagesPerSecond = 1000
	}
	if c.OpsPerSecond == 0 {
		c.OpsPerSecond = 500
	}
	if c.PresencePerSecond == 0 {
		c.PresencePerSecond = 50
	}
	if c.MaxJSONDepth == 0 {
		c.MaxJSONDepth = protocol.DefaultMaxDepth
	}
	return c
}

// Agent speaks the ShareDB protocol with one client. Handle must be called
// from one goroutine (the connection's reader); sessions deliver to the
// agent concurrently through its Transport.
type Agent struct {
	m        *Manager
	t        Transport
	cfg      AgentConfig
	clientID string
	src      atomic.Pointer[string]
	closed   atomic.Bool

	// Owned by the reader goroutine.
	docs         map[docKey]bool // subscribed documents
	presenceSubs map[string]bool
	presenceSeq  map[string]int64
	// presences holds this client's latest presence per channel and id,
	// to announce it gone when the client leaves.
	presences map[string]map[string]*presenceUpdate
	msgLimit  bucket
	opLimit   bucket
	presLimit bucket

	holdMu sync.Mutex // guards hold
	// hold buffers messages for documents whose bulk reply is not sent
	// yet, so no op reaches a client before the document's snapshot.
	hold map[docKey][][]byte

	snapSem chan struct{}  // bounds concurrent nf/nt
	bg      sync.WaitGroup // nf/nt and live-query goroutines

	queries map[string]*liveQuery // by query id; reader goroutine only
	queryMu sync.Mutex            // guards queryIDs
	// queryIDs holds each live query's current result ids, read on the
	// broker goroutine to forward ops.
	queryIDs map[*liveQuery]map[string]bool
}

// NewAgent creates the protocol endpoint for one connection. Call Start,
// then Handle for each frame, then Close when the connection ends.
func (m *Manager) NewAgent(t Transport, cfg AgentConfig) *Agent {
	cfg = cfg.withDefaults()
	a := &Agent{
		m: m, t: t, cfg: cfg,
		clientID:     newClientID(),
		docs:         make(map[docKey]bool),
		presenceSubs: make(map[string]bool),
		presenceSeq:  make(map[string]int64),
		presences:    make(map[string]map[string]*presenceUpdate),
		snapSem:      make(chan struct{}, 4),
	}
	a.src.Store(&a.clientID)
	now := m.now()
	a.msgLimit = newBucket(cfg.MessagesPerSecond, now)
	a.opLimit = newBucket(cfg.OpsPerSecond, now)
	a.presLimit = newBucket(cfg.PresencePerSecond, now)
	m.agents.Add(1)
	m.met.Connections.Inc()
	return a
}

func newClientID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Src is the connection's src: the id the client proposed in its
// handshake (stable across reconnects), else the server's id.
func (a *Agent) Src() string { return *a.src.Load() }

// User returns who is behind the connection.
func (a *Agent) User() User { return a.cfg.User }

// Start sends the legacy init greeting, as the Node server does.
func (a *Agent) Start() {
	a.send(a.initMessage(protocol.ActionInit))
}

func (a *Agent) initMessage(action string) []byte {
	return protocol.NewObj(160).Str("a", action).Int("protocol", 1).Int("protocolMinor", 2).
		Str("id", a.Src()).Str("type", "http://sharejs.org/types/JSONv0").Bytes()
}

func (a *Agent) send(msg []byte) {
	if a.closed.Load() {
		return
	}
	a.t.Send(msg)
}

// deliver sends a document's message, holding it while that document's
// bulk reply is pending.
func (a *Agent) deliver(key docKey, msg []byte) {
	a.holdMu.Lock()
	if q, held := a.hold[key]; held {
		a.hold[key] = append(q, msg)
		a.holdMu.Unlock()
		return
	}
	a.holdMu.Unlock()
	a.send(msg)
}

func (a *Agent) replyError(req *protocol.Request, e *protocol.Error) {
	a.m.countError(e.Code)
	a.send(protocol.ErrorReply(req, e))
}

// closeRetryable closes the connection so the client reconnects and
// resends what it has pending.
func (a *Agent) closeRetryable(reason string) { a.t.Close(reason) }

// Handle processes one frame from the client. It returns false when the
// connection must be closed (a frame that is not a JSON object, as sharedb
// does).
func (a *Agent) Handle(frame []byte) bool {
	if a.closed.Load() {
		return false
	}
	a.msgLimit.wait(a.m.now)
	req, err := protocol.DecodeLimited(frame, a.cfg.MaxJSONDepth)
	if err == protocol.ErrNotObject {
		return false
	}
	if err != nil {
		a.m.met.Messages.WithLabelValues("invalid").Inc()
		a.replyError(req, err.(*protocol.Error))
		return true
	}
	a.m.met.Messages.WithLabelValues(actionLabel(req.Action)).Inc()
	if perr := a.dispatch(req); perr != nil {
		a.replyError(req, perr)
	}
	return true
}

func actionLabel(a string) string {
	switch a {
	case "hs", "f", "s", "u", "bf", "bs", "bu", "op", "nf", "nt", "pp", "p", "ps", "pu", "pr", "qf", "qs", "qu":
		return a
	}
	return "unknown"
}

func (a *Agent) dispatch(req *protocol.Request) *protocol.Error {
	switch req.Action {
	case protocol.ActionHandshake:
		return a.handshake(req)
	case protocol.ActionPing:
		a.send([]byte(`{"a":"pp"}`))
		return nil
	case protocol.ActionFetch, protocol.ActionSubscribe:
		return a.fetch(req)
	case protocol.ActionUnsubscribe:
		key := docKey{req.C, req.D}
		delete(a.docs, key)
		return a.toSession(key, &request{kind: reqUnsubscribe, agent: a, req: req})
	case protocol.ActionBulkFetch, protocol.ActionBulkSubscribe, protocol.ActionBulkUnsubscribe:
		return a.bulk(req)
	case protocol.ActionOp:
		return a.submit(req)
	case protocol.ActionSnapshotFetch, protocol.ActionSnapshotFetchByTime:
		return a.snapshotAt(req)
	case protocol.ActionPresence:
		return a.presenceUpdate(req)
	case protocol.ActionPresenceSubscribe:
		return a.presenceSubscribe(req)
	case protocol.ActionPresenceUnsubscribe:
		return a.presenceUnsubscribe(req)
	case protocol.ActionPresenceRequest:
		return a.presenceRequest(req)
	case protocol.ActionQueryFetch, protocol.ActionQuerySubscribe, protocol.ActionQueryUnsubscribe:
		return a.query(req)
	}
	return protocol.BadlyFormed("Invalid or unknown message")
}

func (a *Agent) handshake(req *protocol.Request) *protocol.Error {
	if raw := req.Get("id"); raw != nil && string(raw) != "null" {
		id, ok := req.String("id")
		if !ok {
			return protocol.BadlyFormed("Invalid client id")
		}
		if len(id) > 256 {
			return protocol.BadlyFormed("Client id too long")
		}
		if id != "" {
			a.src.Store(&id)
		}
	}
	a.send(a.initMessage(protocol.ActionHandshake))
	return nil
}

// role returns the connection's role on a document.
func (a *Agent) role(c, d string) Role {
	if a.cfg.Access == nil {
		return RoleEditor
	}
	return a.cfg.Access.Role(c, d)
}

func forbidden(role Role, what, c, d string) *protocol.Error {
	if role == RoleNone {
		return protocol.Errorf(protocol.ErrForbidden, "no access to %s/%s", c, d)
	}
	return protocol.Errorf(protocol.ErrForbidden, "role %s may not %s %s/%s", role, what, c, d)
}

func (a *Agent) toSession(key docKey, r *request) *protocol.Error {
	if err := a.m.send(key, r); err != nil {
		// Shutting down: an error would make the client roll its op
		// back. Closing makes it reconnect (elsewhere) and resend.
		a.closeRetryable("server shutting down")
	}
	return nil
}

func (a *Agent) fetch(req *protocol.Request) *protocol.Error {
	key := docKey{req.C, req.D}
	if role := a.role(key.c, key.d); role < RoleViewer {
		return forbidden(role, "read", key.c, key.d)
	}
	kind := reqFetch
	if req.Action == protocol.ActionSubscribe {
		kind = reqSubscribe
		if !a.docs[key] && len(a.docs) >= a.cfg.MaxSubscriptions {
			return protocol.Errorf(protocol.ErrTooManySubscriptions, "at most %d documents may be subscribed at once", a.cfg.MaxSubscriptions)
		}
		a.docs[key] = true
	}
	return a.toSession(key, &request{kind: kind, agent: a, req: req, v: req.V})
}

func (a *Agent) bulk(req *protocol.Request) *protocol.Error {
	if req.C == "" {
		return protocol.BadlyFormed("Invalid collection")
	}
	ids, versions := req.BulkIDs()
	c := req.C
	if req.Action == protocol.ActionBulkUnsubscribe {
		parts := make(chan bulkPart, len(ids))
		for _, id := range ids {
			key := docKey{c, id}
			delete(a.docs, key)
			if perr := a.toSession(key, &request{kind: reqUnsubscribe, agent: a, bulk: parts}); perr != nil {
				return perr
			}
		}
		for range ids {
			<-parts
		}
		a.send(protocol.NewObj(64+len(req.Get("b"))).Str("a", req.Action).Str("c", c).Raw("b", req.Get("b")).Bytes())
		return nil
	}
	subscribe := req.Action == protocol.ActionBulkSubscribe
	if subscribe {
		n := len(a.docs)
		for _, id := range ids {
			if !a.docs[docKey{c, id}] {
				n++
			}
		}
		if n > a.cfg.MaxSubscriptions {
			return protocol.Errorf(protocol.ErrTooManySubscriptions, "at most %d documents may be subscribed at once", a.cfg.MaxSubscriptions)
		}
	}
	results := make(map[string]bulkPart, len(ids))
	var asked []docKey
	parts := make(chan bulkPart, len(ids))
	a.holdMu.Lock()
	if a.hold == nil {
		a.hold = make(map[docKey][][]byte)
	}
	for _, id := range ids {
		if _, held := a.hold[docKey{c, id}]; !held {
			a.hold[docKey{c, id}] = nil
		}
	}
	a.holdMu.Unlock()
	defer a.releaseHold(c, ids)
	for _, id := range ids {
		key := docKey{c, id}
		if role := a.role(c, id); role < RoleViewer {
			if versions != nil {
				return forbidden(role, "read", c, id)
			}
			results[id] = bulkPart{id: id, err: forbidden(role, "read", c, id)}
			continue
		}
		var v *int64
		if versions != nil {
			v = versions[id]
		}
		if subscribe {
			a.docs[key] = true
		}
		if perr := a.toSession(key, &request{kind: reqBulk, agent: a, req: req, v: v, bulk: parts, subscribe: subscribe}); perr != nil {
			return perr
		}
		asked = append(asked, key)
	}
	for range asked {
		p := <-parts
		results[p.id] = p
	}
	if versions != nil {
		for _, p := range results {
			if p.err != nil {
				return p.err
			}
		}
		a.send(protocol.NewObj(64+len(req.Get("b"))).Str("a", req.Action).Str("c", c).Raw("b", req.Get("b")).Bytes())
		return nil
	}
	data := protocol.NewObj(256)
	for _, id := range ids {
		p := results[id]
		if p.err != nil {
			a.m.countError(p.err.Code)
			data.Raw(jsonKey(id), protocol.NewObj(96).Raw("error",
				protocol.NewObj(64).Str("code", p.err.Code).Str("message", p.err.Message).Bytes()).Bytes())
			continue
		}
		data.Raw(jsonKey(id), p.data)
	}
	a.send(protocol.NewObj(64).Str("a", req.Action).Str("c", c).Raw("data", data.Bytes()).Bytes())
	return nil
}

// jsonKey returns id ready for Obj.Raw's key position: Obj writes keys
// verbatim between quotes, so escape it and strip the outer quotes.
func jsonKey(id string) string {
	b := protocol.AppendString(nil, id)
	return string(b[1 : len(b)-1])
}

// releaseHold sends the messages held back during a bulk request, in
// order, after its reply.
func (a *Agent) releaseHold(c string, ids []string) {
	a.holdMu.Lock()
	defer a.holdMu.Unlock()
	for _, id := range ids {
		key := docKey{c, id}
		for _, msg := range a.hold[key] {
			a.send(msg)
		}
		delete(a.hold, key)
	}
}

func (a *Agent) submit(req *protocol.Request) *protocol.Error {
	key := docKey{req.C, req.D}
	sub := &submission{agent: a, req: req, v: req.V, received: a.m.now()}
	switch {
	case req.Has("op"):
		sub.kind, sub.raw = opEdit, req.Get("op")
	case truthy(req.Get("create")):
		raw := req.Get("create")
		if raw[0] != '{' {
			return protocol.Errorf(protocol.ErrOpBadlyFormed, "Create data must be an object")
		}
		var create map[string]json.RawMessage
		if err := json.Unmarshal(raw, &create); err != nil {
			return protocol.Errorf(protocol.ErrOpBadlyFormed, "Create data must be an object")
		}
		var typ string
		if err := json.Unmarshal(create["type"], &typ); err != nil || create["type"] == nil {
			return protocol.Errorf(protocol.ErrOpBadlyFormed, "Missing create type")
		}
		if _, ok := a.m.types.Lookup(typ); !ok {
			return protocol.Errorf(protocol.ErrDocTypeNotRecognized, "Unknown type")
		}
		sub.kind, sub.ctype = opCreate, typ
		if d, ok := create["data"]; ok {
			sub.cdata = d
		}
	case truthy(req.Get("del")):
		if string(req.Get("del")) != "true" {
			return protocol.Errorf(protocol.ErrOpBadlyFormed, "del value must be true")
		}
		sub.kind = opDel
	default:
		return protocol.BadlyFormed("Invalid op message")
	}
	sub.src = req.Src
	if sub.src == "" {
		sub.src = a.Src()
	}
	if !req.HasSeq {
		return protocol.Errorf(protocol.ErrOpBadlyFormed, "Both src and seq must be set together")
	}
	sub.seq = req.Seq
	if role := a.role(key.c, key.d); role < RoleEditor {
		return forbidden(role, "write", key.c, key.d)
	}
	a.opLimit.wait(a.m.now)
	return a.toSession(key, &request{kind: reqSubmit, agent: a, req: req, sub: sub})
}

// truthy reports JavaScript truthiness of a JSON value.
func truthy(raw json.RawMessage) bool {
	switch string(raw) {
	case "", "null", "false", "0", `""`, "-0":
		return false
	}
	if f, ok := protocol.NumberValue(raw); ok {
		return f != 0
	}
	return true
}

// Close ends the agent: it leaves every document and presence channel,
// announcing its presences gone. Call it once, when the connection ends.
func (a *Agent) Close() {
	if a.closed.Swap(true) {
		return
	}
	for key := range a.docs {
		_ = a.m.send(key, &request{kind: reqDrop, agent: a})
	}
	a.docs = nil
	a.stopAllQueries()
	a.leaveAllPresence()
	a.bg.Wait()
	a.m.agents.Add(-1)
	a.m.met.Connections.Dec()
}

// snapshotAt answers nf (snapshot at a version) and nt (at a time) from
// the store, in the background so a long replay does not hold up the
// connection's other messages.
func (a *Agent) snapshotAt(req *protocol.Request) *protocol.Error {
	if role := a.role(req.C, req.D); role < RoleViewer {
		return forbidden(role, "read", req.C, req.D)
	}
	a.snapSem <- struct{}{}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		defer func() { <-a.snapSem }()
		ctx, cancel := context.WithTimeout(a.m.ctx, 30*time.Second)
		defer cancel()
		var snap historicSnapshot
		var err *protocol.Error
		if req.Action == protocol.ActionSnapshotFetch {
			snap, err = a.m.snapshotAtVersion(ctx, req.C, req.D, req.V)
		} else {
			snap, err = a.m.snapshotAtTime(ctx, req.C, req.D, req.TS)
		}
		if err != nil {
			a.replyError(req, err)
			return
		}
		// sharedb replies with the Snapshot object (whose id is the doc
		// id), overwriting id with the request's when that is truthy.
		o := protocol.NewObj(64 + len(snap.data))
		if id := req.Get("id"); truthy(id) {
			o.Raw("id", id)
		} else {
			o.Str("id", req.D).Str("c", req.C).Str("d", req.D)
		}
		o.Int("v", snap.v)
		if snap.typ == "" {
			o.Null("type")
		} else {
			o.Str("type", snap.typ).Raw("data", snap.data)
		}
		a.send(o.Null("m").Str("a", req.Action).Bytes())
	}()
	return nil
}

// bucket is a token bucket owned by one goroutine.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate float64, now time.Time) bucket {
	return bucket{rate: rate, burst: rate * 2, tokens: rate * 2, last: now}
}

func (b *bucket) refill(now time.Time) {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// take spends a token if one is there.
func (b *bucket) take(now func() time.Time) bool {
	b.refill(now())
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// wait spends a token, sleeping until one is there.
func (b *bucket) wait(now func() time.Time) {
	b.refill(now())
	if b.tokens < 1 {
		time.Sleep(time.Duration((1 - b.tokens) / b.rate * float64(time.Second)))
		b.refill(now())
	}
	b.tokens--
}

package sessions

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"time"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/protocol"
)

// An editor is one client connection (by its src) editing a document,
// here or on another instance, with its latest doc presence. Viewers see
// editors join, move their cursor and leave.
//
// Who is connected comes from two places: local agents subscribed with the
// editor role, and roster messages other instances publish on
// "$tandem.editors.<collection>.<id>" (on change and every PresenceTTL/3).
// Cursors come from ShareDB doc presence on "$presence.<collection>.<id>",
// which every instance sees. A remote editor whose instance stops
// refreshing it is dropped within PresenceTTL, and this instance tells its
// own ShareDB clients that editor's presences are gone.
type editor struct {
	id     string // the connection's src
	user   User
	agents map[*Agent]struct{} // local connections with this src
	inst   string              // instance announcing it, when remote
	until  time.Time           // remote only: expiry unless refreshed
	// presences maps presence id to the latest non-null doc presence.
	presences map[string]*presenceUpdate
	cursor    json.RawMessage // what viewers see: the latest moved presence
	dirty     bool            // a cursor change not yet sent to viewers
	sentAt    time.Time
}

func (e *editor) local() bool { return len(e.agents) > 0 }

// rosterChannel is where instances announce who edits a document.
func rosterChannel(c, d string) string { return "$tandem.editors." + c + "." + d }

// rosterMsg is an instance's list of its editors on a document.
type rosterMsg struct {
	Inst    string       `json:"inst"`
	C       string       `json:"c"`
	D       string       `json:"d"`
	Editors []rosterUser `json:"editors"`
	// Req asks every instance to announce its editors now (a session
	// that just opened would otherwise wait for the next refresh).
	Req bool `json:"req,omitempty"`
}

type rosterUser struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Color string `json:"color,omitempty"`
}

// editorJSON is the viewer-facing form {"id","name","color","cursor"}.
func (e *editor) json() []byte {
	name, color := e.user.Name, e.user.Color
	if name == "" || color == "" {
		// Editors may name themselves in their presence value.
		var p struct {
			Name  string `json:"name"`
			Color string `json:"color"`
		}
		_ = json.Unmarshal(e.cursor, &p)
		if name == "" {
			name = p.Name
		}
		if color == "" {
			color = p.Color
		}
	}
	if name == "" {
		name = "Anonymous"
	}
	if color == "" {
		color = defaultColor(e.id)
	}
	o := protocol.NewObj(128+len(e.cursor)).Str("id", e.id).Str("name", name).Str("color", color)
	if cur := cursorOf(e.cursor); cur != nil {
		o.Raw("cursor", cur)
	} else {
		o.Null("cursor")
	}
	return o.Bytes()
}

// cursorOf extracts {index,length} from a rich-text presence value.
func cursorOf(p json.RawMessage) []byte {
	if len(p) == 0 || string(p) == "null" {
		return nil
	}
	var r struct {
		Index  *float64 `json:"index"`
		Length *float64 `json:"length"`
	}
	if json.Unmarshal(p, &r) != nil || r.Index == nil {
		return nil
	}
	length := 0.0
	if r.Length != nil {
		length = *r.Length
	}
	return protocol.NewObj(48).Int("index", int64(*r.Index)).Int("length", int64(length)).Bytes()
}

var palette = []string{"#e91e63", "#3f51b5", "#009688", "#ff9800", "#9c27b0", "#4caf50", "#f44336", "#2196f3"}

func defaultColor(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return palette[h.Sum32()%uint32(len(palette))]
}

// editorsFor returns the editor of src, creating it.
func (s *session) editorFor(src string) (*editor, bool) {
	if e := s.editors[src]; e != nil {
		return e, false
	}
	// The maps are made on first write: most editors have one connection
	// and one presence, and an idle one costs less this way.
	e := &editor{id: src}
	s.editors[src] = e
	return e, true
}

// addLocalEditor records a subscribed local connection that may edit.
func (s *session) addLocalEditor(a *Agent) {
	if a.role(s.key.c, s.key.d) < RoleEditor {
		return
	}
	e, joined := s.editorFor(a.Src())
	if e.agents == nil {
		e.agents = make(map[*Agent]struct{}, 1)
	}
	e.agents[a] = struct{}{}
	e.user = a.User()
	e.inst = ""
	if joined {
		s.viewers.presence(s, presenceFrame("join", e.json()))
		s.publishRoster()
	}
}

// removeLocalEditor forgets a local connection; the editor leaves when it
// has no connection left here.
func (s *session) removeLocalEditor(a *Agent) {
	e := s.editors[a.Src()]
	if e == nil {
		return
	}
	if _, ok := e.agents[a]; !ok {
		return
	}
	delete(e.agents, a)
	if !e.local() {
		s.editorLeft(e)
		s.publishRoster()
	}
}

func (s *session) editorLeft(e *editor) {
	delete(s.editors, e.id)
	s.viewers.presence(s, presenceFrame("leave", protocol.NewObj(48).Str("id", e.id).Bytes()))
}

// publishRoster announces this instance's local editors to the others.
func (s *session) publishRoster() {
	msg := rosterMsg{Inst: s.m.instance, C: s.key.c, D: s.key.d, Editors: []rosterUser{}}
	for _, e := range s.editors {
		if e.local() {
			msg.Editors = append(msg.Editors, rosterUser{ID: e.id, Name: e.user.Name, Color: e.user.Color})
		}
	}
	s.m.roster.setLocal(s.key, len(msg.Editors))
	b, _ := json.Marshal(msg)
	// Also sent while shutting down (an empty list), so not on m.ctx.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.m.ctx), 2*time.Second)
	defer cancel()
	_ = s.m.broker.Publish(ctx, []string{rosterChannel(s.key.c, s.key.d), "$tandem.editors." + s.key.c}, b)
	s.rosterSentAt = s.m.now()
}

// requestRosters asks the other instances who edits this document.
func (s *session) requestRosters() {
	b, _ := json.Marshal(rosterMsg{Inst: s.m.instance, C: s.key.c, D: s.key.d, Req: true})
	_ = s.m.broker.Publish(s.m.ctx, []string{rosterChannel(s.key.c, s.key.d)}, b)
}

// onRoster applies another instance's roster.
func (s *session) onRoster(msg []byte) {
	var r rosterMsg
	if json.Unmarshal(msg, &r) != nil || r.Inst == s.m.instance || r.C != s.key.c || r.D != s.key.d {
		return
	}
	if r.Req {
		for _, e := range s.editors {
			if e.local() {
				s.publishRoster()
				break
			}
		}
		return
	}
	until := s.m.now().Add(s.m.rosterTrust())
	listed := make(map[string]bool, len(r.Editors))
	for _, u := range r.Editors {
		listed[u.ID] = true
		e, joined := s.editorFor(u.ID)
		if e.local() {
			continue // also connected here; the local view wins
		}
		e.inst, e.until = r.Inst, until
		changed := e.user.Name != u.Name || e.user.Color != u.Color
		e.user = User{ID: u.ID, Name: u.Name, Color: u.Color}
		switch {
		case joined:
			s.viewers.presence(s, presenceFrame("join", e.json()))
		case changed:
			s.viewers.presence(s, presenceFrame("update", e.json()))
		}
	}
	for _, e := range s.editors {
		if !e.local() && e.inst == r.Inst && !listed[e.id] {
			s.remoteEditorGone(e)
		}
	}
}

// remoteEditorGone drops a remote editor and tells local ShareDB clients
// its presences are gone (its own instance can no longer say so).
func (s *session) remoteEditorGone(e *editor) {
	for _, u := range e.presences {
		gone := *u
		gone.p = nil
		v := s.snap.V
		gone.v = &v
		s.m.presence.deliverLocal(gone.ch, gone.encode())
	}
	s.editorLeft(e)
}

// onPresence tracks doc presence seen on the broker (local and remote).
func (s *session) onPresence(msg []byte) {
	var m struct {
		A   string          `json:"a"`
		Ch  string          `json:"ch"`
		Src string          `json:"src"`
		ID  string          `json:"id"`
		P   json.RawMessage `json:"p"`
		PV  *int64          `json:"pv"`
		C   string          `json:"c"`
		D   string          `json:"d"`
		V   *int64          `json:"v"`
		T   string          `json:"t"`
		R   bool            `json:"r"`
	}
	if json.Unmarshal(msg, &m) != nil || m.R || m.A != protocol.ActionPresence || m.C != s.key.c || m.D != s.key.d || m.Src == "" {
		return
	}
	u := &presenceUpdate{ch: m.Ch, src: m.Src, id: m.ID, p: m.P, pv: m.PV, c: m.C, d: m.D, v: m.V, t: m.T}
	e, joined := s.editorFor(m.Src)
	if joined {
		if u.gone() {
			delete(s.editors, m.Src)
			return
		}
		// An editor we have not heard of (e.g. on a ShareDB server that
		// publishes no roster): trust it for one TTL per update.
		e.until = s.m.now().Add(s.m.cfg.PresenceTTL)
		e.inst = "?"
	} else if !e.local() && e.inst == "?" {
		e.until = s.m.now().Add(s.m.cfg.PresenceTTL)
	}
	if u.gone() {
		delete(e.presences, m.ID)
		e.cursor = nil
		for _, other := range e.presences {
			e.cursor = other.p
		}
	} else {
		if u.v != nil && *u.v < s.snap.V {
			if s.transformPresenceFrom(u) != nil {
				return
			}
		}
		if e.presences == nil {
			e.presences = make(map[string]*presenceUpdate, 1)
		}
		e.presences[m.ID] = u
		e.cursor = u.p
	}
	if joined {
		s.viewers.presence(s, presenceFrame("join", e.json()))
		return
	}
	s.cursorMoved(e)
}

// cursorMoved sends an editor's cursor to viewers at most every
// cursorInterval; later moves within the interval are coalesced.
const cursorInterval = 200 * time.Millisecond

func (s *session) cursorMoved(e *editor) {
	if s.viewers.len() == 0 {
		return
	}
	now := s.m.now()
	if now.Sub(e.sentAt) >= cursorInterval {
		e.sentAt, e.dirty = now, false
		s.viewers.presence(s, presenceFrame("update", e.json()))
		return
	}
	e.dirty = true
	s.armFlush(e.sentAt.Add(cursorInterval).Sub(now))
}

func (s *session) armFlush(d time.Duration) {
	if s.flushArmed {
		return
	}
	s.flushArmed = true
	if s.flushTimer == nil {
		s.flushTimer = time.NewTimer(d)
		return
	}
	s.flushTimer.Reset(d)
}

// flushCursors sends coalesced cursor moves.
func (s *session) flushCursors() {
	s.flushArmed = false
	now := s.m.now()
	for _, e := range s.editors {
		if e.dirty {
			e.dirty, e.sentAt = false, now
			s.viewers.presence(s, presenceFrame("update", e.json()))
		}
	}
}

// transformCursors moves tracked presences through a committed op, as
// clients do, so viewers' cursors stay on the right characters.
func (s *session) transformCursors(co *committedOp) {
	if len(s.editors) == 0 || s.typ == nil {
		return
	}
	pt, _ := s.typ.(ot.PresenceTransformer)
	for _, e := range s.editors {
		moved := false
		for id, u := range e.presences {
			if u.v == nil || *u.v != co.rec.V {
				continue
			}
			if transformPresenceOnce(u, co, pt, s.typ) != nil || u.gone() {
				delete(e.presences, id)
			}
			moved = true
		}
		if moved {
			e.cursor = nil
			for _, u := range e.presences {
				e.cursor = u.p
			}
			s.cursorMoved(e)
		}
	}
}

// rosterTick refreshes this instance's roster and expires remote editors.
func (s *session) rosterTick() {
	now := s.m.now()
	local := false
	for _, e := range s.editors {
		if e.local() {
			local = true
		} else if now.After(e.until) {
			s.remoteEditorGone(e)
		}
	}
	// Announce on the tick nearest to every rosterEvery, never later.
	if local && now.Sub(s.rosterSentAt) >= s.m.rosterEvery()-s.m.rosterTick()/2 {
		s.publishRoster()
	}
	s.viewers.prune()
}

// editorsSet is the presence "set" frame payload.
func (s *session) editorsSet() []byte {
	b := []byte(`[`)
	first := true
	for _, e := range s.editors {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, e.json()...)
	}
	b = append(b, ']')
	return protocol.NewObj(32+len(b)).Str("type", "set").Raw("editors", b).Bytes()
}

func presenceFrame(kind string, editorJSON []byte) []byte {
	return protocol.NewObj(32+len(editorJSON)).Str("type", kind).Raw("editor", editorJSON).Bytes()
}

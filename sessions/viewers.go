package sessions

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/storage"
)

// Viewer is a read-only subscriber to a document: the SSE streams. The
// session encodes each event once, as a complete SSE frame, and hands the
// same bytes to every viewer's bounded queue; a viewer whose queue fills up
// is closed (it reconnects with Last-Event-ID and loses nothing).
type Viewer struct {
	frames       chan []byte
	done         chan struct{}
	once         sync.Once
	presenceOnly bool
	user         User
}

// Frames yields SSE frames, ready to write.
func (v *Viewer) Frames() <-chan []byte { return v.frames }

// Done is closed when the viewer has been closed.
func (v *Viewer) Done() <-chan struct{} { return v.done }

// Close ends the viewer; safe to call more than once.
func (v *Viewer) Close() { v.once.Do(func() { close(v.done) }) }

func (v *Viewer) closed() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// push queues a frame without blocking; a full queue closes the viewer.
func (v *Viewer) push(frame []byte) {
	if v.closed() {
		return
	}
	select {
	case v.frames <- frame:
	default:
		v.Close()
	}
}

// WatchOptions choose what a viewer gets.
type WatchOptions struct {
	// LastEventID is the version the viewer already has (from the SSE
	// Last-Event-ID header); nil for a fresh start.
	LastEventID *int64
	// PresenceOnly sends only presence events.
	PresenceOnly bool
	User         User
}

// ErrDocNotFound is returned by Watch for a document that was never
// created.
var ErrDocNotFound = errors.New("sessions: document does not exist")

// viewerQueue is how many frames may wait for a viewer.
const viewerQueue = 1024

// maxReplay is how many ops a reconnecting viewer is sent instead of a
// fresh snapshot.
const maxReplay = 512

// Watch registers a viewer of a document. The first frames (retry, the
// snapshot or the ops since LastEventID, the presence set) are queued
// before it returns.
func (m *Manager) Watch(ctx context.Context, c, d string, o WatchOptions) (*Viewer, error) {
	v := &Viewer{frames: make(chan []byte, viewerQueue), done: make(chan struct{}), presenceOnly: o.PresenceOnly, user: o.User}
	reply := make(chan error, 1)
	if err := m.send(docKey{c, d}, &request{kind: reqView, viewer: v, since: o.LastEventID, viewReply: reply}); err != nil {
		return nil, err
	}
	select {
	case err := <-reply:
		if err != nil {
			return nil, err
		}
		return v, nil
	case <-ctx.Done():
		v.Close()
		return nil, ctx.Err()
	}
}

// viewerSet holds a session's viewers. Owned by the session goroutine.
type viewerSet struct {
	list map[*Viewer]struct{}
}

func (vs *viewerSet) len() int { return len(vs.list) }

func (vs *viewerSet) add(v *Viewer) {
	if vs.list == nil {
		vs.list = make(map[*Viewer]struct{})
	}
	vs.list[v] = struct{}{}
}

// prune forgets closed viewers.
func (vs *viewerSet) prune() {
	for v := range vs.list {
		if v.closed() {
			delete(vs.list, v)
		}
	}
}

func (vs *viewerSet) closeAll() {
	for v := range vs.list {
		v.Close()
	}
	vs.list = nil
}

// send hands one encoded frame to every viewer (presence frames to all,
// document frames only to full viewers).
func (vs *viewerSet) send(frame []byte, docEvent bool) {
	for v := range vs.list {
		if v.closed() {
			delete(vs.list, v)
			continue
		}
		if docEvent && v.presenceOnly {
			continue
		}
		v.push(frame)
	}
}

// op sends a committed op to viewers.
func (vs *viewerSet) op(s *session, co *committedOp) {
	if len(vs.list) == 0 {
		return
	}
	vs.send(opFrame(co.rec), true)
}

// presence sends a presence event payload to viewers.
func (vs *viewerSet) presence(_ *session, payload []byte) {
	if len(vs.list) == 0 {
		return
	}
	vs.send(sseFrame("presence", "", payload), false)
}

// handleView starts a viewer: retry hint, then the document (a snapshot,
// or the ops since the version it has), then who is here.
func (s *session) handleView(r *request) {
	v := r.viewer
	if err := s.freshen(); err != nil {
		r.viewReply <- err
		return
	}
	if since := r.since; since != nil && *since > s.snap.V {
		_ = s.catchUp() // the viewer saw a newer version elsewhere
	}
	if s.snap.V == 0 && s.typ == nil && r.since == nil {
		r.viewReply <- ErrDocNotFound
		return
	}
	v.push([]byte("retry: 2000\n\n"))
	if !v.presenceOnly {
		replayed := false
		if since := r.since; since != nil && *since <= s.snap.V && s.snap.V-*since <= maxReplay {
			if ops, err := s.opsSince(*since); err == nil {
				for _, op := range ops {
					v.push(opFrame(op.rec))
				}
				replayed = true
			}
		}
		if !replayed {
			frame, err := s.snapshotFrame()
			if err != nil {
				r.viewReply <- err
				return
			}
			v.push(frame)
		}
	}
	v.push(sseFrame("presence", "", s.editorsSet()))
	s.viewers.add(v)
	r.viewReply <- nil
}

// snapshotFrame is the SSE snapshot event: {v, type, data}.
func (s *session) snapshotFrame() ([]byte, error) {
	o := protocol.NewObj(64+s.dataSize).Int("v", s.snap.V)
	if s.typ == nil {
		o.Null("type")
	} else {
		data, err := s.snapshotData()
		if err != nil {
			return nil, err
		}
		o.Str("type", s.typ.URI()).Raw("data", data)
	}
	return sseFrame("snapshot", strconv.FormatInt(s.snap.V, 10), o.Bytes()), nil
}

// opFrame is the SSE op event: {v, src, seq, op|create|del}, id v+1.
func opFrame(rec storage.Op) []byte {
	o := protocol.NewObj(64+len(rec.Op)).Int("v", rec.V).Str("src", rec.Src).Int("seq", rec.Seq)
	appendOpBody(o, rec)
	return sseFrame("op", strconv.FormatInt(rec.V+1, 10), o.Bytes())
}

// sseFrame encodes one event. Data holding newlines (client-sent create
// data may be pretty-printed) becomes several data lines, which the
// EventSource joins back with newlines.
func sseFrame(event, id string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(event)+len(id)+24)
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, '\n')
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	for {
		i := bytes.IndexByte(data, '\n')
		b = append(b, "data: "...)
		if i < 0 {
			b = append(b, bytes.TrimSuffix(data, []byte("\r"))...)
			break
		}
		b = append(b, bytes.TrimSuffix(data[:i], []byte("\r"))...)
		b = append(b, '\n')
		data = data[i+1:]
	}
	return append(b, '\n', '\n')
}

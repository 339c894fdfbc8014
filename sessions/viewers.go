package sessions

// Viewer is a read-only subscriber to a document's events (the SSE
// streams). Built in a later step; the session already calls the hooks.
type Viewer struct{}

// viewerSet holds a session's viewers. Owned by the session goroutine.
type viewerSet struct {
	list map[*Viewer]struct{}
}

func (vs *viewerSet) len() int                                          { return len(vs.list) }
func (vs *viewerSet) closeAll()                                         {}
func (vs *viewerSet) op(_ *session, _ *committedOp)                     {}
func (vs *viewerSet) presenceUpdate(_ *session, _ *docPresence, _ bool) {}
func (vs *viewerSet) presenceLeave(_ *session, _ *docPresence)          {}
func (s *session) handleView(_ *request)                                {}

package sessions

import (
	"encoding/json"
	"sync"
	"time"
)

// rosterCache answers "how many are editing each document" for collection
// listings: local counts come from this instance's sessions, remote ones
// from the rosters other instances publish on "$tandem.editors.<collection>"
// (subscribed to the first time a collection is listed).
type rosterCache struct {
	m  *Manager
	mu sync.Mutex // guards everything below
	// subscribed holds the collections whose rosters we follow.
	subscribed map[string]bool
	local      map[docKey]int
	remote     map[docKey]map[string]rosterCount // by instance
}

type rosterCount struct {
	n     int
	until time.Time
}

func newRosterCache(m *Manager) *rosterCache {
	return &rosterCache{m: m, subscribed: make(map[string]bool), local: make(map[docKey]int), remote: make(map[docKey]map[string]rosterCount)}
}

// setLocal records how many local editors a document has.
func (r *rosterCache) setLocal(key docKey, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n == 0 {
		delete(r.local, key)
	} else {
		r.local[key] = n
	}
}

func (r *rosterCache) follow(collection string) {
	r.mu.Lock()
	if r.subscribed[collection] {
		r.mu.Unlock()
		return
	}
	r.subscribed[collection] = true
	r.mu.Unlock()
	_, err := r.m.broker.Subscribe("$tandem.editors."+collection, r.onRoster)
	if err != nil {
		r.mu.Lock()
		delete(r.subscribed, collection)
		r.mu.Unlock()
	}
}

func (r *rosterCache) onRoster(msg []byte) {
	var rm rosterMsg
	if msg == nil || json.Unmarshal(msg, &rm) != nil || rm.Inst == r.m.instance {
		return
	}
	key := docKey{rm.C, rm.D}
	r.mu.Lock()
	defer r.mu.Unlock()
	byInst := r.remote[key]
	if len(rm.Editors) == 0 {
		delete(byInst, rm.Inst)
		if len(byInst) == 0 {
			delete(r.remote, key)
		}
		return
	}
	if byInst == nil {
		byInst = make(map[string]rosterCount)
		r.remote[key] = byInst
	}
	byInst[rm.Inst] = rosterCount{n: len(rm.Editors), until: r.m.now().Add(r.m.cfg.PresenceTTL)}
}

// EditorCounts returns how many editors have each of ids open, on this
// instance and (as far as their rosters have arrived) on the others.
func (m *Manager) EditorCounts(collection string, ids []string) map[string]int {
	m.roster.follow(collection)
	now := m.now()
	out := make(map[string]int, len(ids))
	r := m.roster
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		key := docKey{collection, id}
		n := r.local[key]
		for inst, rc := range r.remote[key] {
			if now.After(rc.until) {
				delete(r.remote[key], inst)
				continue
			}
			n += rc.n
		}
		out[id] = n
	}
	return out
}

package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"sync"
)

// Memory is the in-memory twin of the persistent stores: it keeps every
// snapshot and the whole op log of every document in maps, and loses them
// when the process exits. It is meant for tests and for --store memory.
//
// Data goes in and out by copy: neither what a caller passed to Commit nor
// what a read returned shares bytes with what Memory holds.
//
// All methods are safe for concurrent use. One mutex serialises them, which
// is plenty for a test double; List sorts the collection's ids on each call.
type Memory struct {
	mu sync.Mutex // guards closed and colls
	// closed is set by Close; every later call returns ErrClosed.
	closed bool
	// colls maps collection -> document id -> document. A document is
	// present once it has had at least one commit.
	colls map[string]map[string]*memDoc
}

// memDoc is one document: its current snapshot and its op log, where
// ops[i].V == i.
type memDoc struct {
	snap Snapshot
	ops  []Op
	// milestones are sorted by V.
	milestones []Snapshot
}

var (
	_ Store  = (*Memory)(nil)
	_ Lister = (*Memory)(nil)
	_ Pinger = (*Memory)(nil)
)

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{colls: make(map[string]map[string]*memDoc)}
}

// docLocked returns the document, or nil if it has never been committed.
// m.mu must be held.
func (m *Memory) docLocked(collection, id string) *memDoc {
	return m.colls[collection][id] // indexing a nil inner map is fine
}

// Snapshot implements Store.
func (m *Memory) Snapshot(ctx context.Context, collection, id string) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Snapshot{}, ErrClosed
	}
	d := m.docLocked(collection, id)
	if d == nil {
		return Snapshot{}, nil
	}
	return copySnapshot(d.snap), nil
}

// Snapshots implements Store.
func (m *Memory) Snapshots(ctx context.Context, collection string, ids []string) ([]Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	out := make([]Snapshot, len(ids))
	for i, id := range ids {
		if d := m.docLocked(collection, id); d != nil {
			out[i] = copySnapshot(d.snap)
		}
	}
	return out, nil
}

// Ops implements Store.
func (m *Memory) Ops(ctx context.Context, collection, id string, from, to int64) ([]Op, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var log []Op
	if d := m.docLocked(collection, id); d != nil {
		log = d.ops
	}
	from, to, err := opsRange(from, to, int64(len(log)))
	if err != nil {
		return nil, err
	}
	out := make([]Op, 0, to-from)
	for _, op := range log[from:to] {
		out = append(out, copyOp(op))
	}
	return out, nil
}

// opsRange resolves the arguments of Ops against the current version cur:
// to < 0 becomes cur; a range that reaches below 0 or beyond cur is
// ErrMissingOps; to <= from is the empty range.
func opsRange(from, to, cur int64) (int64, int64, error) {
	if from < 0 || from > cur {
		return 0, 0, ErrMissingOps
	}
	if to < 0 {
		to = cur
	}
	if to > cur {
		return 0, 0, ErrMissingOps
	}
	if to < from {
		to = from
	}
	return from, to, nil
}

// Commit implements Store.
func (m *Memory) Commit(ctx context.Context, collection, id string, ops []Op, snap Snapshot) error {
	if err := CheckCommit(ops, snap); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Copy before taking the lock, so the critical section stays short.
	newOps := make([]Op, len(ops))
	for i, op := range ops {
		newOps[i] = copyOp(op)
	}
	newSnap := copySnapshot(snap)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	docs := m.colls[collection]
	d := docs[id]
	var cur int64
	if d != nil {
		cur = d.snap.V
	}
	if ops[0].V != cur {
		return ErrVersionConflict
	}
	if d == nil {
		if docs == nil {
			docs = make(map[string]*memDoc)
			m.colls[collection] = docs
		}
		d = &memDoc{}
		docs[id] = d
	}
	d.ops = append(d.ops, newOps...)
	d.snap = newSnap
	return nil
}

// List implements Lister. Ids are compared as byte strings; deleted
// documents are left out; limit <= 0 means no limit.
func (m *Memory) List(ctx context.Context, collection, after string, limit int) ([]DocInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	docs := m.colls[collection]
	ids := make([]string, 0, len(docs))
	for id, d := range docs {
		if id > after && d.snap.Exists() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]DocInfo, len(ids))
	for i, id := range ids {
		s := docs[id].snap
		out[i] = DocInfo{ID: id, V: s.V, Type: s.Type, MTime: s.Meta.MTime}
	}
	return out, nil
}

// Ping implements Pinger: it fails only after Close.
func (m *Memory) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

// Close implements Store. It drops all data; calling it again returns nil.
func (m *Memory) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.colls = nil
	return nil
}

// copySnapshot returns s with its own copies of every byte slice and
// pointer, so the result shares nothing with s.
func copySnapshot(s Snapshot) Snapshot {
	s.Data = cloneRaw(s.Data)
	if s.Meta.Create != nil {
		c := *s.Meta.Create
		s.Meta.Create = &c
	}
	return s
}

// copyOp returns op with its own copies of every byte slice and pointer.
func copyOp(op Op) Op {
	op.Op = cloneRaw(op.Op)
	if op.Create != nil {
		c := Create{Type: op.Create.Type, Data: cloneRaw(op.Create.Data)}
		op.Create = &c
	}
	op.Meta.DelData = cloneRaw(op.Meta.DelData)
	return op
}

// cloneRaw copies b, keeping nil as nil and empty as empty.
func cloneRaw(b json.RawMessage) json.RawMessage {
	return json.RawMessage(bytes.Clone(b))
}

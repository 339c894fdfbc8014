package storage

import (
	"context"
	"encoding/json"
	"errors"
)

var (
	// ErrVersionConflict means another writer committed at that version
	// first; the caller catches up, transforms and retries.
	ErrVersionConflict = errors.New("storage: version conflict")
	// ErrMissingOps means the op log does not hold the requested range.
	ErrMissingOps = errors.New("storage: missing ops")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("storage: closed")
	// ErrUnavailable wraps failures to reach the backing store; callers
	// report them to clients as retryable.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrInvalidData wraps refusals of data or names the backend cannot
	// store (e.g. MongoDB's reserved field names); nothing was written and
	// retrying cannot help.
	ErrInvalidData = errors.New("storage: data cannot be stored")
)

// Snapshot is a document at a version.
type Snapshot struct {
	// V is the number of ops committed so far.
	V int64
	// Type is the OT type URI; empty when the document does not exist
	// (never created, or deleted).
	Type string
	// Data is the type's JSON encoding of the document; nil when Type is
	// empty.
	Data json.RawMessage
	Meta SnapshotMeta
}

// Exists reports whether the document exists at this version.
func (s Snapshot) Exists() bool { return s.Type != "" }

// SnapshotMeta is the metadata sharedb keeps in _m.
type SnapshotMeta struct {
	// CTime and MTime are Unix milliseconds of creation and last change.
	CTime int64
	MTime int64
	// Create identifies the create op, so a resubmitted create (after a
	// reconnect, with v:null) is recognised as a duplicate.
	Create *OpID
}

// OpID identifies a submission: the client's connection src and its seq,
// and the version it was committed at.
type OpID struct {
	Src string
	Seq int64
	V   int64
}

// Op is one committed op. Exactly one of Op, Create and Del is set.
type Op struct {
	V   int64
	Src string
	Seq int64
	// Op is the type's JSON encoding of an edit.
	Op     json.RawMessage
	Create *Create
	Del    bool
	Meta   OpMeta
}

// Create is a create op: the type URI and the initial data (nil when the
// client sent none).
type Create struct {
	Type string
	Data json.RawMessage
}

// OpMeta is the metadata sharedb keeps in an op's m.
type OpMeta struct {
	// TS is the commit time in Unix milliseconds.
	TS int64
	// DelData is the document's data just before a del, as sharedb keeps it.
	DelData json.RawMessage
}

// Store persists snapshots and op logs, keyed by collection and document id.
type Store interface {
	// Snapshot returns the current snapshot; a document never created has
	// V 0 and an empty Type (not an error).
	Snapshot(ctx context.Context, collection, id string) (Snapshot, error)
	// Snapshots returns the current snapshots of ids, in the same order.
	Snapshots(ctx context.Context, collection string, ids []string) ([]Snapshot, error)
	// Ops returns the committed ops with from <= V < to in ascending order.
	// to < 0 means up to the current version. A range the log cannot cover
	// entirely yields ErrMissingOps: from < 0, from beyond the current
	// version, or to beyond it. from == current version (to < 0) and
	// to <= from are empty ranges: no ops, no error.
	Ops(ctx context.Context, collection, id string, from, to int64) ([]Op, error)
	// Commit atomically appends ops, which carry consecutive versions
	// starting at the stored version, and replaces the snapshot with snap
	// (snap.V == last op's V+1). If the stored version is not ops[0].V it
	// returns ErrVersionConflict and changes nothing.
	Commit(ctx context.Context, collection, id string, ops []Op, snap Snapshot) error
	// Close releases resources; later calls fail with ErrClosed.
	Close(ctx context.Context) error
}

// DocInfo is one entry of a collection listing.
type DocInfo struct {
	ID    string
	V     int64
	Type  string
	MTime int64
}

// Lister is implemented by stores that can list a collection's documents,
// ordered by id, starting after the id after ("" for the start).
// Ids compare byte-wise (as Go compares strings and MongoDB sorts _id
// strings). Only existing documents are listed: deleted ones (empty Type)
// are left out, as sharedb queries leave them out. limit <= 0 means no
// limit; a page shorter than limit is the last one.
type Lister interface {
	List(ctx context.Context, collection, after string, limit int) ([]DocInfo, error)
}

// Pinger is implemented by stores that can check their backend is
// reachable (used by /readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Milestones is implemented by stores that keep milestone snapshots: full
// snapshots saved every so many versions, so a snapshot at an old version
// is rebuilt from the nearest milestone instead of from version 0.
type Milestones interface {
	// SaveMilestone stores snap as a milestone at snap.V (replacing one
	// already there).
	SaveMilestone(ctx context.Context, collection, id string, snap Snapshot) error
	// Milestone returns the newest milestone with V <= v; ok is false
	// when there is none.
	Milestone(ctx context.Context, collection, id string, v int64) (snap Snapshot, ok bool, err error)
	// MilestoneAtTime returns the newest milestone whose Meta.MTime <= ts
	// (Unix ms); ok is false when there is none.
	MilestoneAtTime(ctx context.Context, collection, id string, ts int64) (snap Snapshot, ok bool, err error)
}

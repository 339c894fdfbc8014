package sessions

import (
	"context"
	"encoding/json"

	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/storage"
)

// historicSnapshot is a document rebuilt at a past version.
type historicSnapshot struct {
	v    int64
	typ  string
	data json.RawMessage
}

// snapshotAtVersion rebuilds the document at version v (nil: current) by
// replaying the op log.
func (m *Manager) snapshotAtVersion(ctx context.Context, c, d string, v *int64) (historicSnapshot, *protocol.Error) {
	cur, err := m.store.Snapshot(ctx, c, d)
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	if v == nil {
		return historicSnapshot{v: cur.V, typ: cur.Type, data: cur.Data}, nil
	}
	if *v > cur.V {
		return historicSnapshot{}, protocol.Errorf(protocol.ErrOpVersionNewer, "Requested version exceeds latest snapshot version")
	}
	if *v == cur.V {
		return historicSnapshot{v: cur.V, typ: cur.Type, data: cur.Data}, nil
	}
	start, err := m.milestone(ctx, c, d, func(ms storage.Milestones) (storage.Snapshot, bool, error) {
		return ms.Milestone(ctx, c, d, *v)
	})
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	ops, err := m.store.Ops(ctx, c, d, start.V, *v)
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	return m.replayFrom(start, ops)
}

// milestone returns the milestone find picks, or the empty snapshot at
// version 0 when the store keeps none (or has none early enough).
func (m *Manager) milestone(ctx context.Context, c, d string, find func(storage.Milestones) (storage.Snapshot, bool, error)) (storage.Snapshot, error) {
	ms, ok := m.store.(storage.Milestones)
	if !ok {
		return storage.Snapshot{}, nil
	}
	snap, found, err := find(ms)
	if err != nil || !found {
		return storage.Snapshot{}, err
	}
	return snap, nil
}

// snapshotAtTime rebuilds the document as it was at ts (Unix ms; nil:
// current): every op committed at or before ts.
func (m *Manager) snapshotAtTime(ctx context.Context, c, d string, ts *int64) (historicSnapshot, *protocol.Error) {
	cur, err := m.store.Snapshot(ctx, c, d)
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	if ts == nil || *ts > cur.Meta.MTime {
		return historicSnapshot{v: cur.V, typ: cur.Type, data: cur.Data}, nil
	}
	start, err := m.milestone(ctx, c, d, func(ms storage.Milestones) (storage.Snapshot, bool, error) {
		return ms.MilestoneAtTime(ctx, c, d, *ts)
	})
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	ops, err := m.store.Ops(ctx, c, d, start.V, cur.V)
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	n := 0
	for n < len(ops) && ops[n].Meta.TS <= *ts {
		n++
	}
	return m.replayFrom(start, ops[:n])
}

// replay applies ops from version 0.
func (m *Manager) replay(ops []storage.Op) (historicSnapshot, *protocol.Error) {
	return m.replayFrom(storage.Snapshot{}, ops)
}

// replayFrom applies ops (versions start.V, start.V+1, ...) to start.
func (m *Manager) replayFrom(start storage.Snapshot, ops []storage.Op) (historicSnapshot, *protocol.Error) {
	var out historicSnapshot
	var doc any
	t := m.types
	curType := start.Type
	if curType != "" {
		typ, ok := t.Lookup(curType)
		if !ok {
			return out, protocol.Errorf(protocol.ErrDocTypeNotRecognized, "Unknown type %s", curType)
		}
		d, err := typ.DecodeSnapshot(start.Data)
		if err != nil {
			return out, opError(err)
		}
		doc = d
	}
	for i, op := range ops {
		if op.V != start.V+int64(i) {
			return out, protocol.Errorf(protocol.ErrSubmitTransformOpsNotFound, "op log is missing version %d", start.V+int64(i))
		}
		switch {
		case op.Create != nil:
			typ, ok := t.Lookup(op.Create.Type)
			if !ok {
				return out, protocol.Errorf(protocol.ErrDocTypeNotRecognized, "Unknown type %s", op.Create.Type)
			}
			d, err := typ.Create(op.Create.Data)
			if err != nil {
				return out, opError(err)
			}
			doc, curType = d, typ.URI()
		case op.Del:
			doc, curType = nil, ""
		default:
			if curType == "" {
				return out, protocol.Errorf(protocol.ErrDocDoesNotExist, "Document does not exist at version %d", op.V)
			}
			typ, _ := t.Lookup(curType)
			dec, err := typ.DecodeOp(op.Op)
			if err != nil {
				return out, opError(err)
			}
			if doc, err = typ.Apply(doc, dec); err != nil {
				return out, opError(err)
			}
		}
	}
	out.v = start.V + int64(len(ops))
	out.typ = curType
	if curType != "" {
		typ, _ := t.Lookup(curType)
		data, err := typ.EncodeSnapshot(doc)
		if err != nil {
			return out, protocol.Errorf(protocol.ErrUnknownError, "%v", err)
		}
		out.data = data
	}
	return out, nil
}

// Historic is a document at a past version, for the read API.
type Historic struct {
	V    int64
	Type string
	Data json.RawMessage
}

// SnapshotAt rebuilds a document at version v or at time ts (Unix ms);
// with both nil it returns the current snapshot.
func (m *Manager) SnapshotAt(ctx context.Context, c, d string, v, ts *int64) (Historic, error) {
	var h historicSnapshot
	var perr *protocol.Error
	if ts != nil && v == nil {
		h, perr = m.snapshotAtTime(ctx, c, d, ts)
	} else {
		h, perr = m.snapshotAtVersion(ctx, c, d, v)
	}
	if perr != nil {
		return Historic{}, perr
	}
	return Historic{V: h.v, Type: h.typ, Data: h.data}, nil
}

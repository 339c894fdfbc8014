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
	ops, err := m.store.Ops(ctx, c, d, 0, *v)
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	return m.replay(ops)
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
	ops, err := m.store.Ops(ctx, c, d, 0, cur.V)
	if err != nil {
		return historicSnapshot{}, loadError(err)
	}
	n := 0
	for n < len(ops) && ops[n].Meta.TS <= *ts {
		n++
	}
	return m.replay(ops[:n])
}

// replay applies ops from version 0.
func (m *Manager) replay(ops []storage.Op) (historicSnapshot, *protocol.Error) {
	var out historicSnapshot
	var doc any
	t := m.types
	var curType string
	for i, op := range ops {
		if op.V != int64(i) {
			return out, protocol.Errorf(protocol.ErrSubmitTransformOpsNotFound, "op log is missing version %d", i)
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
	out.v = int64(len(ops))
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

package mongo

import (
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/tandemhq/tandem/storage"
)

// Field names of sharedb-mongo's schema (see doc.go).
const (
	fID   = "_id"
	fType = "_type"
	fV    = "_v"
	fMeta = "_m"
	fLink = "_o"
	fData = "_data"
)

// reservedField reports whether a top-level data field would collide with
// a field of the snapshot schema.
func reservedField(k string) bool {
	switch k {
	case fID, fType, fV, fMeta, fLink, fData:
		return true
	}
	return false
}

// opsCollection is sharedb-mongo's op collection for a collection.
func opsCollection(collection string) string { return "o_" + collection }

// ErrInvalidCollection is returned for collection names sharedb-mongo
// refuses (its error 4102): "system" and names starting with "o_", which
// hold op logs; and for names MongoDB itself refuses: empty, starting with
// "." or "system.", or containing '$' or NUL. Such a name is refused by
// every method, reads included.
var ErrInvalidCollection = fmt.Errorf("%w: mongo: invalid collection name", storage.ErrInvalidData)

func checkCollection(c string) error {
	switch {
	case c == "system" || strings.HasPrefix(c, "o_"):
		return fmt.Errorf("%w %q: \"system\" and names starting with \"o_\" are reserved by sharedb-mongo", ErrInvalidCollection, c)
	case c == "" || c[0] == '.' || strings.HasPrefix(c, "system.") || strings.ContainsAny(c, "$\x00"):
		return fmt.Errorf("%w %q: MongoDB refuses empty names, names starting with \".\" or \"system.\", and '$' and NUL", ErrInvalidCollection, c)
	}
	return nil
}

// snapshotDoc is the snapshot document sharedb-mongo writes (castToDoc):
//
//	{_id, <data fields> | _data, _type, _v, _m: {ctime, mtime, _create?}, _o}
//
// Data that is a JSON object is stored as top-level fields; any other
// value (string, number, array, null) in _data; a deleted document (empty
// Type) has no data and _type null. link is the _id of the last op.
func snapshotDoc(id string, snap storage.Snapshot, link bson.ObjectID) (bson.D, error) {
	doc := bson.D{{Key: fID, Value: id}}
	var typ any // null for a deleted document
	if snap.Type != "" {
		typ = snap.Type
		if snap.Data != nil {
			data, err := fromJSON(snap.Data)
			if err != nil {
				return nil, fmt.Errorf("snapshot data: %w", err)
			}
			if fields, ok := data.(bson.D); ok {
				for _, f := range fields {
					if reservedField(f.Key) || strings.HasPrefix(f.Key, "$") {
						return nil, fmt.Errorf("snapshot data: top-level field %q cannot be stored in sharedb-mongo's schema "+
							"(it would collide with the snapshot's own fields or be read as an operator)", f.Key)
					}
				}
				doc = append(doc, fields...)
			} else {
				doc = append(doc, bson.E{Key: fData, Value: data})
			}
		}
	}
	meta := bson.D{
		{Key: "ctime", Value: intValue(snap.Meta.CTime)},
		{Key: "mtime", Value: intValue(snap.Meta.MTime)},
	}
	if c := snap.Meta.Create; c != nil {
		meta = append(meta, bson.E{Key: "_create", Value: bson.D{
			{Key: "src", Value: c.Src}, {Key: "seq", Value: intValue(c.Seq)}, {Key: "v", Value: intValue(c.V)},
		}})
	}
	return append(doc,
		bson.E{Key: fType, Value: typ},
		bson.E{Key: fV, Value: intValue(snap.V)},
		bson.E{Key: fMeta, Value: meta},
		bson.E{Key: fLink, Value: link},
	), nil
}

// opDoc is the op document sharedb-mongo writes (the op as sharedb commits
// it, plus d and o):
//
//	{_id, src, seq, v, op|create|del, c: null, d, m: {ts, data?}, o}
//
// o links to the previous op of the document (null for none). c is null
// because sharedb's op object carries an undefined c at commit time, which
// the Node driver writes as null.
func opDoc(id string, op storage.Op, oid bson.ObjectID, prev *bson.ObjectID) (bson.D, error) {
	doc := bson.D{
		{Key: "_id", Value: oid},
		{Key: "src", Value: op.Src},
		{Key: "seq", Value: intValue(op.Seq)},
		{Key: "v", Value: intValue(op.V)},
	}
	switch {
	case op.Create != nil:
		create := bson.D{{Key: "type", Value: op.Create.Type}}
		if op.Create.Data != nil {
			data, err := fromJSON(op.Create.Data)
			if err != nil {
				return nil, fmt.Errorf("create data of op %d: %w", op.V, err)
			}
			create = append(create, bson.E{Key: "data", Value: data})
		}
		doc = append(doc, bson.E{Key: "create", Value: create})
	case op.Del:
		doc = append(doc, bson.E{Key: "del", Value: true})
	case op.Op != nil:
		v, err := fromJSON(op.Op)
		if err != nil {
			return nil, fmt.Errorf("op %d: %w", op.V, err)
		}
		doc = append(doc, bson.E{Key: "op", Value: v})
	default:
		return nil, fmt.Errorf("op %d has none of op, create and del", op.V)
	}
	meta := bson.D{{Key: "ts", Value: intValue(op.Meta.TS)}}
	if op.Meta.DelData != nil {
		data, err := fromJSON(op.Meta.DelData)
		if err != nil {
			return nil, fmt.Errorf("deleted data of op %d: %w", op.V, err)
		}
		meta = append(meta, bson.E{Key: "data", Value: data})
	}
	var o any // null for the first op
	if prev != nil {
		o = *prev
	}
	return append(doc,
		bson.E{Key: "c", Value: nil},
		bson.E{Key: "d", Value: id},
		bson.E{Key: "m", Value: meta},
		bson.E{Key: "o", Value: o},
	), nil
}

// snapHead is what a commit and an op read need of a stored snapshot.
type snapHead struct {
	v    int64
	link *bson.ObjectID // _o; nil when absent or null
}

// decodeHead reads _v and _o.
func decodeHead(raw bson.Raw) (snapHead, error) {
	var h snapHead
	if err := readInt(raw, fV, &h.v, true); err != nil {
		return h, err
	}
	if o, err := raw.LookupErr(fLink); err == nil && o.Type != bson.TypeNull {
		oid, ok := o.ObjectIDOK()
		if !ok {
			return h, fmt.Errorf("_o is a %v, want an ObjectId", o.Type)
		}
		h.link = &oid
	}
	return h, nil
}

// readInt reads the integer field key of raw into dst; a missing or null
// field is 0, or an error when required.
func readInt(raw bson.Raw, key string, dst *int64, required bool) error {
	v, err := raw.LookupErr(key)
	if err != nil || v.Type == bson.TypeNull {
		if required {
			return fmt.Errorf("missing %s", key)
		}
		*dst = 0
		return nil
	}
	n, ok := asInt64(v)
	if !ok {
		return fmt.Errorf("%s is not an integer (%v)", key, v)
	}
	*dst = n
	return nil
}

// decodeSnapshot reads a snapshot document as sharedb-mongo does
// (castToSnapshot): _type null means deleted (no data); else _data if the
// field exists, else every field but _id, _v, _type, _m and _o, in order.
func decodeSnapshot(raw bson.Raw) (storage.Snapshot, error) {
	elems, err := raw.Elements()
	if err != nil {
		return storage.Snapshot{}, err
	}
	var (
		snap    storage.Snapshot
		data    *bson.RawValue
		fields  = make([]bson.RawElement, 0, len(elems))
		sawV    bool
		typeRaw bson.RawValue
	)
	for _, e := range elems {
		switch k := e.Key(); k {
		case fID, fLink:
		case fV:
			n, ok := asInt64(e.Value())
			if !ok {
				return snap, fmt.Errorf("_v is not an integer (%v)", e.Value())
			}
			snap.V, sawV = n, true
		case fType:
			typeRaw = e.Value()
		case fMeta:
			if snap.Meta, err = decodeMeta(e.Value()); err != nil {
				return snap, fmt.Errorf("_m: %w", err)
			}
		case fData:
			v := e.Value()
			data = &v
		default:
			fields = append(fields, e)
		}
	}
	if !sawV {
		return snap, errors.New("missing _v")
	}
	switch typeRaw.Type {
	case 0, bson.TypeNull, bson.TypeUndefined:
		return snap, nil // deleted: no type, no data
	case bson.TypeString:
		snap.Type = typeRaw.StringValue()
	default:
		return snap, fmt.Errorf("_type is a %v, want a string", typeRaw.Type)
	}
	if data != nil {
		snap.Data, err = toJSON(*data)
	} else {
		snap.Data, err = appendObject(make([]byte, 0, len(raw)), fields)
	}
	if err != nil {
		return snap, fmt.Errorf("data: %w", err)
	}
	return snap, nil
}

// decodeMeta reads _m: {ctime, mtime, _create: {src, seq, v}}. A missing
// or null _m is the zero metadata; other fields are ignored.
func decodeMeta(v bson.RawValue) (storage.SnapshotMeta, error) {
	var m storage.SnapshotMeta
	if v.Type == bson.TypeNull || v.Type == bson.TypeUndefined {
		return m, nil
	}
	doc, ok := v.DocumentOK()
	if !ok {
		return m, fmt.Errorf("is a %v, want a document", v.Type)
	}
	if err := readInt(doc, "ctime", &m.CTime, false); err != nil {
		return m, err
	}
	if err := readInt(doc, "mtime", &m.MTime, false); err != nil {
		return m, err
	}
	if c, err := doc.LookupErr("_create"); err == nil && c.Type != bson.TypeNull {
		cd, ok := c.DocumentOK()
		if !ok {
			return m, fmt.Errorf("_create is a %v, want a document", c.Type)
		}
		var id storage.OpID
		id.Src, _ = cd.Lookup("src").StringValueOK()
		if err := readInt(cd, "seq", &id.Seq, false); err != nil {
			return m, fmt.Errorf("_create: %w", err)
		}
		if err := readInt(cd, "v", &id.V, false); err != nil {
			return m, fmt.Errorf("_create: %w", err)
		}
		m.Create = &id
	}
	return m, nil
}

// storedOp is an op document as read, with its link fields.
type storedOp struct {
	id   bson.ObjectID
	prev *bson.ObjectID // o; nil when null or absent
	v    int64
	raw  bson.Raw
}

// decodeOpHead reads _id, o and v of an op document.
func decodeOpHead(raw bson.Raw) (storedOp, error) {
	op := storedOp{raw: raw}
	oid, ok := raw.Lookup("_id").ObjectIDOK()
	if !ok {
		return op, fmt.Errorf("_id is not an ObjectId")
	}
	op.id = oid
	if o, err := raw.LookupErr("o"); err == nil && o.Type != bson.TypeNull {
		prev, ok := o.ObjectIDOK()
		if !ok {
			return op, fmt.Errorf("o is a %v, want an ObjectId", o.Type)
		}
		op.prev = &prev
	}
	if err := readInt(raw, "v", &op.v, true); err != nil {
		return op, err
	}
	return op, nil
}

// decodeOp reads an op document as sharedb does: v, src, seq, one of
// op, create and del, and m.ts and m.data.
func decodeOp(raw bson.Raw) (storage.Op, error) {
	var op storage.Op
	if err := readInt(raw, "v", &op.V, true); err != nil {
		return op, err
	}
	op.Src, _ = raw.Lookup("src").StringValueOK()
	if err := readInt(raw, "seq", &op.Seq, false); err != nil {
		return op, err
	}
	var err error
	if c, lerr := raw.LookupErr("create"); lerr == nil && c.Type != bson.TypeNull {
		cd, ok := c.DocumentOK()
		if !ok {
			return op, fmt.Errorf("create is a %v, want a document", c.Type)
		}
		op.Create = &storage.Create{}
		op.Create.Type, _ = cd.Lookup("type").StringValueOK()
		if d, lerr := cd.LookupErr("data"); lerr == nil {
			if op.Create.Data, err = toJSON(d); err != nil {
				return op, fmt.Errorf("create data: %w", err)
			}
		}
	} else if d, lerr := raw.LookupErr("del"); lerr == nil && d.Type != bson.TypeNull {
		op.Del, _ = d.BooleanOK()
		if !op.Del {
			return op, fmt.Errorf("del is %v, want true", d)
		}
	} else if o, lerr := raw.LookupErr("op"); lerr == nil {
		if op.Op, err = toJSON(o); err != nil {
			return op, fmt.Errorf("op: %w", err)
		}
	} else {
		return op, errors.New("none of op, create and del")
	}
	if m, lerr := raw.LookupErr("m"); lerr == nil && m.Type != bson.TypeNull {
		md, ok := m.DocumentOK()
		if !ok {
			return op, fmt.Errorf("m is a %v, want a document", m.Type)
		}
		if err := readInt(md, "ts", &op.Meta.TS, false); err != nil {
			return op, fmt.Errorf("m: %w", err)
		}
		if d, lerr := md.LookupErr("data"); lerr == nil {
			if op.Meta.DelData, err = toJSON(d); err != nil {
				return op, fmt.Errorf("m.data: %w", err)
			}
		}
	}
	return op, nil
}

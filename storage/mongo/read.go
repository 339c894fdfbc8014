package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tandemhq/tandem/storage"
)

// snapProjection reads a snapshot with its metadata (_m) but without _o.
var snapProjection = bson.D{{Key: fLink, Value: 0}}

// Snapshot implements storage.Store.
func (s *Store) Snapshot(ctx context.Context, collection, id string) (storage.Snapshot, error) {
	if err := s.check(ctx, collection); err != nil {
		return storage.Snapshot{}, err
	}
	raw, err := s.db.Collection(collection).FindOne(ctx, bson.D{{Key: fID, Value: id}},
		options.FindOne().SetProjection(snapProjection)).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return storage.Snapshot{}, nil
	}
	if err != nil {
		return storage.Snapshot{}, wrap(ctx, err, "snapshot %q/%q", collection, id)
	}
	snap, err := decodeSnapshot(raw)
	if err != nil {
		return storage.Snapshot{}, fmt.Errorf("mongo: snapshot %q/%q: %w", collection, id, err)
	}
	return snap, nil
}

// Snapshots implements storage.Store with one query ({_id: {$in: ids}}).
func (s *Store) Snapshots(ctx context.Context, collection string, ids []string) ([]storage.Snapshot, error) {
	if err := s.check(ctx, collection); err != nil {
		return nil, err
	}
	out := make([]storage.Snapshot, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	uniq := slices.Clone(ids)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	cur, err := s.db.Collection(collection).Find(ctx, bson.D{{Key: fID, Value: bson.D{{Key: "$in", Value: uniq}}}},
		options.Find().SetProjection(snapProjection))
	if err != nil {
		return nil, wrap(ctx, err, "snapshots in %q", collection)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	found := make(map[string]storage.Snapshot, len(uniq))
	for cur.Next(ctx) {
		id, ok := cur.Current.Lookup(fID).StringValueOK()
		if !ok {
			continue
		}
		snap, err := decodeSnapshot(cur.Current)
		if err != nil {
			return nil, fmt.Errorf("mongo: snapshot %q/%q: %w", collection, id, err)
		}
		found[id] = snap
	}
	if err := cur.Err(); err != nil {
		return nil, wrap(ctx, err, "snapshots in %q", collection)
	}
	for i, id := range ids {
		out[i] = copySnapshot(found[id]) // repeated ids get their own copies
	}
	return out, nil
}

// copySnapshot gives s its own Data and Create.
func copySnapshot(s storage.Snapshot) storage.Snapshot {
	s.Data = slices.Clone(s.Data)
	if s.Meta.Create != nil {
		c := *s.Meta.Create
		s.Meta.Create = &c
	}
	return s
}

// Ops implements storage.Store with sharedb-mongo's strict linking: it
// reads the snapshot's _v and _o, fetches the document's ops with
// from <= v < _v, and walks back from the op whose _id is _o along the o
// links. Ops not on that chain (left by commits that lost, or by a crash
// between the two writes of a commit) are never returned. A chain that
// does not reach down to from, or skips a version, is ErrMissingOps.
func (s *Store) Ops(ctx context.Context, collection, id string, from, to int64) ([]storage.Op, error) {
	if err := s.check(ctx, collection); err != nil {
		return nil, err
	}
	head, _, err := s.head(ctx, s.db.Collection(collection), id)
	if err != nil {
		return nil, wrap(ctx, err, "ops %q/%q", collection, id)
	}
	cur := head.v
	if from < 0 || from > cur {
		return nil, fmt.Errorf("%w: %q/%q: from %d, current version %d", storage.ErrMissingOps, collection, id, from, cur)
	}
	if to < 0 {
		to = cur
	}
	if to > cur {
		return nil, fmt.Errorf("%w: %q/%q: to %d, current version %d", storage.ErrMissingOps, collection, id, to, cur)
	}
	if to <= from {
		return nil, nil
	}
	if head.link == nil {
		// sharedb-mongo's error 5102.
		return nil, fmt.Errorf("%w: %q/%q: snapshot at version %d has no _o link to its last op",
			storage.ErrMissingOps, collection, id, cur)
	}
	opsName := opsCollection(collection)
	if err := s.ensureIndexes(ctx, opsName); err != nil {
		return nil, err
	}
	// Ops at or beyond the snapshot's version can only be in-flight or
	// lost commits, never on the chain: bounding by cur leaves them out.
	c, err := s.db.Collection(opsName).Find(ctx,
		bson.D{{Key: "d", Value: id}, {Key: "v", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: cur}}}},
		options.Find().SetSort(bson.D{{Key: "v", Value: 1}}).SetProjection(bson.D{{Key: "d", Value: 0}}))
	if err != nil {
		return nil, wrap(ctx, err, "ops %q/%q", collection, id)
	}
	var raws []bson.Raw
	if err := c.All(ctx, &raws); err != nil {
		return nil, wrap(ctx, err, "ops %q/%q", collection, id)
	}

	// Walk back along the links from cur-1, keeping the ops below to.
	chain := make([]bson.Raw, 0, to-from)
	link, expect := head.link, cur-1
	for i := len(raws) - 1; i >= 0 && link != nil && expect >= from; i-- {
		h, err := decodeOpHead(raws[i])
		if err != nil {
			return nil, fmt.Errorf("mongo: ops %q/%q: %w", collection, id, err)
		}
		if h.id != *link {
			continue
		}
		if h.v != expect {
			return nil, fmt.Errorf("%w: %q/%q: the op chain has version %d where %d belongs",
				storage.ErrMissingOps, collection, id, h.v, expect)
		}
		if h.v < to {
			chain = append(chain, h.raw)
		}
		link, expect = h.prev, expect-1
	}
	if int64(len(chain)) != to-from {
		return nil, fmt.Errorf("%w: %q/%q: the op chain from version %d holds %d of the ops [%d, %d)",
			storage.ErrMissingOps, collection, id, cur, len(chain), from, to)
	}
	out := make([]storage.Op, len(chain))
	for i, raw := range chain {
		op, err := decodeOp(raw)
		if err != nil {
			return nil, fmt.Errorf("mongo: ops %q/%q: %w", collection, id, err)
		}
		out[len(chain)-1-i] = op
	}
	return out, nil
}

// List implements storage.Lister: {_id: {$gt: after}, _type: {$type: 2}}
// (existing documents, as sharedb-mongo's queries filter deleted ones)
// sorted by _id. MongoDB compares string _ids byte-wise.
func (s *Store) List(ctx context.Context, collection, after string, limit int) ([]storage.DocInfo, error) {
	if err := s.check(ctx, collection); err != nil {
		return nil, err
	}
	opts := options.Find().SetSort(bson.D{{Key: fID, Value: 1}}).
		SetProjection(bson.D{{Key: fV, Value: 1}, {Key: fType, Value: 1}, {Key: fMeta, Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	c, err := s.db.Collection(collection).Find(ctx,
		bson.D{{Key: fID, Value: bson.D{{Key: "$gt", Value: after}}}, {Key: fType, Value: bson.D{{Key: "$type", Value: 2}}}}, opts)
	if err != nil {
		return nil, wrap(ctx, err, "list %q", collection)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var out []storage.DocInfo
	for c.Next(ctx) {
		id, ok := c.Current.Lookup(fID).StringValueOK()
		if !ok {
			continue
		}
		info := storage.DocInfo{ID: id}
		info.Type, _ = c.Current.Lookup(fType).StringValueOK()
		if err := readInt(c.Current, fV, &info.V, true); err != nil {
			return nil, fmt.Errorf("mongo: list %q: %q: %w", collection, id, err)
		}
		if m, err := c.Current.LookupErr(fMeta); err == nil {
			meta, err := decodeMeta(m)
			if err != nil {
				return nil, fmt.Errorf("mongo: list %q: %q: _m: %w", collection, id, err)
			}
			info.MTime = meta.MTime
		}
		out = append(out, info)
	}
	if err := c.Err(); err != nil {
		return nil, wrap(ctx, err, "list %q", collection)
	}
	return out, nil
}

package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tandemhq/tandem/storage"
)

// Milestone snapshots live in "m_<collection>" in the layout of
// sharedb-milestone-mongo 3.0.0: {d, v, type, data, m: {ctime, mtime}}, with
// a unique index on {d, v} and one on m.mtime, so a Node ShareDB server
// configured with that package finds them too.

var _ storage.Milestones = (*Store)(nil)

func milestoneCollection(collection string) string { return "m_" + collection }

var milestoneIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "d", Value: 1}, {Key: "v", Value: 1}}, Options: options.Index().SetUnique(true)},
	{Keys: bson.D{{Key: "m.mtime", Value: 1}}},
}

func (s *Store) milestones(ctx context.Context, collection string) (*mongo.Collection, error) {
	if err := s.check(ctx, collection); err != nil {
		return nil, err
	}
	name := milestoneCollection(collection)
	coll := s.db.Collection(name)
	s.mu.Lock()
	done := s.indexed[name]
	s.mu.Unlock()
	if !done {
		for _, m := range milestoneIndexes {
			if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
				return nil, wrap(ctx, err, "create indexes on %q", name)
			}
		}
		s.mu.Lock()
		s.indexed[name] = true
		s.mu.Unlock()
	}
	return coll, nil
}

// SaveMilestone implements storage.Milestones (an upsert on {d, v}).
func (s *Store) SaveMilestone(ctx context.Context, collection, id string, snap storage.Snapshot) error {
	coll, err := s.milestones(ctx, collection)
	if err != nil {
		return err
	}
	var data any
	if snap.Data != nil {
		if data, err = fromJSON(snap.Data); err != nil {
			return err
		}
	}
	var typ any
	if snap.Type != "" {
		typ = snap.Type
	}
	set := bson.D{{Key: "d", Value: id}, {Key: "v", Value: intValue(snap.V)}, {Key: "type", Value: typ}, {Key: "data", Value: data},
		{Key: "m", Value: bson.D{{Key: "ctime", Value: float64(snap.Meta.CTime)}, {Key: "mtime", Value: float64(snap.Meta.MTime)}}}}
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "d", Value: id}, {Key: "v", Value: intValue(snap.V)}},
		bson.D{{Key: "$set", Value: set}}, options.UpdateOne().SetUpsert(true))
	return wrap(ctx, err, "save milestone %q/%q v%d", collection, id, snap.V)
}

// Milestone implements storage.Milestones.
func (s *Store) Milestone(ctx context.Context, collection, id string, v int64) (storage.Snapshot, bool, error) {
	return s.findMilestone(ctx, collection, id, bson.D{{Key: "d", Value: id}, {Key: "v", Value: bson.D{{Key: "$lte", Value: v}}}},
		bson.D{{Key: "v", Value: -1}})
}

// MilestoneAtTime implements storage.Milestones.
func (s *Store) MilestoneAtTime(ctx context.Context, collection, id string, ts int64) (storage.Snapshot, bool, error) {
	return s.findMilestone(ctx, collection, id, bson.D{{Key: "d", Value: id}, {Key: "m.mtime", Value: bson.D{{Key: "$lte", Value: ts}}}},
		bson.D{{Key: "m.mtime", Value: -1}, {Key: "v", Value: -1}})
}

func (s *Store) findMilestone(ctx context.Context, collection, id string, filter, sort bson.D) (storage.Snapshot, bool, error) {
	coll, err := s.milestones(ctx, collection)
	if err != nil {
		return storage.Snapshot{}, false, err
	}
	raw, err := coll.FindOne(ctx, filter, options.FindOne().SetSort(sort)).Raw()
	if err == mongo.ErrNoDocuments {
		return storage.Snapshot{}, false, nil
	}
	if err != nil {
		return storage.Snapshot{}, false, wrap(ctx, err, "milestone %q/%q", collection, id)
	}
	var snap storage.Snapshot
	if v, ok := asInt64(raw.Lookup("v")); ok {
		snap.V = v
	}
	if t, ok := raw.Lookup("type").StringValueOK(); ok {
		snap.Type = t
	}
	if d := raw.Lookup("data"); snap.Type != "" && d.Type != 0 {
		if snap.Data, err = toJSON(d); err != nil {
			return storage.Snapshot{}, false, err
		}
	}
	if n, ok := asInt64(raw.Lookup("m", "ctime")); ok {
		snap.Meta.CTime = n
	}
	if n, ok := asInt64(raw.Lookup("m", "mtime")); ok {
		snap.Meta.MTime = n
	}
	return snap, true, nil
}

package bolt

import (
	"bytes"
	"context"

	"go.etcd.io/bbolt"

	"github.com/tandemhq/tandem/storage"
)

// milestoneBucket holds milestone snapshots under the same keys as ops
// (document prefix + big-endian version), encoded like snapshots. Files
// made before milestones existed get the bucket on the first save.
var milestoneBucket = []byte("milestones")

var _ storage.Milestones = (*Store)(nil)

// SaveMilestone implements storage.Milestones.
func (s *Store) SaveMilestone(ctx context.Context, collection, id string, snap storage.Snapshot) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(milestoneBucket)
		if err != nil {
			return err
		}
		return b.Put(opKey(opPrefix(collection, id), snap.V), encodeSnapshot(snap))
	})
	return wrap(err, "save milestone %q/%q v%d", collection, id, snap.V)
}

// Milestone implements storage.Milestones.
func (s *Store) Milestone(ctx context.Context, collection, id string, v int64) (storage.Snapshot, bool, error) {
	if v < 0 {
		return storage.Snapshot{}, false, nil
	}
	return s.findMilestone(ctx, collection, id, opKey(opPrefix(collection, id), v), func(storage.Snapshot) bool { return true })
}

// MilestoneAtTime implements storage.Milestones.
func (s *Store) MilestoneAtTime(ctx context.Context, collection, id string, ts int64) (storage.Snapshot, bool, error) {
	return s.findMilestone(ctx, collection, id, nil, func(m storage.Snapshot) bool { return m.Meta.MTime <= ts })
}

// findMilestone walks the document's milestones backwards from the one at
// or before key (nil: the last) and returns the first satisfying ok.
func (s *Store) findMilestone(ctx context.Context, collection, id string, key []byte, ok func(storage.Snapshot) bool) (storage.Snapshot, bool, error) {
	if err := s.check(ctx); err != nil {
		return storage.Snapshot{}, false, err
	}
	prefix := opPrefix(collection, id)
	var out storage.Snapshot
	found := false
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(milestoneBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if key == nil {
			// Position after the document's last milestone.
			k, v = c.Seek(opKey(prefix, 1<<62))
		} else {
			k, v = c.Seek(key)
			if k != nil && bytes.Equal(k, key) {
				return s.accept(k, v, prefix, ok, &out, &found, c)
			}
		}
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		return s.accept(k, v, prefix, ok, &out, &found, c)
	})
	return out, found, wrap(err, "milestone %q/%q", collection, id)
}

// accept scans backwards from (k, v) within prefix for a milestone ok
// accepts.
func (s *Store) accept(k, v, prefix []byte, ok func(storage.Snapshot) bool, out *storage.Snapshot, found *bool, c *bbolt.Cursor) error {
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Prev() {
		snap, err := decodeSnapshot(bytes.Clone(v)) // v lives only as long as the transaction
		if err != nil {
			return err
		}
		if ok(snap) {
			*out, *found = snap, true
			return nil
		}
	}
	return nil
}

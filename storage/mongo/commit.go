package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tandemhq/tandem/storage"
)

// cleanupTimeout bounds the best-effort deletion of a losing commit's ops.
const cleanupTimeout = 5 * time.Second

// Commit implements storage.Store with sharedb-mongo's commit rule:
//
//  1. insert the op documents (insertOne, or insertMany for a group commit),
//     each linked through o to the one before it, the first to the
//     snapshot's current _o;
//  2. write the snapshot conditionally: insertOne when the previous version
//     is 0 (a duplicate _id means another writer created it first),
//     otherwise replaceOne({_id, _v: previous version}) (nothing modified
//     means another writer moved the version);
//  3. if the snapshot write lost, delete the op documents (best effort; an
//     op left behind is not on the chain of links, so no read returns it)
//     and return storage.ErrVersionConflict.
//
// Every write uses the configured write concern, so a nil return means the
// commit is acknowledged by it (with "majority": durable on a majority).
//
// Any other error means the outcome is unknown: the snapshot write may or
// may not have been applied (a lost reply, a failover). The op documents
// are then left in place, since deleting them could cut the chain of a
// commit that did happen; the caller re-reads the document to find out.
func (s *Store) Commit(ctx context.Context, collection, id string, ops []storage.Op, snap storage.Snapshot) error {
	if err := storage.CheckCommit(ops, snap); err != nil {
		return err
	}
	if err := s.check(ctx, collection); err != nil {
		return err
	}
	// Encode everything first: data that cannot be stored fails the commit
	// before anything is written.
	oids := make([]bson.ObjectID, len(ops))
	docs := make([]bson.D, len(ops))
	for i, op := range ops {
		oids[i] = bson.NewObjectID()
		var prev *bson.ObjectID
		if i > 0 {
			prev = &oids[i-1]
		}
		d, err := opDoc(id, op, oids[i], prev)
		if err != nil {
			return fmt.Errorf("%w: mongo: commit %q/%q: %w", storage.ErrInvalidData, collection, id, err)
		}
		docs[i] = d
	}
	snapDoc, err := snapshotDoc(id, snap, oids[len(oids)-1])
	if err != nil {
		return fmt.Errorf("%w: mongo: commit %q/%q: %w", storage.ErrInvalidData, collection, id, err)
	}

	coll := s.db.Collection(collection)
	head, found, err := s.head(ctx, coll, id)
	if err != nil {
		return wrap(ctx, err, "commit %q/%q", collection, id)
	}
	prevV := ops[0].V
	if head.v != prevV {
		return storage.ErrVersionConflict
	}
	if head.link != nil {
		docs[0][len(docs[0])-1].Value = *head.link // "o" is the last field
	}

	opsName := opsCollection(collection)
	if err := s.ensureIndexes(ctx, opsName); err != nil {
		return err
	}
	opsColl := s.db.Collection(opsName)
	if len(docs) == 1 {
		_, err = opsColl.InsertOne(ctx, docs[0])
	} else {
		many := make([]any, len(docs))
		for i := range docs {
			many[i] = docs[i]
		}
		_, err = opsColl.InsertMany(ctx, many, options.InsertMany().SetOrdered(true))
	}
	if err != nil {
		// Whatever was inserted is not linked from the snapshot: harmless.
		return wrap(ctx, err, "commit %q/%q: insert ops", collection, id)
	}

	won, err := s.writeSnapshot(ctx, coll, id, prevV, found, snapDoc)
	if err != nil {
		return wrap(ctx, err, "commit %q/%q: write snapshot", collection, id)
	}
	if !won {
		s.deleteOps(ctx, opsColl, oids)
		return storage.ErrVersionConflict
	}
	return nil
}

// writeSnapshot is step 2 of Commit. It reports whether this commit won.
func (s *Store) writeSnapshot(ctx context.Context, coll *mongo.Collection, id string, prevV int64, found bool, doc bson.D) (bool, error) {
	if prevV != 0 {
		r, err := coll.ReplaceOne(ctx, bson.D{{Key: fID, Value: id}, {Key: fV, Value: prevV}}, doc)
		if err != nil {
			return false, err
		}
		return r.ModifiedCount > 0, nil
	}
	_, err := coll.InsertOne(ctx, doc)
	if err == nil {
		return true, nil
	}
	if !mongo.IsDuplicateKeyError(err) || found {
		return false, err
	}
	// A duplicate key: another writer created the document first, unless a
	// unique index of the application's own refused the document. Only
	// the first is a conflict (retrying the second would fail forever).
	// sharedb-mongo tells them apart by the index name "_id_" in the
	// message, which FerretDB does not give; the document's presence says
	// the same on both.
	if _, exists, herr := s.head(ctx, coll, id); herr != nil || !exists {
		return false, err
	}
	return false, nil
}

// deleteOps removes a losing commit's op documents, best effort: its
// context is not cancelled with the caller's, and errors are dropped.
func (s *Store) deleteOps(ctx context.Context, opsColl *mongo.Collection, oids []bson.ObjectID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	filter := bson.D{{Key: "_id", Value: oids[0]}}
	if len(oids) > 1 {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: oids}}}}
	}
	opsColl.DeleteMany(ctx, filter)
}

// head reads the stored version and op link of a document; a missing
// document is version 0 and found is false.
func (s *Store) head(ctx context.Context, coll *mongo.Collection, id string) (h snapHead, found bool, err error) {
	raw, err := coll.FindOne(ctx, bson.D{{Key: fID, Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: fV, Value: 1}, {Key: fLink, Value: 1}})).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return snapHead{}, false, nil
	}
	if err != nil {
		return snapHead{}, false, err
	}
	h, err = decodeHead(raw)
	return h, true, err
}

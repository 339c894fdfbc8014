package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/query"
)

var _ storage.Querier = (*Store)(nil)

// ctxCheckEvery is how many snapshots Query reads between checks of ctx.
const ctxCheckEvery = 1024

// Query implements storage.Querier: one read transaction scans the
// collection's snapshots with a cursor and evaluates the query over them
// with package query, so the result is one consistent view. Snapshots are
// decoded in place (aliasing bbolt's memory, valid during the
// transaction); only the returned ones are copied.
func (s *Store) Query(ctx context.Context, collection string, q json.RawMessage) (storage.QueryResult, error) {
	parsed, err := query.Parse(q)
	if err != nil {
		return storage.QueryResult{}, err
	}
	if err := s.check(ctx); err != nil {
		return storage.QueryResult{}, err
	}
	var res storage.QueryResult
	err = s.db.View(func(tx *bbolt.Tx) error {
		prefix := collPrefix(collection)
		var ids []string
		var snaps []storage.Snapshot
		c := tx.Bucket(snapBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(ids)%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			snap, err := decodeSnapshot(v)
			if err != nil {
				return fmt.Errorf("%q: %w", k[len(prefix):], err)
			}
			ids = append(ids, string(k[len(prefix):]))
			snaps = append(snaps, snap)
		}
		var err error
		res, err = storage.RunQuery(parsed, ids, snaps)
		if err != nil {
			return err
		}
		for i := range res.Docs {
			res.Docs[i].Snapshot.Data = bytes.Clone(res.Docs[i].Snapshot.Data)
		}
		return nil
	})
	if err != nil {
		return storage.QueryResult{}, wrap(err, "query %q", collection)
	}
	return res, nil
}

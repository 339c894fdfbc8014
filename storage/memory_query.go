package storage

import (
	"context"
	"encoding/json"

	"github.com/tandemhq/tandem/storage/query"
)

var _ Querier = (*Memory)(nil)

// Query implements Querier: it evaluates the query over the collection's
// documents with package query (see there for the operators, and for
// sharedb-mongo's rule that deleted documents are returned only when the
// filter has a top-level _type key). An invalid or unsupported query fails
// with a *query.Error. The lock is held only to take the snapshots; Memory
// never changes stored bytes in place (Commit replaces a snapshot, reads
// return copies), so they are evaluated after unlocking.
func (m *Memory) Query(ctx context.Context, collection string, q json.RawMessage) (QueryResult, error) {
	parsed, err := query.Parse(q)
	if err != nil {
		return QueryResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return QueryResult{}, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return QueryResult{}, ErrClosed
	}
	docs := m.colls[collection]
	ids := make([]string, 0, len(docs))
	snaps := make([]Snapshot, 0, len(docs))
	for id, d := range docs {
		ids = append(ids, id)
		snaps = append(snaps, d.snap)
	}
	m.mu.Unlock()

	res, err := RunQuery(parsed, ids, snaps)
	if err != nil {
		return QueryResult{}, err
	}
	for i := range res.Docs {
		res.Docs[i].Snapshot = copySnapshot(res.Docs[i].Snapshot)
	}
	return res, nil
}

// QueryInput turns a stored snapshot into package query's view of it. The
// result shares s.Data.
func QueryInput(id string, s Snapshot) query.Doc {
	d := query.Doc{ID: id, V: s.V, Type: s.Type, Data: s.Data, CTime: s.Meta.CTime, MTime: s.Meta.MTime}
	if c := s.Meta.Create; c != nil {
		d.Create = &query.CreateMeta{Src: c.Src, Seq: c.Seq, V: c.V}
	}
	return d
}

// RunQuery evaluates q over a collection's documents, ids[i] having the
// snapshot snaps[i], for stores that scan their collection. The snapshots
// in the result are the ones passed in, sharing their memory: the caller
// copies them before handing them out.
func RunQuery(q *query.Query, ids []string, snaps []Snapshot) (QueryResult, error) {
	docs := make([]query.Doc, len(ids))
	for i, id := range ids {
		docs[i] = QueryInput(id, snaps[i])
	}
	res, err := q.Run(docs)
	if err != nil {
		return QueryResult{}, err
	}
	out := QueryResult{Extra: res.Extra}
	if len(res.Indexes) > 0 {
		out.Docs = make([]QueryDoc, len(res.Indexes))
		for i, k := range res.Indexes {
			out.Docs[i] = QueryDoc{ID: ids[k], Snapshot: snaps[k]}
		}
	}
	return out, nil
}

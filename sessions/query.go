package sessions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/storage"
)

// Queries (qf, qs, qu) run against the store's Querier: the MongoDB filter
// dialect sharedb-mongo accepts by default, evaluated by MongoDB for the
// mongo store and in memory for the embedded ones. A live query (qs)
// listens on its collection's channel: each op there re-runs the query
// (debounced) and the client gets the difference as insert/remove/move
// items, and ops of documents in the results are forwarded to it, as
// sharedb does.

// queryDebounce bounds how often one live query is re-run.
const queryDebounce = 50 * time.Millisecond

// liveQuery is one qs subscription of an agent.
type liveQuery struct {
	id    json.RawMessage
	c     string
	q     json.RawMessage
	poke  chan struct{} // a change in the collection; buffered 1
	stop  chan struct{}
	unsub func()
}

func (a *Agent) querier() (storage.Querier, *protocol.Error) {
	q, ok := a.m.store.(storage.Querier)
	if !ok {
		return nil, protocol.Errorf(protocol.ErrQueryNotSupported, "this store does not support queries")
	}
	return q, nil
}

// query answers qf/qs/qu.
func (a *Agent) query(req *protocol.Request) *protocol.Error {
	id := req.Get("id")
	if req.Action == protocol.ActionQueryUnsubscribe {
		a.stopQuery(string(id))
		a.send(protocol.NewObj(32).Str("a", req.Action).Raw("id", id).Bytes())
		return nil
	}
	if req.C == "" {
		return protocol.BadlyFormed("Invalid collection")
	}
	if role := a.role(req.C, ""); role < RoleViewer {
		return forbidden(role, "query", req.C, "*")
	}
	querier, perr := a.querier()
	if perr != nil {
		return perr
	}
	q := req.Get("q")
	if q == nil {
		q = json.RawMessage("{}")
	}
	if req.Action == protocol.ActionQueryFetch {
		res, err := a.runQuery(querier, req.C, q)
		if err != nil {
			return err
		}
		o := protocol.NewObj(256).Str("a", req.Action).Raw("id", id).Raw("data", a.resultsJSON(req.C, res.Docs))
		if res.Extra != nil {
			o.Raw("extra", res.Extra)
		}
		a.send(o.Bytes())
		return nil
	}
	return a.subscribeQuery(req, querier, q)
}

func (a *Agent) runQuery(querier storage.Querier, c string, q json.RawMessage) (storage.QueryResult, *protocol.Error) {
	ctx, cancel := context.WithTimeout(a.m.ctx, 30*time.Second)
	defer cancel()
	res, err := querier.Query(ctx, c, q)
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			return res, loadError(err)
		}
		return res, protocol.Errorf("ERR_QUERY_INVALID", "%v", err)
	}
	// Drop documents this connection may not read.
	kept := res.Docs[:0]
	for _, d := range res.Docs {
		if a.role(c, d.ID) >= RoleViewer {
			kept = append(kept, d)
		}
	}
	res.Docs = kept
	return res, nil
}

// snapshotJSONOf is the fetch/query snapshot encoding: {v, data, type},
// type omitted for json0 and null for a missing document.
func snapshotJSONOf(s storage.Snapshot) []byte {
	o := protocol.NewObj(64+len(s.Data)).Int("v", s.V)
	if s.Type == "" {
		return o.Null("type").Bytes()
	}
	o.Raw("data", s.Data)
	if s.Type != "http://sharejs.org/types/JSONv0" {
		o.Str("type", s.Type)
	}
	return o.Bytes()
}

// resultsJSON is a query's data array: snapshots with their id as d.
func (a *Agent) resultsJSON(c string, docs []storage.QueryDoc) []byte {
	b := []byte{'['}
	for i, d := range docs {
		if i > 0 {
			b = append(b, ',')
		}
		snap := snapshotJSONOf(d.Snapshot)
		b = append(b, snap[:len(snap)-1]...)
		b = append(b, `,"d":`...)
		b = protocol.AppendString(b, d.ID)
		b = append(b, '}')
	}
	return append(b, ']')
}

func (a *Agent) subscribeQuery(req *protocol.Request, querier storage.Querier, q json.RawMessage) *protocol.Error {
	id := req.Get("id")
	a.stopQuery(string(id)) // re-subscribing the same id replaces it
	lq := &liveQuery{id: id, c: req.C, q: q, poke: make(chan struct{}, 1), stop: make(chan struct{})}

	// Listen before the first run, so no change falls in between.
	unsub, err := a.m.broker.Subscribe(req.C, func(msg []byte) { a.onCollectionOp(lq, msg) })
	if err != nil {
		return protocol.Errorf(protocol.ErrUnknownError, "query subscription failed: %v", err)
	}
	lq.unsub = unsub
	res, perr := a.runQuery(querier, req.C, q)
	if perr != nil {
		unsub()
		return perr
	}
	ids := make([]string, len(res.Docs))
	for i, d := range res.Docs {
		ids[i] = d.ID
	}
	state := &queryState{ids: ids, extra: res.Extra}
	if a.queries == nil {
		a.queries = make(map[string]*liveQuery)
	}
	a.queries[string(id)] = lq

	if r := req.Get("r"); r != nil && string(r) != "null" {
		// A resubscription after a reconnect: the client lists what it
		// has; catch those up, then send the difference.
		var known [][]json.RawMessage
		_ = json.Unmarshal(r, &known)
		prev := make([]string, 0, len(known))
		data := protocol.NewObj(256)
		fetchIDs := []string{}
		for _, pair := range known {
			var docID string
			_ = json.Unmarshal(pair[0], &docID)
			prev = append(prev, docID)
			var v *int64
			if len(pair) > 1 {
				_ = json.Unmarshal(pair[1], &v)
			}
			if v == nil {
				fetchIDs = append(fetchIDs, docID)
				continue
			}
			a.sendOpsSince(req.C, docID, *v)
		}
		if len(fetchIDs) > 0 {
			ctx, cancel := context.WithTimeout(a.m.ctx, 30*time.Second)
			snaps, err := a.m.store.Snapshots(ctx, req.C, fetchIDs)
			cancel()
			if err == nil {
				for i, docID := range fetchIDs {
					data.Raw(jsonKey(docID), snapshotJSONOf(snaps[i]))
				}
			}
		}
		o := protocol.NewObj(128).Str("a", req.Action).Raw("id", id)
		if len(fetchIDs) > 0 {
			o.Raw("data", data.Bytes())
		}
		a.send(o.Bytes())
		old := &queryState{ids: prev}
		a.sendQueryDiff(lq, old, state, res)
	} else {
		o := protocol.NewObj(256).Str("a", req.Action).Raw("id", id).Raw("data", a.resultsJSON(req.C, res.Docs))
		if res.Extra != nil {
			o.Raw("extra", res.Extra)
		}
		a.send(o.Bytes())
	}
	a.bg.Add(1)
	go a.pollQuery(lq, querier, state)
	return nil
}

// sendOpsSince sends a document's ops from version v (query resubscribe).
func (a *Agent) sendOpsSince(c, d string, v int64) {
	ctx, cancel := context.WithTimeout(a.m.ctx, 30*time.Second)
	defer cancel()
	ops, err := a.m.store.Ops(ctx, c, d, v, -1)
	if err != nil {
		return
	}
	for _, op := range ops {
		a.send(encodeOpMessage(docKey{c, d}, op))
	}
}

// queryState is what the client was last told about a live query.
type queryState struct {
	ids   []string
	extra json.RawMessage
	docs  map[string]bool
}

func (st *queryState) has(id string) bool {
	if st.docs == nil {
		st.docs = make(map[string]bool, len(st.ids))
		for _, x := range st.ids {
			st.docs[x] = true
		}
	}
	return st.docs[id]
}

// onCollectionOp runs on the broker goroutine: forward ops of documents in
// the results (not the client's own), and poke the poller.
func (a *Agent) onCollectionOp(lq *liveQuery, msg []byte) {
	if msg != nil {
		var p pubsubOp
		if json.Unmarshal(msg, &p) == nil && p.V != nil && p.C == lq.c && p.Src != a.Src() && a.queryHas(lq, p.D) {
			rec := storage.Op{V: *p.V, Src: p.Src, Seq: p.Seq, Op: p.Op, Del: p.Del}
			if p.Create != nil {
				rec.Create = &storage.Create{Type: p.Create.Type, Data: p.Create.Data}
			}
			a.deliver(docKey{p.C, p.D}, encodeOpMessage(docKey{p.C, p.D}, rec))
		}
	}
	select {
	case lq.poke <- struct{}{}:
	default:
	}
}

// queryHas reports whether id is in the live query's last results. The
// set is swapped atomically by the poller.
func (a *Agent) queryHas(lq *liveQuery, id string) bool {
	a.queryMu.Lock()
	defer a.queryMu.Unlock()
	return a.queryIDs[lq] != nil && a.queryIDs[lq][id]
}

func (a *Agent) setQueryIDs(lq *liveQuery, ids []string) {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	a.queryMu.Lock()
	defer a.queryMu.Unlock()
	if a.queryIDs == nil {
		a.queryIDs = make(map[*liveQuery]map[string]bool)
	}
	a.queryIDs[lq] = set
}

// pollQuery re-runs a live query when its collection changes.
func (a *Agent) pollQuery(lq *liveQuery, querier storage.Querier, state *queryState) {
	defer a.bg.Done()
	a.setQueryIDs(lq, state.ids)
	for {
		select {
		case <-lq.stop:
			return
		case <-a.m.ctx.Done():
			return
		case <-lq.poke:
		}
		select {
		case <-lq.stop:
			return
		case <-time.After(queryDebounce):
		}
		res, perr := a.runQuery(querier, lq.c, lq.q)
		if perr != nil {
			continue // a later change polls again
		}
		next := &queryState{ids: make([]string, len(res.Docs)), extra: res.Extra}
		for i, d := range res.Docs {
			next.ids[i] = d.ID
		}
		a.sendQueryDiff(lq, state, next, res)
		state = next
		a.setQueryIDs(lq, state.ids)
	}
}

// sendQueryDiff tells the client how the results changed.
func (a *Agent) sendQueryDiff(lq *liveQuery, old, next *queryState, res storage.QueryResult) {
	if !bytes.Equal(old.extra, next.extra) && next.extra != nil {
		a.send(protocol.NewObj(64).Str("a", protocol.ActionQueryUpdate).Raw("id", lq.id).Raw("extra", next.extra).Bytes())
	}
	items := diffIDs(old.ids, next.ids)
	if len(items) == 0 {
		return
	}
	snaps := make(map[string]storage.QueryDoc, len(res.Docs))
	for _, d := range res.Docs {
		snaps[d.ID] = d
	}
	b := []byte{'['}
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		o := protocol.NewObj(64).Str("type", it.kind)
		switch it.kind {
		case "insert":
			docs := make([]storage.QueryDoc, len(it.ids))
			for j, id := range it.ids {
				docs[j] = snaps[id]
			}
			o.Int("index", int64(it.index)).Raw("values", a.resultsJSON(lq.c, docs))
		case "remove":
			o.Int("index", int64(it.index)).Int("howMany", int64(it.howMany))
		case "move":
			o.Int("from", int64(it.from)).Int("to", int64(it.to)).Int("howMany", 1)
		}
		b = append(b, o.Bytes()...)
	}
	b = append(b, ']')
	a.send(protocol.NewObj(len(b)+64).Str("a", protocol.ActionQueryUpdate).Raw("id", lq.id).Raw("diff", b).Bytes())
}

type diffItem struct {
	kind           string
	index, howMany int
	from, to       int
	ids            []string
}

// diffIDs turns old into next with removes, moves and inserts, applied in
// order the way the sharedb client applies them (splice semantics).
func diffIDs(old, next []string) []diffItem {
	var items []diffItem
	want := make(map[string]bool, len(next))
	for _, id := range next {
		want[id] = true
	}
	cur := append([]string(nil), old...)
	for i := len(cur) - 1; i >= 0; i-- {
		if !want[cur[i]] {
			items = append(items, diffItem{kind: "remove", index: i, howMany: 1})
			cur = append(cur[:i], cur[i+1:]...)
		}
	}
	for j := 0; j < len(next); j++ {
		if j < len(cur) && cur[j] == next[j] {
			continue
		}
		k := -1
		for x := j + 1; x < len(cur); x++ {
			if cur[x] == next[j] {
				k = x
				break
			}
		}
		if k >= 0 {
			items = append(items, diffItem{kind: "move", from: k, to: j})
			id := cur[k]
			cur = append(cur[:k], cur[k+1:]...)
			cur = append(cur[:j], append([]string{id}, cur[j:]...)...)
			continue
		}
		items = append(items, diffItem{kind: "insert", index: j, ids: []string{next[j]}})
		cur = append(cur[:j], append([]string{next[j]}, cur[j:]...)...)
	}
	return items
}

// stopQuery ends a live query (qu, a replacing qs, or the agent closing).
func (a *Agent) stopQuery(id string) {
	lq := a.queries[id]
	if lq == nil {
		return
	}
	delete(a.queries, id)
	lq.unsub()
	close(lq.stop)
	a.queryMu.Lock()
	delete(a.queryIDs, lq)
	a.queryMu.Unlock()
}

func (a *Agent) stopAllQueries() {
	for id := range a.queries {
		a.stopQuery(id)
	}
}

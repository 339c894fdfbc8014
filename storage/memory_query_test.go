package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/query"
)

const (
	json0URI = "http://sharejs.org/types/JSONv0"
	textURI  = "http://sharejs.org/types/text-unicode"
)

// queryFixture commits a few documents: json0 notes n1..n3, a text doc
// t1, a deleted n4, and a note in another collection.
func queryFixture(t *testing.T, s storage.Store) {
	t.Helper()
	ctx := t.Context()
	create := func(c, id, typ, data string, mtime int64) {
		t.Helper()
		op := storage.Op{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: typ, Data: json.RawMessage(data)}, Meta: storage.OpMeta{TS: mtime}}
		snap := storage.Snapshot{V: 1, Type: typ, Data: json.RawMessage(data),
			Meta: storage.SnapshotMeta{CTime: mtime, MTime: mtime, Create: &storage.OpID{Src: "s", Seq: 1, V: 0}}}
		if err := s.Commit(ctx, c, id, []storage.Op{op}, snap); err != nil {
			t.Fatalf("Commit %s/%s: %v", c, id, err)
		}
	}
	create("notes", "n1", json0URI, `{"title":"b","n":3,"tags":["x"]}`, 100)
	create("notes", "n2", json0URI, `{"title":"a","n":1,"tags":["x","y"]}`, 200)
	create("notes", "n3", json0URI, `{"title":"c","n":2}`, 300)
	create("notes", "t1", textURI, `"hello"`, 400)
	create("notes", "n4", json0URI, `{"title":"gone"}`, 500)
	del := storage.Op{V: 1, Src: "s", Seq: 2, Del: true, Meta: storage.OpMeta{TS: 600, DelData: json.RawMessage(`{"title":"gone"}`)}}
	if err := s.Commit(ctx, "notes", "n4", []storage.Op{del}, storage.Snapshot{V: 2, Meta: storage.SnapshotMeta{CTime: 500, MTime: 600}}); err != nil {
		t.Fatal(err)
	}
	create("other", "o1", json0URI, `{"title":"a","n":1}`, 700)
}

// checkQuerier runs the query checks on a store holding queryFixture.
func checkQuerier(t *testing.T, s storage.Store) {
	t.Helper()
	qs, ok := s.(storage.Querier)
	if !ok {
		t.Fatalf("%T does not implement storage.Querier", s)
	}
	ctx := t.Context()
	for _, c := range []struct {
		q, ids, extra string
	}{
		{`{}`, "n1 n2 n3 t1", ""},
		{`{"tags":"x","$sort":{"n":-1}}`, "n1 n2", ""},
		{`{"title":{"$exists":true},"$sort":{"title":1},"$limit":2}`, "n2 n1", ""},
		{`{"$sort":{"n":1},"$skip":1,"$limit":2}`, "n2 n3", ""},
		{`{"$or":[{"n":{"$gt":2}},{"_data":{"$regex":"ell"}}]}`, "n1 t1", ""},
		{`{"_m.mtime":{"$gte":200,"$lt":400}}`, "n2 n3", ""},
		{`{"_type":null}`, "n4", ""},
		{`{"_id":"n4"}`, "", ""},
		{`{"$count":true,"n":{"$gte":2}}`, "", "2"},
		{`{"$distinct":{"field":"tags"}}`, "", `["x","y"]`},
	} {
		res, err := qs.Query(ctx, "notes", json.RawMessage(c.q))
		if err != nil {
			t.Errorf("Query(%s): %v", c.q, err)
			continue
		}
		var ids []string
		for _, d := range res.Docs {
			ids = append(ids, d.ID)
		}
		if got := strings.Join(ids, " "); got != c.ids || string(res.Extra) != c.extra {
			t.Errorf("Query(%s) = %q extra %q; want %q extra %q", c.q, got, res.Extra, c.ids, c.extra)
		}
		// The snapshots are the stored ones.
		for _, d := range res.Docs {
			want, err := s.Snapshot(ctx, "notes", d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Snapshot.V != want.V || d.Snapshot.Type != want.Type || !bytes.Equal(d.Snapshot.Data, want.Data) ||
				d.Snapshot.Meta.MTime != want.Meta.MTime || (d.Snapshot.Meta.Create == nil) != (want.Meta.Create == nil) {
				t.Errorf("Query(%s): snapshot of %s = %+v, want %+v", c.q, d.ID, d.Snapshot, want)
			}
		}
	}

	// Results are copies.
	res, err := qs.Query(ctx, "notes", json.RawMessage(`{"_id":"n1"}`))
	if err != nil || len(res.Docs) != 1 {
		t.Fatalf("Query n1: %+v, %v", res, err)
	}
	for i := range res.Docs[0].Snapshot.Data {
		res.Docs[0].Snapshot.Data[i] = 'X'
	}
	res.Docs[0].Snapshot.Meta.Create.Src = "changed"
	again, err := qs.Query(ctx, "notes", json.RawMessage(`{"_id":"n1"}`))
	if err != nil || len(again.Docs) != 1 || string(again.Docs[0].Snapshot.Data) != `{"title":"b","n":3,"tags":["x"]}` ||
		again.Docs[0].Snapshot.Meta.Create.Src != "s" {
		t.Errorf("query result shares memory with the store: %+v, %v", again, err)
	}

	// Other and unknown collections.
	res, err = qs.Query(ctx, "other", json.RawMessage(`{"n":1}`))
	if err != nil || len(res.Docs) != 1 || res.Docs[0].ID != "o1" {
		t.Errorf("Query(other) = %+v, %v", res, err)
	}
	res, err = qs.Query(ctx, "nothing", json.RawMessage(`{"$count":true}`))
	if err != nil || len(res.Docs) != 0 || string(res.Extra) != "0" {
		t.Errorf("Query(nothing) = %+v, %v", res, err)
	}

	// A bad query is a *query.Error with sharedb-mongo's code.
	_, err = qs.Query(ctx, "notes", json.RawMessage(`{"$where":"true"}`))
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Code != query.CodeWhereDisabled {
		t.Errorf("Query($where) error = %v", err)
	}
	_, err = qs.Query(ctx, "notes", json.RawMessage(`{"a":{"$foo":1}}`))
	if !errors.As(err, &qe) || qe.Code != query.CodeBadValue || !strings.Contains(qe.Message, "$foo") {
		t.Errorf("Query($foo) error = %v", err)
	}

	// A canceled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := qs.Query(cctx, "notes", json.RawMessage(`{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with canceled context: %v", err)
	}
}

func TestMemoryQuery(t *testing.T) {
	s := storage.NewMemory()
	queryFixture(t, s)
	checkQuerier(t, s)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(t.Context(), "notes", json.RawMessage(`{}`)); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Query after Close: %v", err)
	}
}

// TestMemoryQueryConcurrent runs queries while documents change.
func TestMemoryQueryConcurrent(t *testing.T) {
	s := storage.NewMemory()
	queryFixture(t, s)
	ctx := t.Context()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := int64(1); v < 50; v++ {
			op := storage.Op{V: v, Src: "w", Seq: v, Op: json.RawMessage(`[]`)}
			snap := storage.Snapshot{V: v + 1, Type: json0URI, Data: json.RawMessage(`{"title":"b","n":3}`)}
			if err := s.Commit(ctx, "notes", "n1", []storage.Op{op}, snap); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		if _, err := s.Query(ctx, "notes", json.RawMessage(`{"n":{"$gt":0},"$sort":{"n":1}}`)); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

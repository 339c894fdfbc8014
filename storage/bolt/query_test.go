package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/query"
)

const json0URI = "http://sharejs.org/types/JSONv0"

func commitCreate(t *testing.T, s *Store, c, id, data string, mtime int64) {
	t.Helper()
	op := storage.Op{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: json0URI, Data: json.RawMessage(data)}, Meta: storage.OpMeta{TS: mtime}}
	snap := storage.Snapshot{V: 1, Type: json0URI, Data: json.RawMessage(data),
		Meta: storage.SnapshotMeta{CTime: mtime, MTime: mtime, Create: &storage.OpID{Src: "s", Seq: 1}}}
	if err := s.Commit(t.Context(), c, id, []storage.Op{op}, snap); err != nil {
		t.Fatalf("Commit %s/%s: %v", c, id, err)
	}
}

func TestQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	commitCreate(t, s, "notes", "n1", `{"title":"b","n":3,"tags":["x"]}`, 100)
	commitCreate(t, s, "notes", "n2", `{"title":"a","n":1,"tags":["x","y"]}`, 200)
	commitCreate(t, s, "notes", "n3", `{"title":"c","n":2}`, 300)
	commitCreate(t, s, "notes", "n4", `{"title":"gone"}`, 400)
	del := storage.Op{V: 1, Src: "s", Seq: 2, Del: true, Meta: storage.OpMeta{TS: 500}}
	if err := s.Commit(ctx, "notes", "n4", []storage.Op{del}, storage.Snapshot{V: 2, Meta: storage.SnapshotMeta{MTime: 500}}); err != nil {
		t.Fatal(err)
	}
	// Collections whose keys sort next to "notes" must not leak in.
	commitCreate(t, s, "note", "x", `{"title":"a","n":1}`, 1)
	commitCreate(t, s, "notess", "y", `{"title":"a","n":1}`, 1)
	commitCreate(t, s, "notes\x00", "z", `{"title":"a","n":1}`, 1)

	check := func(s *Store) {
		t.Helper()
		for _, c := range []struct{ q, ids, extra string }{
			{`{}`, "n1 n2 n3", ""},
			{`{"tags":"x","$sort":{"n":-1}}`, "n1 n2", ""},
			{`{"$sort":{"title":-1},"$limit":2}`, "n3 n1", ""},
			{`{"$sort":{"n":1},"$skip":2}`, "n1", ""},
			{`{"title":{"$in":["a","c"]},"n":{"$lt":3}}`, "n2 n3", ""},
			{`{"_type":null}`, "n4", ""},
			{`{"$count":true,"tags":{"$size":2}}`, "", "1"},
			{`{"$count":true}`, "", "3"},
		} {
			res, err := s.Query(ctx, "notes", json.RawMessage(c.q))
			if err != nil {
				t.Errorf("Query(%s): %v", c.q, err)
				continue
			}
			var ids []string
			for _, d := range res.Docs {
				ids = append(ids, d.ID)
				want, err := s.Snapshot(ctx, "notes", d.ID)
				if err != nil || d.Snapshot.V != want.V || d.Snapshot.Type != want.Type || !bytes.Equal(d.Snapshot.Data, want.Data) ||
					d.Snapshot.Meta != want.Meta && (d.Snapshot.Meta.MTime != want.Meta.MTime || *d.Snapshot.Meta.Create != *want.Meta.Create) {
					t.Errorf("Query(%s): snapshot of %s = %+v, want %+v (%v)", c.q, d.ID, d.Snapshot, want, err)
				}
			}
			if got := strings.Join(ids, " "); got != c.ids || string(res.Extra) != c.extra {
				t.Errorf("Query(%s) = %q extra %q; want %q extra %q", c.q, got, res.Extra, c.ids, c.extra)
			}
		}
	}
	check(s)

	// Returned data outlives the transaction and is a copy.
	res, err := s.Query(ctx, "notes", json.RawMessage(`{"_id":"n1"}`))
	if err != nil || len(res.Docs) != 1 {
		t.Fatalf("Query n1: %+v, %v", res, err)
	}
	data := res.Docs[0].Snapshot.Data
	commitCreate(t, s, "notes", "n5", `{"title":"e"}`, 600) // a write after the read
	if string(data) != `{"title":"b","n":3,"tags":["x"]}` {
		t.Errorf("result data changed: %s", data)
	}
	for i := range data {
		data[i] = 'X'
	}

	// Errors.
	_, err = s.Query(ctx, "notes", json.RawMessage(`{"$aggregate":[]}`))
	var qe *query.Error
	if !errors.As(err, &qe) || qe.Code != query.CodeAggregateDisabled {
		t.Errorf("Query($aggregate): %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Query(cctx, "notes", json.RawMessage(`{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with canceled context: %v", err)
	}

	// Survives a reopen.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(ctx, "notes", json.RawMessage(`{}`)); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Query after Close: %v", err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	res, err = s.Query(ctx, "notes", json.RawMessage(`{"title":{"$gte":"b"},"$sort":{"title":1}}`))
	if err != nil || len(res.Docs) != 3 || res.Docs[0].ID != "n1" || res.Docs[2].ID != "n5" {
		t.Errorf("after reopen: %+v, %v", res, err)
	}
}

// TestQueryManyDocs scans more documents than the context-check interval.
func TestQueryManyDocs(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	const n = 1500
	for i := 0; i < n; i++ {
		id := string(rune('a'+i%26)) + strings.Repeat("z", i/26)
		commitCreate(t, s, "many", id+"-"+string(rune('0'+i%10)), `{"i":`+itoa(i)+`}`, int64(i))
	}
	res, err := s.Query(ctx, "many", json.RawMessage(`{"i":{"$mod":[3,0]},"$count":1}`))
	if err != nil || string(res.Extra) != "500" {
		t.Fatalf("count = %s, %v", res.Extra, err)
	}
	res, err = s.Query(ctx, "many", json.RawMessage(`{"$sort":{"i":-1},"$limit":3}`))
	if err != nil || len(res.Docs) != 3 || string(res.Docs[0].Snapshot.Data) != `{"i":1499}` {
		t.Fatalf("sorted = %+v, %v", res, err)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

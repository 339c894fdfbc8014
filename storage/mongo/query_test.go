package mongo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/query"
)

// queryFixture commits the same documents to each store.
func queryFixture(t *testing.T, stores ...storage.Store) {
	t.Helper()
	docs := []struct {
		id, typ, data string
		mtime         int64
	}{
		{"n1", json0, `{"title":"b","n":3,"tags":["x"],"nested":{"x":1}}`, 100},
		{"n2", json0, `{"title":"a","n":1,"tags":["x","y"],"nested":{"x":2}}`, 200},
		{"n3", json0, `{"title":"c","n":2,"score":2.5}`, 300},
		{"n4", json0, `{"title":"gone","n":9}`, 400},
		{"n5", json0, `{"title":"a","n":2,"tags":[],"nested":null}`, 500},
		{"n6", json0, `{"title":"abc","n":-1.5,"tags":["y"]}`, 600},
		{"t1", text, `"hello"`, 700},
	}
	for _, s := range stores {
		for _, d := range docs {
			op := storage.Op{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: d.typ, Data: json.RawMessage(d.data)}, Meta: storage.OpMeta{TS: d.mtime}}
			snap := storage.Snapshot{V: 1, Type: d.typ, Data: json.RawMessage(d.data),
				Meta: storage.SnapshotMeta{CTime: d.mtime, MTime: d.mtime, Create: &storage.OpID{Src: "s", Seq: 1}}}
			if err := s.Commit(t.Context(), "notes", d.id, []storage.Op{op}, snap); err != nil {
				t.Fatal(err)
			}
		}
		// n4 is deleted; n3 has a second version.
		del := storage.Op{V: 1, Src: "s", Seq: 2, Del: true, Meta: storage.OpMeta{TS: 800}}
		if err := s.Commit(t.Context(), "notes", "n4", []storage.Op{del}, storage.Snapshot{V: 2, Meta: storage.SnapshotMeta{MTime: 800}}); err != nil {
			t.Fatal(err)
		}
		edit := storage.Op{V: 1, Src: "s", Seq: 2, Op: json.RawMessage(`[{"p":["n"],"na":0}]`), Meta: storage.OpMeta{TS: 900}}
		if err := s.Commit(t.Context(), "notes", "n3", []storage.Op{edit}, storage.Snapshot{V: 2, Type: json0,
			Data: json.RawMessage(`{"title":"c","n":2,"score":2.5}`), Meta: storage.SnapshotMeta{CTime: 300, MTime: 900}}); err != nil {
			t.Fatal(err)
		}
		// Another collection must not leak in.
		op := storage.Op{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: json0, Data: json.RawMessage(`{"title":"a"}`)}}
		if err := s.Commit(t.Context(), "notes2", "x", []storage.Op{op}, storage.Snapshot{V: 1, Type: json0, Data: json.RawMessage(`{"title":"a"}`)}); err != nil {
			t.Fatal(err)
		}
	}
}

func showResult(res storage.QueryResult) string {
	ids := make([]string, len(res.Docs))
	for i, d := range res.Docs {
		ids[i] = d.ID
	}
	return fmt.Sprintf("ids [%s] extra %s", strings.Join(ids, " "), res.Extra)
}

// TestQuery runs queries on the Store and on storage.Memory (whose
// evaluator mirrors MongoDB's matcher) holding the same documents, and
// checks they agree, and that the Store returns whole snapshots.
func TestQuery(t *testing.T) {
	s := openStore(t, "")
	mem := storage.NewMemory()
	queryFixture(t, s, mem)
	ctx := t.Context()
	tests := []struct{ q, want string }{
		{`{}`, "ids [n1 n2 n3 n5 n6 t1] extra "},
		{`{"tags":"x","$sort":{"n":-1}}`, "ids [n1 n2] extra "},
		{`{"$sort":{"title":-1},"$limit":2}`, "ids [n3 n1] extra "},
		{`{"$sort":{"n":1},"$skip":2}`, ""},
		{`{"title":{"$in":["a","c"]},"n":{"$lt":3}}`, "ids [n2 n3 n5] extra "},
		{`{"_type":null}`, "ids [n4] extra "},
		{`{"_type":"http://sharejs.org/types/text-unicode"}`, "ids [t1] extra "},
		{`{"$count":true,"tags":{"$size":2}}`, "ids [] extra 1"},
		{`{"$count":true}`, "ids [] extra 6"},
		{`{"$count":true,"$skip":1,"$limit":2}`, "ids [] extra 2"},
		{`{"n":{"$gte":2}}`, "ids [n1 n3 n5] extra "},
		{`{"nested.x":1}`, "ids [n1] extra "},
		{`{"tags":{"$all":["x","y"]}}`, "ids [n2] extra "},
		{`{"title":{"$regex":"^a"}}`, "ids [n2 n5 n6] extra "},
		{`{"$or":[{"n":1},{"title":"c"}]}`, "ids [n2 n3] extra "},
		{`{"n":{"$exists":false}}`, "ids [t1] extra "},
		{`{"_m.mtime":{"$gte":500}}`, "ids [n3 n5 n6 t1] extra "},
		{`{"_id":{"$gt":"n2"}}`, "ids [n3 n5 n6 t1] extra "},
		{`{"_v":2}`, "ids [n3] extra "},
		{`{"$sort":"title"}`, ""},
		{`{"$sort":[["n",-1]]}`, ""},
		{`{"$orderby":{"n":1}}`, ""},
		{`{"$limit":-2,"$sort":{"n":1}}`, ""},
		{`{"$sort":{"title":1,"n":-1}}`, ""},
		{`{"_data":"hello"}`, "ids [t1] extra "},
		{`{"tags":{"$elemMatch":{"$eq":"y"}}}`, "ids [n2 n6] extra "},
		{`{"title":{"$ne":"a"}}`, "ids [n1 n3 n6 t1] extra "},
		{`{"score":{"$gt":2}}`, "ids [n3] extra "},
		{`{"nested":null}`, ""},
		{`{"$comment":"x","$maxTimeMS":1000,"n":3}`, "ids [n1] extra "},
		{`{"$distinct":{"field":"title"}}`, `ids [] extra ["a","abc","b","c"]`},
		{`{"$distinct":{"field":"tags"},"n":{"$gt":0}}`, `ids [] extra ["x","y"]`},
	}
	for _, tc := range tests {
		got, err := s.Query(ctx, "notes", json.RawMessage(tc.q))
		if err != nil {
			t.Errorf("Query(%s): %v", tc.q, err)
			continue
		}
		want, err := mem.Query(ctx, "notes", json.RawMessage(tc.q))
		if err != nil {
			t.Fatalf("Memory.Query(%s): %v", tc.q, err)
		}
		if showResult(got) != showResult(want) {
			t.Errorf("Query(%s):\n mongo  %s\n memory %s", tc.q, showResult(got), showResult(want))
		}
		if tc.want != "" && showResult(got) != tc.want {
			t.Errorf("Query(%s) = %s, want %s", tc.q, showResult(got), tc.want)
		}
		for i, d := range got.Docs {
			w := want.Docs[min(i, len(want.Docs)-1)].Snapshot
			sameData := (d.Snapshot.Data == nil) == (w.Data == nil) && (w.Data == nil || sameJSON(t, d.Snapshot.Data, w.Data))
			if d.Snapshot.V != w.V || d.Snapshot.Type != w.Type || !sameData ||
				d.Snapshot.Meta.MTime != w.Meta.MTime || (d.Snapshot.Meta.Create == nil) != (w.Meta.Create == nil) {
				t.Errorf("Query(%s) doc %s: %+v, want %+v", tc.q, d.ID, d.Snapshot, w)
			}
		}
	}

	// Refused like the other stores refuse them, with sharedb-mongo's codes.
	for q, code := range map[string]int{
		`{"$where":"1"}`:            query.CodeWhereDisabled,
		`{"$aggregate":[]}`:         query.CodeAggregateDisabled,
		`{"$query":{}}`:             query.CodeQueryDeprecated,
		`{"$count":1,"$explain":1}`: query.CodeOneCursorOp,
		`{"$skip":-1}`:              query.CodeMalformedOperator,
		`{"a":{"$bogus":1}}`:        query.CodeBadValue,
		`[1]`:                       query.CodeBadValue,
		`{`:                         query.CodeParse,
	} {
		_, err := s.Query(ctx, "notes", json.RawMessage(q))
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Code != code {
			t.Errorf("Query(%s): %v, want a query error %d", q, err, code)
		}
	}
	if _, err := s.Query(ctx, "o_notes", json.RawMessage(`{}`)); !errors.Is(err, ErrInvalidCollection) {
		t.Errorf("Query(o_notes): %v, want ErrInvalidCollection", err)
	}
	if res, err := s.Query(ctx, "nothing", json.RawMessage(`{}`)); err != nil || len(res.Docs) != 0 {
		t.Errorf("Query on a missing collection: %s, %v", showResult(res), err)
	}
}

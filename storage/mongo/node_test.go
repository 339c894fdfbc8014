package mongo

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/tandemhq/tandem/storage"
)

// nodeDir holds the Node cross-check: sharedb@7.0.0, sharedb-mongo@6.0.0.
var nodeDir = filepath.Join("testdata", "node")

// ensureNodeModules installs the Node packages from the lock file when
// they are missing.
func ensureNodeModules(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "sharedb-mongo", "package.json")); err == nil {
		return
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", nodeDir, err, out)
	}
}

// runNode runs crosscheck.js and decodes what it prints into out.
func runNode(t *testing.T, out any, args ...string) {
	t.Helper()
	cmd := exec.Command("node", append([]string{"crosscheck.js"}, args...)...)
	cmd.Dir = nodeDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node crosscheck.js %s: %v\n%s", args[0], err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node crosscheck.js %s printed %s: %v", args[0], b, err)
	}
}

// databaseURL is testURL naming database db, as sharedb-mongo takes it.
func databaseURL(t *testing.T, db string) string {
	u, err := url.Parse(testURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

// nodeRead is what crosscheck.js read prints for one document.
type nodeRead struct {
	Snapshot struct {
		V    int64           `json:"v"`
		Type *string         `json:"type"`
		Data json.RawMessage `json:"data"`
		M    json.RawMessage `json:"m"`
	} `json:"snapshot"`
	Ops       []json.RawMessage `json:"ops"`
	BulkOps   []json.RawMessage `json:"bulkOps"`
	Committed []*int64          `json:"committed"`
}

// sameJSON reports whether a and b decode to the same value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// nodeOp is the op object sharedb-mongo's getOps returns (with metadata)
// for op: the stored document minus _id, o and d.
func nodeOp(t *testing.T, op storage.Op) []byte {
	t.Helper()
	m := map[string]any{"src": op.Src, "seq": op.Seq, "v": op.V, "c": nil}
	switch {
	case op.Create != nil:
		c := map[string]any{"type": op.Create.Type}
		if op.Create.Data != nil {
			c["data"] = op.Create.Data
		}
		m["create"] = c
	case op.Del:
		m["del"] = true
	default:
		m["op"] = op.Op
	}
	meta := map[string]any{"ts": op.Meta.TS}
	if op.Meta.DelData != nil {
		meta["data"] = op.Meta.DelData
	}
	m["m"] = meta
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkNodeRead compares sharedb-mongo's reading of a document with what
// was committed.
func checkNodeRead(t *testing.T, what string, got nodeRead, ops []storage.Op, snap storage.Snapshot) {
	t.Helper()
	if got.Snapshot.V != snap.V {
		t.Errorf("%s: sharedb-mongo reads version %d, want %d", what, got.Snapshot.V, snap.V)
	}
	if typ := got.Snapshot.Type; (typ == nil) != (snap.Type == "") || typ != nil && *typ != snap.Type {
		t.Errorf("%s: sharedb-mongo reads type %v, want %q", what, typ, snap.Type)
	}
	if snap.Type != "" && !sameJSON(t, got.Snapshot.Data, snap.Data) {
		t.Errorf("%s: sharedb-mongo reads data %s, want %s", what, got.Snapshot.Data, snap.Data)
	}
	if snap.Type == "" && got.Snapshot.Data != nil {
		t.Errorf("%s: sharedb-mongo reads data %s of a deleted document", what, got.Snapshot.Data)
	}
	meta := map[string]any{"ctime": snap.Meta.CTime, "mtime": snap.Meta.MTime}
	if c := snap.Meta.Create; c != nil {
		meta["_create"] = map[string]any{"src": c.Src, "seq": c.Seq, "v": c.V}
	}
	wantMeta, _ := json.Marshal(meta)
	if !sameJSON(t, got.Snapshot.M, wantMeta) {
		t.Errorf("%s: sharedb-mongo reads metadata %s, want %s", what, got.Snapshot.M, wantMeta)
	}
	for name, list := range map[string][]json.RawMessage{"getOps": got.Ops, "getOpsBulk": got.BulkOps} {
		if len(list) != len(ops) {
			t.Errorf("%s: %s returns %d ops, want %d:\n%s", what, name, len(list), len(ops), list)
			continue
		}
		for i := range ops {
			if want := nodeOp(t, ops[i]); !sameJSON(t, list[i], want) {
				t.Errorf("%s: %s op %d:\n got  %s\n want %s", what, name, i, list[i], want)
			}
		}
	}
	for i, v := range got.Committed {
		if v == nil || *v != int64(i) {
			t.Errorf("%s: getCommittedOpVersion of op %d = %v, want %d", what, i, v, i)
		}
	}
}

// TestNodeInterop checks both directions with the real sharedb@7.0.0 and
// sharedb-mongo@6.0.0 on one database: documents and ops written by the
// Store read as sharedb-mongo's own (snapshots, metadata, strict linking,
// bulk reads, the src/seq lookup of resubmitted ops), and documents and ops
// committed by a Node ShareDB server, on their own and on top of the
// Store's, read back through the Store, which can then commit on top of
// them.
func TestNodeInterop(t *testing.T) {
	ensureNodeModules(t)
	db := newDatabase(t)
	nodeURL := databaseURL(t, db)
	s := openStore(t, db)
	ctx := t.Context()
	const ts = 1_735_689_600_000
	type doc struct {
		ops  []storage.Op
		snap storage.Snapshot
	}
	docs := map[string]*doc{}
	commit := func(id string, snap storage.Snapshot, ops ...storage.Op) {
		t.Helper()
		if err := s.Commit(ctx, "gocoll", id, ops, snap); err != nil {
			t.Fatalf("Commit(gocoll, %s): %v", id, err)
		}
		if docs[id] == nil {
			docs[id] = &doc{}
		}
		docs[id].ops = append(docs[id].ops, ops...)
		docs[id].snap = snap
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	meta := func(v int64, src string, seq int64) storage.SnapshotMeta {
		return storage.SnapshotMeta{CTime: ts, MTime: ts + v, Create: &storage.OpID{Src: src, Seq: seq, V: 0}}
	}

	// 1. The Store writes.
	commit("obj", storage.Snapshot{V: 1, Type: json0, Data: raw(`{"title":"Go","n":1,"list":[[1,2],[3]],"nested":{"deep":{"x":2.5}},"neg":-3}`), Meta: meta(0, "go-1", 1)},
		storage.Op{V: 0, Src: "go-1", Seq: 1, Create: &storage.Create{Type: json0, Data: raw(`{"title":"Go","n":1,"list":[[1,2],[3]],"nested":{"deep":{"x":2.5}},"neg":-3}`)}, Meta: storage.OpMeta{TS: ts}})
	commit("obj", storage.Snapshot{V: 2, Type: json0, Data: raw(`{"title":"Go","n":3,"list":[[1,2],[3]],"nested":{"deep":{"x":2.5}},"neg":-3}`), Meta: meta(1, "go-1", 1)},
		storage.Op{V: 1, Src: "go-2", Seq: 1, Op: raw(`[{"p":["n"],"na":2}]`), Meta: storage.OpMeta{TS: ts + 1}})
	commit("obj", storage.Snapshot{V: 4, Type: json0, Data: raw(`{"title":"Go!","n":3,"list":[[1,2],[3]],"nested":{"deep":{"x":2.5}},"neg":-2}`), Meta: meta(3, "go-1", 1)},
		storage.Op{V: 2, Src: "go-2", Seq: 2, Op: raw(`[{"p":["title",2],"si":"!"}]`), Meta: storage.OpMeta{TS: ts + 2}},
		storage.Op{V: 3, Src: "go-2", Seq: 3, Op: raw(`[{"p":["neg"],"na":1}]`), Meta: storage.OpMeta{TS: ts + 3}})
	commit("txt", storage.Snapshot{V: 1, Type: text, Data: raw(`"héllo😀"`), Meta: meta(0, "go-1", 2)},
		storage.Op{V: 0, Src: "go-1", Seq: 2, Create: &storage.Create{Type: text, Data: raw(`"héllo😀"`)}, Meta: storage.OpMeta{TS: ts}})
	commit("txt", storage.Snapshot{V: 2, Type: text, Data: raw(`"hélloX😀"`), Meta: meta(1, "go-1", 2)},
		storage.Op{V: 1, Src: "go-1", Seq: 3, Op: raw(`[5,"X"]`), Meta: storage.OpMeta{TS: ts + 1}})
	commit("gone", storage.Snapshot{V: 1, Type: json0, Data: raw(`{"a":1}`), Meta: meta(0, "go-1", 4)},
		storage.Op{V: 0, Src: "go-1", Seq: 4, Create: &storage.Create{Type: json0, Data: raw(`{"a":1}`)}, Meta: storage.OpMeta{TS: ts}})
	commit("gone", storage.Snapshot{V: 2, Meta: meta(1, "go-1", 4)},
		storage.Op{V: 1, Src: "go-1", Seq: 5, Del: true, Meta: storage.OpMeta{TS: ts + 1, DelData: raw(`{"a":1}`)}})
	commit("batch", storage.Snapshot{V: 4, Type: json0, Data: raw(`{"l":[1,2,3]}`), Meta: meta(3, "go-3", 1)},
		storage.Op{V: 0, Src: "go-3", Seq: 1, Create: &storage.Create{Type: json0, Data: raw(`{"l":[]}`)}, Meta: storage.OpMeta{TS: ts}},
		storage.Op{V: 1, Src: "go-3", Seq: 2, Op: raw(`[{"p":["l",0],"li":1}]`), Meta: storage.OpMeta{TS: ts + 1}},
		storage.Op{V: 2, Src: "go-3", Seq: 3, Op: raw(`[{"p":["l",1],"li":2}]`), Meta: storage.OpMeta{TS: ts + 2}},
		storage.Op{V: 3, Src: "go-3", Seq: 4, Op: raw(`[{"p":["l",2],"li":3}]`), Meta: storage.OpMeta{TS: ts + 3}})

	// 2. sharedb-mongo reads them as its own.
	ids := []string{"obj", "txt", "gone", "batch"}
	var read map[string]nodeRead
	runNode(t, &read, append([]string{"read", nodeURL, "gocoll"}, ids...)...)
	for _, id := range ids {
		checkNodeRead(t, "gocoll/"+id, read[id], docs[id].ops, docs[id].snap)
	}

	// 3. A Node ShareDB server commits: documents of its own, and ops on
	// top of the Store's (json0, text-unicode, a recreate after delete).
	plan := []map[string]any{
		{"c": "nodecoll", "d": "n1", "create": map[string]any{"type": json0, "data": map[string]any{"name": "node", "tags": []any{"a"}, "num": 1.5}}},
		{"c": "nodecoll", "d": "n1", "op": []any{map[string]any{"p": []any{"num"}, "na": 1}}},
		{"c": "nodecoll", "d": "n2", "create": map[string]any{"type": text, "data": "abc"}},
		{"c": "nodecoll", "d": "n2", "op": []any{3, "d"}},
		{"c": "nodecoll", "d": "n3", "create": map[string]any{"type": json0, "data": map[string]any{"x": 1}}},
		{"c": "nodecoll", "d": "n3", "del": true},
		{"c": "gocoll", "d": "obj", "op": []any{map[string]any{"p": []any{"n"}, "na": 10}}},
		{"c": "gocoll", "d": "txt", "op": []any{"Z"}},
		{"c": "gocoll", "d": "gone", "create": map[string]any{"type": json0, "data": map[string]any{"b": 2}}},
	}
	planJSON, _ := json.Marshal(plan)
	var wrote struct {
		Src  string `json:"src"`
		Docs map[string]struct {
			V    int64           `json:"v"`
			Type *string         `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"docs"`
	}
	runNode(t, &wrote, "write", nodeURL, string(planJSON))

	// 4. The Store reads what Node wrote.
	for key, want := range wrote.Docs {
		c, id, _ := strings.Cut(key, "/")
		snap, err := s.Snapshot(ctx, c, id)
		if err != nil {
			t.Fatalf("Snapshot(%s): %v", key, err)
		}
		if snap.V != want.V || (want.Type == nil) != (snap.Type == "") || want.Type != nil && (*want.Type != snap.Type || !sameJSON(t, snap.Data, want.Data)) {
			t.Errorf("Snapshot(%s) = v%d %q %s; Node has v%d %v %s", key, snap.V, snap.Type, snap.Data, want.V, want.Type, want.Data)
		}
		if snap.Meta.MTime < ts || snap.Meta.CTime < ts {
			t.Errorf("Snapshot(%s) meta = %+v", key, snap.Meta)
		}
		ops, err := s.Ops(ctx, c, id, 0, -1)
		if err != nil {
			t.Fatalf("Ops(%s): %v", key, err)
		}
		if int64(len(ops)) != snap.V {
			t.Fatalf("Ops(%s): %d ops, want %d", key, len(ops), snap.V)
		}
		for i, op := range ops {
			if op.V != int64(i) {
				t.Errorf("Ops(%s)[%d] has version %d", key, i, op.V)
			}
		}
	}
	nodeOps := func(c, id string, from int64) []storage.Op {
		t.Helper()
		ops, err := s.Ops(ctx, c, id, from, -1)
		if err != nil {
			t.Fatalf("Ops(%s/%s, %d): %v", c, id, from, err)
		}
		for _, op := range ops {
			if op.Src != wrote.Src || op.Seq < 1 || op.Meta.TS < ts {
				t.Errorf("Ops(%s/%s): op %d is %s/%d at %d, want Node's (%s)", c, id, op.V, op.Src, op.Seq, op.Meta.TS, wrote.Src)
			}
		}
		return ops
	}
	n1 := nodeOps("nodecoll", "n1", 0)
	if n1[0].Create == nil || n1[0].Create.Type != json0 || !sameJSON(t, n1[0].Create.Data, []byte(`{"name":"node","tags":["a"],"num":1.5}`)) ||
		!sameJSON(t, n1[1].Op, []byte(`[{"p":["num"],"na":1}]`)) || n1[1].Seq != n1[0].Seq+1 {
		t.Errorf("Ops(nodecoll/n1) = %+v %+v", n1[0], n1[1])
	}
	n1snap, _ := s.Snapshot(ctx, "nodecoll", "n1")
	if c := n1snap.Meta.Create; c == nil || *c != (storage.OpID{Src: wrote.Src, Seq: n1[0].Seq, V: 0}) {
		t.Errorf("Snapshot(nodecoll/n1) create = %+v", c)
	}
	if n3 := nodeOps("nodecoll", "n3", 0); !n3[1].Del || !sameJSON(t, n3[1].Meta.DelData, []byte(`{"x":1}`)) {
		t.Errorf("Ops(nodecoll/n3)[1] = %+v, want a del with the deleted data", n3[1])
	}
	for id, want := range map[string]string{"obj": `[{"p":["n"],"na":10}]`, "txt": `["Z"]`} {
		all, err := s.Ops(ctx, "gocoll", id, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		prefix := all[:len(docs[id].ops)]
		for i := range prefix {
			if prefix[i].Src != docs[id].ops[i].Src || prefix[i].Seq != docs[id].ops[i].Seq {
				t.Errorf("Ops(gocoll/%s)[%d] = %s/%d, want the Store's %s/%d", id, i, prefix[i].Src, prefix[i].Seq, docs[id].ops[i].Src, docs[id].ops[i].Seq)
			}
		}
		last := nodeOps("gocoll", id, int64(len(docs[id].ops)))
		if len(last) != 1 || !sameJSON(t, last[0].Op, []byte(want)) {
			t.Errorf("Node's op on gocoll/%s = %+v", id, last)
		}
	}
	gone, _ := s.Snapshot(ctx, "gocoll", "gone")
	if gone.V != 3 || gone.Type != json0 || gone.Meta.Create == nil || gone.Meta.Create.V != 2 || gone.Meta.Create.Src != wrote.Src {
		t.Errorf("recreated gocoll/gone = %+v (create %+v)", gone, gone.Meta.Create)
	}
	list, err := s.List(ctx, "nodecoll", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{list[0].ID, list[1].ID}; len(list) != 2 || !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("List(nodecoll) = %+v, want n1 and n2", list)
	}

	// 5. The Store commits on top of Node's document; sharedb-mongo reads
	// the whole chain, Node's ops and the Store's.
	edit := storage.Op{V: 2, Src: "go-4", Seq: 1, Op: raw(`[{"p":["tags",1],"li":"b"}]`), Meta: storage.OpMeta{TS: ts + 99}}
	next := n1snap
	next.V, next.Data, next.Meta.MTime = 3, raw(`{"name":"node","tags":["a","b"],"num":2.5}`), ts+99
	if err := s.Commit(ctx, "nodecoll", "n1", []storage.Op{edit}, next); err != nil {
		t.Fatal(err)
	}
	runNode(t, &read, "read", nodeURL, "nodecoll", "n1")
	checkNodeRead(t, "nodecoll/n1", read["n1"], append(n1, edit), next)

	// 6. Byte for byte: every document Node wrote, decoded by the Store and
	// encoded again, is the same BSON (field order, number types, nulls).
	checkReencode(t, db, "nodecoll", "")
	checkReencode(t, db, "gocoll", wrote.Src)
}

// checkReencode decodes the snapshots of collection c and its op
// documents from src (all when src is "") and checks that the Store's
// encoding of them is byte for byte what is stored.
func checkReencode(t *testing.T, db, c, src string) {
	t.Helper()
	ctx := t.Context()
	filter := bson.D{}
	if src != "" {
		filter = bson.D{{Key: "src", Value: src}}
	}
	var opDocs []bson.Raw
	cur, err := testClient.Database(db).Collection("o_"+c).Find(ctx, filter)
	if err == nil {
		err = cur.All(ctx, &opDocs)
	}
	if err != nil || len(opDocs) == 0 {
		t.Fatalf("op documents of %s: %d, %v", c, len(opDocs), err)
	}
	for _, raw := range opDocs {
		h, err := decodeOpHead(raw)
		if err != nil {
			t.Fatal(err)
		}
		op, err := decodeOp(raw)
		if err != nil {
			t.Fatal(err)
		}
		d, err := opDoc(raw.Lookup("d").StringValue(), op, h.id, h.prev)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := bson.Marshal(d); !bytes.Equal(b, raw) {
			t.Errorf("op %s/%v:\n stored     %s\n re-encoded %s", c, op.V, raw, bson.Raw(b))
		}
	}
	if src != "" {
		return
	}
	var snaps []bson.Raw
	cur, err = testClient.Database(db).Collection(c).Find(ctx, bson.D{})
	if err == nil {
		err = cur.All(ctx, &snaps)
	}
	if err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots of %s: %d, %v", c, len(snaps), err)
	}
	for _, raw := range snaps {
		snap, err := decodeSnapshot(raw)
		if err != nil {
			t.Fatal(err)
		}
		h, err := decodeHead(raw)
		if err != nil {
			t.Fatal(err)
		}
		id := raw.Lookup("_id").StringValue()
		d, err := snapshotDoc(id, snap, *h.link)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := bson.Marshal(d); !bytes.Equal(b, raw) {
			t.Errorf("snapshot %s/%s:\n stored     %s\n re-encoded %s", c, id, raw, bson.Raw(b))
		}
	}
}

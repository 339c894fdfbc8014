package mongo

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tandemhq/tandem/storage"
)

const (
	json0 = "http://sharejs.org/types/JSONv0"
	text  = "http://sharejs.org/types/text-unicode"
)

// rawDoc reads one document of db.coll by _id, as stored.
func rawDoc(t *testing.T, db, coll string, id any) bson.Raw {
	t.Helper()
	raw, err := testClient.Database(db).Collection(coll).FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatalf("find %s.%s %v: %v", db, coll, id, err)
	}
	return raw
}

// rawOps reads every op document of a document, in version order (and
// insertion order within a version).
func rawOps(t *testing.T, db, coll, id string) []bson.Raw {
	t.Helper()
	c, err := testClient.Database(db).Collection("o_"+coll).Find(t.Context(), bson.D{{Key: "d", Value: id}},
		options.Find().SetSort(bson.D{{Key: "v", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var out []bson.Raw
	if err := c.All(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// field describes an expected field: its key, BSON type and, unless
// check is nil, a check of its value.
type field struct {
	key   string
	typ   bson.Type
	check func(v bson.RawValue) error
}

func is[T comparable](want T, get func(bson.RawValue) T) func(bson.RawValue) error {
	return func(v bson.RawValue) error {
		if got := get(v); got != want {
			return fmt.Errorf("= %v, want %v", got, want)
		}
		return nil
	}
}

func str(want string) func(bson.RawValue) error { return is(want, bson.RawValue.StringValue) }
func i32(want int32) func(bson.RawValue) error  { return is(want, bson.RawValue.Int32) }
func dbl(want float64) func(bson.RawValue) error {
	return is(want, bson.RawValue.Double)
}
func oid(want bson.ObjectID) func(bson.RawValue) error { return is(want, bson.RawValue.ObjectID) }

// jsonIs checks a value's JSON reading.
func jsonIs(want string) func(bson.RawValue) error {
	return func(v bson.RawValue) error {
		got, err := toJSON(v)
		if err != nil {
			return err
		}
		if string(got) != want {
			return fmt.Errorf("= %s, want %s", got, want)
		}
		return nil
	}
}

// doc checks a sub-document field by field.
func doc(fields ...field) func(bson.RawValue) error {
	return func(v bson.RawValue) error { return checkFields(v.Document(), fields) }
}

// checkFields checks that raw has exactly fields, in order, with their
// types and values.
func checkFields(raw bson.Raw, fields []field) error {
	elems, err := raw.Elements()
	if err != nil {
		return err
	}
	var keys, want []string
	for _, e := range elems {
		keys = append(keys, e.Key())
	}
	for _, f := range fields {
		want = append(want, f.key)
	}
	if !slices.Equal(keys, want) {
		return fmt.Errorf("fields %q, want %q (in %s)", keys, want, raw)
	}
	for i, f := range fields {
		v := elems[i].Value()
		if v.Type != f.typ {
			return fmt.Errorf("%s is a %v, want a %v (%v)", f.key, v.Type, f.typ, v)
		}
		if f.check != nil {
			if err := f.check(v); err != nil {
				return fmt.Errorf("%s %w", f.key, err)
			}
		}
	}
	return nil
}

func checkRaw(t *testing.T, what string, raw bson.Raw, fields ...field) {
	t.Helper()
	if err := checkFields(raw, fields); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// TestSchema writes a document's life through the Store and checks every
// stored document field by field against sharedb-mongo 6.0.0's schema
// (section 7 of sharedb-protocol.md): names, order, BSON types (int32 where
// a number fits, double otherwise, as the Node driver writes), values and
// the links between ops.
func TestSchema(t *testing.T) {
	db := newDatabase(t)
	s := openStore(t, db)
	ctx := t.Context()
	const ts = 1_735_689_600_123 // a real timestamp: a double, as Date.now() is written
	created := &storage.OpID{Src: "conn-1", Seq: 1, V: 0}
	meta := storage.SnapshotMeta{CTime: ts, MTime: ts, Create: created}

	// 1. Create with object data.
	create := storage.Op{V: 0, Src: "conn-1", Seq: 1, Create: &storage.Create{Type: json0, Data: json.RawMessage(`{"name":"fido","age":3,"tags":["a",["b"]],"nested":{"x.y":1,"$z":null}}`)},
		Meta: storage.OpMeta{TS: ts}}
	snap := storage.Snapshot{V: 1, Type: json0, Data: create.Create.Data, Meta: meta}
	if err := s.Commit(ctx, "dogs", "fido", []storage.Op{create}, snap); err != nil {
		t.Fatal(err)
	}
	ops := rawOps(t, db, "dogs", "fido")
	if len(ops) != 1 {
		t.Fatalf("%d op documents, want 1", len(ops))
	}
	op0 := ops[0].Lookup("_id").ObjectID()
	checkRaw(t, "create op", ops[0],
		field{"_id", bson.TypeObjectID, nil},
		field{"src", bson.TypeString, str("conn-1")},
		field{"seq", bson.TypeInt32, i32(1)},
		field{"v", bson.TypeInt32, i32(0)},
		field{"create", bson.TypeEmbeddedDocument, doc(
			field{"type", bson.TypeString, str(json0)},
			field{"data", bson.TypeEmbeddedDocument, jsonIs(`{"name":"fido","age":3,"tags":["a",["b"]],"nested":{"x.y":1,"$z":null}}`)},
		)},
		field{"c", bson.TypeNull, nil},
		field{"d", bson.TypeString, str("fido")},
		field{"m", bson.TypeEmbeddedDocument, doc(field{"ts", bson.TypeDouble, dbl(ts)})},
		field{"o", bson.TypeNull, nil},
	)
	checkRaw(t, "snapshot after create", rawDoc(t, db, "dogs", "fido"),
		field{"_id", bson.TypeString, str("fido")},
		field{"name", bson.TypeString, str("fido")},
		field{"age", bson.TypeInt32, i32(3)},
		field{"tags", bson.TypeArray, jsonIs(`["a",["b"]]`)},
		field{"nested", bson.TypeEmbeddedDocument, doc(field{"x.y", bson.TypeInt32, i32(1)}, field{"$z", bson.TypeNull, nil})},
		field{"_type", bson.TypeString, str(json0)},
		field{"_v", bson.TypeInt32, i32(1)},
		field{"_m", bson.TypeEmbeddedDocument, doc(
			field{"ctime", bson.TypeDouble, dbl(ts)},
			field{"mtime", bson.TypeDouble, dbl(ts)},
			field{"_create", bson.TypeEmbeddedDocument, doc(
				field{"src", bson.TypeString, str("conn-1")},
				field{"seq", bson.TypeInt32, i32(1)},
				field{"v", bson.TypeInt32, i32(0)},
			)},
		)},
		field{"_o", bson.TypeObjectID, oid(op0)},
	)

	// 2. A group commit of two edits and a delete.
	batch := []storage.Op{
		{V: 1, Src: "conn-2", Seq: 7, Op: json.RawMessage(`[{"p":["age"],"na":1}]`), Meta: storage.OpMeta{TS: ts + 1}},
		{V: 2, Src: "conn-2", Seq: 8, Op: json.RawMessage(`[{"p":["name",4],"si":"!"}]`), Meta: storage.OpMeta{TS: ts + 2}},
		{V: 3, Src: "conn-2", Seq: 9, Del: true, Meta: storage.OpMeta{TS: ts + 3, DelData: json.RawMessage(`{"name":"fido!","age":4}`)}},
	}
	deleted := storage.Snapshot{V: 4, Meta: storage.SnapshotMeta{CTime: ts, MTime: ts + 3, Create: created}}
	if err := s.Commit(ctx, "dogs", "fido", batch, deleted); err != nil {
		t.Fatal(err)
	}
	ops = rawOps(t, db, "dogs", "fido")
	if len(ops) != 4 {
		t.Fatalf("%d op documents, want 4", len(ops))
	}
	ids := make([]bson.ObjectID, len(ops))
	for i, o := range ops {
		ids[i] = o.Lookup("_id").ObjectID()
	}
	checkRaw(t, "edit op", ops[1],
		field{"_id", bson.TypeObjectID, nil},
		field{"src", bson.TypeString, str("conn-2")},
		field{"seq", bson.TypeInt32, i32(7)},
		field{"v", bson.TypeInt32, i32(1)},
		field{"op", bson.TypeArray, jsonIs(`[{"p":["age"],"na":1}]`)},
		field{"c", bson.TypeNull, nil},
		field{"d", bson.TypeString, str("fido")},
		field{"m", bson.TypeEmbeddedDocument, doc(field{"ts", bson.TypeDouble, dbl(ts + 1)})},
		field{"o", bson.TypeObjectID, oid(ids[0])},
	)
	checkRaw(t, "second edit op", ops[2],
		field{"_id", bson.TypeObjectID, nil},
		field{"src", bson.TypeString, str("conn-2")},
		field{"seq", bson.TypeInt32, i32(8)},
		field{"v", bson.TypeInt32, i32(2)},
		field{"op", bson.TypeArray, jsonIs(`[{"p":["name",4],"si":"!"}]`)},
		field{"c", bson.TypeNull, nil},
		field{"d", bson.TypeString, str("fido")},
		field{"m", bson.TypeEmbeddedDocument, nil},
		field{"o", bson.TypeObjectID, oid(ids[1])},
	)
	checkRaw(t, "del op", ops[3],
		field{"_id", bson.TypeObjectID, nil},
		field{"src", bson.TypeString, str("conn-2")},
		field{"seq", bson.TypeInt32, i32(9)},
		field{"v", bson.TypeInt32, i32(3)},
		field{"del", bson.TypeBoolean, is(true, bson.RawValue.Boolean)},
		field{"c", bson.TypeNull, nil},
		field{"d", bson.TypeString, str("fido")},
		field{"m", bson.TypeEmbeddedDocument, doc(
			field{"ts", bson.TypeDouble, dbl(ts + 3)},
			field{"data", bson.TypeEmbeddedDocument, jsonIs(`{"name":"fido!","age":4}`)},
		)},
		field{"o", bson.TypeObjectID, oid(ids[2])},
	)
	checkRaw(t, "deleted snapshot", rawDoc(t, db, "dogs", "fido"),
		field{"_id", bson.TypeString, str("fido")},
		field{"_type", bson.TypeNull, nil},
		field{"_v", bson.TypeInt32, i32(4)},
		field{"_m", bson.TypeEmbeddedDocument, doc(
			field{"ctime", bson.TypeDouble, dbl(ts)},
			field{"mtime", bson.TypeDouble, dbl(ts + 3)},
			field{"_create", bson.TypeEmbeddedDocument, nil},
		)},
		field{"_o", bson.TypeObjectID, oid(ids[3])},
	)

	// 3. Recreated as text: non-object data goes to _data. Small numbers
	// are int32, large ones double; beyond 2^53 int64 keeps them exact.
	recreate := storage.Op{V: 4, Src: "conn-3", Seq: 1 << 40, Create: &storage.Create{Type: text, Data: json.RawMessage(`"h😀"`)},
		Meta: storage.OpMeta{TS: 1<<53 + 2}}
	recreated := storage.Snapshot{V: 5, Type: text, Data: json.RawMessage(`"h😀"`),
		Meta: storage.SnapshotMeta{CTime: 5, MTime: -7, Create: &storage.OpID{Src: "conn-3", Seq: 1 << 40, V: 4}}}
	if err := s.Commit(ctx, "dogs", "fido", []storage.Op{recreate}, recreated); err != nil {
		t.Fatal(err)
	}
	ops = rawOps(t, db, "dogs", "fido")
	checkRaw(t, "recreate op", ops[4],
		field{"_id", bson.TypeObjectID, nil},
		field{"src", bson.TypeString, str("conn-3")},
		field{"seq", bson.TypeDouble, dbl(1 << 40)},
		field{"v", bson.TypeInt32, i32(4)},
		field{"create", bson.TypeEmbeddedDocument, doc(
			field{"type", bson.TypeString, str(text)},
			field{"data", bson.TypeString, str("h😀")},
		)},
		field{"c", bson.TypeNull, nil},
		field{"d", bson.TypeString, str("fido")},
		field{"m", bson.TypeEmbeddedDocument, doc(field{"ts", bson.TypeInt64, is(int64(1<<53+2), bson.RawValue.Int64)})},
		field{"o", bson.TypeObjectID, oid(ids[3])},
	)
	checkRaw(t, "recreated snapshot", rawDoc(t, db, "dogs", "fido"),
		field{"_id", bson.TypeString, str("fido")},
		field{"_data", bson.TypeString, str("h😀")},
		field{"_type", bson.TypeString, str(text)},
		field{"_v", bson.TypeInt32, i32(5)},
		field{"_m", bson.TypeEmbeddedDocument, doc(
			field{"ctime", bson.TypeInt32, i32(5)},
			field{"mtime", bson.TypeInt32, i32(-7)},
			field{"_create", bson.TypeEmbeddedDocument, doc(
				field{"src", bson.TypeString, str("conn-3")},
				field{"seq", bson.TypeDouble, dbl(1 << 40)},
				field{"v", bson.TypeInt32, i32(4)},
			)},
		)},
		field{"_o", bson.TypeObjectID, oid(ops[4].Lookup("_id").ObjectID())},
	)

	// 4. Other data shapes: an array and null go to _data too; a create
	// without data has no create.data; {} has no data fields at all.
	shapes := []struct {
		id, data string
		want     []field
	}{
		{"arr", `[1,"x"]`, []field{{"_data", bson.TypeArray, jsonIs(`[1,"x"]`)}}},
		{"null", `null`, []field{{"_data", bson.TypeNull, nil}}},
		{"num", `2.5`, []field{{"_data", bson.TypeDouble, dbl(2.5)}}},
		{"empty", `{}`, nil},
		{"rich", `{"ops":[{"insert":"hi\n"}]}`, []field{{"ops", bson.TypeArray, jsonIs(`[{"insert":"hi\n"}]`)}}},
	}
	for _, sh := range shapes {
		op := storage.Op{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: json0}, Meta: storage.OpMeta{TS: 1}}
		snap := storage.Snapshot{V: 1, Type: json0, Data: json.RawMessage(sh.data)}
		if err := s.Commit(ctx, "shapes", sh.id, []storage.Op{op}, snap); err != nil {
			t.Fatalf("%s: %v", sh.id, err)
		}
		want := append([]field{{"_id", bson.TypeString, str(sh.id)}}, sh.want...)
		want = append(want,
			field{"_type", bson.TypeString, str(json0)},
			field{"_v", bson.TypeInt32, i32(1)},
			field{"_m", bson.TypeEmbeddedDocument, doc(field{"ctime", bson.TypeInt32, i32(0)}, field{"mtime", bson.TypeInt32, i32(0)})},
			field{"_o", bson.TypeObjectID, nil},
		)
		checkRaw(t, "snapshot "+sh.id, rawDoc(t, db, "shapes", sh.id), want...)
		checkRaw(t, "create op "+sh.id, rawOps(t, db, "shapes", sh.id)[0],
			field{"_id", bson.TypeObjectID, nil},
			field{"src", bson.TypeString, str("s")},
			field{"seq", bson.TypeInt32, i32(1)},
			field{"v", bson.TypeInt32, i32(0)},
			field{"create", bson.TypeEmbeddedDocument, doc(field{"type", bson.TypeString, str(json0)})},
			field{"c", bson.TypeNull, nil},
			field{"d", bson.TypeString, str(sh.id)},
			field{"m", bson.TypeEmbeddedDocument, doc(field{"ts", bson.TypeInt32, i32(1)})},
			field{"o", bson.TypeNull, nil},
		)
		got, err := s.Snapshot(ctx, "shapes", sh.id)
		if err != nil || string(got.Data) != sh.data {
			t.Errorf("Snapshot(shapes, %s) data = %s, %v; want %s", sh.id, got.Data, err, sh.data)
		}
	}

	// 5. The op collections have sharedb-mongo's indexes (and only the
	// snapshot collections' _id index is unique).
	for _, c := range []string{"dogs", "shapes"} {
		cur, err := testClient.Database(db).Collection("o_" + c).Indexes().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var idx []struct {
			Name   string `bson:"name"`
			Key    bson.D `bson:"key"`
			Unique bool   `bson:"unique"`
		}
		if err := cur.All(ctx, &idx); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, i := range idx {
			got[i.Name] = fmt.Sprint(i.Key, i.Unique)
		}
		want := map[string]string{
			"_id_":            fmt.Sprint(bson.D{{Key: "_id", Value: int32(1)}}, false),
			"d_1_v_1":         fmt.Sprint(bson.D{{Key: "d", Value: int32(1)}, {Key: "v", Value: int32(1)}}, false),
			"src_1_seq_1_v_1": fmt.Sprint(bson.D{{Key: "src", Value: int32(1)}, {Key: "seq", Value: int32(1)}, {Key: "v", Value: int32(1)}}, false),
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("indexes of o_%s:\n got  %v\n want %v", c, got, want)
		}
	}
}

// TestStrictLinking plants op documents that are not on the chain of
// links (as commits that lost, or crashed between their two writes, leave
// them) and checks that Ops never returns them; a broken chain is
// ErrMissingOps.
func TestStrictLinking(t *testing.T) {
	db := newDatabase(t)
	s := openStore(t, db)
	ctx := t.Context()
	for v := range int64(4) {
		op := storage.Op{V: v, Src: "real", Seq: v + 1, Op: json.RawMessage(fmt.Sprintf(`[{"p":["n"],"na":%d}]`, v)), Meta: storage.OpMeta{TS: v}}
		if v == 0 {
			op = storage.Op{V: 0, Src: "real", Seq: 1, Create: &storage.Create{Type: json0, Data: json.RawMessage(`{"n":0}`)}}
		}
		if err := s.Commit(ctx, "docs", "d", []storage.Op{op}, storage.Snapshot{V: v + 1, Type: json0, Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	chain := rawOps(t, db, "docs", "d")
	opsColl := testClient.Database(db).Collection("o_docs")
	plant := func(v int64, prev any) {
		t.Helper()
		_, err := opsColl.InsertOne(ctx, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "src", Value: "orphan"},
			{Key: "seq", Value: v}, {Key: "v", Value: v}, {Key: "op", Value: bson.A{}}, {Key: "c", Value: nil},
			{Key: "d", Value: "d"}, {Key: "m", Value: bson.D{{Key: "ts", Value: 0}}}, {Key: "o", Value: prev}})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Orphans at every version, linked like the real ones, and beyond.
	plant(0, nil)
	for v := int64(1); v < 4; v++ {
		plant(v, chain[v-1].Lookup("_id").ObjectID())
	}
	plant(4, chain[3].Lookup("_id").ObjectID())
	plant(5, nil)
	for from := range int64(5) {
		for to := from; to <= 4; to++ {
			got, err := s.Ops(ctx, "docs", "d", from, to)
			if err != nil {
				t.Fatalf("Ops(%d, %d): %v", from, to, err)
			}
			if len(got) != int(to-from) {
				t.Fatalf("Ops(%d, %d): %d ops, want %d", from, to, len(got), to-from)
			}
			for i, op := range got {
				if op.Src != "real" || op.V != from+int64(i) {
					t.Errorf("Ops(%d, %d)[%d] = %s v%d, want the real op v%d", from, to, i, op.Src, op.V, from+int64(i))
				}
			}
		}
	}

	// Cut the chain: the op at version 1 disappears.
	if _, err := opsColl.DeleteOne(ctx, bson.D{{Key: "_id", Value: chain[1].Lookup("_id").ObjectID()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ops(ctx, "docs", "d", 2, -1); err != nil {
		t.Errorf("Ops(2, -1) above the cut: %v", err)
	}
	for _, r := range [][2]int64{{0, -1}, {1, 2}, {0, 1}} {
		if _, err := s.Ops(ctx, "docs", "d", r[0], r[1]); !errors.Is(err, storage.ErrMissingOps) {
			t.Errorf("Ops(%d, %d) across the cut: %v, want ErrMissingOps", r[0], r[1], err)
		}
	}

	// A snapshot without _o (sharedb-mongo's error 5102).
	if _, err := testClient.Database(db).Collection("docs").InsertOne(ctx,
		bson.D{{Key: "_id", Value: "nolink"}, {Key: "_type", Value: json0}, {Key: "_v", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ops(ctx, "docs", "nolink", 0, -1); !errors.Is(err, storage.ErrMissingOps) {
		t.Errorf("Ops on a snapshot without _o: %v, want ErrMissingOps", err)
	}
	if ops, err := s.Ops(ctx, "docs", "nolink", 2, -1); err != nil || len(ops) != 0 {
		t.Errorf("Ops(2, -1) on a snapshot without _o at version 2: %v, %v; want none", ops, err)
	}
}

// TestRefused checks what the schema cannot hold: reserved collection
// names (sharedb-mongo's error 4102) on every method, and data whose
// top-level fields would collide with the snapshot's own.
func TestRefused(t *testing.T) {
	s := openStore(t, "")
	ctx := t.Context()
	create := []storage.Op{{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: json0}}}
	for _, c := range []string{"system", "o_docs", "o_", "", ".x", "system.x", "a$b", "a\x00b"} {
		calls := map[string]error{}
		_, calls["Snapshot"] = s.Snapshot(ctx, c, "d")
		_, calls["Snapshots"] = s.Snapshots(ctx, c, []string{"d"})
		_, calls["Ops"] = s.Ops(ctx, c, "d", 0, -1)
		_, calls["List"] = s.List(ctx, c, "", 0)
		calls["Commit"] = s.Commit(ctx, c, "d", create, storage.Snapshot{V: 1, Type: json0, Data: json.RawMessage(`{}`)})
		for name, err := range calls {
			if !errors.Is(err, ErrInvalidCollection) {
				t.Errorf("%s(%q): %v, want ErrInvalidCollection", name, c, err)
			}
		}
	}
	for _, data := range []string{`{"_id":1}`, `{"a":1,"_v":2}`, `{"_type":"x"}`, `{"_m":{}}`, `{"_o":null}`, `{"_data":1}`, `{"$set":1}`,
		`{"a\u0000b":1}`, `[{"\u0000":1}]`, `1e999`, `{"a":`} {
		err := s.Commit(ctx, "docs", "bad", create, storage.Snapshot{V: 1, Type: json0, Data: json.RawMessage(data)})
		if err == nil || errors.Is(err, storage.ErrVersionConflict) {
			t.Errorf("Commit with data %s: %v, want an error", data, err)
		}
	}
	// Nothing was written by the refused commits.
	if snap, err := s.Snapshot(ctx, "docs", "bad"); err != nil || snap.V != 0 {
		t.Errorf("after refused commits: %+v, %v", snap, err)
	}
	if n, err := testClient.Database(s.Database()).Collection("o_docs").CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Errorf("after refused commits: %d op documents, %v", n, err)
	}
	// Ids may look like anything, "o_" included.
	if err := s.Commit(ctx, "docs", "o_x", create, storage.Snapshot{V: 1, Type: json0, Data: json.RawMessage(`{}`)}); err != nil {
		t.Errorf("id o_x: %v", err)
	}
}

// TestReadsNodeNumbers reads documents as Node may write them: any numeric
// BSON type for versions and times, extra fields in _m, a missing _m, and
// data with doubles that are whole numbers.
func TestReadsNodeNumbers(t *testing.T) {
	db := newDatabase(t)
	s := openStore(t, db)
	ctx := t.Context()
	d := testClient.Database(db)
	link := bson.NewObjectID()
	_, err := d.Collection("o_docs").InsertOne(ctx, bson.D{{Key: "_id", Value: link}, {Key: "src", Value: "n"},
		{Key: "seq", Value: 1.0}, {Key: "v", Value: int64(0)}, {Key: "create", Value: bson.D{{Key: "type", Value: json0},
			{Key: "data", Value: bson.D{{Key: "a", Value: 2.0}, {Key: "b", Value: int64(7)}}}}},
		{Key: "c", Value: nil}, {Key: "d", Value: "d"}, {Key: "m", Value: bson.D{{Key: "ts", Value: 1.7e12}, {Key: "custom", Value: "x"}}},
		{Key: "o", Value: nil}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Collection("docs").InsertMany(ctx, []any{
		bson.D{{Key: "_id", Value: "d"}, {Key: "a", Value: 2.0}, {Key: "b", Value: int64(7)}, {Key: "_type", Value: json0},
			{Key: "_v", Value: 1.0}, {Key: "_m", Value: bson.D{{Key: "ctime", Value: int64(5)}, {Key: "mtime", Value: 6.0},
				{Key: "extra", Value: true}, {Key: "_create", Value: bson.D{{Key: "src", Value: "n"}, {Key: "seq", Value: int64(1)}, {Key: "v", Value: 0.0}}}}},
			{Key: "_o", Value: link}},
		bson.D{{Key: "_id", Value: "nometa"}, {Key: "_type", Value: text}, {Key: "_v", Value: int64(3)}, {Key: "_data", Value: "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx, "docs", "d")
	if err != nil {
		t.Fatal(err)
	}
	if snap.V != 1 || snap.Type != json0 || string(snap.Data) != `{"a":2,"b":7}` || snap.Meta.CTime != 5 || snap.Meta.MTime != 6 ||
		snap.Meta.Create == nil || *snap.Meta.Create != (storage.OpID{Src: "n", Seq: 1, V: 0}) {
		t.Errorf("Snapshot = %+v (create %+v)", snap, snap.Meta.Create)
	}
	ops, err := s.Ops(ctx, "docs", "d", 0, -1)
	if err != nil || len(ops) != 1 {
		t.Fatalf("Ops = %+v, %v", ops, err)
	}
	if op := ops[0]; op.V != 0 || op.Seq != 1 || op.Src != "n" || op.Meta.TS != 1.7e12 || op.Create == nil ||
		string(op.Create.Data) != `{"a":2,"b":7}` {
		t.Errorf("op = %+v", op)
	}
	snap, err = s.Snapshot(ctx, "docs", "nometa")
	if err != nil || snap.V != 3 || string(snap.Data) != `"x"` || snap.Meta != (storage.SnapshotMeta{}) {
		t.Errorf("Snapshot(nometa) = %+v, %v", snap, err)
	}
	list, err := s.List(ctx, "docs", "", 0)
	if err != nil || len(list) != 2 || list[0] != (storage.DocInfo{ID: "d", V: 1, Type: json0, MTime: 6}) ||
		list[1] != (storage.DocInfo{ID: "nometa", V: 3, Type: text}) {
		t.Errorf("List = %+v, %v", list, err)
	}
}

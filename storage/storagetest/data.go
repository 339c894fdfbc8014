package storagetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

func testMetaRoundTrip(t *testing.T, s storage.Store) {
	tests := []struct {
		name string
		op   storage.Op
		snap storage.Snapshot
	}{
		{
			name: "create with data",
			op: storage.Op{V: 0, Src: "b2f0c1d2-ü", Seq: 1 << 40, Create: &storage.Create{Type: json0URI, Data: raw(`{"a":1}`)},
				Meta: storage.OpMeta{TS: 1_735_689_600_123}},
			snap: storage.Snapshot{V: 1, Type: json0URI, Data: raw(`{"a":1}`), Meta: storage.SnapshotMeta{
				CTime: 1_735_689_600_123, MTime: 1_735_689_600_124, Create: &storage.OpID{Src: "b2f0c1d2-ü", Seq: 1 << 40, V: 0}}},
		},
		{
			name: "create without data",
			op:   storage.Op{V: 0, Src: "s", Seq: 3, Create: &storage.Create{Type: textURI}, Meta: storage.OpMeta{TS: 1}},
			snap: storage.Snapshot{V: 1, Type: textURI, Data: raw(`""`), Meta: storage.SnapshotMeta{CTime: 1, MTime: 1}},
		},
		{
			name: "zero meta, empty src",
			op:   storage.Op{V: 0, Create: &storage.Create{Type: textURI, Data: raw(`"x"`)}},
			snap: storage.Snapshot{V: 1, Type: textURI, Data: raw(`"x"`)},
		},
		{
			name: "large timestamps",
			op:   storage.Op{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: textURI, Data: raw(`""`)}, Meta: storage.OpMeta{TS: 1 << 53}},
			snap: storage.Snapshot{V: 1, Type: textURI, Data: raw(`""`), Meta: storage.SnapshotMeta{
				CTime: 1<<53 - 1, MTime: 1 << 53, Create: &storage.OpID{Src: "s", Seq: 1, V: 0}}},
		},
	}
	for i, tc := range tests {
		id := fmt.Sprintf("m%d", i)
		mustCommit(t, s, "meta", id, []storage.Op{tc.op}, tc.snap)
		checkDoc(t, s, "meta", id, []storage.Op{tc.op}, tc.snap)
	}

	// An edit and a delete carry their own metadata.
	created := &storage.OpID{Src: "s", Seq: 1, V: 0}
	ops := []storage.Op{
		createOp(0, "s", 1, json0URI, `{"k":"v"}`),
		{V: 1, Src: "t", Seq: 9, Op: raw(`[{"p":["k"],"od":"v","oi":"w"}]`), Meta: storage.OpMeta{TS: 1_700_000_000_001}},
		{V: 2, Src: "u", Seq: 4, Del: true, Meta: storage.OpMeta{TS: 1_700_000_000_002, DelData: raw(`{"k":"w"}`)}},
		{V: 3, Src: "u", Seq: 5, Del: true, Meta: storage.OpMeta{TS: 1_700_000_000_003}}, // delete of a deleted doc: no DelData
	}
	snap := storage.Snapshot{V: 4, Meta: storage.SnapshotMeta{CTime: ts(0), MTime: 1_700_000_000_003, Create: created}}
	mustCommit(t, s, "meta", "seq", ops, snap)
	checkDoc(t, s, "meta", "seq", ops, snap)
}

func testJSONRoundTrip(t *testing.T, s storage.Store) {
	values := []string{
		`"h😀llo wörld"`,
		`"\ud83d\ude00 escaped pair, \u00e9, \u2028 \u2029"`,
		`{"emoji":"👩‍👩‍👧‍👦🏳️‍🌈","quote":"say \"hi\"","back":"a\\b","ctl":"nl\n tab\t cr\r nul\u0000 bel\u0007"}`,
		`{"html":"<a href=\"x\">&amp;</a>","slash":"a\/b","keys":{"":0,"with space":1,"dot.ted":2,"$dollar":3}}`,
		`[1,-2,3.25,-4.5e-7,6E+20,0,true,false,null,"",[],{}]`,
		`{"nested":{"deep":[{"k":[[["x"]]]}]},"unicode-κλειδί":"τιμή","日本":"語"}`,
		`{"ops":[{"insert":"Hello\n","attributes":{"bold":true}},{"insert":{"image":"https://x/y.png"}}]}`,
		"  {\"spaced\" :\t[ 1 , 2 ]\n}  ",
		`""`,
		`{}`,
		`[]`,
		`null`,
	}
	for i, v := range values {
		id := fmt.Sprintf("j%d", i)
		op := createOp(0, "s", 1, json0URI, v)
		edit := editOp(1, "s", 2, v)
		del := delOp(2, "s", 3, v)
		mid := storage.Snapshot{V: 2, Type: json0URI, Data: raw(v)}
		mustCommit(t, s, "json", id, []storage.Op{op, edit}, mid)
		checkDoc(t, s, "json", id, []storage.Op{op, edit}, mid)
		mustCommit(t, s, "json", id, []storage.Op{del}, storage.Snapshot{V: 3})
		checkOps(t, "Ops(json, "+id+")", mustOps(t, s, "json", id, 0, -1), []storage.Op{op, edit, del})
	}
}

// nameCases are (collection, id) pairs that a careless key scheme would
// mix up: separators, prefixes, case, Unicode normal forms.
var nameCases = [][2]string{
	{"a", "b.c"},
	{"a.b", "c"},
	{"a", "bc"},
	{"ab", "c"},
	{"a", "x"},
	{"a", "x1"},
	{"a", "x.1"},
	{"a", "X"},
	{"A", "x"},
	{"a b", "c d"},
	{"a", "b c d"},
	{"a", "b/c"},
	{"a/b", "c"},
	{"a", "café"},       // NFC
	{"a", "cafe\u0301"}, // NFD
	{"日本", "文書 1"},
	{"日本語", "文書"},
	{"a", "😀"},
	{"a", "o_a"},
	{"ao", "_a"}, // not "o_..." as a collection: sharedb-mongo reserves those for op logs
	{"a.b.c", "d"},
	{"a", "%2E"},
	{"a", "a:b"},
	{"a:b", "c"},
	{"a", "b\tc"},
}

func testNamesDoNotMix(t *testing.T, s storage.Store) {
	type doc struct {
		ops  []storage.Op
		snap storage.Snapshot
	}
	docs := make([]doc, len(nameCases))
	for i, nc := range nameCases {
		c, id := nc[0], nc[1]
		data := mustJSON(t, map[string]string{"c": c, "id": id})
		ops := []storage.Op{createOp(0, c+"|"+id, 1, json0URI, data)}
		// Give each doc a different version so versions cannot mix either.
		for v := int64(1); v <= int64(i%4); v++ {
			ops = append(ops, editOp(v, c+"|"+id, v+1, fmt.Sprintf(`[{"p":["n"],"oi":%d}]`, v)))
		}
		snap := storage.Snapshot{V: int64(len(ops)), Type: json0URI, Data: raw(data)}
		mustCommit(t, s, c, id, ops, snap)
		docs[i] = doc{ops, snap}
	}
	for i, nc := range nameCases {
		checkDoc(t, s, nc[0], nc[1], docs[i].ops, docs[i].snap)
	}

	if l, ok := s.(storage.Lister); ok {
		got, err := l.List(t.Context(), "a", "", 0)
		if err != nil {
			t.Fatalf("List(a): %v", err)
		}
		var want []string
		for _, nc := range nameCases {
			if nc[0] == "a" {
				want = append(want, nc[1])
			}
		}
		sort.Strings(want)
		if ids := docIDs(got); !slices.Equal(ids, want) {
			t.Errorf("List(a) ids = %q, want %q", ids, want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testCommitCopiesInput(t *testing.T, s storage.Store) {
	create := createOp(0, "s", 1, json0URI, `{"a":"original"}`)
	edit := editOp(1, "s", 2, `[{"p":["a",0],"si":"x"}]`)
	del := delOp(2, "s", 3, `{"a":"xoriginal"}`)
	recreate := createOp(3, "s", 4, json0URI, `{"b":"original"}`)
	snap := storage.Snapshot{V: 4, Type: json0URI, Data: raw(`{"b":"original"}`),
		Meta: storage.SnapshotMeta{CTime: 1, MTime: 2, Create: &storage.OpID{Src: "s", Seq: 4, V: 3}}}
	ops := []storage.Op{create, edit, del, recreate}
	// What the store is given: deep copies, so the expectations survive.
	given := make([]storage.Op, len(ops))
	for i, op := range ops {
		given[i] = deepCopyOp(op)
	}
	givenSnap := deepCopySnap(snap)
	mustCommit(t, s, "docs", "d", given, givenSnap)

	// The caller reuses its buffers.
	scribble(given[0].Create.Data)
	given[0].Create.Type = "changed"
	scribble(given[1].Op)
	scribble(given[2].Meta.DelData)
	given[3].Create.Data = raw(`{"changed":true}`)
	given[0].V = 99
	scribble(givenSnap.Data)
	givenSnap.Meta.Create.Src = "changed"
	givenSnap.Meta.Create.Seq = 99

	checkDoc(t, s, "docs", "d", ops, snap)
}

func testReadsReturnCopies(t *testing.T, s storage.Store) {
	create := createOp(0, "s", 1, json0URI, `{"a":"original"}`)
	edit := editOp(1, "s", 2, `[{"p":["a",0],"si":"x"}]`)
	del := delOp(2, "s", 3, `{"a":"xoriginal"}`)
	recreate := createOp(3, "s", 4, json0URI, `{"b":"original"}`)
	snap := storage.Snapshot{V: 4, Type: json0URI, Data: raw(`{"b":"original"}`),
		Meta: storage.SnapshotMeta{CTime: 1, MTime: 2, Create: &storage.OpID{Src: "s", Seq: 4, V: 3}}}
	ops := []storage.Op{create, edit, del, recreate}
	mustCommit(t, s, "docs", "d", []storage.Op{deepCopyOp(create), deepCopyOp(edit), deepCopyOp(del), deepCopyOp(recreate)}, deepCopySnap(snap))

	for range 2 { // twice, so a read that handed out its own buffer is caught on the second
		got := mustOps(t, s, "docs", "d", 0, -1)
		for _, op := range got {
			scribble(op.Op)
			scribble(op.Meta.DelData)
			if op.Create != nil {
				scribble(op.Create.Data)
				op.Create.Type = "changed"
			}
		}
		gs := mustSnapshot(t, s, "docs", "d")
		scribble(gs.Data)
		if gs.Meta.Create != nil {
			gs.Meta.Create.Src = "changed"
		}
		bulk, err := s.Snapshots(t.Context(), "docs", []string{"d"})
		if err != nil {
			t.Fatalf("Snapshots: %v", err)
		}
		for _, b := range bulk {
			scribble(b.Data)
			if b.Meta.Create != nil {
				b.Meta.Create.Seq = 99
			}
		}
	}
	checkDoc(t, s, "docs", "d", ops, snap)
}

// scribble overwrites b in place with bytes that are not valid JSON.
func scribble(b []byte) {
	for i := range b {
		b[i] = '#'
	}
}

func deepCopyOp(op storage.Op) storage.Op {
	op.Op = bytes.Clone(op.Op)
	op.Meta.DelData = bytes.Clone(op.Meta.DelData)
	if op.Create != nil {
		c := storage.Create{Type: op.Create.Type, Data: bytes.Clone(op.Create.Data)}
		op.Create = &c
	}
	return op
}

func deepCopySnap(s storage.Snapshot) storage.Snapshot {
	s.Data = bytes.Clone(s.Data)
	if s.Meta.Create != nil {
		c := *s.Meta.Create
		s.Meta.Create = &c
	}
	return s
}

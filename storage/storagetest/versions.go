package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

func testNeverCreated(t *testing.T, s storage.Store) {
	ctx := t.Context()
	// Another document in the same collection must not make this one exist.
	seed(t, s, "docs", "other", 2)

	for _, c := range []string{"docs", "nocollection"} {
		snap := mustSnapshot(t, s, c, "missing")
		if snap.V != 0 || snap.Type != "" || snap.Data != nil || snap.Exists() ||
			snap.Meta != (storage.SnapshotMeta{}) {
			t.Errorf("Snapshot(%q, missing) = %s, want the zero snapshot", c, showSnap(snap))
		}
		if ops := mustOps(t, s, c, "missing", 0, -1); len(ops) != 0 {
			t.Errorf("Ops(%q, missing, 0, -1) = %s, want none", c, showOps(ops))
		}
		if ops := mustOps(t, s, c, "missing", 0, 0); len(ops) != 0 {
			t.Errorf("Ops(%q, missing, 0, 0) = %s, want none", c, showOps(ops))
		}
		for _, r := range [][2]int64{{0, 1}, {1, -1}} {
			if _, err := s.Ops(ctx, c, "missing", r[0], r[1]); !errors.Is(err, storage.ErrMissingOps) {
				t.Errorf("Ops(%q, missing, %d, %d) error = %v, want ErrMissingOps", c, r[0], r[1], err)
			}
		}
	}
}

func testCreateThenSnapshot(t *testing.T, s storage.Store) {
	op := createOp(0, "conn1", 1, textURI, `"hello"`)
	snap := storage.Snapshot{
		V: 1, Type: textURI, Data: raw(`"hello"`),
		Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(0), Create: &storage.OpID{Src: "conn1", Seq: 1, V: 0}},
	}
	mustCommit(t, s, "notes", "n1", []storage.Op{op}, snap)
	got := mustSnapshot(t, s, "notes", "n1")
	checkSnap(t, "Snapshot after create", got, snap)
	if !got.Exists() {
		t.Errorf("Exists() = false after create")
	}
	checkOps(t, "Ops after create", mustOps(t, s, "notes", "n1", 0, -1), []storage.Op{op})

	// An edit on top.
	edit := editOp(1, "conn1", 2, `[5," world"]`)
	snap2 := snap
	snap2.V, snap2.Data, snap2.Meta.MTime = 2, raw(`"hello world"`), ts(1)
	mustCommit(t, s, "notes", "n1", []storage.Op{edit}, snap2)
	checkDoc(t, s, "notes", "n1", []storage.Op{op, edit}, snap2)
}

func testOpsRanges(t *testing.T, s storage.Store) {
	all, _ := seed(t, s, "docs", "d", 5) // versions 0..4, current version 5
	tests := []struct {
		from, to int64
		want     []storage.Op // nil with missing
		missing  bool
	}{
		{from: 0, to: -1, want: all},
		{from: 0, to: 5, want: all},
		{from: 2, to: -1, want: all[2:]},
		{from: 1, to: 3, want: all[1:3]},
		{from: 4, to: 5, want: all[4:]},
		{from: 0, to: 1, want: all[:1]},
		{from: 5, to: -1, want: nil}, // up to date: nothing to catch up
		{from: 5, to: 5, want: nil},
		{from: 3, to: 3, want: nil},
		{from: 0, to: 0, want: nil},
		{from: 3, to: 2, want: nil}, // no version satisfies 3 <= V < 2
		{from: 6, to: -1, missing: true},
		{from: 6, to: 8, missing: true},
		{from: 0, to: 6, missing: true},
		{from: 4, to: 7, missing: true},
		{from: -1, to: 2, missing: true},
		{from: -1, to: -1, missing: true},
	}
	for _, tc := range tests {
		got, err := s.Ops(t.Context(), "docs", "d", tc.from, tc.to)
		what := fmt.Sprintf("Ops(docs, d, %d, %d)", tc.from, tc.to)
		if tc.missing {
			if !errors.Is(err, storage.ErrMissingOps) {
				t.Errorf("%s = %s, %v; want ErrMissingOps", what, showOps(got), err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		checkOps(t, what, got, tc.want)
	}
}

func testVersionConflict(t *testing.T, s storage.Store) {
	ctx := t.Context()
	ops, snap := seed(t, s, "docs", "d", 2) // current version 2

	stale := []struct {
		name string
		ops  []storage.Op
		snap storage.Snapshot
	}{
		{"create again at v0", []storage.Op{createOp(0, "other", 1, textURI, `"x"`)}, storage.Snapshot{V: 1, Type: textURI, Data: raw(`"x"`)}},
		{"edit at v1", []storage.Op{editOp(1, "other", 1, `[]`)}, snapAt(2, nil)},
		{"batch at v1", []storage.Op{editOp(1, "other", 1, `[]`), editOp(2, "other", 2, `[]`)}, snapAt(3, nil)},
		{"edit at v3 (ahead)", []storage.Op{editOp(3, "other", 1, `[]`)}, snapAt(4, nil)},
		{"delete at v0", []storage.Op{delOp(0, "other", 1, `{"v":0}`)}, storage.Snapshot{V: 1}},
	}
	for _, tc := range stale {
		err := s.Commit(ctx, "docs", "d", tc.ops, tc.snap)
		if !errors.Is(err, storage.ErrVersionConflict) {
			t.Errorf("%s: Commit error = %v, want ErrVersionConflict", tc.name, err)
		}
		checkDoc(t, s, "docs", "d", ops, snap)
	}

	// A never-created document is at version 0.
	err := s.Commit(ctx, "docs", "new", []storage.Op{editOp(1, "other", 1, `[]`)}, snapAt(2, nil))
	if !errors.Is(err, storage.ErrVersionConflict) {
		t.Errorf("Commit at v1 on a new doc: error = %v, want ErrVersionConflict", err)
	}
	checkDoc(t, s, "docs", "new", nil, storage.Snapshot{})

	// The right version still works afterwards.
	next := editOp(2, "other", 1, `[{"p":["v"],"na":1}]`)
	snap3 := snapAt(3, snap.Meta.Create)
	mustCommit(t, s, "docs", "d", []storage.Op{next}, snap3)
	checkDoc(t, s, "docs", "d", append(slices.Clone(ops), next), snap3)
}

func testBatchCommit(t *testing.T, s storage.Store) {
	ctx := t.Context()
	created := &storage.OpID{Src: "b", Seq: 1, V: 0}
	batch := []storage.Op{createOp(0, "b", 1, json0URI, `{"n":[]}`)}
	for v := int64(1); v < 16; v++ {
		batch = append(batch, editOp(v, "b", v+1, fmt.Sprintf(`[{"p":["n",%d],"li":%d}]`, v-1, v)))
	}
	snap := snapAt(16, created)
	mustCommit(t, s, "docs", "batch", batch, snap)
	checkDoc(t, s, "docs", "batch", batch, snap)
	checkOps(t, "Ops(docs, batch, 7, 9)", mustOps(t, s, "docs", "batch", 7, 9), batch[7:9])

	more := []storage.Op{editOp(16, "b", 17, `[]`), editOp(17, "b", 18, `[]`), delOp(18, "b", 19, `{"n":[1]}`)}
	snap2 := storage.Snapshot{V: 19, Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(18), Create: created}}
	mustCommit(t, s, "docs", "batch", more, snap2)
	all := append(slices.Clone(batch), more...)
	checkDoc(t, s, "docs", "batch", all, snap2)

	// A batch that overlaps the stored version writes none of its ops.
	overlap := []storage.Op{editOp(18, "c", 1, `[]`), editOp(19, "c", 2, `[]`), editOp(20, "c", 3, `[]`)}
	if err := s.Commit(ctx, "docs", "batch", overlap, snapAt(21, created)); !errors.Is(err, storage.ErrVersionConflict) {
		t.Errorf("overlapping batch: error = %v, want ErrVersionConflict", err)
	}
	checkDoc(t, s, "docs", "batch", all, snap2)
}

func testSnapshots(t *testing.T, s storage.Store) {
	ctx := t.Context()
	_, a := seed(t, s, "docs", "a", 1)
	_, c := seed(t, s, "docs", "c", 3)
	seed(t, s, "other", "b", 2) // same id space, other collection

	got, err := s.Snapshots(ctx, "docs", []string{"c", "b", "a", "missing", "c", "a"})
	if err != nil {
		t.Fatalf("Snapshots: %v", err)
	}
	want := []storage.Snapshot{c, {}, a, {}, c, a}
	if len(got) != len(want) {
		t.Fatalf("Snapshots returned %d snapshots, want %d", len(got), len(want))
	}
	for i := range want {
		checkSnap(t, fmt.Sprintf("Snapshots[%d]", i), got[i], want[i])
	}

	for _, ids := range [][]string{nil, {}} {
		got, err := s.Snapshots(ctx, "docs", ids)
		if err != nil || len(got) != 0 {
			t.Errorf("Snapshots(docs, %#v) = %d snapshots, %v; want none", ids, len(got), err)
		}
	}
}

func testDeleteThenRecreate(t *testing.T, s storage.Store) {
	created := &storage.OpID{Src: "u1", Seq: 1, V: 0}
	ops := []storage.Op{
		createOp(0, "u1", 1, json0URI, `{"title":"a"}`),
		editOp(1, "u1", 2, `[{"p":["title",1],"si":"b"}]`),
	}
	snap := storage.Snapshot{V: 2, Type: json0URI, Data: raw(`{"title":"ab"}`),
		Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(1), Create: created}}
	mustCommit(t, s, "docs", "d", ops[:1], storage.Snapshot{V: 1, Type: json0URI, Data: raw(`{"title":"a"}`),
		Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(0), Create: created}})
	mustCommit(t, s, "docs", "d", ops[1:], snap)

	del := delOp(2, "u2", 1, `{"title":"ab"}`)
	deleted := storage.Snapshot{V: 3, Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(2), Create: created}}
	mustCommit(t, s, "docs", "d", []storage.Op{del}, deleted)
	got := mustSnapshot(t, s, "docs", "d")
	checkSnap(t, "Snapshot after delete", got, deleted)
	if got.Exists() {
		t.Errorf("Exists() = true after delete")
	}

	recreate := createOp(3, "u3", 7, textURI, `"again"`)
	recreated := storage.Snapshot{V: 4, Type: textURI, Data: raw(`"again"`),
		Meta: storage.SnapshotMeta{CTime: ts(3), MTime: ts(3), Create: &storage.OpID{Src: "u3", Seq: 7, V: 3}}}
	mustCommit(t, s, "docs", "d", []storage.Op{recreate}, recreated)
	checkDoc(t, s, "docs", "d", []storage.Op{ops[0], ops[1], del, recreate}, recreated)
	checkOps(t, "Ops(docs, d, 2, 3)", mustOps(t, s, "docs", "d", 2, 3), []storage.Op{del})
}

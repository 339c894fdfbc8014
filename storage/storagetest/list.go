package storagetest

import (
	"errors"
	"slices"
	"sort"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

func docIDs(infos []storage.DocInfo) []string {
	ids := make([]string, len(infos))
	for i, d := range infos {
		ids[i] = d.ID
	}
	return ids
}

// listFixture fills collection "docs" (and look-alike collections) and
// returns the expected listing of "docs", in order.
func listFixture(t *testing.T, s storage.Store) []storage.DocInfo {
	ids := []string{"b", "a", "c", "aa", "a b", "a.b", "é", "Z", "x/y", "😀", "10", "9", "ab"}
	var want []storage.DocInfo
	for i, id := range ids {
		n := 1 + i%3
		_, snap := seed(t, s, "docs", id, n)
		want = append(want, storage.DocInfo{ID: id, V: snap.V, Type: snap.Type, MTime: snap.Meta.MTime})
	}
	// A deleted document is not listed; one never created does not exist.
	_, snap := seed(t, s, "docs", "deleted", 1)
	mustCommit(t, s, "docs", "deleted", []storage.Op{delOp(1, "s", 9, `{"v":1}`)},
		storage.Snapshot{V: 2, Meta: storage.SnapshotMeta{CTime: snap.Meta.CTime, MTime: ts(1)}})
	// Look-alike collections must not leak into "docs".
	for _, c := range []string{"doc", "docs2", "docs.x", "Docs", "do"} {
		seed(t, s, c, "a0", 1)
		seed(t, s, c, "zz", 1)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
	return want
}

func testList(t *testing.T, s storage.Store) {
	l, ok := s.(storage.Lister)
	if !ok {
		t.Skip("store does not implement storage.Lister")
	}
	ctx := t.Context()
	if got, err := l.List(ctx, "docs", "", 10); err != nil || len(got) != 0 {
		t.Errorf("List on an empty collection = %v, %v; want none", got, err)
	}
	want := listFixture(t, s)

	got, err := l.List(ctx, "docs", "", 0)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("List(docs, \"\", 0):\n got  %+v\n want %+v", got, want)
	}

	tests := []struct {
		after string
		limit int
		want  []storage.DocInfo
	}{
		{"", 3, want[:3]},
		{"", len(want), want},
		{"", len(want) + 5, want},
		{want[2].ID, 2, want[3:5]},
		{want[len(want)-1].ID, 5, nil},
		{"a ", 0, want[firstAfter(want, "a "):]},
		{"b0", 1, want[firstAfter(want, "b0") : firstAfter(want, "b0")+1]},
		{"\U0010FFFF", 0, nil},
	}
	for _, tc := range tests {
		got, err := l.List(ctx, "docs", tc.after, tc.limit)
		if err != nil {
			t.Errorf("List(docs, %q, %d): %v", tc.after, tc.limit, err)
			continue
		}
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("List(docs, %q, %d):\n got  %+v\n want %+v", tc.after, tc.limit, got, tc.want)
		}
	}
}

// firstAfter is the index of the first entry whose id sorts after after.
func firstAfter(infos []storage.DocInfo, after string) int {
	return sort.Search(len(infos), func(i int) bool { return infos[i].ID > after })
}

func testListPagination(t *testing.T, s storage.Store) {
	l, ok := s.(storage.Lister)
	if !ok {
		t.Skip("store does not implement storage.Lister")
	}
	want := listFixture(t, s)
	for _, limit := range []int{1, 2, 5} {
		var got []storage.DocInfo
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: pagination does not end", limit)
			}
			page, err := l.List(t.Context(), "docs", after, limit)
			if err != nil {
				t.Fatalf("List(docs, %q, %d): %v", after, limit, err)
			}
			if len(page) > limit {
				t.Fatalf("List(docs, %q, %d) returned %d entries", after, limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages of %d:\n got  %+v\n want %+v", limit, got, want)
		}
	}
}

func testPing(t *testing.T, s storage.Store) {
	p, ok := s.(storage.Pinger)
	if !ok {
		t.Skip("store does not implement storage.Pinger")
	}
	if err := p.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testClose(t *testing.T, s storage.Store) {
	ctx := t.Context()
	seed(t, s, "docs", "d", 2)
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := map[string]func() error{
		"Snapshot": func() error { _, err := s.Snapshot(ctx, "docs", "d"); return err },
		"Snapshots": func() error {
			_, err := s.Snapshots(ctx, "docs", []string{"d"})
			return err
		},
		"Ops": func() error { _, err := s.Ops(ctx, "docs", "d", 0, -1); return err },
		"Commit": func() error {
			return s.Commit(ctx, "docs", "d", []storage.Op{editOp(2, "s", 3, `[]`)}, snapAt(3, nil))
		},
		"Commit (new doc)": func() error {
			return s.Commit(ctx, "docs", "new", []storage.Op{createOp(0, "s", 1, textURI, `""`)},
				storage.Snapshot{V: 1, Type: textURI, Data: raw(`""`)})
		},
	}
	if l, ok := s.(storage.Lister); ok {
		calls["List"] = func() error { _, err := l.List(ctx, "docs", "", 0); return err }
	}
	if p, ok := s.(storage.Pinger); ok {
		calls["Ping"] = func() error { return p.Ping(ctx) }
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, storage.ErrClosed) {
			t.Errorf("%s after Close: error = %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(ctx); err != nil && !errors.Is(err, storage.ErrClosed) {
		t.Errorf("second Close: %v, want nil or ErrClosed", err)
	}
}

package bolt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/storagetest"
)

// openTemp opens a store in a new file and closes it at cleanup.
func openTemp(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "tandem.db"), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openTemp(t) })
}

// fixture is a set of documents written through Commit and what reads
// must return, exactly (bolt keeps JSON byte for byte and nil apart from
// empty).
type fixture struct {
	c, id string
	ops   []storage.Op
	snap  storage.Snapshot
}

func fixtures() []fixture {
	created := &storage.OpID{Src: "src-1", Seq: 1, V: 0}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	var long []storage.Op
	for v := int64(0); v < 300; v++ {
		op := storage.Op{V: v, Src: "long", Seq: v + 1, Op: raw(fmt.Sprintf(`[%d,"x"]`, v)), Meta: storage.OpMeta{TS: v}}
		if v == 0 {
			op = storage.Op{V: 0, Src: "long", Seq: 1, Create: &storage.Create{Type: "text"}, Meta: storage.OpMeta{TS: 0}}
		}
		long = append(long, op)
	}
	return []fixture{
		{
			c: "docs", id: "a",
			ops: []storage.Op{
				{V: 0, Src: "src-1", Seq: 1, Create: &storage.Create{Type: "json0", Data: raw(` { "t" : "\u00e9\ud800<>&" } `)}, Meta: storage.OpMeta{TS: 10}},
				{V: 1, Src: "src-1", Seq: 2, Op: raw("[ {\"p\":[\"t\",0], \"si\":\"😀\"} ]"), Meta: storage.OpMeta{TS: 11}},
				{V: 2, Src: "src-2", Seq: 1, Del: true, Meta: storage.OpMeta{TS: 12, DelData: raw(`{"t":"😀é"}`)}},
				{V: 3, Src: "src-2", Seq: 2, Create: &storage.Create{Type: "text", Data: raw(`""`)}, Meta: storage.OpMeta{TS: 13}},
			},
			snap: storage.Snapshot{V: 4, Type: "text", Data: raw(`""`), Meta: storage.SnapshotMeta{CTime: 13, MTime: 13, Create: &storage.OpID{Src: "src-2", Seq: 2, V: 3}}},
		},
		{
			// Empty (non-nil) JSON is not valid JSON, but bolt keeps it
			// apart from nil all the same.
			c: "", id: "",
			ops: []storage.Op{
				{V: 0, Create: &storage.Create{Type: "t", Data: raw("")}, Op: raw(""), Meta: storage.OpMeta{TS: -5, DelData: raw("")}},
			},
			snap: storage.Snapshot{V: 1, Type: "t", Data: raw(""), Meta: storage.SnapshotMeta{CTime: -1, MTime: -2, Create: created}},
		},
		{
			c: "nul\x00coll", id: "id\x00with\x00nul",
			ops:  []storage.Op{{V: 0, Src: "\x00", Seq: -1, Create: &storage.Create{Type: "t"}}},
			snap: storage.Snapshot{V: 1, Type: "t"},
		},
		{
			c: "nul", id: "\x00coll\x00id",
			ops:  []storage.Op{{V: 0, Create: &storage.Create{Type: "t"}}, {V: 1, Del: true}},
			snap: storage.Snapshot{V: 2},
		},
		{
			c: "long", id: strings.Repeat("é", 1000),
			ops:  long,
			snap: storage.Snapshot{V: 300, Type: "text", Data: raw(`"` + strings.Repeat("x", 299) + `"`)},
		},
	}
}

func writeFixtures(t *testing.T, s storage.Store, fs []fixture) {
	t.Helper()
	for _, f := range fs {
		// Commit in a few batches, with intermediate snapshots.
		step := max(3, len(f.ops)/4)
		for i := 0; i < len(f.ops); i += step {
			j := min(i+step, len(f.ops))
			snap := f.snap
			if j < len(f.ops) {
				snap = storage.Snapshot{V: int64(j), Type: "intermediate"}
			}
			if err := s.Commit(t.Context(), f.c, f.id, f.ops[i:j], snap); err != nil {
				t.Fatalf("Commit %q/%q: %v", f.c, f.id, err)
			}
		}
	}
}

func checkFixtures(t *testing.T, s storage.Store, fs []fixture) {
	t.Helper()
	for _, f := range fs {
		snap, err := s.Snapshot(t.Context(), f.c, f.id)
		if err != nil || !reflect.DeepEqual(snap, f.snap) {
			t.Errorf("Snapshot(%q, %q) = %+v, %v\nwant %+v", f.c, f.id, snap, err, f.snap)
		}
		ops, err := s.Ops(t.Context(), f.c, f.id, 0, -1)
		if err != nil {
			t.Errorf("Ops(%q, %q): %v", f.c, f.id, err)
			continue
		}
		if len(ops) != len(f.ops) {
			t.Errorf("Ops(%q, %q): %d ops, want %d", f.c, f.id, len(ops), len(f.ops))
			continue
		}
		for i := range ops {
			if !reflect.DeepEqual(ops[i], f.ops[i]) {
				t.Errorf("Ops(%q, %q)[%d] = %+v\nwant %+v", f.c, f.id, i, ops[i], f.ops[i])
			}
		}
	}
}

// TestKeepsBytes checks what the conformance suite leaves open: bolt
// returns JSON byte for byte, keeps nil apart from empty, and takes any
// collection and id, including "" and NUL.
func TestKeepsBytes(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	fs := fixtures()
	writeFixtures(t, s, fs)
	checkFixtures(t, s, fs)
}

func TestReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tandem.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := fixtures()
	writeFixtures(t, s, fs)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close(t.Context())
	checkFixtures(t, s, fs)
	list, err := s.List(t.Context(), "docs", "", 0)
	if want := []storage.DocInfo{{ID: "a", V: 4, Type: "text", MTime: 13}}; err != nil || !reflect.DeepEqual(list, want) {
		t.Errorf("List after reopen = %+v, %v; want %+v", list, err, want)
	}
	// The log goes on where it stopped, and a stale write still conflicts.
	err = s.Commit(t.Context(), "docs", "a", []storage.Op{{V: 3, Op: json.RawMessage(`[]`)}}, storage.Snapshot{V: 4, Type: "text"})
	if !errors.Is(err, storage.ErrVersionConflict) {
		t.Errorf("stale commit after reopen: %v, want ErrVersionConflict", err)
	}
	next := storage.Op{V: 4, Src: "src-3", Seq: 1, Op: json.RawMessage(`["x"]`)}
	if err := s.Commit(t.Context(), "docs", "a", []storage.Op{next}, storage.Snapshot{V: 5, Type: "text", Data: json.RawMessage(`"x"`)}); err != nil {
		t.Fatalf("commit after reopen: %v", err)
	}
	if ops, err := s.Ops(t.Context(), "docs", "a", 4, -1); err != nil || len(ops) != 1 || !reflect.DeepEqual(ops[0], next) {
		t.Errorf("Ops after reopen = %+v, %v", ops, err)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, timeout := range []time.Duration{-1, 150 * time.Millisecond} {
		start := time.Now()
		s2, err := Open(path, Options{Timeout: timeout})
		if !errors.Is(err, ErrLocked) {
			if s2 != nil {
				s2.Close(t.Context())
			}
			t.Fatalf("second Open with timeout %v: error = %v, want ErrLocked", timeout, err)
		}
		if d := time.Since(start); d > timeout+time.Second {
			t.Errorf("second Open with timeout %v took %v", timeout, d)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{Timeout: -1})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close(t.Context())
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()

	other := filepath.Join(dir, "other.db")
	db, err := bbolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("app")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(other, Options{}); err == nil {
		s.Close(t.Context())
		t.Errorf("Open of another application's bbolt file succeeded")
	}

	text := filepath.Join(dir, "text.db")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a database\n", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(text, Options{}); err == nil {
		s.Close(t.Context())
		t.Errorf("Open of a text file succeeded")
	}

	if _, err := Open(filepath.Join(dir, "no", "such", "dir", "x.db"), Options{}); err == nil {
		t.Errorf("Open in a missing directory succeeded")
	}
}

func TestRejectsMalformedCommit(t *testing.T) {
	s := openTemp(t)
	bad := []storage.Op{{V: 0, Create: &storage.Create{Type: "t"}}, {V: 2, Op: json.RawMessage(`[]`)}}
	if err := s.Commit(t.Context(), "c", "d", bad, storage.Snapshot{V: 3, Type: "t"}); err == nil {
		t.Fatal("Commit with a gap in versions succeeded")
	}
	if snap, err := s.Snapshot(t.Context(), "c", "d"); err != nil || snap.V != 0 {
		t.Errorf("Snapshot after a rejected commit = %+v, %v; want version 0", snap, err)
	}
}

func TestTooLongNames(t *testing.T) {
	s := openTemp(t)
	long := strings.Repeat("x", bbolt.MaxKeySize)
	create := []storage.Op{{V: 0, Create: &storage.Create{Type: "t"}}}
	if err := s.Commit(t.Context(), "c", long, create, storage.Snapshot{V: 1, Type: "t"}); err == nil || errors.Is(err, storage.ErrVersionConflict) {
		t.Errorf("Commit with a %d-byte id: %v, want a clear error", len(long), err)
	}
	if snap, err := s.Snapshot(t.Context(), "c", long); err != nil || snap.V != 0 {
		t.Errorf("Snapshot of a too-long id = %+v, %v; want version 0", snap, err)
	}
	// Just below the limit works.
	ok := strings.Repeat("y", bbolt.MaxKeySize-20)
	if err := s.Commit(t.Context(), "c", ok, create, storage.Snapshot{V: 1, Type: "t"}); err != nil {
		t.Errorf("Commit with a %d-byte id: %v", len(ok), err)
	}
}

// TestCloseDuringCommits closes the store under running writers: every
// call ends in nil or ErrClosed, and everything acknowledged is in the file.
func TestCloseDuringCommits(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tandem.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var (
		wg    sync.WaitGroup
		acked [writers]int64
		errs  = make(chan error, writers)
		ready = make(chan struct{}, writers)
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("d%d", w)
			for v := int64(0); ; v++ {
				op := storage.Op{V: v, Op: json.RawMessage(`[1]`)}
				if v == 0 {
					op = storage.Op{V: 0, Create: &storage.Create{Type: "t"}}
				}
				err := s.Commit(context.Background(), "c", id, []storage.Op{op}, storage.Snapshot{V: v + 1, Type: "t"})
				if errors.Is(err, storage.ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				acked[w] = v + 1
				if v == 2 {
					ready <- struct{}{}
				}
			}
		}()
	}
	for range writers {
		<-ready
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("writer: %v, want nil or ErrClosed", err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	for w := range writers {
		id := fmt.Sprintf("d%d", w)
		snap, err := s.Snapshot(t.Context(), "c", id)
		if err != nil || snap.V != acked[w] {
			// Close waits for the running transaction, so nothing beyond the
			// last acknowledgement can be there either.
			t.Errorf("%s: version %d, %v; want %d", id, snap.V, err, acked[w])
		}
		if ops, err := s.Ops(t.Context(), "c", id, 0, -1); err != nil || int64(len(ops)) != acked[w] {
			t.Errorf("%s: %d ops, %v; want %d", id, len(ops), err, acked[w])
		}
	}
}

func TestContextCanceled(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	create := []storage.Op{{V: 0, Create: &storage.Create{Type: "t"}}}
	if err := s.Commit(ctx, "c", "d", create, storage.Snapshot{V: 1, Type: "t"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Commit with a canceled context: %v", err)
	}
	if snap, _ := s.Snapshot(t.Context(), "c", "d"); snap.V != 0 {
		t.Errorf("a canceled Commit wrote version %d", snap.V)
	}
	if _, err := s.Ops(ctx, "c", "d", 0, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("Ops with a canceled context: %v", err)
	}
}

func BenchmarkCommit(b *testing.B) {
	storagetest.BenchmarkCommit(b, func(b *testing.B) storage.Store { return openTemp(b) })
}

func BenchmarkOps(b *testing.B) {
	storagetest.BenchmarkOps(b, func(b *testing.B) storage.Store { return openTemp(b) })
}

package storage_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/storagetest"
)

func TestMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := storage.NewMemory()
		t.Cleanup(func() { s.Close(t.Context()) })
		return s
	})
}

// TestMemoryKeepsBytes checks what the suite leaves open: Memory keeps
// JSON byte for byte, and nil apart from empty.
func TestMemoryKeepsBytes(t *testing.T) {
	ctx := t.Context()
	s := storage.NewMemory()
	data := json.RawMessage(" {\"a\" : \"\\u00e9\\ud800<>&\"}\n")
	op := storage.Op{V: 0, Create: &storage.Create{Type: "t", Data: data}}
	snap := storage.Snapshot{V: 1, Type: "t", Data: data}
	if err := s.Commit(ctx, "c", "", []storage.Op{op}, snap); err != nil {
		t.Fatal(err)
	}
	got, err := s.Snapshot(ctx, "c", "")
	if err != nil || !bytes.Equal(got.Data, data) {
		t.Errorf("Snapshot data = %q, %v; want %q", got.Data, err, data)
	}
	ops, err := s.Ops(ctx, "c", "", 0, -1)
	if err != nil || len(ops) != 1 || !bytes.Equal(ops[0].Create.Data, data) || ops[0].Op != nil || ops[0].Meta.DelData != nil {
		t.Errorf("Ops = %+v, %v", ops, err)
	}
}

func TestMemoryRejectsMalformedCommit(t *testing.T) {
	ctx := t.Context()
	s := storage.NewMemory()
	bad := []storage.Op{{V: 0, Create: &storage.Create{Type: "t"}}, {V: 2, Op: json.RawMessage(`[]`)}}
	if err := s.Commit(ctx, "c", "d", bad, storage.Snapshot{V: 3, Type: "t"}); err == nil {
		t.Fatal("Commit with a gap in versions succeeded")
	}
	if snap, _ := s.Snapshot(ctx, "c", "d"); snap.V != 0 {
		t.Errorf("version %d after a rejected commit, want 0", snap.V)
	}
}

func TestMemoryCloseTwice(t *testing.T) {
	s := storage.NewMemory()
	for i := range 2 {
		if err := s.Close(t.Context()); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
}

func newBenchMemory(b *testing.B) storage.Store {
	s := storage.NewMemory()
	b.Cleanup(func() { s.Close(b.Context()) })
	return s
}

func BenchmarkCommit(b *testing.B) { storagetest.BenchmarkCommit(b, newBenchMemory) }

func BenchmarkOps(b *testing.B) { storagetest.BenchmarkOps(b, newBenchMemory) }

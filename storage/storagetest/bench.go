package storagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

// benchOp is a json0 string insert of 100 bytes, the size of a typical
// keystroke-batch op.
var benchOp = json.RawMessage(`[{"p":["body",1234],"si":"` + strings.Repeat("x", 100-len(`[{"p":["body",1234],"si":""}]`)) + `"}]`)

// benchSnap is a 1 KiB json0 document.
var benchSnap = json.RawMessage(`{"title":"Benchmark","body":"` + strings.Repeat("y", 1024-len(`{"title":"Benchmark","body":""}`)) + `"}`)

// rotateEvery bounds how many commits go into one store, so a fast store
// does not hold millions of ops in memory; the store is swapped with the
// timer stopped.
const rotateEvery = 4096

// BenchmarkCommit measures Commit on one document with 1 and with 16 ops
// per call (~100-byte ops, a 1 KiB snapshot). It reports ops/s besides the
// time per Commit. newStore must return a new, empty store and close it
// in b.Cleanup.
func BenchmarkCommit(b *testing.B, newStore func(b *testing.B) storage.Store) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("ops=%d", batch), func(b *testing.B) {
			benchCommit(b, newStore, batch)
		})
	}
}

func benchCommit(b *testing.B, newStore func(b *testing.B) storage.Store, batch int) {
	ctx := context.Background()
	created := &storage.OpID{Src: "bench-src-0123456789", Seq: 1, V: 0}
	ops := make([]storage.Op, batch)
	snap := storage.Snapshot{Type: json0URI, Data: benchSnap,
		Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(0), Create: created}}

	var s storage.Store
	var v int64
	fresh := func() {
		if s != nil {
			if err := s.Close(ctx); err != nil {
				b.Fatal(err)
			}
		}
		s, v = newStore(b), 0
		// The create is not measured.
		c := createOp(0, created.Src, 1, json0URI, string(benchSnap))
		snap.V = 1
		if err := s.Commit(ctx, "bench", "doc", []storage.Op{c}, snap); err != nil {
			b.Fatal(err)
		}
		v = 1
	}
	fresh()
	b.SetBytes(int64(batch * len(benchOp)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%rotateEvery == 0 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		for j := range ops {
			ops[j] = storage.Op{V: v + int64(j), Src: created.Src, Seq: v + int64(j) + 1, Op: benchOp,
				Meta: storage.OpMeta{TS: ts(v + int64(j))}}
		}
		v += int64(batch)
		snap.V, snap.Meta.MTime = v, ts(v)
		if err := s.Commit(ctx, "bench", "doc", ops, snap); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkOps measures reading the last 100 ops of a document with 1000
// ops (a client catching up). newStore must return a new, empty store and
// close it in b.Cleanup.
func BenchmarkOps(b *testing.B, newStore func(b *testing.B) storage.Store) {
	const total, read, chunk = 1000, 100, 100
	ctx := context.Background()
	s := newStore(b)
	created := &storage.OpID{Src: "bench-src-0123456789", Seq: 1, V: 0}
	snap := storage.Snapshot{Type: json0URI, Data: benchSnap,
		Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(0), Create: created}}
	for v := int64(0); v < total; v += chunk {
		ops := make([]storage.Op, chunk)
		for j := range ops {
			w := v + int64(j)
			ops[j] = storage.Op{V: w, Src: created.Src, Seq: w + 1, Op: benchOp, Meta: storage.OpMeta{TS: ts(w)}}
		}
		if v == 0 {
			ops[0] = createOp(0, created.Src, 1, json0URI, string(benchSnap))
		}
		snap.V = v + chunk
		if err := s.Commit(ctx, "bench", "doc", ops, snap); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(read * len(benchOp)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ops, err := s.Ops(ctx, "bench", "doc", total-read, -1)
		if err != nil {
			b.Fatal(err)
		}
		if len(ops) != read {
			b.Fatalf("got %d ops, want %d", len(ops), read)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*read)/b.Elapsed().Seconds(), "ops/s")
}

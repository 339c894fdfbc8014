package textunicode

import (
	"strings"
	"testing"

	"github.com/tandemhq/tandem/ot"
)

// The benchmark documents and ops are built exactly as in
// ot/jsbench/text-unicode.js, which times the reference on the same
// inputs (results in docs/bench/ot-text-unicode.md).

const benchAlphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;\n0123456789"

var benchEmoji = []string{"😀", "🎉", "👍", "🚀", "🦄"}

// benchDoc returns a document of exactly nbytes bytes of UTF-8: ASCII with
// an emoji (4 bytes, 1 code point, 2 UTF-16 units) at about one character in
// 64, from a 32-bit LCG seeded with 12345. It also returns its length in
// code points.
func benchDoc(nbytes int) (string, int) {
	var sb strings.Builder
	sb.Grow(nbytes)
	x := uint32(12345)
	n := 0
	for sb.Len() < nbytes {
		x = x*1664525 + 1013904223
		v := x >> 16
		if v%64 == 0 && sb.Len()+4 <= nbytes {
			sb.WriteString(benchEmoji[(v>>6)%uint32(len(benchEmoji))])
		} else {
			sb.WriteByte(benchAlphabet[v%uint32(len(benchAlphabet))])
		}
		n++
	}
	return sb.String(), n
}

type benchCase struct {
	name string
	doc  string
	// a is the edit timed by Apply: an insert and a delete in the middle.
	a Op
	// b is concurrent with a (for Transform): a delete overlapping a's
	// insert and an insert further on.
	b Op
	// c follows a (for Compose): a delete inside a's insert and an insert.
	c Op
}

func benchCases() []benchCase {
	var cases []benchCase
	for _, size := range []struct {
		name  string
		bytes int
	}{{"small", 100}, {"1MB", 1 << 20}} {
		doc, n := benchDoc(size.bytes)
		m := n / 2
		cases = append(cases, benchCase{
			name: size.name,
			doc:  doc,
			a:    Op{Skip(m), Insert("Hello, 世界 🎉!"), Skip(7), Delete(12)},
			b:    Op{Skip(m - 5), Delete(15), Skip(35), Insert("brave new 🌍")},
			c:    Op{Skip(m + 3), Delete(6), Skip(20), Insert("xyz 🚀")},
		})
	}
	return cases
}

var (
	sinkSnap ot.Snapshot
	sinkOp   ot.Op
)

func BenchmarkApply(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			// Callers hold snapshots and ops as interface values already.
			var doc ot.Snapshot = bc.doc
			var a ot.Op = bc.a
			b.SetBytes(int64(len(bc.doc)))
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				s, err := tu.Apply(doc, a)
				if err != nil {
					b.Fatal(err)
				}
				sinkSnap = s
			}
			reportCPU(b, start)
		})
	}
}

func BenchmarkTransform(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			var a, other ot.Op = bc.a, bc.b
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				op, err := tu.Transform(a, other, ot.Left)
				if err != nil {
					b.Fatal(err)
				}
				sinkOp = op
			}
			reportCPU(b, start)
		})
	}
}

func BenchmarkCompose(b *testing.B) {
	for _, bc := range benchCases() {
		b.Run(bc.name, func(b *testing.B) {
			var a, next ot.Op = bc.a, bc.c
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				op, err := tu.Compose(a, next)
				if err != nil {
					b.Fatal(err)
				}
				sinkOp = op
			}
			reportCPU(b, start)
		})
	}
}

// reportCPU adds the metric cpu-ns/op: process CPU time per op, GC
// included.
func reportCPU(b *testing.B, start int64) {
	if end := cpuTime(); end > 0 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

// TestBenchCases checks the benchmark inputs are valid and prints a digest
// to compare with the JavaScript script's output.
func TestBenchCases(t *testing.T) {
	for _, bc := range benchCases() {
		after := mustApply(t, bc.doc, bc.a)
		mustApply(t, bc.doc, bc.b)
		mustApply(t, after, bc.c)
		tr, err := tu.Transform(bc.a, bc.b, ot.Left)
		if err != nil {
			t.Fatal(err)
		}
		co, err := tu.Compose(bc.a, bc.c)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: doc %d bytes, %d code points; apply -> %d code points; transform %s; compose %s",
			bc.name, len(bc.doc), cpCount(bc.doc), cpCount(after), encodeOp(opOf(tr)), encodeOp(opOf(co)))
	}
}

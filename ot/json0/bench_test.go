package json0

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/ot"
)

// The benchmark documents and ops are built exactly as ot/jsbench/json0.js
// builds them, so the Go and JavaScript timings cover the same work (see
// docs/bench/ot-json0.md).

const (
	bigRecords = 4400
	bigText    = 300000 // UTF-16 units, at least
)

func smallDoc() any {
	return map[string]any{
		"title": "Groceries",
		"count": 3.0,
		"done":  false,
		"tags":  []any{"home", "weekly", "food"},
		"items": []any{
			map[string]any{"name": "milk", "qty": 1.0},
			map[string]any{"name": "eggs", "qty": 12.0},
			map[string]any{"name": "bread", "qty": 1.0},
		},
		"body": "Remember fresh milk, a dozen eggs and sourdough bread. Héllo wörld, café crème 😀 see you at 6pm!",
	}
}

func record(i int) map[string]any {
	s := strconv.Itoa(i)
	return map[string]any{
		"id":    float64(i),
		"name":  "Record " + s,
		"done":  i%3 == 0,
		"score": float64((i * 37) % 1000),
		"tags":  []any{"t" + strconv.Itoa(i%7), "t" + strconv.Itoa(i%11)},
		"note":  "Note for record " + s + ": lorem ipsum dolor sit amet, consectetur adipiscing elit.",
	}
}

func bigDoc() any {
	records := make([]any, bigRecords)
	for i := range records {
		records[i] = record(i)
	}
	var sb strings.Builder
	units := 0
	for i := 0; units < bigText; i++ {
		line := "Paragraph " + strconv.Itoa(i) + ": the quick brown fox jumps over the lazy dog; Ünïcödé façade 😀 naïve.\n"
		sb.WriteString(line)
		units += utf16Len(line)
	}
	return map[string]any{
		"title":   "Big document",
		"stats":   map[string]any{"views": 0.0, "edits": 0.0},
		"records": records,
		"text":    sb.String(),
	}
}

// benchSet is one document with the ops timed on it.
type benchSet struct {
	name string
	doc  any
	ops  map[string]ot.Op // apply cases
	// transform and compose pairs
	trA, trB map[string]ot.Op
	coA, coB map[string]ot.Op
}

func opJSON(tb testing.TB, v any) ot.Op {
	tb.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	op, err := Type{}.DecodeOp(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return op
}

func path(base []any, more ...any) []any {
	return append(append([]any{}, base...), more...)
}

// midOffset is the UTF-16 offset nearest the middle of s that does not cut
// a surrogate pair (as the JavaScript builder computes it).
func midOffset(s string) int {
	m := utf16Len(s) / 2
	if _, _, err := byteOffset(s, m); err != nil {
		m++
	}
	return m
}

func makeBenchSet(tb testing.TB, name string) benchSet {
	var doc any
	var textPath, listPath, numPath, flagPath []any
	var newItem any
	if name == "small" {
		doc = smallDoc()
		textPath, listPath, numPath = []any{"body"}, []any{"items"}, []any{"count"}
		newItem = map[string]any{"name": "butter", "qty": 2.0}
	} else {
		doc = bigDoc()
		textPath, listPath, numPath = []any{"text"}, []any{"records"}, []any{"stats", "views"}
		newItem = map[string]any{"id": 99999.0, "name": "New record", "done": false, "score": 0.0, "tags": []any{}, "note": "fresh"}
	}
	m := doc.(map[string]any)
	text := m[textPath[0].(string)].(string)
	list := m[listPath[0].(string)].([]any)
	mid := midOffset(text)
	lmid := len(list) / 2
	var flag any
	if name == "small" {
		flagPath = []any{"done"}
		flag = m["done"]
	} else {
		flagPath = path(listPath, lmid, "done")
		flag = list[lmid].(map[string]any)["done"]
	}
	k := 5
	del, err := slice16(text, mid, mid+k)
	if err != nil {
		k++
		del, _ = slice16(text, mid, mid+k)
	}
	si := map[string]any{"p": path(textPath, mid), "si": "x"}
	sd := map[string]any{"p": path(textPath, mid), "sd": del}
	li := map[string]any{"p": path(listPath, lmid), "li": newItem}
	ld := map[string]any{"p": path(listPath, lmid), "ld": list[lmid]}
	na := map[string]any{"p": numPath, "na": 1}
	oi := map[string]any{"p": flagPath, "od": flag, "oi": !flag.(bool)}
	mixed := []any{si, na, oi, li}

	s := benchSet{name: name, doc: doc,
		ops: map[string]ot.Op{
			"si": opJSON(tb, []any{si}), "sd": opJSON(tb, []any{sd}),
			"li": opJSON(tb, []any{li}), "ld": opJSON(tb, []any{ld}),
			"na": opJSON(tb, []any{na}), "oi": opJSON(tb, []any{oi}),
			"mixed": opJSON(tb, mixed),
		},
		trA: map[string]ot.Op{}, trB: map[string]ot.Op{}, coA: map[string]ot.Op{}, coB: map[string]ot.Op{},
	}
	// Transform: two users type at the same place; and two mixed ops that
	// touch the same string, list, number and field.
	s.trA["typing"] = opJSON(tb, []any{si})
	s.trB["typing"] = opJSON(tb, []any{map[string]any{"p": path(textPath, mid), "si": "y"}})
	s.trA["mixed"] = opJSON(tb, mixed)
	s.trB["mixed"] = opJSON(tb, []any{
		map[string]any{"p": path(textPath, 0), "si": "Hello "},
		map[string]any{"p": path(listPath, 0), "ld": list[0]},
		map[string]any{"p": numPath, "na": 2},
		map[string]any{"p": flagPath, "od": flag, "oi": "conflict"},
	})
	// Compose: a keystroke after a keystroke (merged); a mixed op followed
	// by a mixed follow-up.
	s.coA["typing"] = opJSON(tb, []any{si})
	s.coB["typing"] = opJSON(tb, []any{map[string]any{"p": path(textPath, mid+1), "si": "y"}})
	s.coA["mixed"] = opJSON(tb, mixed)
	s.coB["mixed"] = opJSON(tb, []any{
		map[string]any{"p": path(textPath, mid+1), "si": "y"},
		map[string]any{"p": numPath, "na": 1},
		map[string]any{"p": path(listPath, lmid), "ld": newItem},
	})
	return s
}

var benchSets = map[string]benchSet{}

func getBenchSet(b *testing.B, name string) benchSet {
	if s, ok := benchSets[name]; ok {
		return s
	}
	s := makeBenchSet(b, name)
	benchSets[name] = s
	return s
}

var (
	benchSizes    = []string{"small", "1MB"}
	benchApplyOps = []string{"si", "sd", "li", "ld", "na", "oi", "mixed"}
	benchPairs    = []string{"typing", "mixed"}
	sinkSnap      ot.Snapshot
	sinkOp        ot.Op
)

func BenchmarkApply(b *testing.B) {
	var t Type
	for _, size := range benchSizes {
		b.Run(size, func(b *testing.B) {
			s := getBenchSet(b, size)
			for _, name := range benchApplyOps {
				op := s.ops[name]
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						out, err := t.Apply(s.doc, op)
						if err != nil {
							b.Fatal(err)
						}
						sinkSnap = out
					}
				})
			}
		})
	}
}

func BenchmarkTransform(b *testing.B) {
	var t Type
	for _, size := range benchSizes {
		b.Run(size, func(b *testing.B) {
			s := getBenchSet(b, size)
			for _, name := range benchPairs {
				a, o := s.trA[name], s.trB[name]
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						r, err := t.Transform(a, o, ot.Left)
						if err != nil {
							b.Fatal(err)
						}
						sinkOp = r
					}
				})
			}
		})
	}
}

func BenchmarkCompose(b *testing.B) {
	var t Type
	for _, size := range benchSizes {
		b.Run(size, func(b *testing.B) {
			s := getBenchSet(b, size)
			for _, name := range benchPairs {
				x, y := s.coA[name], s.coB[name]
				b.Run(name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						r, err := t.Compose(x, y)
						if err != nil {
							b.Fatal(err)
						}
						sinkOp = r
					}
				})
			}
		})
	}
}

// TestBenchOpsApply checks that every benchmark op applies and every pair
// converges, so the benchmarks time real work.
func TestBenchOpsApply(t *testing.T) {
	var ty Type
	for _, size := range benchSizes {
		s := makeBenchSet(t, size)
		if size == "1MB" {
			raw, _ := ty.EncodeSnapshot(s.doc)
			if n := len(raw); n < 1<<20-64<<10 || n > 1<<20+64<<10 {
				t.Errorf("1MB document is %d bytes", n)
			}
		}
		for name, op := range s.ops {
			if _, err := ty.Apply(s.doc, op); err != nil {
				t.Errorf("%s/%s: %v", size, name, err)
			}
		}
		for _, name := range benchPairs {
			a, b := s.trA[name], s.trB[name]
			ta, err := ty.Transform(a, b, ot.Left)
			if err != nil {
				t.Fatal(err)
			}
			tb, err := ty.Transform(b, a, ot.Right)
			if err != nil {
				t.Fatal(err)
			}
			l := encodeDoc(t, applyBoth(t, ty, s.doc, a, tb))
			r := encodeDoc(t, applyBoth(t, ty, s.doc, b, ta))
			if string(l) != string(r) {
				t.Errorf("%s/%s: pair does not converge", size, name)
			}
			x, y := s.coA[name], s.coB[name]
			c, err := ty.Compose(x, y)
			if err != nil {
				t.Fatal(err)
			}
			seq := encodeDoc(t, applyBoth(t, ty, s.doc, x, y))
			once := encodeDoc(t, applyBoth(t, ty, s.doc, c))
			if string(seq) != string(once) {
				t.Errorf("%s/%s: compose differs", size, name)
			}
		}
	}
}

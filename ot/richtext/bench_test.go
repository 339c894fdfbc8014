package richtext

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/ot"
)

// The benchmark documents and ops are built exactly as
// ot/jsbench/rich-text.js builds them, so the JavaScript reference can be
// timed on the same inputs (docs/bench/ot-rich-text.md).

// mulberry32, the same 32-bit generator as the JavaScript side.
type mulberry32 struct{ a uint32 }

func (m *mulberry32) next() uint32 {
	m.a += 0x6D2B79F5
	t := m.a
	t = (t ^ t>>15) * (t | 1)
	t = (t + (t^t>>7)*(t|61)) ^ t
	return t ^ t>>14
}

var benchWords = []string{
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing",
	"elit", "sed", "do", "eiusmod", "tempor", "über", "naïve", "café",
	"日本語", "😀", "👍🏽", "🎉",
}

var benchAttrs = []string{
	``, ``, ``, ``,
	`{"bold":true}`,
	`{"italic":true}`,
	`{"color":"#e60000"}`,
	`{"bold":true,"link":"https://example.com/"}`,
}

// benchDocJSON builds the JSON ops of a document of at least target UTF-16
// units: runs of words with attributes, a newline now and then, an image
// every 50 runs. Runs are added with Delta.insert (adjacent equal runs
// merge).
func benchDocJSON(target int) string {
	r := &mulberry32{a: 42}
	w := newWriter(0)
	length := 0
	attrCache := map[string]*attrSet{}
	attrsOf := func(s string) *attrSet {
		if s == "" {
			return nil
		}
		if a, ok := attrCache[s]; ok {
			return a
		}
		rd := &reader{b: []byte(s)}
		a, err := rd.attributes()
		if err != nil {
			panic(err)
		}
		attrCache[s] = a
		return a
	}
	for run := 0; length < target; run++ {
		if run%50 == 49 {
			img := fmt.Sprintf(`{"image":"https://example.com/img/%d.png"}`, run)
			w.push(op{kind: kEmbed, s: canon(img), n: 1})
			length++
			continue
		}
		k := 1 + int(r.next()%6)
		var sb strings.Builder
		for i := 0; i < k; i++ {
			sb.WriteString(benchWords[r.next()%uint32(len(benchWords))])
			sb.WriteByte(' ')
		}
		if r.next()%4 == 0 {
			sb.WriteByte('\n')
		}
		s := sb.String()
		a := attrsOf(benchAttrs[r.next()%uint32(len(benchAttrs))])
		w.push(op{kind: kText, s: s, n: utf16Len(s), attrs: a})
		length += utf16Len(s)
	}
	return string(appendOps(nil, w.finish()))
}

func canon(s string) string {
	rd := &reader{b: []byte(s)}
	v, err := rd.value(nil)
	if err != nil {
		panic(err)
	}
	return string(v)
}

type benchCase struct {
	name             string
	doc              ot.Snapshot
	edit, other, nxt ot.Op
	after            ot.Snapshot
}

// safe moves p forward off the second half of a surrogate pair.
func safe(units []uint16, p int) int {
	for p < len(units) && isLowSurrogate(units[p]) {
		p++
	}
	return p
}

func newBenchCase(b testing.TB, name string, target int) benchCase {
	docJSON := benchDocJSON(target)
	doc := mustDoc(b, docJSON)
	units := docUnits(doc.(Document).flat())
	L := len(units)
	p1 := safe(units, L/2)
	p2 := safe(units, p1+7)
	p3 := safe(units, p2+30)
	q1 := safe(units, L/4)
	q2 := safe(units, q1+3)
	r1 := safe(units, q2+20)
	const typed = "Hello, wörld 😀"
	edit := mustOp(b, fmt.Sprintf(`[{"retain":%d},{"insert":%q},{"delete":%d},{"retain":%d,"attributes":{"bold":true}}]`,
		p1, typed, p2-p1, p3-p2))
	other := mustOp(b, fmt.Sprintf(`[{"retain":%d},{"insert":"typed text","attributes":{"italic":true}},{"delete":%d},{"retain":%d,"attributes":{"color":"#e60000"}}]`,
		q1, q2-q1, r1-q2))
	nxt := mustOp(b, fmt.Sprintf(`[{"retain":%d},{"insert":"!"}]`, p1+utf16Len(typed)))
	after, err := typ.Apply(doc, edit)
	if err != nil {
		b.Fatal(err)
	}
	return benchCase{name: name, doc: doc, edit: edit, other: other, nxt: nxt, after: after}
}

var benchCases []benchCase

func getBenchCases(b *testing.B) []benchCase {
	if benchCases == nil {
		benchCases = []benchCase{
			newBenchCase(b, "small", 100),
			newBenchCase(b, "1MB", 1<<20),
		}
	}
	return benchCases
}

var sink any

func BenchmarkApply(b *testing.B) {
	for _, c := range getBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := typ.Apply(c.doc, c.edit)
				if err != nil {
					b.Fatal(err)
				}
				sink = out
			}
		})
	}
}

func BenchmarkTransform(b *testing.B) {
	for _, c := range getBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := typ.Transform(c.edit, c.other, ot.Left)
				if err != nil {
					b.Fatal(err)
				}
				sink = out
			}
		})
	}
}

func BenchmarkCompose(b *testing.B) {
	for _, c := range getBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := typ.Compose(c.edit, c.nxt)
				if err != nil {
					b.Fatal(err)
				}
				sink = out
			}
		})
	}
}

func BenchmarkDiff(b *testing.B) {
	c := getBenchCases(b)[0]
	b.Run(c.name, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := typ.Diff(c.doc, c.after)
			if err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
}

// TestBenchInputs prints the benchmark inputs' sizes and checksums, which
// ot/jsbench/rich-text.js prints too, to show both sides time the same
// data.
func TestBenchInputs(t *testing.T) {
	for _, c := range []benchCase{newBenchCase(t, "small", 100), newBenchCase(t, "1MB", 1<<20)} {
		d, a := c.doc.(Document), c.after.(Document)
		t.Logf("%s: doc %d units, %d ops, text fnv %08x; after %d ops, text fnv %08x",
			c.name, d.Length(), d.Len(), fnv(docUnits(d.flat())), a.Len(), fnv(docUnits(a.flat())))
		t.Logf("%s: edit %s", c.name, encOp(t, c.edit))
		t.Logf("%s: other %s", c.name, encOp(t, c.other))
		t.Logf("%s: next %s", c.name, encOp(t, c.nxt))
	}
}

// fnv is FNV-1a over UTF-16 units (the document text, embeds as NUL).
func fnv(units []uint16) uint32 {
	h := uint32(2166136261)
	for _, u := range units {
		h ^= uint32(u)
		h *= 16777619
	}
	return h
}

// BenchmarkApplyEncode is what the server does per commit: apply an edit
// and encode the new snapshot for the store. Untouched chunks reuse their
// cached encoding.
func BenchmarkApplyEncode(b *testing.B) {
	for _, c := range getBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			if _, err := typ.EncodeSnapshot(c.doc); err != nil { // warm the cache, as a live session's is
				b.Fatal(err)
			}
			for b.Loop() {
				out, err := typ.Apply(c.doc, c.edit)
				if err != nil {
					b.Fatal(err)
				}
				enc, err := typ.EncodeSnapshot(out)
				if err != nil {
					b.Fatal(err)
				}
				sink = enc
			}
		})
	}
}

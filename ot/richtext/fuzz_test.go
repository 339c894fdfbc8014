package richtext

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/tandemhq/tandem/ot"
)

// The fuzz targets take JSON (seeded from the reference vectors) and a byte
// string that drives the random generator: JSON the fuzzer has mangled
// past decoding is replaced by a generated document or op, so most inputs
// still reach the algorithms.

type vector struct {
	Kind string          `json:"kind"`
	Doc  json.RawMessage `json:"doc"`
	Op   json.RawMessage `json:"op"`
	A    json.RawMessage `json:"a"`
	B    json.RawMessage `json:"b"`
	To   json.RawMessage `json:"to"`
}

func loadVectors(f *testing.F) []vector {
	fh, err := os.Open("../testdata/vectors/rich-text.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	var out []vector
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			f.Fatal(err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		f.Fatal(err)
	}
	return out
}

var genSeeds = [][]byte{
	nil, {1, 2, 3, 4, 5, 6, 7, 8}, []byte("rich text fuzz seed"),
	{0xff, 0, 0x80, 3, 9, 200, 17, 64, 33, 1, 250, 90, 7, 7, 7, 7},
}

// fuzzGen returns the generator for seed; its first byte picks raw mode.
func fuzzGen(seed []byte) *gen {
	src := &byteSource{b: seed}
	return &gen{src: src, raw: len(seed) > 0 && seed[0]&3 == 0}
}

func docOrGen(raw string, g *gen) []op {
	if d, err := typ.DecodeSnapshot(json.RawMessage(raw)); err == nil {
		return d.(Document).flat()
	}
	return g.doc()
}

func opOrGen(raw string, g *gen, doc []op) []op {
	if o, err := typ.DecodeOp(json.RawMessage(raw)); err == nil {
		return o.(Delta).ops
	}
	return g.op(doc, false, false)
}

// normalized returns doc's JSON with adjacent runs merged as Delta.push
// does: two documents are the same text with the same formatting exactly
// when these are equal.
func normalized(doc []op) string {
	w := newWriter(len(doc))
	for _, o := range doc {
		o.attrs = nonEmpty(o.attrs)
		w.push(o)
	}
	return string(appendOps(nil, w.finish()))
}

// checkDoc verifies the invariants of a document built by this package.
func checkDoc(t *testing.T, ops []op) {
	t.Helper()
	for i, o := range ops {
		switch o.kind {
		case kText:
			if o.s == "" || !utf8.ValidString(o.s) || o.n != utf16Len(o.s) {
				t.Fatalf("bad text component %d: %q n=%d", i, o.s, o.n)
			}
		case kEmbed:
			if o.n != 1 || !json.Valid([]byte(o.s)) {
				t.Fatalf("bad embed component %d: %q n=%d", i, o.s, o.n)
			}
		default:
			t.Fatalf("component %d of a document is not an insert", i)
		}
	}
	enc, _ := typ.EncodeSnapshot(newDocument(ops))
	back, err := typ.DecodeSnapshot(enc)
	if err != nil {
		t.Fatalf("document does not decode again: %v\n%s", err, enc)
	}
	if again, _ := typ.EncodeSnapshot(back); !bytes.Equal(again, enc) {
		t.Fatalf("document round trip:\n%s\n%s", enc, again)
	}
}

func hasNullAttr(doc []op) bool {
	for i := range doc {
		if doc[i].attrs.hasNull() {
			return true
		}
	}
	return false
}

func FuzzApply(f *testing.F) {
	for _, v := range loadVectors(f) {
		switch v.Kind {
		case "apply", "invalid", "transformCursor", "transformPresence":
			f.Add(string(v.Doc), string(v.Op))
		}
	}
	f.Add(`[{"insert":"a😀b"}]`, `[{"retain":2},{"insert":"x"}]`)
	f.Add(`[{"insert":"ab","attributes":{"b":{"x":[1,{"y":null}]}}}]`, `{"ops":[{"retain":1,"attributes":{"b":null}}]}`)
	f.Fuzz(func(t *testing.T, docJSON, opJSON string) {
		d, err := typ.DecodeSnapshot(json.RawMessage(docJSON))
		if err != nil {
			d = mustDoc(t, `[{"insert":"Hello "},{"insert":"wörld 😀","attributes":{"bold":true}},{"insert":{"image":"a.png"}},{"insert":"\n"}]`)
		}
		o, err := typ.DecodeOp(json.RawMessage(opJSON))
		if err != nil {
			if !errors.Is(err, ot.ErrInvalidOp) && !errors.Is(err, ot.ErrLoneSurrogate) {
				t.Fatalf("DecodeOp error wraps neither ErrInvalidOp nor ErrLoneSurrogate: %v", err)
			}
			return
		}
		// EncodeOp / DecodeOp round trip
		enc := encOp(t, o)
		o2, err := typ.DecodeOp(json.RawMessage(enc))
		if err != nil {
			t.Fatalf("encoded op does not decode: %v\n%s", err, enc)
		}
		if enc2 := encOp(t, o2); enc2 != enc {
			t.Fatalf("op round trip:\n%s\n%s", enc, enc2)
		}
		before, _ := typ.EncodeSnapshot(d)
		out, err := typ.Apply(d, o)
		if after, _ := typ.EncodeSnapshot(d); !bytes.Equal(before, after) {
			t.Fatalf("Apply changed its input")
		}
		if err != nil {
			if !errors.Is(err, ot.ErrApply) {
				t.Fatalf("Apply error does not wrap ErrApply: %v", err)
			}
		} else {
			checkDoc(t, out.(Document).flat())
		}
		// The chunked Apply is the reference's compose, however the
		// document is cut.
		flat := d.(Document).flat()
		want, wantNon, wantErr := compose(flat, o.(Delta).ops)
		got, gotNon, gotErr := applyDoc(fuzzGen([]byte(opJSON)).chunked(flat), o.(Delta).ops)
		if (wantErr != nil) != (gotErr != nil) || wantNon != gotNon {
			t.Fatalf("chunked apply: %v %d / %v %d", wantErr, wantNon, gotErr, gotNon)
		}
		if wantErr == nil && string(appendOps(nil, want)) != string(appendOps(nil, got.flat())) {
			t.Fatalf("chunked apply differs from compose")
		}
		// The other functions must not panic on any op.
		typ.Compose(o, o)
		typ.Transform(o, o, ot.Left)
		typ.Transform(o, o, ot.Right)
		typ.TransformCursor(3, o, false)
		typ.IsNoop(o)
	})
}

func FuzzTransform(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Kind == "transform" {
			f.Add(string(v.Doc), string(v.A), string(v.B), []byte(nil))
		}
	}
	for _, s := range genSeeds {
		f.Add("", "", "", s)
	}
	f.Fuzz(func(t *testing.T, docJSON, aJSON, bJSON string, seed []byte) {
		g := fuzzGen(seed)
		d := docOrGen(docJSON, g)
		a := opOrGen(aJSON, g, d)
		b := opOrGen(bJSON, g, d)
		da, err := typ.Apply(newDocument(d), Delta{a})
		if err != nil {
			return // a is not an op on d
		}
		db, err := typ.Apply(newDocument(d), Delta{b})
		if err != nil {
			return
		}
		// The reference's TP1, with its side rule.
		bAfterA, err := typ.Transform(Delta{b}, Delta{a}, ot.Right)
		if err != nil {
			t.Fatal(err)
		}
		aAfterB, err := typ.Transform(Delta{a}, Delta{b}, ot.Left)
		if err != nil {
			t.Fatal(err)
		}
		x, err := typ.Apply(da, bAfterA)
		if err != nil {
			t.Fatalf("apply(apply(d,a), T(b,a,right)): %v\nd %s\na %s\nb %s\nT %s", err, appendOps(nil, d), appendOps(nil, a), appendOps(nil, b), encOp(t, bAfterA))
		}
		y, err := typ.Apply(db, aAfterB)
		if err != nil {
			t.Fatalf("apply(apply(d,b), T(a,b,left)): %v\nd %s\na %s\nb %s\nT %s", err, appendOps(nil, d), appendOps(nil, a), appendOps(nil, b), encOp(t, aAfterB))
		}
		if nx, ny := normalized(x.(Document).flat()), normalized(y.(Document).flat()); nx != ny {
			t.Fatalf("diverged:\nd %s\na %s\nb %s\n%s\n%s", appendOps(nil, d), appendOps(nil, a), appendOps(nil, b), nx, ny)
		}
		checkDoc(t, x.(Document).flat())
	})
}

func FuzzCompose(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Kind == "compose" {
			f.Add(string(v.Doc), string(v.A), string(v.B), []byte(nil))
		}
	}
	for _, s := range genSeeds {
		f.Add("", "", "", s)
	}
	f.Fuzz(func(t *testing.T, docJSON, aJSON, bJSON string, seed []byte) {
		g := fuzzGen(seed)
		d := docOrGen(docJSON, g)
		a := opOrGen(aJSON, g, d)
		da, err := typ.Apply(newDocument(d), Delta{a})
		if err != nil {
			return
		}
		b := opOrGen(bJSON, g, da.(Document).flat())
		seq, err := typ.Apply(da, Delta{b})
		if err != nil {
			return
		}
		ab, err := typ.Compose(Delta{a}, Delta{b})
		if err != nil {
			t.Fatalf("compose: %v", err)
		}
		once, err := typ.Apply(newDocument(d), ab)
		if err != nil {
			t.Fatalf("apply(d, compose(a,b)): %v\nd %s\na %s\nb %s\nab %s", err, appendOps(nil, d), appendOps(nil, a), appendOps(nil, b), encOp(t, ab))
		}
		if x, y := normalized(once.(Document).flat()), normalized(seq.(Document).flat()); x != y {
			t.Fatalf("compose differs:\nd %s\na %s\nb %s\nab %s\n%s\n%s", appendOps(nil, d), appendOps(nil, a), appendOps(nil, b), encOp(t, ab), x, y)
		}
		checkDoc(t, once.(Document).flat())
	})
}

func FuzzDiff(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Kind == "diff" {
			f.Add(string(v.Doc), string(v.To), []byte(nil))
		}
	}
	for _, s := range genSeeds {
		f.Add("", "", s)
	}
	f.Add(`[{"insert":"😀😁😂"}]`, `[{"insert":"😁😀😂a"}]`, []byte(nil))
	f.Fuzz(func(t *testing.T, fromJSON, toJSON string, seed []byte) {
		g := fuzzGen(seed)
		from := docOrGen(fromJSON, g)
		to := docOrGen(toJSON, g)
		if len(seed) > 0 && seed[len(seed)-1]&1 == 1 {
			// a nearby document: from with an edit
			if d, err := typ.Apply(newDocument(from), Delta{g.op(from, false, false)}); err == nil {
				to = d.(Document).flat()
			}
		}
		if hasNullAttr(from) || hasNullAttr(to) {
			// A null attribute value inside an insert is lenient input: the
			// reference's diff turns it into a removal, so the round trip
			// does not hold there either.
			return
		}
		diff, err := typ.Diff(newDocument(from), newDocument(to))
		if err != nil {
			t.Fatalf("diff: %v", err)
		}
		got, err := typ.Apply(newDocument(from), diff)
		if err != nil {
			t.Fatalf("apply(a, diff(a,b)): %v\na %s\nb %s\ndiff %s", err, appendOps(nil, from), appendOps(nil, to), encOp(t, diff))
		}
		if x, y := normalized(got.(Document).flat()), normalized(to); x != y {
			t.Fatalf("apply(a, diff(a,b)) != b\na %s\nb %s\ndiff %s\ngot %s", appendOps(nil, from), appendOps(nil, to), encOp(t, diff), x)
		}
	})
}

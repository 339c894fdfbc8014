package textunicode

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tandemhq/tandem/ot"
)

// The fuzz targets are seeded from the reference vectors: every case's
// document with its op(s), as JSON. A mutated op that no longer decodes
// (or no longer fits the document) is replaced, in FuzzTransform and
// FuzzCompose, by an op generated from its bytes, so those targets always
// test valid ops.

func seedVectors(f *testing.F, add func(v vectorLine)) {
	for _, v := range readVectors(f) {
		add(v)
	}
}

// FuzzApply: decoding and applying arbitrary op JSON to a document never
// panics; a decoded op round-trips through JSON; a failed apply is an
// ErrApply; a successful one gives valid UTF-8 of the expected length.
func FuzzApply(f *testing.F) {
	seedVectors(f, func(v vectorLine) {
		doc := docOf(v.Doc)
		for _, op := range []json.RawMessage{v.Op, v.A, v.B} {
			if len(op) > 0 {
				f.Add(doc, []byte(op))
			}
		}
	})
	f.Fuzz(func(t *testing.T, doc string, raw []byte) {
		o, err := tu.DecodeOp(raw)
		if err != nil {
			if !errors.Is(err, ot.ErrInvalidOp) && !errors.Is(err, ot.ErrLoneSurrogate) {
				t.Fatalf("DecodeOp error wraps neither ErrInvalidOp nor ErrLoneSurrogate: %v", err)
			}
			// Normalize must not panic either.
			_, _ = tu.Normalize(raw)
			return
		}
		op := opOf(o)
		mustValid(t, "decoded", op)
		if _, err := tu.Normalize(raw); err != nil {
			t.Fatalf("Normalize rejects the valid op %s: %v", raw, err)
		}
		// Also no panic on invalid UTF-8 documents, which no decoder makes.
		_, _ = tu.Apply(doc, op)
		doc = strings.ToValidUTF8(doc, "\uFFFD")
		got, err := tu.Apply(doc, op)
		if err != nil {
			if !errors.Is(err, ot.ErrApply) {
				t.Fatalf("apply error is not ErrApply: %v", err)
			}
			return
		}
		s := got.(string)
		if !utf8.ValidString(s) {
			t.Fatalf("apply made invalid UTF-8: %q", s)
		}
		// Length: inserts add, deletes remove (cut at the end of doc).
		want, pre := cpCount(doc), 0
		for _, c := range op {
			switch c.k {
			case KindSkip:
				pre += c.n
			case KindInsert:
				want += c.n
			default:
				del := min(c.n, max(cpCount(doc)-pre, 0))
				want -= del
				pre += c.n
			}
		}
		if cpCount(s) != want {
			t.Fatalf("apply %s to %q gave %q: %d code points, want %d", raw, doc, s, cpCount(s), want)
		}
		if _, err := tu.InvertWithDoc(op, doc); err != nil {
			t.Fatalf("InvertWithDoc: %v", err)
		}
	})
}

// FuzzTransform: for valid concurrent a and b,
// apply(apply(d, a), T(b, a, right)) == apply(apply(d, b), T(a, b, left)).
func FuzzTransform(f *testing.F) {
	seedVectors(f, func(v vectorLine) {
		if v.Kind == "transform" || v.Kind == "compose" {
			f.Add(docOf(v.Doc), []byte(v.A), []byte(v.B))
		}
	})
	f.Fuzz(func(t *testing.T, doc string, rawA, rawB []byte) {
		doc = strings.ToValidUTF8(doc, "\uFFFD")
		a, b := mergeInserts(opFor(doc, rawA)), mergeInserts(opFor(doc, rawB))
		aRight, bLeft := encodeOp(a), encodeOp(b)
		ta, err := tu.Transform(a, b, ot.Left)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := tu.Transform(b, a, ot.Right)
		if err != nil {
			t.Fatal(err)
		}
		mustValid(t, "T(a,b,left)", opOf(ta))
		mustValid(t, "T(b,a,right)", opOf(tb))
		left := mustApply(t, mustApply(t, doc, b), opOf(ta))
		right := mustApply(t, mustApply(t, doc, a), opOf(tb))
		if left != right {
			t.Fatalf("diverged on %q\na=%s b=%s\nT(a,b,left)=%s -> %q\nT(b,a,right)=%s -> %q",
				doc, encodeOp(a), encodeOp(b), encodeOp(opOf(ta)), left, encodeOp(opOf(tb)), right)
		}
		// Inputs untouched.
		if string(encodeOp(a)) != string(aRight) || string(encodeOp(b)) != string(bLeft) {
			t.Fatal("transform mutated an input")
		}
	})
}

// FuzzCompose: for valid a on d and b on apply(d, a),
// apply(d, compose(a, b)) == apply(apply(d, a), b); inverses undo.
func FuzzCompose(f *testing.F) {
	seedVectors(f, func(v vectorLine) {
		if v.Kind == "compose" || v.Kind == "transform" {
			f.Add(docOf(v.Doc), []byte(v.A), []byte(v.B))
		}
	})
	f.Fuzz(func(t *testing.T, doc string, rawA, rawB []byte) {
		doc = strings.ToValidUTF8(doc, "\uFFFD")
		a := opFor(doc, rawA)
		mid := mustApply(t, doc, a)
		b := opFor(mid, rawB)
		want := mustApply(t, mid, b)
		ab, err := tu.Compose(a, b)
		if err != nil {
			t.Fatal(err)
		}
		mustValid(t, "compose", opOf(ab))
		if got := mustApply(t, doc, opOf(ab)); got != want {
			t.Fatalf("on %q a=%s b=%s: compose %s gives %q, a then b gives %q",
				doc, encodeOp(a), encodeOp(b), encodeOp(opOf(ab)), got, want)
		}
		// invertWithDoc undoes the composed op; invert undoes it too once
		// it carries its text, and compose keeps ops invertible.
		inv, err := tu.InvertWithDoc(ab, doc)
		if err != nil {
			t.Fatal(err)
		}
		if back := mustApply(t, want, opOf(inv)); back != doc {
			t.Fatalf("invertWithDoc(%s) undoes to %q, want %q", encodeOp(opOf(ab)), back, doc)
		}
		ai, _ := tu.InvertWithDoc(a, doc)
		aa, _ := tu.Invert(ai) // a, with its deletes textual
		bi, _ := tu.InvertWithDoc(b, mid)
		bb, _ := tu.Invert(bi)
		c, err := tu.Compose(aa, bb)
		if err != nil {
			t.Fatal(err)
		}
		ci, err := tu.Invert(c)
		if err != nil {
			t.Fatalf("compose of invertible ops %s, %s is not invertible: %v", encodeOp(opOf(aa)), encodeOp(opOf(bb)), err)
		}
		if back := mustApply(t, want, opOf(ci)); back != doc {
			t.Fatalf("invert(compose) undoes to %q, want %q", back, doc)
		}
	})
}

package json0

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tandemhq/tandem/ot"
)

// vectorLine is the part of a reference vector the fuzz seeds use.
type vectorLine struct {
	Kind string          `json:"kind"`
	ID   string          `json:"id"`
	Doc  json.RawMessage `json:"doc"`
	Op   json.RawMessage `json:"op"`
	A    json.RawMessage `json:"a"`
	B    json.RawMessage `json:"b"`
}

func loadVectorLines(tb testing.TB) []vectorLine {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "vectors", "json0.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []vectorLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var v vectorLine
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func canonJSON(tb testing.TB, raw []byte) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("unparsable JSON %s: %v", raw, err)
	}
	return v
}

func encodeDoc(tb testing.TB, d any) []byte {
	tb.Helper()
	b, err := Type{}.EncodeSnapshot(d)
	if err != nil {
		tb.Fatalf("encode snapshot: %v", err)
	}
	return b
}

// FuzzApply: arbitrary op JSON against a document never panics, never
// mutates the input document, and a successful result encodes as JSON.
// Transform, Compose, Normalize and Invert on the same input must not panic
// either.
func FuzzApply(f *testing.F) {
	for _, v := range loadVectorLines(f) {
		switch v.Kind {
		case "apply", "invalid", "invert", "normalize":
			f.Add(string(v.Doc), string(v.Op))
		case "transform", "compose":
			f.Add(string(v.Doc), string(v.A))
		}
	}
	var t Type
	f.Fuzz(func(tt *testing.T, docJSON, opJSON string) {
		doc, err := t.DecodeSnapshot(json.RawMessage(docJSON))
		if err != nil {
			return
		}
		if n, err := t.Normalize(json.RawMessage(opJSON)); err == nil {
			if _, err := t.EncodeOp(n); err != nil {
				tt.Fatalf("encode normalized op: %v", err)
			}
		}
		op, err := t.DecodeOp(json.RawMessage(opJSON))
		if err != nil {
			if !errorsIsAny(err, ot.ErrInvalidOp, ot.ErrLoneSurrogate) {
				tt.Fatalf("DecodeOp error does not wrap ErrInvalidOp: %v", err)
			}
			return
		}
		// Encode/decode round trip of the op.
		enc, err := t.EncodeOp(op)
		if err != nil {
			tt.Fatalf("EncodeOp: %v", err)
		}
		op2, err := t.DecodeOp(enc)
		if err != nil {
			tt.Fatalf("re-decoding %s: %v", enc, err)
		}
		if enc2, _ := t.EncodeOp(op2); !bytes.Equal(enc, enc2) {
			tt.Fatalf("op round trip: %s != %s", enc, enc2)
		}
		before := encodeDoc(tt, doc)
		out, err := t.Apply(doc, op)
		if after := encodeDoc(tt, doc); !bytes.Equal(before, after) {
			tt.Fatalf("Apply mutated its input: %s -> %s", before, after)
		}
		if err != nil {
			if !errorsIsAny(err, ot.ErrApply, ot.ErrLoneSurrogate) {
				tt.Fatalf("Apply error does not wrap ErrApply: %v", err)
			}
		} else {
			res := encodeDoc(tt, out)
			if _, err := t.DecodeSnapshot(res); err != nil {
				tt.Fatalf("applied document %s does not decode: %v", res, err)
			}
		}
		// No panics elsewhere either.
		for _, side := range []ot.Side{ot.Left, ot.Right} {
			if tr, err := t.Transform(op, op, side); err == nil {
				if _, err := t.EncodeOp(tr); err != nil {
					tt.Fatalf("encode transformed: %v", err)
				}
			}
		}
		if c, err := t.Compose(op, op); err == nil {
			if _, err := t.EncodeOp(c); err != nil {
				tt.Fatalf("encode composed: %v", err)
			}
		}
		if inv, err := t.Invert(op); err == nil {
			if _, err := t.EncodeOp(inv); err != nil {
				tt.Fatalf("encode inverted: %v", err)
			}
		}
	})
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// seedDocs are the documents of the reference vectors, paired with their id
// as generator input.
func addDocSeeds(f *testing.F) {
	seen := map[string]bool{}
	for _, v := range loadVectorLines(f) {
		if seen[string(v.Doc)] {
			continue
		}
		seen[string(v.Doc)] = true
		f.Add(string(v.Doc), []byte(v.ID))
	}
}

// fuzzDoc decodes the fuzzed document, keeping it small.
func fuzzDoc(t Type, docJSON string) (any, bool) {
	if len(docJSON) > 4096 {
		return nil, false
	}
	doc, err := t.DecodeSnapshot(json.RawMessage(docJSON))
	if err != nil || !validUTF8Doc(doc) {
		return nil, false
	}
	return doc, true
}

func applyBoth(tt *testing.T, t Type, doc any, ops ...ot.Op) any {
	tt.Helper()
	var err error
	for i, op := range ops {
		if doc, err = t.Apply(doc, op); err != nil {
			enc, _ := t.EncodeOp(op)
			tt.Fatalf("apply op %d %s: %v", i, enc, err)
		}
	}
	return doc
}

// FuzzTransform checks convergence (TP1) on valid concurrent ops generated
// from the fuzz input:
// apply(apply(d, a), T(b, a, right)) == apply(apply(d, b), T(a, b, left)).
// The one pattern the reference itself does not transform (the same string
// edited with si/sd in one op and with t:text0 in the other) is excluded.
func FuzzTransform(f *testing.F) {
	addDocSeeds(f)
	var t Type
	f.Fuzz(func(tt *testing.T, docJSON string, seed []byte) {
		doc, ok := fuzzDoc(t, docJSON)
		if !ok {
			return
		}
		r := newRng(seed)
		sh := &shadower{}
		shadow := sh.shadow(doc)
		a, err := genOp(t, doc, r, 1+r.intn(4), 0, sh, shadow)
		if err != nil {
			tt.Fatalf("generating a: %v", err)
		}
		b, err := genOp(t, doc, r, 1+r.intn(4), 0, sh, shadow)
		if err != nil {
			tt.Fatalf("generating b: %v", err)
		}
		if mixedForms(a, b) {
			return
		}
		ta, err := t.Transform(a.op, b.op, ot.Left)
		if err != nil {
			tt.Fatalf("T(a, b, left) a=%s b=%s: %v", a.json, b.json, err)
		}
		tb, err := t.Transform(b.op, a.op, ot.Right)
		if err != nil {
			tt.Fatalf("T(b, a, right) a=%s b=%s: %v", a.json, b.json, err)
		}
		left := applyBoth(tt, t, doc, a.op, tb)
		right := applyBoth(tt, t, doc, b.op, ta)
		l, r2 := encodeDoc(tt, left), encodeDoc(tt, right)
		if !bytes.Equal(l, r2) && !sameUpToRounding(left, right) {
			taj, _ := t.EncodeOp(ta)
			tbj, _ := t.EncodeOp(tb)
			tt.Fatalf("diverged\n doc %s\n a %s\n b %s\n T(a,b,left) %s\n T(b,a,right) %s\n a then T(b): %s\n b then T(a): %s",
				encodeDoc(tt, doc), a.json, b.json, taj, tbj, l, r2)
		}
	})
}

// FuzzCompose checks apply(d, compose(a, b)) == apply(apply(d, a), b) for a
// valid on d and b valid on apply(d, a), and that compose leaves its inputs
// alone.
func FuzzCompose(f *testing.F) {
	addDocSeeds(f)
	var t Type
	f.Fuzz(func(tt *testing.T, docJSON string, seed []byte) {
		doc, ok := fuzzDoc(t, docJSON)
		if !ok {
			return
		}
		r := newRng(seed)
		sh := &shadower{}
		a, err := genOp(t, doc, r, 1+r.intn(4), 0, sh, sh.shadow(doc))
		if err != nil {
			tt.Fatalf("generating a: %v", err)
		}
		mid := a.finalDoc
		b, err := genOp(t, mid, r, 1+r.intn(4), 0, sh, sh.shadow(mid))
		if err != nil {
			tt.Fatalf("generating b: %v", err)
		}
		aBefore, _ := t.EncodeOp(a.op)
		ab, err := t.Compose(a.op, b.op)
		if err != nil {
			tt.Fatalf("compose a=%s b=%s: %v", a.json, b.json, err)
		}
		if aAfter, _ := t.EncodeOp(a.op); !bytes.Equal(aBefore, aAfter) {
			tt.Fatalf("Compose mutated a: %s -> %s", aBefore, aAfter)
		}
		docBefore := encodeDoc(tt, doc)
		seq := encodeDoc(tt, applyBoth(tt, t, doc, a.op, b.op))
		once := encodeDoc(tt, applyBoth(tt, t, doc, ab))
		if after := encodeDoc(tt, doc); !bytes.Equal(docBefore, after) {
			tt.Fatalf("Apply mutated its input: %s -> %s", docBefore, after)
		}
		// One Apply of a multi-component op (which updates the containers
		// it made in place) equals applying its components one by one.
		step := doc
		for _, c := range ab.(Op) {
			step = applyBoth(tt, t, step, Op{c})
		}
		if s := encodeDoc(tt, step); !bytes.Equal(s, once) {
			abj, _ := t.EncodeOp(ab)
			tt.Fatalf("op %s applied at once gives %s, component by component %s", abj, once, s)
		}
		if !reflect.DeepEqual(canonJSON(tt, seq), canonJSON(tt, once)) {
			abj, _ := t.EncodeOp(ab)
			tt.Fatalf("compose differs\n doc %s\n a %s\n b %s\n compose %s\n a then b %s\n composed %s",
				encodeDoc(tt, doc), a.json, b.json, abj, seq, once)
		}
	})
}

// sameUpToRounding compares documents treating numbers as equal when they
// differ only by float rounding: na adds in float64, and float addition is
// not associative (2.2+6-1 != 2.2-1+6 in JavaScript too), so concurrent na
// on a non-integer may end a last bit apart on the two paths. The reference
// behaves the same; everything else must match exactly.
func sameUpToRounding(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(x))
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameUpToRounding(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameUpToRounding(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

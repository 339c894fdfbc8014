package richtext

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/ot"
)

// Expected values in these tables were computed with the JavaScript
// reference (rich-text 4.1.0 / quill-delta 4.2.2).

var typ Type

func mustOp(t testing.TB, s string) ot.Op {
	t.Helper()
	o, err := typ.DecodeOp(json.RawMessage(s))
	if err != nil {
		t.Fatalf("DecodeOp(%s): %v", s, err)
	}
	return o
}

func mustDoc(t testing.TB, s string) ot.Snapshot {
	t.Helper()
	d, err := typ.DecodeSnapshot(json.RawMessage(s))
	if err != nil {
		t.Fatalf("DecodeSnapshot(%s): %v", s, err)
	}
	return d
}

func encOp(t testing.TB, o ot.Op) string {
	t.Helper()
	b, err := typ.EncodeOp(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func encDoc(t testing.TB, d ot.Snapshot) string {
	t.Helper()
	b, err := typ.EncodeSnapshot(d)
	if err != nil {
		t.Fatal(err)
	}
	var w struct{ Ops json.RawMessage }
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return string(w.Ops)
}

func sameJSON(t testing.TB, what, got, want string) {
	t.Helper()
	if !jsonEqual([]byte(got), []byte(want)) {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

func TestTransform(t *testing.T) {
	for _, c := range []struct {
		name, a, b, side, want string
	}{
		// The side is inverted: with "left", b has priority and a's insert
		// goes after b's.
		{"same index left", `[{"insert":"A"}]`, `[{"insert":"B"}]`, "left", `[{"retain":1},{"insert":"A"}]`},
		{"same index right", `[{"insert":"A"}]`, `[{"insert":"B"}]`, "right", `[{"insert":"A"}]`},
		{"same index mid left", `[{"retain":2},{"insert":"A"}]`, `[{"retain":2},{"insert":"BB"}]`, "left", `[{"retain":4},{"insert":"A"}]`},
		{"same index mid right", `[{"retain":2},{"insert":"A"}]`, `[{"retain":2},{"insert":"BB"}]`, "right", `[{"retain":2},{"insert":"A"}]`},
		{"delete vs delete", `[{"retain":1},{"delete":3}]`, `[{"retain":2},{"delete":3}]`, "left", `[{"retain":1},{"delete":1}]`},
		{"delete vs delete other way", `[{"retain":2},{"delete":3}]`, `[{"retain":1},{"delete":3}]`, "right", `[{"retain":1},{"delete":1}]`},
		{"format vs delete", `[{"retain":2},{"retain":3,"attributes":{"bold":true}}]`, `[{"retain":3},{"delete":2}]`, "left", `[{"retain":2},{"retain":1,"attributes":{"bold":true}}]`},
		{"delete vs format", `[{"retain":3},{"delete":2}]`, `[{"retain":2},{"retain":3,"attributes":{"bold":true}}]`, "right", `[{"retain":3},{"delete":2}]`},
		{"format vs format left", `[{"retain":2,"attributes":{"color":"red"}}]`, `[{"retain":2,"attributes":{"color":"blue"}}]`, "left", `[]`},
		{"format vs format right", `[{"retain":2,"attributes":{"color":"red"}}]`, `[{"retain":2,"attributes":{"color":"blue"}}]`, "right", `[{"retain":2,"attributes":{"color":"red"}}]`},
		{"insert inside delete", `[{"retain":2},{"insert":"X"}]`, `[{"retain":1},{"delete":3}]`, "left", `[{"retain":1},{"insert":"X"}]`},
		{"delete around insert", `[{"retain":1},{"delete":3}]`, `[{"retain":2},{"insert":"X"}]`, "right", `[{"retain":1},{"delete":1},{"retain":1},{"delete":2}]`},
		{"wrapped form", `{"ops":[{"insert":"A"}]}`, `{"ops":[{"insert":"B"}]}`, "left", `[{"retain":1},{"insert":"A"}]`},
		{"emoji insert counts two", `[{"insert":"x"}]`, `[{"insert":"😀"}]`, "left", `[{"retain":2},{"insert":"x"}]`},
		{"embed counts one", `[{"insert":"x"}]`, `[{"insert":{"image":"a"}}]`, "left", `[{"retain":1},{"insert":"x"}]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			side, err := ot.ParseSide(c.side)
			if err != nil {
				t.Fatal(err)
			}
			got, err := typ.Transform(mustOp(t, c.a), mustOp(t, c.b), side)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "transform", encOp(t, got), c.want)
		})
	}
}

func TestApply(t *testing.T) {
	for _, c := range []struct {
		name, doc, op, want string
	}{
		{"null removes attribute", `[{"insert":"ab","attributes":{"bold":true}}]`, `[{"retain":1,"attributes":{"bold":null}}]`,
			`[{"insert":"a"},{"insert":"b","attributes":{"bold":true}}]`},
		{"embed with attributes", `[{"insert":"ab"}]`, `[{"retain":1},{"insert":{"image":"x.png"},"attributes":{"width":"10"}}]`,
			`[{"insert":"a"},{"insert":{"image":"x.png"},"attributes":{"width":"10"}},{"insert":"b"}]`},
		{"emoji length", `[{"insert":"a😀b"}]`, `[{"retain":3},{"insert":"x"}]`, `[{"insert":"a😀xb"}]`},
		{"delete an emoji", `{"ops":[{"insert":"a👍🏽b"}]}`, `[{"retain":1},{"delete":4}]`, `[{"insert":"ab"}]`},
		{"format merges runs", `[{"insert":"ab"},{"insert":"c","attributes":{"bold":true}}]`, `[{"retain":2,"attributes":{"bold":true}}]`,
			`[{"insert":"abc","attributes":{"bold":true}}]`},
		{"object attribute values compared deeply", `[{"insert":"a","attributes":{"d":{"x":1,"y":[1,2]}}},{"insert":"b"}]`,
			`[{"retain":1},{"retain":1,"attributes":{"d":{"y":[1,2],"x":1.0}}}]`,
			`[{"insert":"ab","attributes":{"d":{"x":1,"y":[1,2]}}}]`},
		{"trailing retain past end dropped", `[{"insert":"ab"}]`, `[{"retain":5}]`, `[{"insert":"ab"}]`},
		{"empty op", `[{"insert":"ab"}]`, `[]`, `[{"insert":"ab"}]`},
		{"insert into empty", `[]`, `[{"insert":"hi\n"}]`, `[{"insert":"hi\n"}]`},
		{"delete everything", `[{"insert":"ab"},{"insert":{"x":1}}]`, `[{"delete":3}]`, `[]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := mustDoc(t, c.doc)
			before := encDoc(t, doc)
			got, err := typ.Apply(doc, mustOp(t, c.op))
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "apply", encDoc(t, got), c.want)
			if after := encDoc(t, doc); after != before {
				t.Errorf("Apply changed its input: %s -> %s", before, after)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	for _, c := range []struct {
		name, doc, op string
		want          []error
	}{
		{"retain past end then insert", `[{"insert":"ab"}]`, `[{"retain":5},{"insert":"x"}]`, []error{ot.ErrApply}},
		{"delete past end", `[{"insert":"ab"}]`, `[{"retain":1},{"delete":5}]`, []error{ot.ErrApply}},
		{"format past end", `[{"insert":"ab"}]`, `[{"retain":1},{"retain":5,"attributes":{"b":1}}]`, []error{ot.ErrApply}},
		{"retain into an emoji", `[{"insert":"a😀b"}]`, `[{"retain":2},{"insert":"x"}]`, []error{ot.ErrApply, ot.ErrLoneSurrogate}},
		{"delete half an emoji", `[{"insert":"a😀b"}]`, `[{"retain":1},{"delete":1}]`, []error{ot.ErrApply, ot.ErrLoneSurrogate}},
		{"format half an emoji", `[{"insert":"😀"}]`, `[{"retain":1,"attributes":{"b":true}}]`, []error{ot.ErrApply, ot.ErrLoneSurrogate}},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := mustDoc(t, c.doc)
			before := encDoc(t, doc)
			got, err := typ.Apply(doc, mustOp(t, c.op))
			if err == nil {
				t.Fatalf("accepted: %s", encDoc(t, got))
			}
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v does not wrap %v", err, w)
				}
			}
			if after := encDoc(t, doc); after != before {
				t.Errorf("failed Apply changed its input: %s -> %s", before, after)
			}
		})
	}
}

func TestCompose(t *testing.T) {
	for _, c := range []struct {
		name, a, b, want string
	}{
		{"null kept between retains", `[{"retain":1,"attributes":{"bold":true}}]`, `[{"retain":1,"attributes":{"bold":null}}]`, `[{"retain":1,"attributes":{"bold":null}}]`},
		{"null dropped on insert", `[{"insert":"a","attributes":{"bold":true}}]`, `[{"retain":1,"attributes":{"bold":null}}]`, `[{"insert":"a"}]`},
		{"leading retain copies inserts", `[{"insert":"ab"},{"insert":"cd"}]`, `[{"retain":1},{"insert":"X"}]`, `[{"insert":"aXbcd"}]`},
		{"empty attributes kept on copied insert", `[{"insert":"a","attributes":{}}]`, `[{"retain":1}]`, `[{"insert":"a","attributes":{}}]`},
		{"insert before delete", `[{"delete":1}]`, `[{"insert":"x"}]`, `[{"insert":"x"},{"delete":1}]`},
		{"insert merges before delete", `[{"insert":"a"},{"delete":1}]`, `[{"retain":1},{"insert":"x"}]`, `[{"insert":"ax"},{"delete":1}]`},
		{"insert then delete cancels", `[{"insert":"abc"}]`, `[{"retain":1},{"delete":1}]`, `[{"insert":"ac"}]`},
		{"empty attributes on retain chopped", `[{"retain":3,"attributes":{}}]`, `[]`, `[]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := typ.Compose(mustOp(t, c.a), mustOp(t, c.b))
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "compose", encOp(t, got), c.want)
		})
	}
	// b cutting a pair that a inserted
	if _, err := typ.Compose(mustOp(t, `[{"insert":"😀"}]`), mustOp(t, `[{"retain":1},{"insert":"x"}]`)); !errors.Is(err, ot.ErrLoneSurrogate) {
		t.Errorf("compose cutting a pair: %v", err)
	}
}

func TestTransformCursor(t *testing.T) {
	for _, c := range []struct {
		name   string
		cursor int
		op     string
		own    bool
		want   int
	}{
		// Someone else's insert at the cursor leaves it in place
		// (priority); the cursor's own insert moves it.
		{"other's insert at cursor", 2, `[{"retain":2},{"insert":"ab"}]`, false, 2},
		{"own insert at cursor", 2, `[{"retain":2},{"insert":"ab"}]`, true, 4},
		{"insert before cursor", 3, `[{"insert":"😀"}]`, false, 5},
		{"emoji at 0, other", 0, `[{"insert":"😀"}]`, false, 0},
		{"emoji at 0, own", 0, `[{"insert":"😀"}]`, true, 2},
		{"delete before cursor", 5, `[{"retain":1},{"delete":3}]`, false, 2},
		{"cursor inside delete", 2, `[{"retain":1},{"delete":3}]`, true, 1},
		{"embed", 1, `[{"insert":{"image":"a"}}]`, false, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := typ.TransformCursor(c.cursor, mustOp(t, c.op), c.own)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %d want %d", got, c.want)
			}
		})
	}
}

func TestTransformPresence(t *testing.T) {
	for _, c := range []struct {
		rng, op string
		own     bool
		want    string
	}{
		{`{"index":2,"length":3,"color":"red"}`, `[{"insert":"xyz"}]`, false, `{"index":5,"length":3,"color":"red"}`},
		{`{"color":"red","index":0,"length":0,"extra":{"a":[1]}}`, `[{"insert":"xyz"}]`, true, `{"color":"red","index":3,"length":0,"extra":{"a":[1]}}`},
		{`null`, `[{"insert":"xyz"}]`, false, `null`},
		{`{"index":1,"length":4}`, `[{"retain":2},{"delete":2}]`, false, `{"index":1,"length":2}`},
	} {
		got, err := typ.TransformPresence(json.RawMessage(c.rng), mustOp(t, c.op), c.own)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "presence "+c.rng, string(got), c.want)
	}
	for _, bad := range []string{`5`, `{"index":"a","length":1}`, `{"index":1}`, `{"index":1.5,"length":0}`, `{"index":"\ud800","length":0}`, `[1]`} {
		if _, err := typ.TransformPresence(json.RawMessage(bad), mustOp(t, `[]`), false); err == nil {
			t.Errorf("presence %s accepted", bad)
		}
	}
}

func TestDiff(t *testing.T) {
	for _, c := range []struct {
		name, a, b, want string
	}{
		{"attributes", `[{"insert":"ab","attributes":{"bold":true}}]`, `[{"insert":"ab","attributes":{"italic":true}}]`, `[{"retain":2,"attributes":{"bold":null,"italic":true}}]`},
		{"fast-diff shape", `[{"insert":"Hello world"}]`, `[{"insert":"Hello"},{"insert":" big","attributes":{"bold":true}},{"insert":" world"}]`,
			`[{"retain":5},{"retain":1,"attributes":{"bold":true}},{"insert":"big","attributes":{"bold":true}},{"insert":" "}]`},
		{"embed against NUL", `[{"insert":"a\u0000b"}]`, `[{"insert":"a"},{"insert":{"image":"x"}},{"insert":"b"}]`, `[{"retain":1},{"insert":{"image":"x"}},{"delete":1}]`},
		{"equal embeds deeply", `[{"insert":{"image":{"a":1,"b":[1,2]}}}]`, `[{"insert":{"image":{"b":[1,2],"a":1}},"attributes":{"w":1}}]`, `[{"retain":1,"attributes":{"w":1}}]`},
		{"emoji sharing a high surrogate", `[{"insert":"😀"}]`, `[{"insert":"😁"}]`, `[{"insert":"😁"},{"delete":2}]`},
		{"same", `[{"insert":"abc"}]`, `[{"insert":"abc"}]`, `[]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := mustDoc(t, c.a), mustDoc(t, c.b)
			got, err := typ.Diff(a, b)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "diff", encOp(t, got), c.want)
			after, err := typ.Apply(a, got)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "apply(a, diff)", encDoc(t, after), encDoc(t, b))
		})
	}
}

func TestDecode(t *testing.T) {
	valid := []string{
		`[]`, `{"ops":[]}`, `{"ops":[{"insert":"a"}],"other":1}`,
		`[{"insert":"a","attributes":{"b":{"c":[1,null,"x"]}}}]`,
		`[{"retain":1e2},{"delete":3.0}]`,
		`[{"insert":"\ud83d\ude00"}]`,
		` [ { "retain" : 1 , "attributes" : { "bold" : null } } ] `,
	}
	for _, s := range valid {
		if _, err := typ.DecodeOp(json.RawMessage(s)); err != nil {
			t.Errorf("DecodeOp(%s): %v", s, err)
		}
	}
	invalid := map[string]error{
		`{}`:                                  ot.ErrInvalidOp,
		`{"ops":{}}`:                          ot.ErrInvalidOp,
		`null`:                                ot.ErrInvalidOp,
		`"abc"`:                               ot.ErrInvalidOp,
		`[1]`:                                 ot.ErrInvalidOp,
		`[{}]`:                                ot.ErrInvalidOp,
		`[{"insert":""}]`:                     ot.ErrInvalidOp,
		`[{"insert":5}]`:                      ot.ErrInvalidOp,
		`[{"insert":[1]}]`:                    ot.ErrInvalidOp,
		`[{"insert":null}]`:                   ot.ErrInvalidOp,
		`[{"retain":0}]`:                      ot.ErrInvalidOp,
		`[{"retain":-1}]`:                     ot.ErrInvalidOp,
		`[{"retain":1.5}]`:                    ot.ErrInvalidOp,
		`[{"retain":"1"}]`:                    ot.ErrInvalidOp,
		`[{"retain":1e300}]`:                  ot.ErrInvalidOp,
		`[{"delete":0}]`:                      ot.ErrInvalidOp,
		`[{"delete":2,"attributes":{"b":1}}]`: ot.ErrInvalidOp,
		`[{"retain":1,"attributes":null}]`:    ot.ErrInvalidOp,
		`[{"retain":1,"attributes":[1]}]`:     ot.ErrInvalidOp,
		`[{"retain":1,"delete":1}]`:           ot.ErrInvalidOp,
		`[{"insert":"a","retain":1}]`:         ot.ErrInvalidOp,
		`[{"insert":"a","foo":1}]`:            ot.ErrInvalidOp,
		`[{"insert":"a"}`:                     ot.ErrInvalidOp,
		`[{"insert":"a"}] x`:                  ot.ErrInvalidOp,
		`[{"insert":"a\x01"}]`:                ot.ErrInvalidOp,
		`[{"insert":"\ud800"}]`:               ot.ErrLoneSurrogate,
		`[{"insert":"\udc00\ud800"}]`:         ot.ErrLoneSurrogate,
		"[{\"insert\":\"\xff\"}]":             ot.ErrLoneSurrogate,
	}
	for s, want := range invalid {
		_, err := typ.DecodeOp(json.RawMessage(s))
		if !errors.Is(err, want) {
			t.Errorf("DecodeOp(%s) = %v, want %v", s, err, want)
		}
	}
	for s, want := range map[string]error{
		`[{"retain":1}]`:            ot.ErrInvalidSnapshot,
		`[{"delete":1}]`:            ot.ErrInvalidSnapshot,
		`{"ops":[{"insert":1}]}`:    ot.ErrInvalidSnapshot,
		`[{"insert":"\udfff"}]`:     ot.ErrLoneSurrogate,
		`{"ops":[{"insert":"a"}],}`: ot.ErrInvalidSnapshot,
	} {
		if _, err := typ.DecodeSnapshot(json.RawMessage(s)); !errors.Is(err, want) {
			t.Errorf("DecodeSnapshot(%s) = %v, want %v", s, err, want)
		}
		if _, err := typ.Create(json.RawMessage(s)); !errors.Is(err, want) {
			t.Errorf("Create(%s) = %v, want %v", s, err, want)
		}
	}
}

func TestCreateAndEncode(t *testing.T) {
	for _, data := range []string{"", "null"} {
		s, err := typ.Create(json.RawMessage(data))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := typ.EncodeSnapshot(s)
		if string(b) != `{"ops":[]}` {
			t.Errorf("Create(%q) = %s", data, b)
		}
	}
	s, err := typ.Create(json.RawMessage(`[{"insert":"a\"\\\n\u2028\u0000😀","attributes":{"k\"":{"z":1,"a":[-0,1.5e-7,1e21]}}},{"insert":{"b":2,"a":1}}]`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := typ.EncodeSnapshot(s)
	want := `{"ops":[{"insert":"a\"\\\n\u2028\u0000😀","attributes":{"k\"":{"a":[0,1.5e-7,1e+21],"z":1}}},{"insert":{"a":1,"b":2}}]}`
	if string(b) != want {
		t.Errorf("EncodeSnapshot:\n got  %s\n want %s", b, want)
	}
	o := mustOp(t, `{"ops":[{"retain":3,"attributes":{}},{"delete":2}]}`)
	if got := encOp(t, o); got != `[{"retain":3,"attributes":{}},{"delete":2}]` {
		t.Errorf("EncodeOp = %s", got)
	}
	for op, want := range map[string]bool{`[]`: true, `[{"retain":5}]`: true, `[{"retain":5,"attributes":{}}]`: true,
		`[{"retain":5,"attributes":{"b":null}}]`: false, `[{"delete":1}]`: false, `[{"insert":"x"}]`: false} {
		if got := typ.IsNoop(mustOp(t, op)); got != want {
			t.Errorf("IsNoop(%s) = %v", op, got)
		}
	}
	if _, err := typ.Apply(Delta{}, Delta{}); !errors.Is(err, ot.ErrInvalidSnapshot) {
		t.Errorf("Apply on a Delta snapshot: %v", err)
	}
	if _, err := typ.EncodeOp("x"); !errors.Is(err, ot.ErrInvalidOp) {
		t.Errorf("EncodeOp(string): %v", err)
	}
}

func TestUTF16(t *testing.T) {
	for _, s := range []string{"", "abc", "é", "中", "😀", "a😀b👍🏽", "\x00", strings.Repeat("abcdefgh", 5) + "😀" + strings.Repeat("x", 9)} {
		if got, want := utf16Len(s), len(appendUTF16(nil, s)); got != want {
			t.Errorf("utf16Len(%q) = %d want %d", s, got, want)
		}
	}
	s := strings.Repeat("a", 20) + "😀" + "b"
	if e, ok := advance(s, 0, 21); ok || e != 20 {
		t.Errorf("advance into a pair = %d %v", e, ok)
	}
	if e, ok := advance(s, 0, 22); !ok || e != 24 {
		t.Errorf("advance past a pair = %d %v", e, ok)
	}
	if e, ok := advance(s, 3, 100); !ok || e != len(s) {
		t.Errorf("advance past the end = %d %v", e, ok)
	}
}

// TestApplyChunked checks that Apply on a chunked document gives exactly
// the reference's compose(doc, op), op for op, however the document is
// cut, over chains of edits (so chunks are rebuilt, split and joined).
func TestApplyChunked(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := 0; round < 3000; round++ {
		g := &gen{src: randSource{r}, raw: r.IntN(4) == 0, big: r.IntN(2) == 0}
		flat := g.doc()
		doc := g.chunked(flat)
		for step := 0; step < 20; step++ {
			o := g.op(flat, r.IntN(10) == 0, r.IntN(20) == 0)
			want, wantNon, wantErr := compose(flat, o)
			got, gotNon, gotErr := applyDoc(doc, o)
			if (wantErr != nil) != (gotErr != nil) {
				t.Fatalf("errors differ: %v / %v", wantErr, gotErr)
			}
			if wantErr != nil {
				break
			}
			if w, gj := string(appendOps(nil, want)), string(appendOps(nil, got.flat())); w != gj || wantNon != gotNon {
				t.Fatalf("doc %s op %s:\n compose %s (%d)\n apply   %s (%d)", appendOps(nil, flat), appendOps(nil, o), w, wantNon, gj, gotNon)
			}
			for _, c := range got.chunks {
				if len(c.ops) == 0 || cap(c.ops) != len(c.ops) || c.n != makeChunk(c.ops).n {
					t.Fatalf("bad chunk %d ops cap %d n %d", len(c.ops), cap(c.ops), c.n)
				}
			}
			if wantNon > 0 {
				break
			}
			flat, doc = want, got
			if r.IntN(3) == 0 {
				doc = g.chunked(flat)
			}
		}
	}
}

// TestApplyLarge checks edits on a document of many chunks against the
// flat compose, at the start, the end and chunk boundaries.
func TestApplyLarge(t *testing.T) {
	d := mustDoc(t, benchDocJSON(200000)).(Document)
	flat := d.flat()
	if len(d.chunks) < 10 {
		t.Fatalf("only %d chunks", len(d.chunks))
	}
	L := d.Length()
	units := docUnits(flat)
	var cuts []int
	pos := 0
	for _, c := range d.chunks {
		cuts = append(cuts, pos, pos+1, max(pos-1, 0))
		pos += c.n
	}
	cuts = append(cuts, 0, L, L-1, L/2)
	for _, p := range cuts {
		p = safe(units, p)
		bold := &attrSet{kv: []attr{{"bold", "true"}}}
		fmtA := &attrSet{kv: []attr{{"bold", "true"}, {"italic", jsonNull}}}
		end := func(n int) int { return safe(units, min(p+n, L)) - p }
		build := func(f func(w *writer)) []op {
			w := newWriter(4)
			w.retain(p, nil)
			f(&w)
			return w.finish()
		}
		for _, ops := range [][]op{
			build(func(w *writer) { w.push(op{kind: kText, s: "x", n: 1}) }),
			build(func(w *writer) { w.push(op{kind: kText, s: "x", n: 1, attrs: bold}) }),
			build(func(w *writer) { w.delete(end(40)) }),
			build(func(w *writer) { w.retain(end(500), fmtA) }),
			build(func(w *writer) {
				w.push(op{kind: kEmbed, s: `{"image":"a"}`, n: 1})
				d1 := end(1)
				w.delete(d1)
				w.retain(end(d1+3)-d1, nil)
			}),
		} {
			o := string(appendOps(nil, ops))
			want, _, err := compose(flat, ops)
			if err != nil {
				t.Fatal(err)
			}
			got, err := typ.Apply(d, Delta{ops})
			if err != nil {
				t.Fatalf("%s: %v", o, err)
			}
			if w, g := string(appendOps(nil, want)), string(appendOps(nil, got.(Document).flat())); w != g {
				t.Fatalf("apply %s differs from compose", o)
			}
		}
	}
}

// TestEncodeSnapshotReusesChunks: the cached chunk encodings give the
// same bytes as encoding the whole document afresh, across many edits of a
// large document (where chunks are shared between versions).
func TestEncodeSnapshotReusesChunks(t *testing.T) {
	var ty Type
	var ops []string
	for i := 0; i < 3000; i++ {
		attr := ""
		if i%3 == 0 {
			attr = `,"attributes":{"bold":true}`
		}
		ops = append(ops, fmt.Sprintf(`{"insert":"line %d é ✓\n"%s}`, i, attr))
	}
	doc, err := ty.DecodeSnapshot(json.RawMessage("[" + strings.Join(ops, ",") + "]"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		pos := 1 + (i*7919)%20000
		op, err := ty.DecodeOp(json.RawMessage(fmt.Sprintf(`[{"retain":%d},{"insert":"x%d","attributes":{"italic":true}},{"delete":2}]`, pos, i)))
		if err != nil {
			t.Fatal(err)
		}
		if doc, err = ty.Apply(doc, op); err != nil {
			t.Fatal(err)
		}
		got, _ := ty.EncodeSnapshot(doc)
		d := doc.(Document)
		want := append(append([]byte(`{"ops":[`), appendElems(nil, d.flat())...), ']', '}')
		if !bytes.Equal(got, want) {
			t.Fatalf("edit %d: cached encoding differs from a fresh one", i)
		}
	}
}

package json0

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/ot"
)

// The expected values below were computed with the reference (ot-json0
// 1.1.0 under Node), except where a case says the port deliberately
// refuses something the reference does leniently.

var ty Type

func mustOp(tb testing.TB, s string) ot.Op {
	tb.Helper()
	op, err := ty.DecodeOp(json.RawMessage(s))
	if err != nil {
		tb.Fatalf("DecodeOp(%s): %v", s, err)
	}
	return op
}

func mustDoc(tb testing.TB, s string) ot.Snapshot {
	tb.Helper()
	d, err := ty.DecodeSnapshot(json.RawMessage(s))
	if err != nil {
		tb.Fatalf("DecodeSnapshot(%s): %v", s, err)
	}
	return d
}

func sameJSON(tb testing.TB, got []byte, want string) bool {
	tb.Helper()
	return reflect.DeepEqual(canonJSON(tb, got), canonJSON(tb, []byte(want)))
}

type applyCase struct {
	name, doc, op string
	want          string // expected document, or "" when an error is expected
	err           error  // expected error (errors.Is)
}

var applyCases = []applyCase{
	// lm: p ends at the source index, lm is the index after removal.
	{name: "lm forward", doc: `[0,1,2,3]`, op: `[{"p":[0],"lm":2}]`, want: `[1,2,0,3]`},
	{name: "lm backward", doc: `[0,1,2,3]`, op: `[{"p":[3],"lm":1}]`, want: `[0,3,1,2]`},
	{name: "lm to itself", doc: `[0,1,2]`, op: `[{"p":[1],"lm":1}]`, want: `[0,1,2]`},
	{name: "lm to last", doc: `[0,1,2]`, op: `[{"p":[0],"lm":2}]`, want: `[1,2,0]`},
	{name: "lm past the end appends", doc: `[0,1,2]`, op: `[{"p":[0],"lm":9}]`, want: `[1,2,0]`},
	{name: "lm nested", doc: `{"l":[{"a":1},{"b":2}]}`, op: `[{"p":["l",1],"lm":0}]`, want: `{"l":[{"b":2},{"a":1}]}`},
	// Lists.
	{name: "li", doc: `[1,2]`, op: `[{"p":[1],"li":{"x":[]}}]`, want: `[1,{"x":[]},2]`},
	{name: "li past the end appends", doc: `[1,2]`, op: `[{"p":[7],"li":3}]`, want: `[1,2,3]`},
	{name: "ld", doc: `[1,2,3]`, op: `[{"p":[1],"ld":2}]`, want: `[1,3]`},
	{name: "ld value not checked", doc: `[1,2,3]`, op: `[{"p":[1],"ld":"whatever"}]`, want: `[1,3]`},
	{name: "ld past the end does nothing", doc: `[1]`, op: `[{"p":[3],"ld":1}]`, want: `[1]`},
	{name: "list replace", doc: `[1,2]`, op: `[{"p":[0],"ld":1,"li":"one"}]`, want: `["one",2]`},
	// Objects.
	{name: "oi", doc: `{}`, op: `[{"p":["k😀"],"oi":null}]`, want: `{"k😀":null}`},
	{name: "oi overwrites without od", doc: `{"a":1}`, op: `[{"p":["a"],"oi":2}]`, want: `{"a":2}`},
	{name: "od", doc: `{"a":1,"b":2}`, op: `[{"p":["a"],"od":1}]`, want: `{"b":2}`},
	{name: "object replace", doc: `{"a":1}`, op: `[{"p":["a"],"od":1,"oi":[1]}]`, want: `{"a":[1]}`},
	{name: "number as object key", doc: `{"0":5}`, op: `[{"p":[0],"na":1}]`, want: `{"0":6}`},
	{name: "root replace", doc: `{"a":1}`, op: `[{"p":[],"od":{"a":1},"oi":[true]}]`, want: `[true]`},
	{name: "root oi", doc: `5`, op: `[{"p":[],"oi":"x"}]`, want: `"x"`},
	// Numbers.
	{name: "na", doc: `{"n":1.5}`, op: `[{"p":["n"],"na":0.25}]`, want: `{"n":1.75}`},
	{name: "na on root", doc: `-2`, op: `[{"p":[],"na":-3}]`, want: `-5`},
	{name: "na in list", doc: `[1,[2]]`, op: `[{"p":[1,0],"na":1e12}]`, want: `[1,[1000000000002]]`},
	// Strings: offsets in UTF-16 code units.
	{name: "si after emoji", doc: `{"s":"a😀b"}`, op: `[{"p":["s",3],"si":"X"}]`, want: `{"s":"a😀Xb"}`},
	{name: "si before emoji", doc: `{"s":"a😀b"}`, op: `[{"p":["s",1],"si":"𝄞"}]`, want: `{"s":"a𝄞😀b"}`},
	{name: "si past the end appends", doc: `["ab"]`, op: `[{"p":[0,9],"si":"c"}]`, want: `["abc"]`},
	{name: "sd emoji", doc: `{"s":"a😀b"}`, op: `[{"p":["s",1],"sd":"😀"}]`, want: `{"s":"ab"}`},
	{name: "sd combining mark split off", doc: `["e\u0301x"]`, op: `[{"p":[0,1],"sd":"\u0301"}]`, want: `["ex"]`},
	{name: "si in root string", doc: `"👍🏽"`, op: `[{"p":[2],"si":"!"}]`, want: `"👍!🏽"`},
	{name: "refused: si cutting a pair (the reference makes lone surrogates)", doc: `{"s":"a😀b"}`, op: `[{"p":["s",2],"si":"X"}]`, err: ot.ErrLoneSurrogate},
	{name: "sd cutting a pair", doc: `{"s":"😀"}`, op: `[{"p":["s",1],"sd":"x"}]`, err: ot.ErrLoneSurrogate},
	{name: "sd mismatch", doc: `{"s":"abc"}`, op: `[{"p":["s",1],"sd":"x"}]`, err: ot.ErrApply},
	{name: "sd past the end", doc: `{"s":"abc"}`, op: `[{"p":["s",2],"sd":"cd"}]`, err: ot.ErrApply},
	// text0 subtype.
	{name: "text0", doc: `{"s":"héllo"}`, op: `[{"p":["s"],"t":"text0","o":[{"p":1,"d":"é"},{"p":1,"i":"e"}]}]`, want: `{"s":"hello"}`},
	{name: "text0 astral", doc: `["𠮷x"]`, op: `[{"p":[0],"t":"text0","o":[{"p":2,"i":"😀"},{"p":0,"d":"𠮷"}]}]`, want: `["😀x"]`},
	{name: "text0 root", doc: `"abc"`, op: `[{"p":[],"t":"text0","o":[{"p":3,"i":"d"}]}]`, want: `"abcd"`},
	{name: "text0 empty op", doc: `{"s":"abc"}`, op: `[{"p":["s"],"t":"text0","o":[]}]`, want: `{"s":"abc"}`},
	{name: "refused: text0 cutting a pair", doc: `["😀"]`, op: `[{"p":[0],"t":"text0","o":[{"p":1,"i":"x"}]}]`, err: ot.ErrLoneSurrogate},
	{name: "text0 delete mismatch", doc: `["ab"]`, op: `[{"p":[0],"t":"text0","o":[{"p":0,"d":"b"}]}]`, err: ot.ErrApply},
	// Multi-component ops apply in order.
	{name: "sequence", doc: `{"l":[]}`, op: `[{"p":["l",0],"li":"ab"},{"p":["l",0,2],"si":"c"},{"p":["n"],"oi":1},{"p":["n"],"na":2}]`, want: `{"l":["abc"],"n":3}`},
	{name: "second component fails", doc: `{"l":[]}`, op: `[{"p":["l",0],"li":1},{"p":["x"],"na":1}]`, err: ot.ErrApply},
	// Errors the reference throws.
	{name: "na on missing key", doc: `{}`, op: `[{"p":["a"],"na":1}]`, err: ot.ErrApply},
	{name: "na on string", doc: `{"a":"1"}`, op: `[{"p":["a"],"na":1}]`, err: ot.ErrApply},
	{name: "li into object", doc: `{"a":{}}`, op: `[{"p":["a",0],"li":1}]`, err: ot.ErrApply},
	{name: "li into string", doc: `{"a":"xy"}`, op: `[{"p":["a",0],"li":1}]`, err: ot.ErrApply},
	{name: "oi into list", doc: `{"a":[]}`, op: `[{"p":["a","k"],"oi":1}]`, err: ot.ErrApply},
	{name: "missing parent", doc: `{}`, op: `[{"p":["a","b","c"],"oi":1}]`, err: ot.ErrApply},
	{name: "through null", doc: `{"a":null}`, op: `[{"p":["a","b"],"oi":1}]`, err: ot.ErrApply},
	{name: "through number", doc: `{"a":5}`, op: `[{"p":["a","b"],"oi":1}]`, err: ot.ErrApply},
	{name: "string op on number", doc: `{"a":5}`, op: `[{"p":["a"],"t":"text0","o":[{"p":0,"i":"x"}]}]`, err: ot.ErrApply},
	{name: "refused: text0 on a list (the reference makes a string)", doc: `[]`, op: `[{"p":[],"t":"text0","o":[{"p":0,"i":"x"}]}]`, err: ot.ErrApply},
	{name: "oi on object holding constructor", doc: `{"o":{"constructor":1}}`, op: `[{"p":["o","x"],"oi":1}]`, err: ot.ErrApply},
	// Deliberately refused, where the reference is lenient (see the package doc).
	{name: "refused: string index into list", doc: `[1]`, op: `[{"p":["0"],"na":1}]`, err: ot.ErrApply},
	{name: "refused: si into list", doc: `{"a":[1]}`, op: `[{"p":["a",0],"si":"x"}]`, err: ot.ErrApply},
	{name: "refused: lm from past the end", doc: `[1]`, op: `[{"p":[3],"lm":0}]`, err: ot.ErrApply},
	{name: "refused: replace past the end", doc: `[1]`, op: `[{"p":[1],"ld":1,"li":2}]`, err: ot.ErrApply},
	{name: "refused: od of root", doc: `{}`, op: `[{"p":[],"od":{}}]`, err: ot.ErrApply},
	{name: "refused: na overflow", doc: `[1.7e308]`, op: `[{"p":[0],"na":1.7e308}]`, err: ot.ErrApply},
}

func TestApply(t *testing.T) {
	for _, c := range applyCases {
		t.Run(c.name, func(t *testing.T) {
			doc := mustDoc(t, c.doc)
			before := encodeDoc(t, doc)
			got, err := ty.Apply(doc, mustOp(t, c.op))
			if after := encodeDoc(t, doc); !bytes.Equal(before, after) {
				t.Fatalf("input mutated: %s -> %s", before, after)
			}
			if c.err != nil {
				if err == nil {
					t.Fatalf("want error %v, got %s", c.err, encodeDoc(t, got))
				}
				if !errors.Is(err, c.err) {
					t.Fatalf("error %v does not wrap %v", err, c.err)
				}
				if !errors.Is(err, ot.ErrApply) {
					t.Fatalf("error %v does not wrap ErrApply", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := encodeDoc(t, got); !sameJSON(t, g, c.want) {
				t.Fatalf("got %s, want %s", g, c.want)
			}
		})
	}
}

type transformCase struct {
	name, a, b string
	left       string // T(a, b, left)
	right      string // T(a, b, right)
}

var transformCases = []transformCase{
	{name: "li vs li same index", a: `[{"p":[1],"li":"a"}]`, b: `[{"p":[1],"li":"b"}]`,
		left: `[{"p":[1],"li":"a"}]`, right: `[{"p":[2],"li":"a"}]`},
	{name: "li vs li before", a: `[{"p":[3],"li":"a"}]`, b: `[{"p":[1],"li":"b"}]`,
		left: `[{"p":[4],"li":"a"}]`, right: `[{"p":[4],"li":"a"}]`},
	{name: "oi vs oi same key", a: `[{"p":["k"],"oi":1}]`, b: `[{"p":["k"],"oi":2}]`,
		left: `[{"p":["k"],"od":2,"oi":1}]`, right: `[]`},
	{name: "oi vs object replace", a: `[{"p":["k"],"oi":1}]`, b: `[{"p":["k"],"od":0,"oi":2}]`,
		left: `[{"p":["k"],"od":2,"oi":1}]`, right: `[]`},
	{name: "object replace vs replace", a: `[{"p":["k"],"od":0,"oi":1}]`, b: `[{"p":["k"],"od":0,"oi":2}]`,
		left: `[{"p":["k"],"od":2,"oi":1}]`, right: `[]`},
	{name: "list replace vs replace", a: `[{"p":[0],"ld":0,"li":1}]`, b: `[{"p":[0],"ld":0,"li":2}]`,
		left: `[{"p":[0],"ld":2,"li":1}]`, right: `[]`},
	{name: "list replace vs delete", a: `[{"p":[0],"ld":0,"li":1}]`, b: `[{"p":[0],"ld":0}]`,
		left: `[{"p":[0],"li":1}]`, right: `[{"p":[0],"li":1}]`},
	{name: "ld vs ld same", a: `[{"p":[2],"ld":"x"}]`, b: `[{"p":[2],"ld":"x"}]`, left: `[]`, right: `[]`},
	{name: "lm vs lm same item", a: `[{"p":[0],"lm":2}]`, b: `[{"p":[0],"lm":1}]`,
		left: `[{"p":[1],"lm":2}]`, right: `[]`},
	{name: "lm vs lm crossing", a: `[{"p":[0],"lm":3}]`, b: `[{"p":[3],"lm":0}]`,
		left: `[{"p":[1],"lm":3}]`, right: `[{"p":[1],"lm":3}]`},
	{name: "lm vs li before", a: `[{"p":[2],"lm":4}]`, b: `[{"p":[0],"li":"x"}]`,
		left: `[{"p":[3],"lm":5}]`, right: `[{"p":[3],"lm":5}]`},
	{name: "lm vs ld of the moved item", a: `[{"p":[1],"lm":3}]`, b: `[{"p":[1],"ld":"x"}]`, left: `[]`, right: `[]`},
	{name: "li vs lm", a: `[{"p":[2],"li":"x"}]`, b: `[{"p":[0],"lm":3}]`,
		left: `[{"p":[1],"li":"x"}]`, right: `[{"p":[1],"li":"x"}]`},
	{name: "edit follows lm", a: `[{"p":[0,"n"],"na":1}]`, b: `[{"p":[0],"lm":2}]`,
		left: `[{"p":[2,"n"],"na":1}]`, right: `[{"p":[2,"n"],"na":1}]`},
	{name: "edit inside deleted list item", a: `[{"p":[1,"x"],"oi":1}]`, b: `[{"p":[1],"ld":{}}]`, left: `[]`, right: `[]`},
	{name: "edit inside deleted key", a: `[{"p":["o","l",0],"li":1}]`, b: `[{"p":["o"],"od":{"l":[]}}]`, left: `[]`, right: `[]`},
	{name: "edit inside replaced key", a: `[{"p":["o","s",0],"si":"x"}]`, b: `[{"p":["o"],"od":{"s":""},"oi":3}]`, left: `[]`, right: `[]`},
	{name: "ld carries the concurrent edit", a: `[{"p":[0],"ld":{"n":1,"s":"ab"}}]`, b: `[{"p":[0,"n"],"na":2},{"p":[0,"s",1],"si":"X"}]`,
		left: `[{"p":[0],"ld":{"n":3,"s":"aXb"}}]`, right: `[{"p":[0],"ld":{"n":3,"s":"aXb"}}]`},
	{name: "od carries the concurrent edit", a: `[{"p":["k"],"od":[1,2]}]`, b: `[{"p":["k",0],"lm":1}]`,
		left: `[{"p":["k"],"od":[2,1]}]`, right: `[{"p":["k"],"od":[2,1]}]`},
	{name: "si vs si same offset", a: `[{"p":["s",1],"si":"A"}]`, b: `[{"p":["s",1],"si":"B"}]`,
		left: `[{"p":["s",1],"si":"A"}]`, right: `[{"p":["s",2],"si":"A"}]`},
	{name: "si after emoji insert", a: `[{"p":["s",4],"si":"A"}]`, b: `[{"p":["s",0],"si":"😀"}]`,
		left: `[{"p":["s",6],"si":"A"}]`, right: `[{"p":["s",6],"si":"A"}]`},
	{name: "sd vs sd overlap", a: `[{"p":["s",1],"sd":"b😀"}]`, b: `[{"p":["s",2],"sd":"😀d"}]`,
		left: `[{"p":["s",1],"sd":"b"}]`, right: `[{"p":["s",1],"sd":"b"}]`},
	{name: "sd split by si", a: `[{"p":["s",0],"sd":"ab😀"}]`, b: `[{"p":["s",2],"si":"XY"}]`,
		left: `[{"p":["s",0],"sd":"ab"},{"p":["s",2],"sd":"😀"}]`, right: `[{"p":["s",0],"sd":"ab"},{"p":["s",2],"sd":"😀"}]`},
	{name: "text0 vs text0", a: `[{"p":["s"],"t":"text0","o":[{"p":1,"i":"x"}]}]`, b: `[{"p":["s"],"t":"text0","o":[{"p":0,"d":"ab"}]}]`,
		left: `[{"p":["s"],"t":"text0","o":[{"p":0,"i":"x"}]}]`, right: `[{"p":["s"],"t":"text0","o":[{"p":0,"i":"x"}]}]`},
	{name: "text0 delete swallowed", a: `[{"p":["s"],"t":"text0","o":[{"p":1,"d":"b"}]}]`, b: `[{"p":["s"],"t":"text0","o":[{"p":0,"d":"abc"}]}]`,
		left: `[]`, right: `[]`},
	{name: "na vs na", a: `[{"p":["n"],"na":2}]`, b: `[{"p":["n"],"na":3}]`,
		left: `[{"p":["n"],"na":2}]`, right: `[{"p":["n"],"na":2}]`},
	{name: "multi-component", a: `[{"p":[0],"li":"a"},{"p":[2],"ld":"z"}]`, b: `[{"p":[0],"ld":"x"},{"p":[0],"li":"b"}]`,
		left: `[{"p":[0],"li":"a"},{"p":[2],"ld":"z"}]`, right: `[{"p":[1],"li":"a"},{"p":[2],"ld":"z"}]`},
	{name: "si vs text0 on the same string (reference leaves it alone)", a: `[{"p":["s",0],"si":"x"}]`, b: `[{"p":["s"],"t":"text0","o":[{"p":0,"i":"y"}]}]`,
		left: `[{"p":["s",0],"si":"x"}]`, right: `[{"p":["s",0],"si":"x"}]`},
	{name: "against nothing", a: `[{"p":["x"],"oi":1}]`, b: `[]`, left: `[{"p":["x"],"oi":1}]`, right: `[{"p":["x"],"oi":1}]`},
}

func TestTransform(t *testing.T) {
	for _, c := range transformCases {
		t.Run(c.name, func(t *testing.T) {
			a, b := mustOp(t, c.a), mustOp(t, c.b)
			aBefore, _ := ty.EncodeOp(a)
			for _, sc := range []struct {
				side ot.Side
				want string
			}{{ot.Left, c.left}, {ot.Right, c.right}} {
				got, err := ty.Transform(a, b, sc.side)
				if err != nil {
					t.Fatalf("%v: %v", sc.side, err)
				}
				g, _ := ty.EncodeOp(got)
				if !sameJSON(t, g, sc.want) {
					t.Errorf("%v: got %s, want %s", sc.side, g, sc.want)
				}
			}
			if aAfter, _ := ty.EncodeOp(a); !bytes.Equal(aBefore, aAfter) {
				t.Fatalf("Transform mutated its input: %s -> %s", aBefore, aAfter)
			}
		})
	}
}

func TestTransformDeleteMismatch(t *testing.T) {
	// text0 checks that overlapping deletes agree on the text.
	a := mustOp(t, `[{"p":["s"],"t":"text0","o":[{"p":0,"d":"ab"}]}]`)
	b := mustOp(t, `[{"p":["s"],"t":"text0","o":[{"p":1,"d":"x"}]}]`)
	if _, err := ty.Transform(a, b, ot.Left); err == nil {
		t.Fatal("want an error for deletes of different text in the same place")
	}
}

type composeCase struct{ name, a, b, want string }

var composeCases = []composeCase{
	{"na + na", `[{"p":["n"],"na":1}]`, `[{"p":["n"],"na":-3}]`, `[{"p":["n"],"na":-2}]`},
	{"li then ld of the same primitive", `[{"p":[0],"li":5}]`, `[{"p":[0],"ld":5}]`, `[]`},
	{"li then ld of an object stays", `[{"p":[0],"li":{}}]`, `[{"p":[0],"ld":{}}]`, `[{"p":[0],"li":{}},{"p":[0],"ld":{}}]`},
	{"replace then ld keeps the delete", `[{"p":[0],"ld":1,"li":2}]`, `[{"p":[0],"ld":2}]`, `[{"p":[0],"ld":1}]`},
	{"oi then od", `[{"p":["k"],"oi":1}]`, `[{"p":["k"],"od":1}]`, `[]`},
	{"od then oi", `[{"p":["k"],"od":1}]`, `[{"p":["k"],"oi":2}]`, `[{"p":["k"],"od":1,"oi":2}]`},
	{"oi then replace", `[{"p":["k"],"oi":1}]`, `[{"p":["k"],"od":1,"oi":2}]`, `[{"p":["k"],"oi":2}]`},
	{"replace then od", `[{"p":["k"],"od":0,"oi":1}]`, `[{"p":["k"],"od":1}]`, `[{"p":["k"],"od":0}]`},
	{"si + si touching", `[{"p":["s",1],"si":"ab"}]`, `[{"p":["s",3],"si":"😀"}]`, `[{"p":["s",1],"si":"ab😀"}]`},
	{"si + si inside", `[{"p":["s",1],"si":"a😀b"}]`, `[{"p":["s",4],"si":"X"}]`, `[{"p":["s",1],"si":"a😀Xb"}]`},
	{"sd + sd backspace", `[{"p":["s",3],"sd":"c"}]`, `[{"p":["s",1],"sd":"😀"}]`, `[{"p":["s",1],"sd":"😀c"}]`},
	{"si + sd stay apart", `[{"p":["s",0],"si":"a"}]`, `[{"p":["s",0],"sd":"a"}]`, `[{"p":["s",0],"si":"a"},{"p":["s",0],"sd":"a"}]`},
	{"si on another string", `[{"p":["s",0],"si":"a"}]`, `[{"p":["t",0],"si":"b"}]`, `[{"p":["s",0],"si":"a"},{"p":["t",0],"si":"b"}]`},
	{"text0 + text0", `[{"p":["s"],"t":"text0","o":[{"p":0,"i":"a"}]}]`, `[{"p":["s"],"t":"text0","o":[{"p":1,"i":"b"}]}]`,
		`[{"p":["s"],"t":"text0","o":[{"p":0,"i":"ab"}]}]`},
	{"lm to itself after the same path dropped", `[{"p":[2],"li":1}]`, `[{"p":[2],"lm":2}]`, `[{"p":[2],"li":1}]`},
	{"lm to itself elsewhere kept", `[{"p":[0],"li":1}]`, `[{"p":[2],"lm":2}]`, `[{"p":[0],"li":1},{"p":[2],"lm":2}]`},
	{"unrelated", `[{"p":["a"],"oi":1}]`, `[{"p":["b"],"oi":2}]`, `[{"p":["a"],"oi":1},{"p":["b"],"oi":2}]`},
}

func TestCompose(t *testing.T) {
	for _, c := range composeCases {
		t.Run(c.name, func(t *testing.T) {
			a := mustOp(t, c.a)
			aBefore, _ := ty.EncodeOp(a)
			got, err := ty.Compose(a, mustOp(t, c.b))
			if err != nil {
				t.Fatal(err)
			}
			if g, _ := ty.EncodeOp(got); !sameJSON(t, g, c.want) {
				t.Errorf("got %s, want %s", g, c.want)
			}
			if aAfter, _ := ty.EncodeOp(a); !bytes.Equal(aBefore, aAfter) {
				t.Fatalf("Compose mutated its input: %s -> %s", aBefore, aAfter)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"p":["a"],"oi":1}`, `[{"p":["a"],"oi":1}]`},
		{`{"na":2}`, `[{"p":[],"na":2}]`},
		{`[{"p":null,"na":2},{"na":3}]`, `[{"p":[],"na":5}]`},
		{`[{"p":["s",0],"si":"a"},{"p":["s",1],"si":"b"},{"p":["s",0],"sd":"ab"}]`, `[{"p":["s",0],"si":"ab"},{"p":["s",0],"sd":"ab"}]`},
		{`[{"p":[1],"lm":1}]`, `[{"p":[1],"lm":1}]`}, // the first component is always kept
		{`[{"p":[1],"li":1},{"p":[1],"lm":1}]`, `[{"p":[1],"li":1}]`},
		{`[{"p":[0],"li":1},{"p":[1],"lm":1}]`, `[{"p":[0],"li":1},{"p":[1],"lm":1}]`},
		{`[]`, `[]`},
	} {
		got, err := ty.Normalize(json.RawMessage(c.in))
		if err != nil {
			t.Errorf("Normalize(%s): %v", c.in, err)
			continue
		}
		if g, _ := ty.EncodeOp(got); !sameJSON(t, g, c.want) {
			t.Errorf("Normalize(%s) = %s, want %s", c.in, g, c.want)
		}
	}
	for _, in := range []string{`5`, `[1]`, `[{"p":"a","na":1}]`, `{"p":["__proto__"],"oi":1}`, `"\ud800"`} {
		if _, err := ty.Normalize(json.RawMessage(in)); err == nil {
			t.Errorf("Normalize(%s) accepted", in)
		}
	}
}

func TestInvert(t *testing.T) {
	for _, c := range []struct{ doc, op, want string }{
		{`[0,1,2]`, `[{"p":[0],"lm":2}]`, `[{"p":[2],"lm":0}]`},
		{`{"s":"a😀"}`, `[{"p":["s",1],"sd":"😀"},{"p":["s",0],"si":"x"}]`, `[{"p":["s",0],"sd":"x"},{"p":["s",1],"si":"😀"}]`},
		{`{"s":"ab"}`, `[{"p":["s"],"t":"text0","o":[{"p":0,"i":"x"},{"p":2,"d":"b"}]}]`,
			`[{"p":["s"],"t":"text0","o":[{"p":2,"i":"b"},{"p":0,"d":"x"}]}]`},
		{`{"k":1,"l":[5]}`, `[{"p":["k"],"od":1,"oi":2},{"p":["k"],"na":3},{"p":["l",0],"ld":5,"li":6}]`,
			`[{"p":["l",0],"ld":6,"li":5},{"p":["k"],"na":-3},{"p":["k"],"od":2,"oi":1}]`},
	} {
		op := mustOp(t, c.op)
		inv, err := ty.Invert(op)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := ty.EncodeOp(inv)
		if !sameJSON(t, g, c.want) {
			t.Errorf("Invert(%s) = %s, want %s", c.op, g, c.want)
		}
		doc := mustDoc(t, c.doc)
		back, err := ty.Apply(applyBoth(t, ty, doc, op), inv)
		if err != nil {
			t.Fatal(err)
		}
		if b := encodeDoc(t, back); !sameJSON(t, b, c.doc) {
			t.Errorf("round trip of %s gave %s, want %s", c.op, b, c.doc)
		}
	}
}

func TestDecodeOpInvalid(t *testing.T) {
	cases := []struct{ op, msg string }{
		{`{"p":[],"na":1}`, "must be an array"},
		{`null`, "must be an array"},
		{`[5]`, "Missing path"},
		{`[{"na":1}]`, "Missing path"},
		{`[{"p":"a","na":1}]`, "Missing path"},
		{`[{"p":{"a":1},"oi":1}]`, "Missing path"},
		{`[{"p":[true],"oi":1}]`, "Invalid path segment"},
		{`[{"p":[null],"oi":1}]`, "Invalid path segment"},
		{`[{"p":[-1],"li":1}]`, "Invalid path segment"},
		{`[{"p":[1.5],"li":1}]`, "Invalid path segment"},
		{`[{"p":["a"]}]`, "missing instruction"},
		{`[{"p":["a"],"oi":1,"x":2}]`, "unknown field"},
		{`[{"p":["a"],"oi":1,"na":2}]`, "mixes instructions"},
		{`[{"p":["a",0],"si":"x","sd":"y"}]`, "mixes instructions"},
		{`[{"p":["a"],"t":"no-such-type","o":[]}]`, "unknown subtype"},
		{`[{"p":["a"],"t":"text0"}]`, "missing instruction"},
		{`[{"p":["a"],"o":[]}]`, "missing instruction"},
		{`[{"p":["a"],"t":"text0","o":{}}]`, "must be an array"},
		{`[{"p":["a"],"t":"text0","o":[{"p":0,"i":"a","d":"b"}]}]`, "needs an i or d"},
		{`[{"p":["a"],"t":"text0","o":[{"p":0}]}]`, "needs an i or d"},
		{`[{"p":["a"],"t":"text0","o":[{"i":"a"}]}]`, "missing position"},
		{`[{"p":["a"],"t":"text0","o":[{"p":-1,"i":"a"}]}]`, "negative"},
		{`[{"p":["a"],"si":"y"}]`, "missing position"},
		{`[],{}`, "invalid"},
		{`[{"p":[],"si":"y"}]`, "missing position"},
		{`[{"p":["a",0],"si":5}]`, "si must be a string"},
		{`[{"p":["a"],"na":"1"}]`, "na must be a number"},
		{`[{"p":["a"],"na":null}]`, "na must be a number"},
		{`[{"p":["a"],"li":1}]`, "not a list"},
		{`[{"p":[],"ld":1}]`, "not a list"},
		{`[{"p":[0],"lm":-1}]`, "lm must be"},
		{`[{"p":[0],"lm":"1"}]`, "lm must be"},
		{`[{"p":["a"],"oi":1e999}]`, "invalid"},
	}
	for _, name := range []string{"__proto__", "constructor", "toString", "valueOf", "hasOwnProperty",
		"isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "__defineGetter__",
		"__defineSetter__", "__lookupGetter__", "__lookupSetter__"} {
		cases = append(cases,
			struct{ op, msg string }{`[{"p":["` + name + `"],"oi":1}]`, "Invalid path segment"},
			struct{ op, msg string }{`[{"p":["a","` + name + `",0],"si":"x"}]`, "Invalid path segment"})
	}
	for _, c := range cases {
		_, err := ty.DecodeOp(json.RawMessage(c.op))
		if err == nil {
			t.Errorf("DecodeOp(%s) accepted", c.op)
			continue
		}
		if !errors.Is(err, ot.ErrInvalidOp) {
			t.Errorf("DecodeOp(%s): %v does not wrap ErrInvalidOp", c.op, err)
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("DecodeOp(%s): %q does not say %q", c.op, err, c.msg)
		}
	}
	// Prototype names are fine as values and as strings inside values.
	mustOp(t, `[{"p":["a"],"oi":{"constructor":"toString"}}]`)
}

func TestLoneSurrogates(t *testing.T) {
	for _, raw := range []string{`"\ud800"`, `["\udc00x"]`, `{"\ud83d":1}`, "\"\xff\""} {
		if _, err := ty.DecodeSnapshot(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("DecodeSnapshot(%s): %v", raw, err)
		}
		if _, err := ty.Create(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("Create(%s): %v", raw, err)
		}
	}
	for _, raw := range []string{`[{"p":["a",0],"si":"\ud800"}]`, `[{"p":["\udfff"],"oi":1}]`} {
		if _, err := ty.DecodeOp(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("DecodeOp(%s): %v", raw, err)
		}
		if _, err := ty.Normalize(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("Normalize(%s): %v", raw, err)
		}
	}
	// A proper pair written as escapes is fine.
	d := mustDoc(t, `"\ud83d\ude00"`)
	if d != "😀" {
		t.Fatalf("got %q", d)
	}
	// Compose that would cut a pair inside an insert is refused.
	a := mustOp(t, `[{"p":["s",0],"si":"😀"}]`)
	b := mustOp(t, `[{"p":["s",1],"si":"x"}]`)
	if _, err := ty.Compose(a, b); !errors.Is(err, ot.ErrLoneSurrogate) {
		t.Fatalf("Compose: %v", err)
	}
}

func TestCreateAndSnapshots(t *testing.T) {
	s, err := ty.Create(nil)
	if err != nil || s != nil {
		t.Fatalf("Create(nil) = %v, %v", s, err)
	}
	s, err = ty.Create(json.RawMessage(`{"a":[1,"x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if g := encodeDoc(t, s); string(g) != `{"a":[1,"x"]}` {
		t.Fatalf("got %s", g)
	}
	for _, bad := range []string{``, `{`, `1 2`, `[1,]`} {
		if _, err := ty.DecodeSnapshot(json.RawMessage(bad)); !errors.Is(err, ot.ErrInvalidSnapshot) {
			t.Errorf("DecodeSnapshot(%q): %v", bad, err)
		}
	}
	// Numbers are written as JSON.stringify writes them; strings escape only
	// what JSON needs, plus U+2028/U+2029.
	for in, want := range map[string]string{
		`-0`: `0`, `1e21`: `1e+21`, `1e-7`: `1e-7`, `0.1`: `0.1`, `123456789012`: `123456789012`,
		`1.7976931348623157e308`: `1.7976931348623157e+308`, `"\u0001\u2028<>&"`: `"\u0001\u2028<>&"`, // U+2028 escaped (same JSON value as JSON.stringify's)
	} {
		if g := encodeDoc(t, mustDoc(t, in)); string(g) != want {
			t.Errorf("encode %s = %s, want %s", in, g, want)
		}
	}
}

func TestApplySharesUntouchedSubtrees(t *testing.T) {
	doc := mustDoc(t, `{"big":{"x":[1,2,3]},"l":[{"a":1},{"b":2}],"s":"abc"}`)
	out, err := ty.Apply(doc, mustOp(t, `[{"p":["l",1,"b"],"na":1}]`))
	if err != nil {
		t.Fatal(err)
	}
	in, res := doc.(map[string]any), out.(map[string]any)
	if reflect.ValueOf(in["big"]).UnsafePointer() != reflect.ValueOf(res["big"]).UnsafePointer() {
		t.Error("untouched subtree was copied")
	}
	if reflect.ValueOf(in["l"].([]any)[0]).UnsafePointer() != reflect.ValueOf(res["l"].([]any)[0]).UnsafePointer() {
		t.Error("untouched list item was copied")
	}
	if in["l"].([]any)[1].(map[string]any)["b"] != 2.0 {
		t.Error("input changed")
	}
}

func TestIsNoopAndNames(t *testing.T) {
	if !ty.IsNoop(mustOp(t, `[]`)) || ty.IsNoop(mustOp(t, `[{"p":["a"],"na":0}]`)) {
		t.Error("IsNoop")
	}
	if ty.Name() != "json0" || ty.URI() != "http://sharejs.org/types/JSONv0" {
		t.Error("names")
	}
	// Ops may also be passed as raw JSON.
	if _, err := ty.Apply(nil, json.RawMessage(`[{"p":[],"oi":1}]`)); err != nil {
		t.Error(err)
	}
	if _, err := ty.Apply(nil, 5); !errors.Is(err, ot.ErrInvalidOp) {
		t.Errorf("Apply with a non-op: %v", err)
	}
}

func TestUTF16Helpers(t *testing.T) {
	s := "ab😀cdefghij😀" + strings.Repeat("x", 20) + "é"
	if n := utf16Len(s); n != 2+2+8+2+20+1 {
		t.Fatalf("utf16Len = %d", n)
	}
	for u, want := range map[int]int{0: 0, 2: 2, 4: 6, 12: 14, 14: 18, 35: 40, 99: len(s)} {
		b, _, err := byteOffset(s, u)
		if err != nil || b != want {
			t.Errorf("byteOffset(%d) = %d, %v; want %d", u, b, err, want)
		}
	}
	for _, u := range []int{3, 13} {
		if _, _, err := byteOffset(s, u); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("byteOffset(%d): %v", u, err)
		}
	}
	if got, _ := slice16("a😀b", 1, 3); got != "😀" {
		t.Errorf("slice16 = %q", got)
	}
	if compareUTF16("\uffff", "😀") <= 0 {
		t.Error("compareUTF16 must order by code units: U+FFFF > U+D83D")
	}
}

func TestByteOffsetAgainstRunes(t *testing.T) {
	// Compare the word-at-a-time scan with a plain per-rune reference.
	pieces := []string{"a", "é", "中", "😀", "\x00", "𠮷", "ab", "zzzzzzz"}
	r := newRng([]byte("scan"))
	for n := 0; n < 3000; n++ {
		s := ""
		for k := r.intn(30); k > 0; k-- {
			s += pieces[r.intn(len(pieces))]
		}
		units := 0
		var want []int // want[u] = byte offset, -1 for a split
		for i, c := range s {
			want = append(want, i)
			if c >= 0x10000 {
				want = append(want, -1)
				units++
			}
			units++
		}
		want = append(want, len(s))
		if got := utf16Len(s); got != units {
			t.Fatalf("utf16Len(%q) = %d, want %d", s, got, units)
		}
		for u := 0; u <= units+2; u++ {
			b, past, err := byteOffset(s, u)
			switch {
			case u > units:
				if !past || b != len(s) || err != nil {
					t.Fatalf("byteOffset(%q, %d) = %d %v %v", s, u, b, past, err)
				}
			case want[u] < 0:
				if err == nil {
					t.Fatalf("byteOffset(%q, %d) did not report a split", s, u)
				}
			default:
				if b != want[u] || past || err != nil {
					t.Fatalf("byteOffset(%q, %d) = %d %v %v, want %d", s, u, b, past, err, want[u])
				}
			}
		}
	}
}

func TestApplyMultiComponentInPlace(t *testing.T) {
	// Later components edit containers the earlier ones copied; the input
	// and the op's own values must stay as they were.
	doc := mustDoc(t, `{"l":[1,2,3],"o":{"a":{"b":1}},"s":"x"}`)
	op := mustOp(t, `[{"p":["l",0],"ld":1},{"p":["l",0],"li":9},{"p":["l",3],"li":{"v":[]}},{"p":["l",3,"v",0],"li":7},
		{"p":["l",1],"lm":3},{"p":["l",0],"ld":9},{"p":["o","a","b"],"na":1},{"p":["o","a","c"],"oi":[]},{"p":["o","a","c",0],"li":"y"},
		{"p":["s",1],"si":"yz"},{"p":["s",0],"sd":"x"},{"p":["o","n"],"oi":{"k":1}},{"p":["o","n","k"],"na":1}]`)
	before := encodeDoc(t, doc)
	opBefore, _ := ty.EncodeOp(op)
	got, err := ty.Apply(doc, op)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"l":[3,{"v":[7]},2],"o":{"a":{"b":2,"c":["y"]},"n":{"k":2}},"s":"yz"}`
	if g := encodeDoc(t, got); !sameJSON(t, g, want) {
		t.Fatalf("got %s, want %s", g, want)
	}
	if after := encodeDoc(t, doc); !bytes.Equal(before, after) {
		t.Fatalf("input mutated: %s -> %s", before, after)
	}
	if opAfter, _ := ty.EncodeOp(op); !bytes.Equal(opBefore, opAfter) {
		t.Fatalf("op mutated: %s -> %s", opBefore, opAfter)
	}
	// Applying the same op again to the same input gives the same result.
	again, err := ty.Apply(doc, op)
	if err != nil || !bytes.Equal(encodeDoc(t, again), encodeDoc(t, got)) {
		t.Fatalf("second apply differs: %v", err)
	}
}

package textunicode

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tandemhq/tandem/ot"
)

func decode(t *testing.T, s string) Op {
	t.Helper()
	o, err := tu.DecodeOp(json.RawMessage(s))
	if err != nil {
		t.Fatalf("DecodeOp(%s): %v", s, err)
	}
	return opOf(o)
}

// sameJSON compares two JSON texts structurally.
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got unparsable %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want unparsable %s: %v", want, err)
	}
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if string(gj) != string(wj) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name, doc, op, want string
	}{
		{"protocol example", "ABCDEFG", `[1," hi ",2,{"d":3}]`, "A hi BCG"},
		{"emoji is one code point", "h😀llo", `[2,"X",{"d":1}]`, "h😀Xlo"},
		{"skip over emoji", "a😀b", `[2,"X"]`, "a😀Xb"},
		{"skip to the end", "a😀b", `[3,"X"]`, "a😀bX"},
		{"delete emoji", "a😀b", `[1,{"d":1}]`, "ab"},
		{"combining mark is its own code point", "e\u0301x", `[1,{"d":1}]`, "ex"},
		{"ZWJ sequence is five code points", "👨‍👩‍👧!", `[2,{"d":3}]`, "👨‍!"},
		{"flag halves", "🇯🇵", `[1,"|"]`, "🇯|🇵"},
		{"textual delete, text not checked", "abcdef", `[1,{"d":"XY"}]`, "adef"},
		{"delete past the end is cut short", "abc", `[1,{"d":5}]`, "a"},
		{"insert after a delete past the end", "ab", `[{"d":5},"x"]`, "x"},
		{"adjacent inserts", "ab", `[1,"x","y"]`, "axyb"},
		{"adjacent deletes", "abcd", `[{"d":1},{"d":"b"}]`, "cd"},
		{"empty op", "abc", `[]`, "abc"},
		{"insert into empty", "", `["😀"]`, "😀"},
		{"NUL and separators", "a\x00b", `[2,"\u2028"]`, "a\x00\u2028b"},
		{"4-byte chars across word boundaries", strings.Repeat("ab😀", 20), `[37,{"d":9},"!"]`,
			strings.Repeat("ab😀", 12) + "a!b😀" + strings.Repeat("ab😀", 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tu.Apply(tt.doc, decode(t, tt.op))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct{ name, doc, op string }{
		{"skip past end", "ab", `[3,"x"]`},
		{"skip past end counts code points not bytes", "😀", `[2,"x"]`},
		{"skip past end after delete", "abc", `[{"d":2},2,"x"]`},
		{"skip past end after a delete past the end", "abc", `[{"d":9},1,"x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tu.Apply(tt.doc, decode(t, tt.op))
			if !errors.Is(err, ot.ErrApply) {
				t.Fatalf("got %v, want ErrApply", err)
			}
		})
	}
	if _, err := tu.Apply(42, Op{}); !errors.Is(err, ot.ErrInvalidSnapshot) {
		t.Fatalf("non-string snapshot: got %v", err)
	}
	if _, err := tu.Apply("ab", Op{Skip(1), Skip(1), Insert("x")}); !errors.Is(err, ot.ErrInvalidOp) {
		t.Fatalf("adjacent skips built in Go: got %v", err)
	}
	if _, err := tu.Apply("ab", []any{1}); !errors.Is(err, ot.ErrInvalidOp) {
		t.Fatalf("foreign op: got %v", err)
	}
}

func TestDecodeOpInvalid(t *testing.T) {
	tests := []struct{ name, op string }{
		{"not an array", `{"d":1}`},
		{"string op", `"abc"`},
		{"null op", `null`},
		{"empty input", ``},
		{"bad JSON", `[1,`},
		{"zero skip", `[0,"x"]`},
		{"negative skip", `[-1,"x"]`},
		{"minus zero skip", `[-0,"x"]`},
		{"adjacent skips", `[1,2,"x"]`},
		{"trailing skip", `["x",3]`},
		{"only a skip", `[3]`},
		{"empty insert", `["a",""]`},
		{"zero delete", `[{"d":0}]`},
		{"negative delete", `[{"d":-3}]`},
		{"empty string delete", `[{"d":""}]`},
		{"delete null", `[{"d":null}]`},
		{"delete bool", `[{"d":true}]`},
		{"delete array", `[{"d":[1]}]`},
		{"object without d", `[{"x":1}]`},
		{"empty object", `[{}]`},
		{"null component", `[null]`},
		{"array component", `[[1]]`},
		{"duplicate d, last wins (empty)", `[{"d":"z","d":0}]`},
		// Lenient in the reference, rejected here (see the package comment).
		{"boolean component", `[true]`},
		{"fractional skip", `[1.5,"x"]`},
		{"fractional delete", `[{"d":0.5}]`},
		{"extra field", `[{"d":1,"x":2}]`},
		{"huge skip", `[1e300,"x"]`},
		{"lengths add up past 2^53", `[9007199254740991,"x",1,"y"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tu.DecodeOp(json.RawMessage(tt.op))
			if !errors.Is(err, ot.ErrInvalidOp) {
				t.Fatalf("DecodeOp(%s): got %v, want ErrInvalidOp", tt.op, err)
			}
		})
	}
}

func TestDecodeOpValidForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[ 1 , "x" ]`, `[1,"x"]`},
		{`[1e1,"x"]`, `[10,"x"]`},
		{`[2.0,{"d":3.0}]`, `[2,{"d":3}]`},
		{`[{"d":1,"d":"z"}]`, `[{"d":"z"}]`},
		{`["\ud83d\ude00"]`, `["😀"]`},
		{`["a","b",{"d":1},{"d":"c"}]`, `["a","b",{"d":1},{"d":"c"}]`}, // kept as sent
	}
	for _, tt := range tests {
		got, err := tu.EncodeOp(decode(t, tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestLoneSurrogates(t *testing.T) {
	for _, raw := range []string{`["\ud83d"]`, `[{"d":"\ude00"}]`, "[\"\xff\"]"} {
		if _, err := tu.DecodeOp(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("DecodeOp(%s): %v", raw, err)
		}
		if _, err := tu.Normalize(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("Normalize(%s): %v", raw, err)
		}
	}
	for _, raw := range []string{`"\ud83d"`, `"a\udc00b"`} {
		if _, err := tu.DecodeSnapshot(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("DecodeSnapshot(%s): %v", raw, err)
		}
		if _, err := tu.Create(json.RawMessage(raw)); !errors.Is(err, ot.ErrLoneSurrogate) {
			t.Errorf("Create(%s): %v", raw, err)
		}
	}
}

func TestCreateAndSnapshots(t *testing.T) {
	if s, err := tu.Create(nil); err != nil || s != "" {
		t.Fatalf("Create(nil) = %q, %v", s, err)
	}
	if s, err := tu.Create(json.RawMessage(`"hi 😀"`)); err != nil || s != "hi 😀" {
		t.Fatalf("Create = %q, %v", s, err)
	}
	for _, raw := range []string{`null`, `5`, `["a"]`, `{"a":1}`, `"unterminated`} {
		if _, err := tu.Create(json.RawMessage(raw)); !errors.Is(err, ot.ErrInvalidSnapshot) {
			t.Errorf("Create(%s): %v", raw, err)
		}
		if _, err := tu.DecodeSnapshot(json.RawMessage(raw)); !errors.Is(err, ot.ErrInvalidSnapshot) {
			t.Errorf("DecodeSnapshot(%s): %v", raw, err)
		}
	}
	doc := "q\"\\\n\r\t\x00\x1f<>&\u2028\u2029😀é"
	raw, err := tu.EncodeSnapshot(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(doc)
	var a, b string
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal(want, &b)
	if a != doc || b != doc {
		t.Fatalf("EncodeSnapshot = %s", raw)
	}
	back, err := tu.DecodeSnapshot(raw)
	if err != nil || back != doc {
		t.Fatalf("round trip: %q, %v", back, err)
	}
}

func TestTransform(t *testing.T) {
	tests := []struct {
		name, a, b, side, want string
	}{
		{"tie left goes first", `["a"]`, `["b"]`, "left", `["a"]`},
		{"tie right goes after", `["a"]`, `["b"]`, "right", `[1,"a"]`},
		{"tie after a skip", `[2,"a"]`, `[2,"bc"]`, "right", `[4,"a"]`},
		{"tie counts code points", `[1,"a"]`, `[1,"😀😀"]`, "right", `[3,"a"]`},
		// At a tie only the first of two adjacent inserts moves first.
		{"adjacent inserts at a tie", `["a","b"]`, `["X"]`, "left", `["a",1,"b"]`},
		{"canonical insert at a tie", `["ab"]`, `["X"]`, "left", `["ab"]`},
		{"overlapping deletes", `[1,{"d":3}]`, `[2,{"d":3}]`, "left", `[1,{"d":1}]`},
		{"overlapping textual deletes keep text", `[1,{"d":"bcd"}]`, `[2,{"d":"cde"}]`, "left", `[1,{"d":"b"}]`},
		{"textual delete split by other's insert", `[{"d":"ab😀d"}]`, `[2,"X"]`, "left", `[{"d":"ab"},1,{"d":"😀d"}]`},
		{"same delete vanishes", `[1,{"d":2}]`, `[1,{"d":"bc"}]`, "left", `[]`},
		{"insert inside other's delete", `[2,"x"]`, `[{"d":4}]`, "left", `["x"]`},
		{"insert at the edge of other's delete", `[4,"x"]`, `[1,{"d":3}]`, "right", `[1,"x"]`},
		{"delete around other's insert", `[{"d":3}]`, `[1,"xy"]`, "left", `[{"d":1},2,{"d":2}]`},
		{"empty op", `[]`, `[3,"x"]`, "left", `[]`},
		{"against empty op", `[3,"x"]`, `[]`, "left", `[3,"x"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			side, _ := ot.ParseSide(tt.side)
			a, b := decode(t, tt.a), decode(t, tt.b)
			got, err := tu.Transform(a, b, side)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, encodeOp(opOf(got)), tt.want)
			// Inputs are untouched.
			sameJSON(t, encodeOp(a), tt.a)
			sameJSON(t, encodeOp(b), tt.b)
		})
	}
	if _, err := tu.Transform(Op{}, Op{}, ot.Side(7)); err == nil {
		t.Fatal("bad side accepted")
	}
}

func TestCompose(t *testing.T) {
	tests := []struct{ name, a, b, want string }{
		{"insert then delete part of it", `["abc"]`, `[1,{"d":"b"}]`, `["ac"]`},
		{"insert then numeric delete of it", `["a😀c"]`, `[{"d":2}]`, `["c"]`},
		{"textual deletes stay textual", `[{"d":"ab"}]`, `[{"d":"cd"}]`, `[{"d":"abcd"}]`},
		{"textual then numeric delete becomes numeric", `[{"d":"ab"}]`, `[{"d":2}]`, `[{"d":4}]`},
		{"numeric then textual delete becomes numeric", `[{"d":2}]`, `[{"d":"cd"}]`, `[{"d":4}]`},
		{"delete spanning an insert keeps text of the rest", `[1,"XY"]`, `[{"d":"aXYb"}]`, `[{"d":"ab"}]`},
		{"skip past a's delete", `[{"d":"a"}]`, `[1,"x"]`, `[{"d":"a"},1,"x"]`},
		{"split insert with emoji", `["😀b😀"]`, `[2,"|"]`, `["😀b|😀"]`},
		{"b beyond a", `[1,"x"]`, `[5,"y"]`, `[1,"x",3,"y"]`},
		{"empty", `[]`, `[]`, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := decode(t, tt.a), decode(t, tt.b)
			got, err := tu.Compose(a, b)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, encodeOp(opOf(got)), tt.want)
			sameJSON(t, encodeOp(a), tt.a)
			sameJSON(t, encodeOp(b), tt.b)
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[0,"","a","b",{"d":0},{"d":"x"},{"d":"y"},3,2]`, `["ab",{"d":"xy"}]`},
		{`[2,"",3,"x"]`, `[5,"x"]`},
		{`[{"d":"x"},{"d":""},{"d":2}]`, `[{"d":3}]`},
		{`[{"d":"x"},{"d":0},{"d":"y"}]`, `[{"d":"xy"}]`},
		{`[1,0,2]`, `[]`},
		{`[]`, `[]`},
	}
	for _, tt := range tests {
		got, err := tu.Normalize(json.RawMessage(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		sameJSON(t, encodeOp(opOf(got)), tt.want)
	}
	for _, in := range []string{`[-1]`, `[true]`, `[null]`, `{"d":1}`, `[{"d":-2}]`} {
		if _, err := tu.Normalize(json.RawMessage(in)); !errors.Is(err, ot.ErrInvalidOp) {
			t.Errorf("Normalize(%s): %v", in, err)
		}
	}
}

func TestInvert(t *testing.T) {
	got, err := tu.Invert(decode(t, `[2,"x😀",{"d":"yz"}]`))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, encodeOp(opOf(got)), `[2,{"d":"x😀"},"yz"]`)
	if _, err := tu.Invert(decode(t, `[1,{"d":2}]`)); !errors.Is(err, ot.ErrInvalidOp) {
		t.Fatalf("numeric delete: %v", err)
	}

	tests := []struct{ doc, op, want string }{
		{"abcdef", `[1,{"d":2},"X"]`, `[1,"bc",{"d":"X"}]`},
		{"a😀cdef", `[1,{"d":2},1,{"d":"Q"}]`, `[1,"😀c",1,"Q"]`},
		{"ab", `[1,{"d":5}]`, `[1,"b"]`},           // cut at the end of the doc
		{"ab", `[3,"x",{"d":2}]`, `[3,{"d":"x"}]`}, // wholly past the end: dropped
		{"abc", `[{"d":1},{"d":1}]`, `["ab"]`},     // merged
		{"abc", `[{"d":1},{"d":"Z"}]`, `["aZ"]`},   // mixed, all textual now
		{"abc", `["q",{"d":1},1,"r"]`, `[{"d":"q"},"a",1,{"d":"r"}]`},
	}
	for _, tt := range tests {
		got, err := tu.InvertWithDoc(decode(t, tt.op), tt.doc)
		if err != nil {
			t.Fatalf("%s on %q: %v", tt.op, tt.doc, err)
		}
		sameJSON(t, encodeOp(opOf(got)), tt.want)
	}
}

func TestTransformPositionAndSelection(t *testing.T) {
	op := decode(t, `[2,"xy",1,{"d":2},"😀"]`)
	// "abcdefg" becomes "abxyc😀fg" (positions count code points).
	for _, tt := range []struct{ pos, want int }{
		{0, 0}, {1, 1}, {2, 2}, // an insert exactly at the cursor does not move it
		{3, 5}, {4, 5}, {5, 5}, {6, 7}, {7, 8}, {-1, -1}, {100, 101},
	} {
		got, err := tu.TransformPosition(tt.pos, op)
		if err != nil || got != tt.want {
			t.Errorf("TransformPosition(%d) = %d, %v; want %d", tt.pos, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ sel, want string }{
		{`3`, `5`}, {`[3,6]`, `[5,7]`}, {`[6, 3]`, `[7,5]`}, {`[]`, `[]`}, {`[1,2,3]`, `[1,2,5]`},
	} {
		got, err := tu.TransformSelection(json.RawMessage(tt.sel), op)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, got, tt.want)
	}
	for _, sel := range []string{`"3"`, `null`, `[1,"a"]`, `{"a":1}`, `1.5`, ``} {
		if _, err := tu.TransformSelection(json.RawMessage(sel), op); err == nil {
			t.Errorf("TransformSelection(%s) accepted", sel)
		}
	}
}

func TestIsNoop(t *testing.T) {
	if !tu.IsNoop(decode(t, `[]`)) || tu.IsNoop(decode(t, `["x"]`)) || tu.IsNoop("x") {
		t.Fatal("IsNoop")
	}
}

func TestCodePointHelpers(t *testing.T) {
	strs := []string{"", "a", "😀", "ab😀c", strings.Repeat("x", 100), strings.Repeat("é😀a中", 50),
		strings.Repeat("a", 31) + "😀" + strings.Repeat("b", 40)}
	for _, s := range strs {
		if got, want := cpCount(s), utf8.RuneCountInString(s); got != want {
			t.Fatalf("cpCount(%q) = %d, want %d", s, got, want)
		}
		runes := []rune(s)
		for start := 0; start <= len(runes); start++ {
			bstart := len(string(runes[:start]))
			for n := 0; n <= len(runes)-start+3; n++ {
				got, missing := advance(s, bstart, n)
				wantEnd := min(start+n, len(runes))
				if got != len(string(runes[:wantEnd])) || missing != start+n-wantEnd {
					t.Fatalf("advance(%q, %d, %d) = %d, %d", s, bstart, n, got, missing)
				}
			}
		}
	}
}

// TestVectorsProperties checks properties the vectors promise beyond the
// exact answers the conformance test checks: transform and compose
// results are valid ops that round-trip through JSON.
func TestVectorsProperties(t *testing.T) {
	for _, v := range readVectors(t) {
		switch v.Kind {
		case "transform", "compose":
			a, err1 := tu.DecodeOp(v.A)
			b, err2 := tu.DecodeOp(v.B)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %v %v", v.ID, err1, err2)
			}
			var r ot.Op
			var err error
			if v.Kind == "transform" {
				r, err = tu.Transform(a, b, ot.Left)
			} else {
				r, err = tu.Compose(a, b)
			}
			if err != nil {
				t.Fatalf("%s: %v", v.ID, err)
			}
			mustValid(t, v.ID, opOf(r))
		}
	}
}

// TestLongOps covers builders that outgrow their inline buffer and long
// runs of merges.
func TestLongOps(t *testing.T) {
	var sb strings.Builder
	sb.WriteByte('[')
	var want strings.Builder
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		s := string(rune('a' + i%26))
		if i%7 == 0 {
			s = "😀"
		}
		sb.WriteString(`"` + s + `"`)
		want.WriteString(s)
	}
	sb.WriteByte(']')
	raw := json.RawMessage(sb.String())
	n, err := tu.Normalize(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := opOf(n); len(got) != 1 || got[0].s != want.String() || got[0].n != 1000 {
		t.Fatalf("normalize of 1000 inserts: %d components", len(got))
	}
	// The same op, not normalized, against a skip: every insert kept, in order.
	op := decode(t, sb.String())
	tr, err := tu.Transform(op, Op{Insert("X")}, ot.Right)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, encodeOp(opOf(tr)), `[1,`+strconv.Quote(want.String())+`]`)
	// Alternating skips and deletes: 2000 components, all kept.
	var alt Op
	doc := strings.Repeat("ab😀", 1000)
	for range 1000 {
		alt = append(alt, Skip(2), DeleteText("😀"))
	}
	got := mustApply(t, doc, alt)
	if got != strings.Repeat("ab", 1000) {
		t.Fatalf("alternating op: %q", got[:20])
	}
	inv, err := tu.Invert(alt)
	if err != nil {
		t.Fatal(err)
	}
	if back := mustApply(t, got, opOf(inv)); back != doc {
		t.Fatal("invert of a long op does not round-trip")
	}
	c, err := tu.Compose(alt, inv)
	if err != nil {
		t.Fatal(err)
	}
	if mustApply(t, doc, opOf(c)) != doc {
		t.Fatal("compose with the inverse is not the identity")
	}
}

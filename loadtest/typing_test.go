package loadtest

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/ot/richtext"
	"github.com/tandemhq/tandem/ot/textunicode"
)

// The rich-text plain-text mirror must follow the real type on every
// apply vector (embeds, astral characters, attributes, escapes), through
// both the fast scanner and the encoding/json fallback.
func TestRichPlainMirrorMatchesType(t *testing.T) {
	f, err := os.Open("../ot/testdata/vectors/rich-text.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	typ := richtext.Type{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	n := 0
	for sc.Scan() {
		var c struct {
			Kind string          `json:"kind"`
			ID   string          `json:"id"`
			Doc  json.RawMessage `json:"doc"`
			Op   json.RawMessage `json:"op"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if c.Kind != "apply" {
			continue
		}
		doc, err := typ.DecodeSnapshot(c.Doc)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		op, err := typ.DecodeOp(c.Op)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		after, err := typ.Apply(doc, op)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		r := &Runner{typ: typ, rich: true}
		before, _ := r.plainOf(doc)
		want, _ := r.plainOf(after)
		enc, _ := typ.EncodeOp(op)
		for _, raw := range [][]byte{enc, c.Op, []byte(`{"ops":` + string(c.Op) + `}`)} {
			got, ascii, err := applyRichPlain(before, isASCII(before), raw)
			if err != nil || got != want {
				t.Fatalf("%s: mirror %q (%v), want %q", c.ID, got, err, want)
			}
			if ascii && !isASCII(want) { // the flag may be conservative, never wrong
				t.Fatalf("%s: ascii flag set for %q", c.ID, want)
			}
		}
		if scanComps(enc, func(byte, int, string) error { return nil }) != nil {
			t.Errorf("%s: the fast scanner gave up on %s", c.ID, enc)
		}
		n++
	}
	if n < 300 {
		t.Fatalf("only %d apply vectors", n)
	}
}

// Typed edits never cut a marker, never delete one, and apply to the
// type; the plain text computed by the edit equals the type's result.
func TestEditsKeepMarkers(t *testing.T) {
	for _, rich := range []bool{true, false} {
		r := &Runner{rich: rich, typ: textunicode.Type{}, units: countCodePoints, tag: "tg"}
		init := `"x😀y"`
		if rich {
			r.typ, r.units = richtext.Type{}, countUTF16
			init = `[{"insert":"x😀y"},{"insert":{"image":"a.png"}},{"insert":"\n"}]`
		}
		snap, err := r.typ.DecodeSnapshot([]byte(init))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := r.plainOf(snap)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range uint32(3000) {
			m := markerText(r.tag, 3, i)
			ed := nextEdit(rng, text, m, r.units, rich)
			op, err := r.typ.DecodeOp(ed.opJSON(rich))
			if err != nil {
				t.Fatalf("edit %d %s: %v", i, ed.opJSON(rich), err)
			}
			if snap, err = r.typ.Apply(snap, op); err != nil {
				t.Fatalf("edit %d %s on %q: %v", i, ed.opJSON(rich), text, err)
			}
			text = ed.applyToPlain(text)
			if got, _ := r.plainOf(snap); got != text {
				t.Fatalf("edit %d: plain %q, type %q", i, text, got)
			}
		}
		found := scanMarkers(text, r.tag)
		if len(found) != 3000 {
			t.Fatalf("rich %v: %d markers survive, want 3000", rich, len(found))
		}
		for k, n := range found {
			if n != 1 {
				t.Fatalf("marker %s appears %d times", k, n)
			}
		}
		if !strings.Contains(text, "😀") {
			t.Fatalf("deletes removed a non-filler character: %q", text[:min(80, len(text))])
		}
	}
}

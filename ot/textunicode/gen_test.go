package textunicode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tandemhq/tandem/ot"
)

// Helpers shared by the unit, fuzz and differential tests.

var tu = Type{}

// byteSrc hands out the bytes of a fuzz input one by one, then zeros.
type byteSrc struct {
	b []byte
	i int
}

func (s *byteSrc) next() int {
	if s.i >= len(s.b) {
		return 0
	}
	v := s.b[s.i]
	s.i++
	return int(v)
}

func (s *byteSrc) done() bool { return s.i >= len(s.b) }

// textPool holds the texts generated ops insert: astral characters, ZWJ
// sequences, combining marks, NUL, quotes, line separators.
var textPool = []string{
	"a", "xyz", "😀", "🎉🎉", " ", "é", "e\u0301", "中文", "\x00", "\"\\",
	"👨‍👩‍👧", "\u2028", "𝄞x", "🇯🇵", "\r\n", "<&>", "\uFFFF", "\U0010FFFF",
}

// genOp builds an op that is valid for doc from the bytes of src: it never
// skips or deletes past the end, and it may hold adjacent inserts or
// deletes (valid, though not canonical).
func genOp(doc string, src *byteSrc, maxComps int) Op {
	runes := []rune(doc)
	pos := 0
	var op Op
	for i := 0; i < maxComps && !src.done(); i++ {
		rest := len(runes) - pos
		k := src.next() % 6
		switch {
		case (k == 0 || k == 1) && rest > 0:
			n := 1 + (src.next()<<8|src.next())%rest
			if len(op) > 0 && op[len(op)-1].k == KindSkip {
				op[len(op)-1].n += n
			} else {
				op = append(op, Skip(n))
			}
			pos += n
		case k == 2 || k == 3:
			s := textPool[src.next()%len(textPool)]
			if src.next()%4 == 0 {
				s += textPool[src.next()%len(textPool)]
			}
			op = append(op, Insert(s))
		case k == 4 && rest > 0:
			n := 1 + src.next()%min(rest, 12)
			op = append(op, Delete(n))
			pos += n
		case k == 5 && rest > 0:
			n := 1 + src.next()%min(rest, 12)
			op = append(op, DeleteText(string(runes[pos:pos+n])))
			pos += n
		}
	}
	if len(op) > 0 && op[len(op)-1].k == KindSkip {
		op = op[:len(op)-1]
	}
	if op == nil {
		op = Op{}
	}
	return op
}

// mergeInserts joins adjacent inserts. The reference's transform only
// converges (TP1) for ops without adjacent inserts: at a tie it moves just
// the first of them ahead of the other op's insert. Clients normalize ops
// before sending them, so such ops do not occur in practice.
func mergeInserts(op Op) Op {
	out := Op{}
	for _, c := range op {
		if n := len(out); n > 0 && c.k == KindInsert && out[n-1].k == KindInsert {
			out[n-1] = Insert(out[n-1].s + c.s)
			continue
		}
		out = append(out, c)
	}
	return out
}

// fits reports whether op stays inside doc and its textual deletes name
// the text they delete.
func fits(op Op, doc string) bool {
	runes := []rune(doc)
	pre := 0
	for _, c := range op {
		if c.k == KindInsert {
			continue
		}
		if pre+c.n > len(runes) {
			return false
		}
		if c.k == KindDeleteText && string(runes[pre:pre+c.n]) != c.s {
			return false
		}
		pre += c.n
	}
	return true
}

// opFor returns the op raw decodes to when it is valid and fits doc, else
// an op generated from raw's bytes.
func opFor(doc string, raw []byte) Op {
	if o, err := tu.DecodeOp(raw); err == nil && fits(opOf(o), doc) {
		return opOf(o)
	}
	return genOp(doc, &byteSrc{b: raw}, 12)
}

func mustApply(t testing.TB, doc string, op Op) string {
	t.Helper()
	got, err := tu.Apply(doc, op)
	if err != nil {
		t.Fatalf("apply %s to %q: %v", encodeOp(op), doc, err)
	}
	return got.(string)
}

func mustValid(t testing.TB, what string, op Op) {
	t.Helper()
	if err := check(op); err != nil {
		t.Fatalf("%s %s is invalid: %v", what, encodeOp(op), err)
	}
	for _, c := range op {
		if c.k == KindInsert || c.k == KindDeleteText {
			if !utf8.ValidString(c.s) || cpCount(c.s) != c.n {
				t.Fatalf("%s %s: component %q has length %d", what, encodeOp(op), c.s, c.n)
			}
		}
	}
	back, err := tu.DecodeOp(encodeOp(op))
	if err != nil {
		t.Fatalf("%s %s does not decode: %v", what, encodeOp(op), err)
	}
	if !bytes.Equal(encodeOp(opOf(back)), encodeOp(op)) {
		t.Fatalf("%s: encode/decode round trip %s -> %s", what, encodeOp(op), encodeOp(opOf(back)))
	}
}

// vectorLine is a line of ../testdata/vectors/text-unicode.jsonl.
type vectorLine struct {
	Kind string          `json:"kind"`
	ID   string          `json:"id"`
	Doc  json.RawMessage `json:"doc"`
	Op   json.RawMessage `json:"op"`
	A    json.RawMessage `json:"a"`
	B    json.RawMessage `json:"b"`
	Want json.RawMessage `json:"want"`
}

func readVectors(t testing.TB) []vectorLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "vectors", "text-unicode.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vectorLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var v vectorLine
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func docOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// opOf returns the Op an ot.Op holds; it panics on anything else.
func opOf(o ot.Op) Op {
	op, err := asOp(o)
	if err != nil {
		panic(err)
	}
	return op
}

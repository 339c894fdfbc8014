package textunicode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/tandemhq/tandem/ot"
)

// nodeDiffScript runs the reference on one JSON case per stdin line and
// prints {"r": result} or {"e": message} per line.
const nodeDiffScript = `
const {type} = require('ot-text-unicode');
const rl = require('readline').createInterface({input: process.stdin});
const out = [];
rl.on('line', (line) => {
  const c = JSON.parse(line);
  let r;
  try {
    switch (c.k) {
      case 'apply': r = {r: type.apply(c.doc, c.a)}; break;
      case 'transform': r = {r: type.transform(c.a, c.b, c.side)}; break;
      case 'compose': r = {r: type.compose(c.a, c.b)}; break;
      case 'normalize': r = {r: type.normalize(c.a)}; break;
      case 'invert': r = {r: type.invert(c.a)}; break;
      case 'invertWithDoc': r = {r: type.invertWithDoc(c.a, c.doc)}; break;
      case 'position': r = {r: type.transformPosition(c.pos, c.a)}; break;
      case 'check': type.checkOp(c.a); r = {r: true}; break;
      case 'selection': r = {r: type.transformSelection(c.sel, c.a)}; break;
      default: r = {e: 'unknown kind'};
    }
  } catch (e) { r = {e: String(e && e.message)}; }
  out.push(JSON.stringify(r));
});
rl.on('close', () => { process.stdout.write(out.join('\n') + '\n'); });
`

type diffCase struct {
	K    string          `json:"k"`
	Doc  string          `json:"doc"`
	A    json.RawMessage `json:"a"`
	B    json.RawMessage `json:"b,omitempty"`
	Side string          `json:"side,omitempty"`
	Pos  int             `json:"pos"`
	Sel  json.RawMessage `json:"sel,omitempty"`
}

// TestNodeDifferential compares the port with the reference on random
// cases, beyond the fixed vectors. It needs node and the reference in
// ../jsbench/node_modules, so it runs only with TEXTUNICODE_NODE_DIFF=1
// (TEXTUNICODE_NODE_DIFF_N sets the number of rounds, default 20000).
func TestNodeDifferential(t *testing.T) {
	if os.Getenv("TEXTUNICODE_NODE_DIFF") != "1" {
		t.Skip("set TEXTUNICODE_NODE_DIFF=1 to compare with the JavaScript reference (needs node)")
	}
	rounds := 20000
	if s := os.Getenv("TEXTUNICODE_NODE_DIFF_N"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	randDoc := func() string {
		var sb bytes.Buffer
		n := rng.IntN(40)
		for range n {
			sb.WriteString(textPool[rng.IntN(len(textPool))])
		}
		return sb.String()
	}
	var cases []diffCase
	var goRes []json.RawMessage // nil: Go reported an error
	add := func(c diffCase, res json.RawMessage, err error) {
		cases = append(cases, c)
		if err != nil {
			res = nil
		}
		goRes = append(goRes, res)
	}
	enc := func(o ot.Op, err error) (json.RawMessage, error) {
		if err != nil {
			return nil, err
		}
		return tu.EncodeOp(o)
	}
	for range rounds {
		doc := randDoc()
		a := genOp(doc, &byteSrc{b: randBytes(rng.IntN(30))}, 10)
		b := genOp(doc, &byteSrc{b: randBytes(rng.IntN(30))}, 10)
		aj, bj := encodeOp(a), encodeOp(b)
		for _, side := range []ot.Side{ot.Left, ot.Right} {
			r, err := enc(tu.Transform(a, b, side))
			add(diffCase{K: "transform", Doc: doc, A: aj, B: bj, Side: side.String()}, r, err)
		}
		after, _ := tu.Apply(doc, a)
		b2 := genOp(after.(string), &byteSrc{b: randBytes(rng.IntN(30))}, 10)
		r, err := enc(tu.Compose(a, b2))
		add(diffCase{K: "compose", Doc: doc, A: aj, B: encodeOp(b2)}, r, err)
		r, err = enc(tu.InvertWithDoc(a, doc))
		add(diffCase{K: "invertWithDoc", Doc: doc, A: aj}, r, err)
		r, err = enc(tu.Invert(a))
		add(diffCase{K: "invert", Doc: doc, A: aj}, r, err)
		pos := rng.IntN(cpCount(doc)+3) - 1
		p, err := tu.TransformPosition(pos, a)
		add(diffCase{K: "position", Doc: doc, A: aj, Pos: pos}, strconv.AppendInt(nil, int64(p), 10), err)
		sel := json.RawMessage(`[` + strconv.Itoa(rng.IntN(cpCount(doc)+2)) + `,` + strconv.Itoa(pos) + `]`)
		r, err = tu.TransformSelection(sel, a)
		add(diffCase{K: "selection", Doc: doc, A: aj, Sel: sel}, r, err)

		// Apply with ops that may run past the end (short doc).
		short := randDoc()
		if len(short) > 0 {
			short = short[:len(short)/2]
			for !utf8.ValidString(short) {
				short = short[:len(short)-1]
			}
		}
		res, err := tu.Apply(short, a)
		var rj json.RawMessage
		if err == nil {
			rj, _ = tu.EncodeSnapshot(res)
		}
		add(diffCase{K: "apply", Doc: short, A: aj}, rj, err)

		// Normalize a non-canonical op: random components, empties included.
		var nb bytes.Buffer
		nb.WriteByte('[')
		for i := range rng.IntN(8) {
			if i > 0 {
				nb.WriteByte(',')
			}
			switch rng.IntN(6) {
			case 0:
				nb.WriteString(strconv.Itoa(rng.IntN(4)))
			case 1:
				nb.Write(appendString(nil, []string{"", "x", "😀é"}[rng.IntN(3)]))
			case 2:
				nb.WriteString(`{"d":` + strconv.Itoa(rng.IntN(3)) + `}`)
			default:
				nb.WriteString(`{"d":`)
				nb.Write(appendString(nil, []string{"", "y", "🎉z"}[rng.IntN(3)]))
				nb.WriteString(`}`)
			}
		}
		nb.WriteByte(']')
		// Validation: random components, valid or not.
		var vb bytes.Buffer
		if rng.IntN(20) == 0 {
			vb.WriteString([]string{`{"d":1}`, `"abc"`, `5`, `null`, `{}`}[rng.IntN(5)])
		} else {
			vb.WriteByte('[')
			for i := range rng.IntN(5) {
				if i > 0 {
					vb.WriteByte(',')
				}
				vb.WriteString(validationPool[rng.IntN(len(validationPool))])
			}
			vb.WriteByte(']')
		}
		_, err = tu.DecodeOp(vb.Bytes())
		add(diffCase{K: "check", A: bytes.Clone(vb.Bytes())}, json.RawMessage("true"), err)

		r, err = enc(tu.Normalize(nb.Bytes()))
		add(diffCase{K: "normalize", A: bytes.Clone(nb.Bytes())}, r, err)
	}

	var in bytes.Buffer
	for _, c := range cases {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(b)
		in.WriteByte('\n')
	}
	cmd := exec.Command("node", "-e", nodeDiffScript)
	cmd.Dir = "../jsbench"
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(outb))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	i, fails, bothErr := 0, 0, 0
	for sc.Scan() {
		if i >= len(cases) {
			t.Fatal("node printed too many lines")
		}
		var js struct {
			R json.RawMessage `json:"r"`
			E *string         `json:"e"`
		}
		if err := json.Unmarshal(sc.Bytes(), &js); err != nil {
			t.Fatal(err)
		}
		c, g := cases[i], goRes[i]
		i++
		switch {
		case js.E != nil && g == nil:
			bothErr++
		case js.E != nil:
			t.Errorf("%s: reference threw %q, Go gave %s\n%+v", c.K, *js.E, g, c)
			fails++
		case g == nil:
			t.Errorf("%s: reference gave %s, Go failed\n%+v", c.K, js.R, c)
			fails++
		default:
			var gv, jv any
			_ = json.Unmarshal(g, &gv)
			_ = json.Unmarshal(js.R, &jv)
			if !reflect.DeepEqual(gv, jv) {
				t.Errorf("%s: reference %s, Go %s\n%s a=%s b=%s side=%s pos=%d sel=%s doc=%q", c.K, js.R, g, c.K, c.A, c.B, c.Side, c.Pos, c.Sel, c.Doc)
				fails++
			}
		}
		if fails > 20 {
			t.Fatal("too many failures")
		}
	}
	if i != len(cases) {
		t.Fatalf("node answered %d of %d cases", i, len(cases))
	}
	t.Logf("%d cases compared with the reference (%d rejected by both)", len(cases), bothErr)
}

// validationPool holds components, valid and invalid, for the validation
// comparison. It leaves out what the reference accepts leniently and this
// port rejects (booleans, fractions, extra fields).
var validationPool = []string{
	"-1", "0", "1", "5", "1e1", "2.0", "-0", `""`, `"x"`, `"😀"`,
	`{"d":-1}`, `{"d":0}`, `{"d":2}`, `{"d":""}`, `{"d":"ab"}`, `{"d":null}`, `{"d":[1]}`,
	`{"d":true}`, `{"d":{}}`, `null`, `[1]`, `[]`, `{"x":1}`, `{}`, `{"d":1,"d":"z"}`, `{"d":"z","d":0}`,
}

package richtext

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"testing"

	"github.com/tandemhq/tandem/ot"
)

// TestReference compares this port with the JavaScript reference on random
// documents and ops (canonical and not, with embeds, emoji, null and empty
// attributes, ops past the end and ops cutting surrogate pairs). It needs
// node and ot/jsbench/node_modules, so it runs only when asked:
//
//	RICHTEXT_REFCHECK=20000 go test ./ot/richtext/ -run TestReference
func TestReference(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RICHTEXT_REFCHECK"))
	if n <= 0 {
		t.Skip("set RICHTEXT_REFCHECK=<cases> to compare with the JavaScript reference (needs node)")
	}
	cmd := exec.Command("node", "testdata/refcheck.js")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	in := bufio.NewWriter(stdin)
	out := bufio.NewScanner(stdout)
	out.Buffer(make([]byte, 1<<20), 1<<26)
	ask := func(q map[string]any) (json.RawMessage, string) {
		b, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(b)
		in.WriteByte('\n')
		in.Flush()
		if !out.Scan() {
			t.Fatalf("node: %v", out.Err())
		}
		var r struct {
			Ok  json.RawMessage `json:"ok"`
			Err string          `json:"err"`
		}
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r.Ok, r.Err
	}

	var typ Type
	enc := func(ops []op) json.RawMessage { return appendOps(nil, ops) }
	stats := map[string]int{}
	seed := uint64(1)
	if s, err := strconv.ParseUint(os.Getenv("RICHTEXT_REFCHECK_SEED"), 10, 64); err == nil {
		seed = s
	}
	r := rand.New(rand.NewPCG(seed, 7))
	fails := 0
	fail := func(format string, args ...any) {
		t.Helper()
		fails++
		t.Errorf(format, args...)
		if fails > 20 {
			t.FailNow()
		}
	}
	for i := 0; i < n; i++ {
		g := &gen{src: randSource{r}, raw: r.IntN(4) == 0}
		doc := g.doc()
		pastEnd := r.IntN(5) == 0
		split := r.IntN(20) == 0
		a := g.op(doc, pastEnd, split)
		b := g.op(doc, pastEnd, split)
		docJ, aJ, bJ := enc(doc), enc(a), enc(b)

		// apply
		want, jsErr := ask(map[string]any{"fn": "apply", "doc": docJ, "op": aJ})
		got, err := typ.Apply(g.chunked(doc), Delta{a})
		stats[checkResult(t, fail, split, "apply", fmt.Sprintf("doc %s op %s", docJ, aJ), got, err, want, jsErr)]++

		// compose: b2 made on apply(doc, a)
		if err == nil {
			after := got.(Document).flat()
			b2 := g.op(after, pastEnd, split)
			b2J := enc(b2)
			want, jsErr := ask(map[string]any{"fn": "compose", "a": aJ, "b": b2J})
			c, err := typ.Compose(Delta{a}, Delta{b2})
			stats[checkResult(t, fail, split, "compose", fmt.Sprintf("a %s b %s", aJ, b2J), c, err, want, jsErr)]++
		}

		// transform, both sides
		for _, side := range []ot.Side{ot.Left, ot.Right} {
			want, jsErr := ask(map[string]any{"fn": "transform", "a": aJ, "b": bJ, "side": side.String()})
			tr, err := typ.Transform(Delta{a}, Delta{b}, side)
			stats[checkResult(t, fail, split, "transform", fmt.Sprintf("a %s b %s %s", aJ, bJ, side), tr, err, want, jsErr)]++
		}

		// transformCursor and transformPresence
		length := newDocument(doc).Length()
		cur := r.IntN(length+5) - 2
		own := r.IntN(2) == 0
		want, _ = ask(map[string]any{"fn": "transformCursor", "cursor": cur, "op": aJ, "own": own})
		gc, _ := typ.TransformCursor(cur, Delta{a}, own)
		if !jsonEqual(want, []byte(strconv.Itoa(gc))) {
			fail("transformCursor(%d, %s, %v): got %d want %s", cur, aJ, own, gc, want)
		}
		rng := json.RawMessage(fmt.Sprintf(`{"x":[1],"index":%d,"length":%d,"y":"z"}`, cur, r.IntN(4)))
		if r.IntN(10) == 0 {
			rng = json.RawMessage("null")
		}
		want, _ = ask(map[string]any{"fn": "transformPresence", "range": rng, "op": aJ, "own": own})
		gp, err := typ.TransformPresence(rng, Delta{a}, own)
		if err != nil || !jsonEqual(want, gp) {
			fail("transformPresence(%s, %s, %v): got %s %v want %s", rng, aJ, own, gp, err, want)
		}
		stats["presence"]++

		// diff between two documents
		var from, to []op
		from = doc
		if r.IntN(3) == 0 {
			to = g.doc()
		} else if d, err := typ.Apply(newDocument(doc), Delta{b}); err == nil {
			to = d.(Document).flat()
		} else {
			to = g.doc()
		}
		if r.IntN(2) == 0 {
			// longer documents, several edits apart
			bg := &gen{src: randSource{r}, big: true}
			from = bg.doc()
			to = from
			for k := r.IntN(4); k >= 0; k-- {
				if d, err := typ.Apply(newDocument(to), Delta{bg.op(to, false, false)}); err == nil {
					to = d.(Document).flat()
				}
			}
			if r.IntN(4) == 0 {
				to = bg.doc()
			}
			docJ = enc(from)
		}
		if splitsPair(fastDiff(docUnits(from), docUnits(to))) {
			stats["diff:fast-diff-cut-a-pair"]++
		}
		toJ := enc(to)
		want, jsErr = ask(map[string]any{"fn": "diff", "a": docJ, "b": toJ})
		d, err := typ.Diff(newDocument(from), newDocument(to))
		stats[checkResult(t, fail, split, "diff", fmt.Sprintf("a %s b %s", docJ, toJ), d, err, want, jsErr)]++
	}
	t.Logf("%d rounds: %v", n, stats)
}

// checkResult compares a Go result with the reference's and returns a
// label for the statistics.
//
// A Go error for an op cutting a surrogate pair is accepted when the
// reference's result holds a lone surrogate, or when the generator was
// allowed to cut pairs (split): the reference sometimes joins the two
// halves again (Delta.push concatenates adjacent inserts with equal
// attributes) where this port rejects the op by policy.
func checkResult(t *testing.T, fail func(string, ...any), split bool, what, input string, got any, err error, want json.RawMessage, jsErr string) string {
	t.Helper()
	if jsErr != "" {
		if err == nil {
			fail("%s(%s): reference threw %q, Go gave %v", what, input, jsErr, got)
		}
		return what + ":both-threw"
	}
	if err != nil {
		switch {
		case errors.Is(err, ot.ErrLoneSurrogate):
			if ot.CheckSurrogates(want) == nil && !split {
				fail("%s(%s): Go says lone surrogate (%v) but reference gave %s", what, input, err, want)
			}
			return what + ":split"
		case what == "apply" && errors.Is(err, ot.ErrApply):
			var ops []map[string]any
			json.Unmarshal(want, &ops)
			nonDoc := false
			for _, o := range ops {
				if _, ok := o["insert"]; !ok {
					nonDoc = true
				}
			}
			if !nonDoc {
				fail("%s(%s): Go failed (%v) but reference gave a document %s", what, input, err, want)
			}
			return what + ":non-document"
		}
		fail("%s(%s): Go failed: %v (reference %s)", what, input, err, want)
		return what + ":error"
	}
	var gj json.RawMessage
	switch v := got.(type) {
	case Document:
		gj = appendOps(nil, v.flat())
	case Delta:
		gj = appendOps(nil, v.ops)
	}
	if !jsonEqual(gj, want) {
		fail("%s(%s):\n got  %s\n want %s", what, input, gj, want)
	}
	return what + ":ok"
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

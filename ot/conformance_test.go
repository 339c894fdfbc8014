package ot_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/ot/builtin"
)

// vectorCase is one line of the reference vectors (ot/testdata/vectors,
// schema in its README.md).
type vectorCase struct {
	Type      string          `json:"type"`
	Kind      string          `json:"kind"`
	ID        string          `json:"id"`
	Doc       json.RawMessage `json:"doc"`
	Op        json.RawMessage `json:"op"`
	A         json.RawMessage `json:"a"`
	B         json.RawMessage `json:"b"`
	Side      string          `json:"side"`
	Want      json.RawMessage `json:"want"`
	Converged json.RawMessage `json:"converged"`
	Pos       json.RawMessage `json:"pos"`
	Sel       json.RawMessage `json:"sel"`
	Cursor    json.RawMessage `json:"cursor"`
	Range     json.RawMessage `json:"range"`
	IsOwnOp   bool            `json:"isOwnOp"`
	To        json.RawMessage `json:"to"`
	Why       string          `json:"why"`
	Ref       string          `json:"ref"`
}

// Type-specific helpers of the reference that are not part of ot.Type.
type (
	positionTransformer interface {
		TransformPosition(pos int, op ot.Op) (int, error)
	}
	selectionTransformer interface {
		TransformSelection(sel json.RawMessage, op ot.Op) (json.RawMessage, error)
	}
	cursorTransformer interface {
		TransformCursor(cursor int, op ot.Op, isOwnOp bool) (int, error)
	}
)

// vectorsDir is where the vectors are read from: OT_VECTORS_DIR points the
// same test at another folder of files in the same format.
func vectorsDir() string {
	if d := os.Getenv("OT_VECTORS_DIR"); d != "" {
		return d
	}
	return filepath.Join("testdata", "vectors")
}

func loadVectors(t *testing.T) map[string][]vectorCase {
	t.Helper()
	dir := vectorsDir()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.jsonl vectors in %s: a missing vectors folder is a failure", dir)
	}
	byType := map[string][]vectorCase{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var c vectorCase
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s:%d: %v", f, line, err)
			}
			byType[c.Type] = append(byType[c.Type], c)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return byType
}

// TestConformance runs every vector case against the Go type of the same
// name. A failure names the case id.
func TestConformance(t *testing.T) {
	reg := builtin.Registry()
	byType := loadVectors(t)
	names := make([]string, 0, len(byType))
	for n := range byType {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		typ, ok := reg.Lookup(name)
		if !ok {
			t.Errorf("vectors name unknown type %q", name)
			continue
		}
		cases := byType[name]
		t.Run(name, func(t *testing.T) {
			counts := map[string]int{}
			for _, c := range cases {
				counts[c.Kind]++
				if err := runCase(typ, c); err != nil {
					t.Errorf("%s (%s): %v", c.ID, c.Kind, err)
				}
			}
			t.Logf("%s: %d cases %v", name, len(cases), counts)
		})
	}
	for _, want := range []string{"text-unicode", "json0", "rich-text"} {
		if len(byType[want]) == 0 {
			t.Errorf("no vectors for %s", want)
		}
	}
}

func runCase(typ ot.Type, c vectorCase) error {
	switch c.Kind {
	case "apply":
		got, err := applyJSON(typ, c.Doc, c.Op)
		if err != nil {
			return err
		}
		return expectEqual(typ, "apply", got, c.Want)
	case "transform":
		side, err := ot.ParseSide(c.Side)
		if err != nil {
			return err
		}
		a, err := typ.DecodeOp(c.A)
		if err != nil {
			return fmt.Errorf("decode a: %w", err)
		}
		b, err := typ.DecodeOp(c.B)
		if err != nil {
			return fmt.Errorf("decode b: %w", err)
		}
		tr, err := typ.Transform(a, b, side)
		if err != nil {
			return fmt.Errorf("transform: %w", err)
		}
		trJSON, err := typ.EncodeOp(tr)
		if err != nil {
			return err
		}
		if err := expectEqual(typ, "transform", trJSON, c.Want); err != nil {
			return err
		}
		afterB, err := applyJSON(typ, c.Doc, c.B)
		if err != nil {
			return fmt.Errorf("apply b: %w", err)
		}
		conv, err := applyJSON(typ, afterB, trJSON)
		if err != nil {
			return fmt.Errorf("apply transformed: %w", err)
		}
		return expectEqual(typ, "converged", conv, c.Converged)
	case "compose":
		a, err := typ.DecodeOp(c.A)
		if err != nil {
			return fmt.Errorf("decode a: %w", err)
		}
		b, err := typ.DecodeOp(c.B)
		if err != nil {
			return fmt.Errorf("decode b: %w", err)
		}
		ab, err := typ.Compose(a, b)
		if err != nil {
			return fmt.Errorf("compose: %w", err)
		}
		abJSON, err := typ.EncodeOp(ab)
		if err != nil {
			return err
		}
		if err := expectEqual(typ, "compose", abJSON, c.Want); err != nil {
			return err
		}
		seq, err := applyJSON(typ, c.Doc, c.A)
		if err != nil {
			return fmt.Errorf("apply a: %w", err)
		}
		if seq, err = applyJSON(typ, seq, c.B); err != nil {
			return fmt.Errorf("apply b: %w", err)
		}
		once, err := applyJSON(typ, c.Doc, abJSON)
		if err != nil {
			return fmt.Errorf("apply composed: %w", err)
		}
		return expectEqual(typ, "compose then apply", once, seq)
	case "transformPosition":
		pt, ok := typ.(positionTransformer)
		if !ok {
			return fmt.Errorf("%s has no TransformPosition", typ.Name())
		}
		op, err := typ.DecodeOp(c.Op)
		if err != nil {
			return err
		}
		var pos int
		if err := json.Unmarshal(c.Pos, &pos); err != nil {
			return err
		}
		got, err := pt.TransformPosition(pos, op)
		if err != nil {
			return err
		}
		return expectEqual(typ, "transformPosition", mustJSON(got), c.Want)
	case "transformSelection":
		st, ok := typ.(selectionTransformer)
		if !ok {
			return fmt.Errorf("%s has no TransformSelection", typ.Name())
		}
		op, err := typ.DecodeOp(c.Op)
		if err != nil {
			return err
		}
		got, err := st.TransformSelection(c.Sel, op)
		if err != nil {
			return err
		}
		return expectEqual(typ, "transformSelection", got, c.Want)
	case "transformCursor":
		ct, ok := typ.(cursorTransformer)
		if !ok {
			return fmt.Errorf("%s has no TransformCursor", typ.Name())
		}
		op, err := typ.DecodeOp(c.Op)
		if err != nil {
			return err
		}
		var cur int
		if err := json.Unmarshal(c.Cursor, &cur); err != nil {
			return err
		}
		got, err := ct.TransformCursor(cur, op, c.IsOwnOp)
		if err != nil {
			return err
		}
		return expectEqual(typ, "transformCursor", mustJSON(got), c.Want)
	case "transformPresence":
		pt, ok := typ.(ot.PresenceTransformer)
		if !ok {
			return fmt.Errorf("%s has no TransformPresence", typ.Name())
		}
		op, err := typ.DecodeOp(c.Op)
		if err != nil {
			return err
		}
		got, err := pt.TransformPresence(c.Range, op, c.IsOwnOp)
		if err != nil {
			return err
		}
		return expectEqual(typ, "transformPresence", got, c.Want)
	case "normalize":
		n, ok := typ.(ot.Normalizer)
		if !ok {
			return fmt.Errorf("%s has no Normalize", typ.Name())
		}
		op, err := n.Normalize(c.Op)
		if err != nil {
			return err
		}
		got, err := typ.EncodeOp(op)
		if err != nil {
			return err
		}
		if err := expectEqual(typ, "normalize", got, c.Want); err != nil {
			return err
		}
		// The normalized op must do what the components did one by one;
		// the vectors' README promises want applies to doc.
		if _, err := applyJSON(typ, c.Doc, got); err != nil {
			return fmt.Errorf("apply normalized: %w", err)
		}
		return nil
	case "invert":
		inv, ok := typ.(ot.Inverter)
		if !ok {
			return fmt.Errorf("%s has no Invert", typ.Name())
		}
		op, err := typ.DecodeOp(c.Op)
		if err != nil {
			return err
		}
		r, err := inv.Invert(op)
		if err != nil {
			return err
		}
		got, err := typ.EncodeOp(r)
		if err != nil {
			return err
		}
		if err := expectEqual(typ, "invert", got, c.Want); err != nil {
			return err
		}
		after, err := applyJSON(typ, c.Doc, c.Op)
		if err != nil {
			return err
		}
		back, err := applyJSON(typ, after, got)
		if err != nil {
			return fmt.Errorf("apply inverse: %w", err)
		}
		return expectEqual(typ, "invert round trip", back, c.Doc)
	case "invertWithDoc":
		inv, ok := typ.(ot.DocInverter)
		if !ok {
			return fmt.Errorf("%s has no InvertWithDoc", typ.Name())
		}
		op, err := typ.DecodeOp(c.Op)
		if err != nil {
			return err
		}
		doc, err := typ.DecodeSnapshot(c.Doc)
		if err != nil {
			return err
		}
		r, err := inv.InvertWithDoc(op, doc)
		if err != nil {
			return err
		}
		got, err := typ.EncodeOp(r)
		if err != nil {
			return err
		}
		return expectEqual(typ, "invertWithDoc", got, c.Want)
	case "diff":
		d, ok := typ.(ot.Differ)
		if !ok {
			return fmt.Errorf("%s has no Diff", typ.Name())
		}
		from, err := typ.DecodeSnapshot(c.Doc)
		if err != nil {
			return err
		}
		to, err := typ.DecodeSnapshot(c.To)
		if err != nil {
			return err
		}
		op, err := d.Diff(from, to)
		if err != nil {
			return err
		}
		got, err := typ.EncodeOp(op)
		if err != nil {
			return err
		}
		if err := expectEqual(typ, "diff", got, c.Want); err != nil {
			return err
		}
		after, err := applyJSON(typ, c.Doc, got)
		if err != nil {
			return err
		}
		return expectEqual(typ, "apply diff", after, c.To)
	case "invalid":
		doc, err := typ.DecodeSnapshot(c.Doc)
		if err != nil {
			return fmt.Errorf("decode doc: %w", err)
		}
		before, err := typ.EncodeSnapshot(doc)
		if err != nil {
			return err
		}
		op, err := typ.DecodeOp(c.Op)
		if err == nil {
			var got ot.Snapshot
			got, err = typ.Apply(doc, op)
			if err == nil {
				g, _ := typ.EncodeSnapshot(got)
				return fmt.Errorf("invalid op (%s, reference %s) was accepted: %s", c.Why, c.Ref, g)
			}
		}
		// Nothing is half-applied: the input snapshot is untouched.
		after, err := typ.EncodeSnapshot(doc)
		if err != nil {
			return err
		}
		if !bytes.Equal(before, after) {
			return fmt.Errorf("failed apply mutated the document: %s -> %s", before, after)
		}
		return nil
	}
	return fmt.Errorf("unknown kind %q", c.Kind)
}

func applyJSON(typ ot.Type, docJSON, opJSON json.RawMessage) (json.RawMessage, error) {
	doc, err := typ.DecodeSnapshot(docJSON)
	if err != nil {
		return nil, fmt.Errorf("decode doc: %w", err)
	}
	op, err := typ.DecodeOp(opJSON)
	if err != nil {
		return nil, fmt.Errorf("decode op: %w", err)
	}
	out, err := typ.Apply(doc, op)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	return typ.EncodeSnapshot(out)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// expectEqual compares JSON structurally (object key order ignored). For
// rich-text a {"ops": [...]} wrapper is the same as the bare array.
func expectEqual(typ ot.Type, what string, got, want json.RawMessage) error {
	g, err := canonical(typ, got)
	if err != nil {
		return fmt.Errorf("%s: got unparsable %s: %v", what, got, err)
	}
	w, err := canonical(typ, want)
	if err != nil {
		return fmt.Errorf("%s: want unparsable %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		return fmt.Errorf("%s:\n got  %s\n want %s", what, trim(got), trim(want))
	}
	return nil
}

func canonical(typ ot.Type, raw json.RawMessage) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if typ.Name() == "rich-text" {
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			if ops, ok := m["ops"]; ok {
				v = ops
			}
		}
	}
	return v, nil
}

func trim(b []byte) string {
	s := string(b)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return strings.TrimSpace(s)
}

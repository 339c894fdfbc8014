package storagetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

// ts is a deterministic Unix-millisecond timestamp for version v.
func ts(v int64) int64 { return 1_735_689_600_000 + v*1000 }

func createOp(v int64, src string, seq int64, typ, data string) storage.Op {
	return storage.Op{
		V: v, Src: src, Seq: seq,
		Create: &storage.Create{Type: typ, Data: raw(data)},
		Meta:   storage.OpMeta{TS: ts(v)},
	}
}

func editOp(v int64, src string, seq int64, op string) storage.Op {
	return storage.Op{V: v, Src: src, Seq: seq, Op: raw(op), Meta: storage.OpMeta{TS: ts(v)}}
}

func delOp(v int64, src string, seq int64, delData string) storage.Op {
	return storage.Op{V: v, Src: src, Seq: seq, Del: true, Meta: storage.OpMeta{TS: ts(v), DelData: raw(delData)}}
}

// snapAt is a json0 snapshot at version v whose data records v.
func snapAt(v int64, create *storage.OpID) storage.Snapshot {
	return storage.Snapshot{
		V: v, Type: json0URI, Data: raw(fmt.Sprintf(`{"v":%d}`, v)),
		Meta: storage.SnapshotMeta{CTime: ts(0), MTime: ts(v - 1), Create: create},
	}
}

// raw turns s into a RawMessage; "" becomes nil.
func raw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// ---- store helpers ----

func mustCommit(t *testing.T, s storage.Store, c, id string, ops []storage.Op, snap storage.Snapshot) {
	t.Helper()
	if err := s.Commit(t.Context(), c, id, ops, snap); err != nil {
		t.Fatalf("Commit(%q, %q, v%d..v%d): %v", c, id, ops[0].V, ops[len(ops)-1].V, err)
	}
}

func mustSnapshot(t *testing.T, s storage.Store, c, id string) storage.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(t.Context(), c, id)
	if err != nil {
		t.Fatalf("Snapshot(%q, %q): %v", c, id, err)
	}
	return snap
}

func mustOps(t *testing.T, s storage.Store, c, id string, from, to int64) []storage.Op {
	t.Helper()
	ops, err := s.Ops(t.Context(), c, id, from, to)
	if err != nil {
		t.Fatalf("Ops(%q, %q, %d, %d): %v", c, id, from, to, err)
	}
	return ops
}

// seed creates a json0 doc and commits n ops in total (a create and n-1
// edits), one Commit each. It returns the ops and the final snapshot.
func seed(t *testing.T, s storage.Store, c, id string, n int) ([]storage.Op, storage.Snapshot) {
	t.Helper()
	created := &storage.OpID{Src: "seed", Seq: 1, V: 0}
	var ops []storage.Op
	var snap storage.Snapshot
	for v := int64(0); v < int64(n); v++ {
		var op storage.Op
		if v == 0 {
			op = createOp(0, "seed", 1, json0URI, `{"v":0}`)
		} else {
			op = editOp(v, "seed", v+1, fmt.Sprintf(`[{"p":["v"],"na":1,"at":%d}]`, v))
		}
		snap = snapAt(v+1, created)
		mustCommit(t, s, c, id, []storage.Op{op}, snap)
		ops = append(ops, op)
	}
	return ops, snap
}

// ---- comparison ----

// jsonEqual reports whether a and b are the same JSON value; nil equals
// only nil. Numbers are equal when their values are exactly equal, however
// they are written (6E+20 and 600000000000000000000 are one number: a
// store that keeps numbers as BSON doubles writes the second).
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	if errA != nil || errB != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(va, vb)
}

// exactNumber is a JSON number's exact value, as a canonical fraction.
type exactNumber string

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return exactNumbers(v), nil
}

// exactNumbers replaces every json.Number in v by its exactNumber.
func exactNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			return v
		}
		return exactNumber(r.RatString())
	case []any:
		for i := range v {
			v[i] = exactNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = exactNumbers(v[k])
		}
	}
	return v
}

func showRaw(b json.RawMessage) string {
	if b == nil {
		return "nil"
	}
	return string(b)
}

func showOp(op storage.Op) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "{V:%d Src:%q Seq:%d", op.V, op.Src, op.Seq)
	switch {
	case op.Create != nil:
		fmt.Fprintf(&sb, " Create:{%q %s}", op.Create.Type, showRaw(op.Create.Data))
	case op.Del:
		sb.WriteString(" Del")
	}
	if op.Op != nil {
		fmt.Fprintf(&sb, " Op:%s", op.Op)
	}
	if op.Create != nil && op.Del {
		sb.WriteString(" +Del")
	}
	fmt.Fprintf(&sb, " TS:%d DelData:%s}", op.Meta.TS, showRaw(op.Meta.DelData))
	return sb.String()
}

func showSnap(s storage.Snapshot) string {
	c := "nil"
	if s.Meta.Create != nil {
		c = fmt.Sprintf("%+v", *s.Meta.Create)
	}
	return fmt.Sprintf("{V:%d Type:%q Data:%s CTime:%d MTime:%d Create:%s}",
		s.V, s.Type, showRaw(s.Data), s.Meta.CTime, s.Meta.MTime, c)
}

func opEqual(a, b storage.Op) bool {
	if a.V != b.V || a.Src != b.Src || a.Seq != b.Seq || a.Del != b.Del ||
		a.Meta.TS != b.Meta.TS || !jsonEqual(a.Op, b.Op) || !jsonEqual(a.Meta.DelData, b.Meta.DelData) {
		return false
	}
	if (a.Create == nil) != (b.Create == nil) {
		return false
	}
	return a.Create == nil || a.Create.Type == b.Create.Type && jsonEqual(a.Create.Data, b.Create.Data)
}

func snapEqual(a, b storage.Snapshot) bool {
	if a.V != b.V || a.Type != b.Type || !jsonEqual(a.Data, b.Data) ||
		a.Meta.CTime != b.Meta.CTime || a.Meta.MTime != b.Meta.MTime {
		return false
	}
	if (a.Meta.Create == nil) != (b.Meta.Create == nil) {
		return false
	}
	return a.Meta.Create == nil || *a.Meta.Create == *b.Meta.Create
}

func checkSnap(t *testing.T, what string, got, want storage.Snapshot) {
	t.Helper()
	if !snapEqual(got, want) {
		t.Errorf("%s:\n got  %s\n want %s", what, showSnap(got), showSnap(want))
	}
}

func checkOps(t *testing.T, what string, got, want []storage.Op) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d ops, want %d:\n got  %s\n want %s", what, len(got), len(want), showOps(got), showOps(want))
		return
	}
	for i := range got {
		if !opEqual(got[i], want[i]) {
			t.Errorf("%s: op %d:\n got  %s\n want %s", what, i, showOp(got[i]), showOp(want[i]))
		}
	}
}

func showOps(ops []storage.Op) string {
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = showOp(op)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkDoc checks the snapshot and the whole op log of a document.
func checkDoc(t *testing.T, s storage.Store, c, id string, wantOps []storage.Op, wantSnap storage.Snapshot) {
	t.Helper()
	checkSnap(t, fmt.Sprintf("Snapshot(%q, %q)", c, id), mustSnapshot(t, s, c, id), wantSnap)
	checkOps(t, fmt.Sprintf("Ops(%q, %q, 0, -1)", c, id), mustOps(t, s, c, id, 0, -1), wantOps)
}

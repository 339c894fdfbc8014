package bolt

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

func TestCodecRoundTrip(t *testing.T) {
	snaps := []storage.Snapshot{
		{},
		{V: 1, Type: "t", Data: json.RawMessage(`{"a":1}`), Meta: storage.SnapshotMeta{CTime: 1, MTime: 2, Create: &storage.OpID{Src: "s", Seq: 3, V: 0}}},
		{V: 1 << 62, Meta: storage.SnapshotMeta{CTime: -1 << 63, MTime: 1<<63 - 1}},
		{V: 2, Type: "t", Data: json.RawMessage{}},
	}
	for _, s := range snaps {
		got, err := decodeSnapshot(encodeSnapshot(s))
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("snapshot round trip: %+v, %v; want %+v", got, err, s)
		}
		h, err := decodeSnapHead(encodeSnapshot(s))
		if want := (snapHead{s.V, s.Type, s.Meta.CTime, s.Meta.MTime}); err != nil || h != want {
			t.Errorf("head: %+v, %v; want %+v", h, err, want)
		}
	}
	ops := []storage.Op{
		{V: 7},
		{V: 7, Src: "é", Seq: -3, Op: json.RawMessage(`[1]`), Meta: storage.OpMeta{TS: 1 << 50}},
		{V: 7, Create: &storage.Create{Type: "t"}},
		{V: 7, Create: &storage.Create{Type: "t", Data: json.RawMessage(`"x"`)}, Del: true, Op: json.RawMessage{}, Meta: storage.OpMeta{DelData: json.RawMessage(`{}`)}},
	}
	for _, op := range ops {
		got, err := decodeOp(encodeOp(op), 7)
		if err != nil || !reflect.DeepEqual(got, op) {
			t.Errorf("op round trip: %+v, %v; want %+v", got, err, op)
		}
	}
}

// TestDecodedSlicesDoNotOverlap appends to one decoded field and checks
// the next field is untouched.
func TestDecodedSlicesDoNotOverlap(t *testing.T) {
	op := storage.Op{Op: json.RawMessage(`[1]`), Meta: storage.OpMeta{DelData: json.RawMessage(`{"d":1}`)}}
	got, err := decodeOp(encodeOp(op), 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got.Op, "XXXXXXXX"...)
	if string(got.Meta.DelData) != `{"d":1}` {
		t.Errorf("appending to Op changed DelData to %q", got.Meta.DelData)
	}
}

func TestDecodeRejectsCorruptValues(t *testing.T) {
	snap := encodeSnapshot(storage.Snapshot{V: 3, Type: "t", Data: json.RawMessage(`{"a":1}`), Meta: storage.SnapshotMeta{Create: &storage.OpID{Src: "s"}}})
	op := encodeOp(storage.Op{Src: "s", Op: json.RawMessage(`[1]`)})
	cases := map[string][]byte{
		"empty":         {},
		"format":        append([]byte{9}, snap[1:]...),
		"truncated":     snap[:len(snap)-1],
		"trailing":      append(bytes.Clone(snap), 0),
		"create flag 2": func() []byte { b := bytes.Clone(snap); b[1+1+2+1+1] = 2; return b }(),
	}
	for name, b := range cases {
		if _, err := decodeSnapshot(b); !errors.Is(err, errCorrupt) {
			t.Errorf("snapshot %s: error = %v, want errCorrupt", name, err)
		}
	}
	opCases := map[string][]byte{
		"empty":     {},
		"flags":     append([]byte{valueFormat, 0x80}, op[2:]...),
		"truncated": op[:len(op)-2],
		"trailing":  append(bytes.Clone(op), 1),
	}
	for name, b := range opCases {
		if _, err := decodeOp(b, 0); !errors.Is(err, errCorrupt) {
			t.Errorf("op %s: error = %v, want errCorrupt", name, err)
		}
	}
}

// TestKeyOrder checks the properties the store relies on: a collection's
// snapshot keys sort like its ids, and a document's op keys sort by
// version and start with its prefix only.
func TestKeyOrder(t *testing.T) {
	ids := []string{"", "a", "a\x00", "a b", "aa", "ab", "b", "x", "x1", "x.1", "é", "😀", string(make([]byte, 200))}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	keys := make([][]byte, len(ids))
	for i, id := range ids {
		keys[i] = snapKey("coll", id)
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	p := collPrefix("coll")
	for i, k := range keys {
		if got := string(k[len(p):]); got != sorted[i] {
			t.Errorf("key %d holds id %q, want %q", i, got, sorted[i])
		}
	}

	prefix := opPrefix("c", "d")
	for _, v := range []int64{0, 1, 255, 256, 1 << 40} {
		if a, b := opKey(prefix, v), opKey(prefix, v+1); bytes.Compare(a, b) >= 0 {
			t.Errorf("op key of %d does not sort before %d", v, v+1)
		}
	}
	for _, other := range [][2]string{{"c", "d1"}, {"c", ""}, {"cd", ""}, {"", "cd"}, {"c\x01", "d"}} {
		if k := opKey(opPrefix(other[0], other[1]), 0); bytes.HasPrefix(k, prefix) {
			t.Errorf("op key of %q starts with the prefix of (c, d)", other)
		}
	}
}

// FuzzDecode checks that no stored bytes make the decoders panic, and that
// whatever decodes re-encodes to something that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(encodeSnapshot(storage.Snapshot{V: 3, Type: "t", Data: json.RawMessage(`{"a":1}`), Meta: storage.SnapshotMeta{Create: &storage.OpID{Src: "s"}}}))
	f.Add(encodeOp(storage.Op{Src: "s", Create: &storage.Create{Type: "t", Data: json.RawMessage(`1`)}, Del: true}))
	f.Add([]byte{valueFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeSnapshot(bytes.Clone(b)); err == nil {
			again, err := decodeSnapshot(encodeSnapshot(s))
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Errorf("snapshot re-encoding: %+v, %v; want %+v", again, err, s)
			}
		}
		decodeSnapHead(b)
		if op, err := decodeOp(bytes.Clone(b), 5); err == nil {
			again, err := decodeOp(encodeOp(op), 5)
			if err != nil || !reflect.DeepEqual(again, op) {
				t.Errorf("op re-encoding: %+v, %v; want %+v", again, err, op)
			}
		}
	})
}

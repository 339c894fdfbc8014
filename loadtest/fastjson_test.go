package loadtest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestDecodeMsgMatchesEncodingJSON: the fast path decodes what
// encoding/json decodes, and hands everything else to it.
func TestDecodeMsgMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{"a":"op","c":"load","d":"load-1-0","v":7,"src":"3fa","seq":12,"op":[{"retain":5},{"insert":"x"}]}`,
		`{"src":"3fa","seq":12,"v":7,"a":"op","c":"load","d":"doc","op":{"ops":[{"insert":"a\"b"}]},"m":{"ts":1}}`,
		`{ "a" : "op" , "c":"load", "d":"x", "v": null, "seq": 3, "create": {"type":"t","data":""} }`,
		`{"a":"op","c":"load","d":"x","v":3,"src":"s","seq":4,"del":true}`,
		`{"a":"op","c":"load","d":"x","v":3,"src":"s","seq":4,"error":{"code":"ERR_X","message":"m"}}`,
		`{"a":"s","c":"load","d":"x","data":{"v":3,"type":"t","data":"abc"}}`,
		`{"a":"hs","id":"abc","protocol":1,"protocolMinor":2,"type":"http://sharejs.org/types/JSONv0"}`,
		`{"a":"op","c":"lo\"ad","d":"x","v":1,"seq":1,"op":[]}`,
		`{"a":"op","v":-1,"seq":15}`,
		`{}`,
	} {
		var fast, want inMsg
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		if err := decodeMsg([]byte(s), &fast); err != nil {
			// encoding/json must fail the same way
			t.Fatalf("%s: %v", s, err)
		}
		if !reflect.DeepEqual(normalize(fast), normalize(want)) {
			t.Errorf("%s:\n got %+v\nwant %+v", s, fast, want)
		}
	}
	// The messages that arrive by the thousand (ops, acks) must not fall
	// back to encoding/json, or the comparison above proves nothing of the
	// fast path.
	for _, s := range []string{
		`{"a":"op","c":"load","d":"load-1-0","v":7,"src":"3fa","seq":12,"op":[{"retain":5},{"insert":"x"}]}`,
		`{"src":"3fa","seq":12,"v":7,"a":"op","c":"load","d":"doc","op":{"ops":[{"insert":"a\"b"}]},"m":{"ts":1}}`,
		`{"a":"op","c":"load","d":"x","v":3,"src":"s","seq":4,"del":true}`,
	} {
		var m inMsg
		if !fastDecodeMsg([]byte(s), &m) {
			t.Errorf("%s: fell back to encoding/json", s)
		}
	}
	var bad inMsg
	if err := decodeMsg([]byte(`{"a":"op","seq":1.5}`), &bad); err == nil {
		t.Fatal("seq 1.5 accepted")
	}
	var o sseOp
	if err := decodeOpEvent([]byte(`{"v":7,"src":"3f","seq":12,"op":[{"insert":"!"}]}`), &o); err != nil ||
		o.V != 7 || o.Src != "3f" || o.Seq != 12 || string(o.Op) != `[{"insert":"!"}]` {
		t.Fatalf("op event: %+v %v", o, err)
	}
	if err := decodeOpEvent([]byte(`{"v":8,"src":"3f","seq":13,"del":true}`), &o); err != nil || !o.Del || o.Op != nil {
		t.Fatalf("del event: %+v %v", o, err)
	}
}

// normalize compacts raw JSON fields so that whitespace does not matter.
func normalize(m inMsg) inMsg {
	c := func(r json.RawMessage) json.RawMessage {
		if r == nil {
			return nil
		}
		var v any
		if json.Unmarshal(r, &v) != nil {
			return r
		}
		out, _ := json.Marshal(v)
		return out
	}
	m.Op, m.Create, m.Del, m.Data, m.ID = c(m.Op), c(m.Create), c(m.Del), c(m.Data), c(m.ID)
	return m
}

// TestViewerChainShares: viewers holding the same copy share the result
// of the same op; a different op or a different snapshot forks.
func TestViewerChainShares(t *testing.T) {
	r, err := New(Config{URLs: []string{"http://127.0.0.1:1"}, Editors: 1, Type: "text-unicode"})
	if err != nil {
		t.Fatal(err)
	}
	var c viewerChain
	a := c.join(r.typ, 3, "abc")
	b := c.join(r.typ, 3, "abc")
	if a != b {
		t.Fatal("same snapshot at the same version not shared")
	}
	if c.join(r.typ, 3, "abd") == a {
		t.Fatal("different snapshot shared")
	}
	op := []byte(`[3,"x"]`)
	a1, err := c.step(r.typ, a, 3, op)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := c.step(r.typ, b, 3, []byte(`[3,"x"]`))
	if a1 != b1 || a1.snap != "abcx" {
		t.Fatalf("same op not shared: %v %v", a1.snap, b1.snap)
	}
	f, _ := c.step(r.typ, a, 3, []byte(`[1,"y"]`))
	if f == a1 || f.snap != "aybc" {
		t.Fatalf("different op: %v", f.snap)
	}
	if j := c.join(r.typ, 4, "abcx"); j != a1 {
		t.Fatal("a snapshot equal to the shared copy at v4 did not join it")
	}
	if _, err := c.step(r.typ, a, 3, []byte(`[99,"z"]`)); err == nil {
		t.Fatal("an op past the end applied")
	}
}

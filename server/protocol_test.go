package server

import (
	"github.com/tandemhq/tandem/sessions"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	json0URI    = "http://sharejs.org/types/JSONv0"
	richTextURI = "http://sharejs.org/types/rich-text/v1"
	textURI     = "http://sharejs.org/types/text-unicode"
)

func TestHandshake(t *testing.T) {
	ts := startServer(t, testOpts{})
	c, _, err := ts.dial("")
	if err != nil {
		t.Fatal(err)
	}
	init := c.recv()
	want := M{"a": "init", "protocol": float64(1), "protocolMinor": float64(2), "type": json0URI}
	for k, v := range want {
		if init[k] != v {
			t.Fatalf("init[%s] = %v, want %v (%v)", k, init[k], v, init)
		}
	}
	serverID := init["id"].(string)
	if len(serverID) != 32 {
		t.Fatalf("server id %q", serverID)
	}
	// A client proposing its previous id keeps it (stable src across
	// reconnects); the reply is sent for each hs, as the client sends two.
	for i := 0; i < 2; i++ {
		hs := c.roundTrip(M{"a": "hs", "id": "previous-id", "protocol": 1, "protocolMinor": 2})
		if hs["a"] != "hs" || hs["id"] != "previous-id" || hs["protocol"] != float64(1) || hs["type"] != json0URI {
			t.Fatalf("hs reply %v", hs)
		}
	}
	if r := c.roundTrip(M{"a": "pp"}); r["a"] != "pp" {
		t.Fatalf("ping reply %v", r)
	}
}

func TestCreateFetchSubscribeOp(t *testing.T) {
	ts := startServer(t, testOpts{})
	a := ts.connect("")
	b := ts.connect("")

	// A missing document has version 0 and type null, no data.
	if snap := b.fetch("dogs", "fido"); !jsonEqual(snap, M{"v": 0, "type": nil}) {
		t.Fatalf("missing doc snapshot %v", snap)
	}
	sub := b.roundTrip(M{"a": "s", "c": "dogs", "d": "fido", "v": nil})
	if sub["a"] != "s" || !jsonEqual(sub["data"], M{"v": 0, "type": nil}) {
		t.Fatalf("subscribe reply %v", sub)
	}

	ack := a.roundTrip(M{"a": "op", "c": "dogs", "d": "fido", "v": nil, "seq": 1, "x": M{},
		"create": M{"type": "json0", "data": M{"age": 3}}})
	if !jsonEqual(ack, M{"a": "op", "c": "dogs", "d": "fido", "src": a.id, "seq": 1, "v": 0}) {
		t.Fatalf("create ack %v", ack)
	}
	// The subscriber sees the create with the type normalized to its URI.
	got := b.recv()
	if !jsonEqual(got, M{"a": "op", "c": "dogs", "d": "fido", "v": 0, "src": a.id, "seq": 1,
		"create": M{"type": json0URI, "data": M{"age": 3}}}) {
		t.Fatalf("broadcast create %v", got)
	}
	ack = a.roundTrip(M{"a": "op", "c": "dogs", "d": "fido", "v": 1, "seq": 2, "x": M{}, "op": []M{{"p": []any{"age"}, "na": 1}}})
	if ack["v"] != float64(1) || ack["op"] != nil {
		t.Fatalf("op ack %v", ack)
	}
	got = b.recv()
	if got["v"] != float64(1) || !jsonEqual(got["op"], []M{{"p": []any{"age"}, "na": 1}}) {
		t.Fatalf("broadcast op %v", got)
	}
	// The author's own op is not streamed back to it.
	a.expectNothing(100 * time.Millisecond)

	// json0 snapshots omit the type; other types carry their URI.
	if snap := a.fetch("dogs", "fido"); !jsonEqual(snap, M{"v": 2, "data": M{"age": 4}}) {
		t.Fatalf("snapshot %v", snap)
	}
	// Fetch from a version streams the missing ops, then a bare reply.
	a.send(M{"a": "f", "c": "dogs", "d": "fido", "v": 0})
	if op := a.recv(); op["a"] != "op" || op["v"] != float64(0) || op["create"] == nil {
		t.Fatalf("catch-up op 0: %v", op)
	}
	if op := a.recv(); op["a"] != "op" || op["v"] != float64(1) {
		t.Fatalf("catch-up op 1: %v", op)
	}
	if r := a.recv(); !jsonEqual(r, M{"a": "f", "c": "dogs", "d": "fido"}) {
		t.Fatalf("bare fetch reply %v", r)
	}

	// Unsubscribed clients get nothing more.
	if r := b.roundTrip(M{"a": "u", "c": "dogs", "d": "fido"}); !jsonEqual(r, M{"a": "u", "c": "dogs", "d": "fido"}) {
		t.Fatalf("unsubscribe reply %v", r)
	}
	a.roundTrip(M{"a": "op", "c": "dogs", "d": "fido", "v": 2, "seq": 3, "op": []M{{"p": []any{"age"}, "na": 1}}})
	b.expectNothing(100 * time.Millisecond)

	// Delete: type becomes null, data goes away.
	ack = a.roundTrip(M{"a": "op", "c": "dogs", "d": "fido", "v": 3, "seq": 4, "del": true})
	if ack["v"] != float64(3) {
		t.Fatalf("del ack %v", ack)
	}
	if snap := a.fetch("dogs", "fido"); !jsonEqual(snap, M{"v": 4, "type": nil}) {
		t.Fatalf("deleted snapshot %v", snap)
	}
}

func TestConcurrentSubmitsAreTransformed(t *testing.T) {
	ts := startServer(t, testOpts{})
	a := ts.connect("")
	b := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "1", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": "ab"}})

	// Both edit version 1 without having seen each other's op.
	ackA := a.roundTrip(M{"a": "op", "c": "t", "d": "1", "v": 1, "seq": 2, "op": []any{1, "X"}})
	if ackA["v"] != float64(1) {
		t.Fatalf("ack a %v", ackA)
	}
	b.send(M{"a": "op", "c": "t", "d": "1", "v": 1, "seq": 1, "op": []any{1, "Y"}})
	// The server transforms the incoming op with side left, so at a tie
	// the later submission's insert goes first, as in sharedb.
	// b was not subscribed: it first gets the op it was transformed
	// against, then its ack at the version it was applied at.
	missed := b.recv()
	if missed["v"] != float64(1) || missed["src"] != a.id || !jsonEqual(missed["op"], []any{1, "X"}) {
		t.Fatalf("missed op %v", missed)
	}
	ackB := b.recv()
	if ackB["v"] != float64(2) || ackB["seq"] != float64(1) {
		t.Fatalf("ack b %v", ackB)
	}
	if snap := a.fetch("t", "1"); !jsonEqual(snap, M{"v": 3, "data": "aYXb", "type": textURI}) {
		t.Fatalf("snapshot %v", snap)
	}
}

func TestResubmittedOpIsAppliedOnce(t *testing.T) {
	ts := startServer(t, testOpts{})
	a := ts.connect("")
	create := M{"a": "op", "c": "t", "d": "r", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}}
	if ack := a.roundTrip(create); ack["v"] != float64(0) {
		t.Fatalf("create ack %v", ack)
	}
	op := M{"a": "op", "c": "t", "d": "r", "v": 1, "seq": 2, "op": []any{"hello"}}
	if ack := a.roundTrip(op); ack["v"] != float64(1) {
		t.Fatalf("ack %v", ack)
	}
	other := ts.connect("")
	other.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": 2, "seq": 1, "op": []any{5, " world"}})

	// A reconnected client resends its op with its old src and seq: it is
	// acknowledged with the version it was committed at, not applied again.
	b := ts.connect("")
	b.send(M{"a": "op", "c": "t", "d": "r", "v": 1, "src": a.id, "seq": 2, "op": []any{"hello"}})
	ack := b.recv()
	for ack["a"] == "op" && ack["src"] != a.id {
		ack = b.recv() // ops it may be sent first
	}
	if !jsonEqual(ack, M{"a": "op", "c": "t", "d": "r", "src": a.id, "seq": 2, "v": 1}) {
		t.Fatalf("resubmit ack %v", ack)
	}
	// A resent create (v null) is recognised too.
	create["src"] = a.id
	if ack := b.roundTrip(create); !jsonEqual(ack, M{"a": "op", "c": "t", "d": "r", "src": a.id, "seq": 1, "v": 0}) {
		t.Fatalf("resent create ack %v", ack)
	}
	if snap := b.fetch("t", "r"); !jsonEqual(snap, M{"v": 3, "data": "hello world", "type": textURI}) {
		t.Fatalf("snapshot %v", snap)
	}
	// A create from someone else on an existing doc is refused.
	r := b.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": nil, "seq": 7, "create": M{"type": "text-unicode", "data": "x"}})
	if errCode(r) != "ERR_DOC_ALREADY_CREATED" || r["seq"] != float64(7) || r["d"] != "r" {
		t.Fatalf("create on existing doc: %v", r)
	}
}

func TestBadInputGetsErrorAndChangesNothing(t *testing.T) {
	ts := startServer(t, testOpts{})
	a := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "x", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": "abc"}})
	cases := []struct {
		name string
		msg  string
		code string
	}{
		{"malformed json", `{"a":"f",`, "ERR_MESSAGE_BADLY_FORMED"},
		{"unknown action", `{"a":"zz"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"action not a string", `{"a":5}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"prototype collection", `{"a":"f","c":"__proto__","d":"x","v":null}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"prototype id", `{"a":"s","c":"t","d":"constructor","v":null}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"numeric id", `{"a":"f","c":"t","d":5,"v":null}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"negative version", `{"a":"f","c":"t","d":"x","v":-1}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"string version", `{"a":"op","c":"t","d":"x","v":"1","seq":5,"op":[1,"z"]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"skip past end", `{"a":"op","c":"t","d":"x","v":1,"seq":6,"op":[10,"z"]}`, "ERR_OT_OP_NOT_APPLIED"},
		{"invalid op shape", `{"a":"op","c":"t","d":"x","v":1,"seq":7,"op":[{"zz":1}]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"trailing skip", `{"a":"op","c":"t","d":"x","v":1,"seq":8,"op":["z",1]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"lone surrogate", `{"a":"op","c":"t","d":"x","v":1,"seq":9,"op":["\ud800"]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"future version", `{"a":"op","c":"t","d":"x","v":9,"seq":10,"op":["z"]}`, "ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT"},
		{"op on missing doc", `{"a":"op","c":"t","d":"nope","v":0,"seq":11,"op":["z"]}`, "ERR_DOC_DOES_NOT_EXIST"},
		{"unknown type", `{"a":"op","c":"t","d":"n2","v":null,"seq":12,"create":{"type":"nope"}}`, "ERR_DOC_TYPE_NOT_RECOGNIZED"},
		{"del not true", `{"a":"op","c":"t","d":"x","v":1,"seq":13,"del":1}`, "ERR_OT_OP_BADLY_FORMED"},
		{"no op body", `{"a":"op","c":"t","d":"x","v":1,"seq":14}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"missing seq", `{"a":"op","c":"t","d":"x","v":1,"op":["z"]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"seq overflow", `{"a":"op","c":"t","d":"x","v":1,"seq":9007199254740991,"op":["z"]}`, "ERR_CONNECTION_SEQ_INTEGER_OVERFLOW"},
		{"bad bulk", `{"a":"bs","c":"t","b":5}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"bad hs protocol", `{"a":"hs","protocol":{}}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"presence bad id", `{"a":"p","ch":"x","id":5,"p":null,"pv":0}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"presence on text-unicode", `{"a":"p","ch":"t.x","id":"p1","p":{"index":1},"pv":0,"c":"t","d":"x","v":1,"t":"` + textURI + `"}`, "ERR_TYPE_DOES_NOT_SUPPORT_PRESENCE"},
		{"query without id", `{"a":"qf","c":"t","q":{}}`, "ERR_MESSAGE_BADLY_FORMED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a.sendRaw(tc.msg)
			r := a.recv()
			if got := errCode(r); got != tc.code {
				t.Fatalf("reply %v: code %q, want %q", r, got, tc.code)
			}
			// Errors echo the request so the client can route them.
			if strings.Contains(tc.msg, `"seq":`) && tc.code != "ERR_MESSAGE_BADLY_FORMED" && r["seq"] == nil {
				t.Fatalf("error reply lost the seq: %v", r)
			}
		})
	}
	if snap := a.fetch("t", "x"); !jsonEqual(snap, M{"v": 1, "data": "abc", "type": textURI}) {
		t.Fatalf("document changed: %v", snap)
	}
	// The connection is still open and usable.
	if r := a.roundTrip(M{"a": "pp"}); r["a"] != "pp" {
		t.Fatalf("ping after errors: %v", r)
	}
	// A frame that is not a JSON object closes the connection, as sharedb does.
	a.sendRaw(`[1,2]`)
	if _, err := a.tryRecv(2 * time.Second); err == nil {
		t.Fatal("connection still open after a non-object frame")
	}
}

func TestSnapshotAtVersionAndTime(t *testing.T) {
	var clock atomic.Int64 // Unix ms
	clock.Store(1_700_000_000_000)
	ts := startServer(t, testOpts{sessCfg: func(c *sessions.Config) { c.Now = func() time.Time { return time.UnixMilli(clock.Load()) } }})
	a := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "h", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": "a"}})
	for i, s := range []string{"b", "c", "d"} {
		clock.Add(1000)
		a.roundTrip(M{"a": "op", "c": "t", "d": "h", "v": i + 1, "seq": i + 2, "op": []any{i + 1, s}})
	}
	for v, want := range []any{nil, "a", "ab", "abc", "abcd"} {
		r := a.roundTrip(M{"a": "nf", "id": v + 1, "c": "t", "d": "h", "v": v})
		if r["a"] != "nf" || r["id"] != float64(v+1) || r["v"] != float64(v) || r["m"] != nil {
			t.Fatalf("nf v=%d: %v", v, r)
		}
		if want == nil {
			if r["type"] != nil || r["data"] != nil {
				t.Fatalf("nf v=0: %v", r)
			}
		} else if r["data"] != want || r["type"] != textURI {
			t.Fatalf("nf v=%d: %v", v, r)
		}
	}
	if r := a.roundTrip(M{"a": "nf", "id": 9, "c": "t", "d": "h", "v": 5}); errCode(r) != "ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT" {
		t.Fatalf("nf beyond current: %v", r)
	}
	start := int64(1_700_000_000_000)
	for _, tc := range []struct {
		ts   any
		want string
	}{{start, "a"}, {start + 1500, "ab"}, {start + 2000, "abc"}, {start + 99999, "abcd"}, {nil, "abcd"}} {
		r := a.roundTrip(M{"a": "nt", "id": 1, "c": "t", "d": "h", "ts": tc.ts})
		if r["data"] != tc.want {
			t.Fatalf("nt ts=%v: %v, want %q", tc.ts, r, tc.want)
		}
	}
}

func TestBulkSubscribe(t *testing.T) {
	ts := startServer(t, testOpts{})
	a := ts.connect("")
	b := ts.connect("")
	ids := []any{}
	for i := 0; i < 50; i++ {
		id := "doc" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		ids = append(ids, id)
		if i%2 == 0 {
			a.roundTrip(M{"a": "op", "c": "bulk", "d": id, "v": nil, "seq": i + 1, "create": M{"type": "json0", "data": M{"n": i}}})
		}
	}
	r := b.roundTrip(M{"a": "bs", "c": "bulk", "b": ids})
	data, ok := r["data"].(M)
	if r["a"] != "bs" || r["c"] != "bulk" || !ok || len(data) != 50 {
		t.Fatalf("bulk reply %v", r)
	}
	for i, id := range ids {
		want := M{"v": 0, "type": nil}
		if i%2 == 0 {
			want = M{"v": 1, "data": M{"n": i}}
		}
		if !jsonEqual(data[id.(string)], want) {
			t.Fatalf("bulk %s: %v, want %v", id, data[id.(string)], want)
		}
	}
	a.roundTrip(M{"a": "op", "c": "bulk", "d": ids[4], "v": 1, "seq": 100, "op": []M{{"p": []any{"n"}, "na": 1}}})
	if op := b.recv(); op["d"] != ids[4] || op["v"] != float64(1) {
		t.Fatalf("op after bulk subscribe %v", op)
	}
	// Versions map form: ops since each version, then a bare reply echoing b.
	b.send(M{"a": "bf", "c": "bulk", "b": M{ids[0].(string): 0, ids[2].(string): 1}})
	if op := b.recv(); op["d"] != ids[0] || op["create"] == nil {
		t.Fatalf("bulk catch-up %v", op)
	}
	if r := b.recv(); r["a"] != "bf" || r["data"] != nil || r["b"] == nil {
		t.Fatalf("bulk versions reply %v", r)
	}
	if r := b.roundTrip(M{"a": "bu", "c": "bulk", "b": ids}); r["a"] != "bu" {
		t.Fatalf("bulk unsubscribe %v", r)
	}
}

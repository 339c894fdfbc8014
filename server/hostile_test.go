package server

import (
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/sessions"
)

// TestHostileInput sends many classes of malformed or abusive messages.
// Each gets an error to the sender only; no document changes; a bystander
// subscribed to every document receives nothing and can still edit; the
// attacker's connection stays usable.
func TestHostileInput(t *testing.T) {
	ts := startServer(t, testOpts{
		agent:   sessions.AgentConfig{MaxSubscriptions: 20, PresencePerSecond: 5},
		sessCfg: func(c *sessions.Config) { c.MaxDocBytes = 64 << 10 },
	})
	owner := ts.connect("")
	setup := []M{
		{"a": "op", "c": "t", "d": "x", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": "abc"}},
		{"a": "op", "c": "j", "d": "x", "v": nil, "seq": 2, "create": M{"type": "json0", "data": M{"a": 1, "s": "hey", "l": []any{1, 2}}}},
		{"a": "op", "c": "r", "d": "x", "v": nil, "seq": 3, "create": M{"type": "rich-text", "data": []M{{"insert": "rich\n"}}}},
		{"a": "op", "c": "t", "d": "gone", "v": nil, "seq": 4, "create": M{"type": "text-unicode", "data": "bye"}},
		{"a": "op", "c": "t", "d": "gone", "v": 1, "seq": 5, "del": true},
	}
	for _, m := range setup {
		if r := owner.roundTrip(m); r["error"] != nil {
			t.Fatalf("setup %v: %v", m, r)
		}
	}
	docs := [][2]string{{"t", "x"}, {"j", "x"}, {"r", "x"}, {"t", "gone"}}
	before := map[string]M{}
	for _, d := range docs {
		before[d[0]+"/"+d[1]] = owner.fetch(d[0], d[1])
	}
	bystander := ts.connect("")
	for _, d := range docs {
		bystander.roundTrip(M{"a": "s", "c": d[0], "d": d[1], "v": nil})
	}

	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	big := strings.Repeat("x", 100<<10) // under the message limit, over the document limit
	rt := `"http://sharejs.org/types/rich-text/v1"`
	cases := []struct {
		name, msg, code string
	}{
		{"malformed JSON", `{"a":"f","c":`, "ERR_MESSAGE_BADLY_FORMED"},
		{"truncated string", `{"a":"f","c":"t`, "ERR_MESSAGE_BADLY_FORMED"},
		{"unknown action", `{"a":"zz","c":"t","d":"x"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"action is a number", `{"a":1}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"action is null", `{"a":null}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"no action", `{}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"collection is a number", `{"a":"f","c":1,"d":"x"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"collection is an array", `{"a":"s","c":["t"],"d":"x"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"collection __proto__", `{"a":"f","c":"__proto__","d":"x"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"collection constructor", `{"a":"s","c":"constructor","d":"x"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"id toString", `{"a":"f","c":"t","d":"toString"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"id hasOwnProperty in op", `{"a":"op","c":"t","d":"hasOwnProperty","v":null,"seq":6,"create":{"type":"json0"}}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"empty id", `{"a":"f","c":"t","d":""}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"id is an object", `{"a":"f","c":"t","d":{}}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"lone surrogate in id", `{"a":"f","c":"t","d":"\ud800"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"negative version", `{"a":"f","c":"t","d":"x","v":-1}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"fractional version", `{"a":"s","c":"t","d":"x","v":0.5}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"string version", `{"a":"op","c":"t","d":"x","v":"1","seq":7,"op":["z"]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"huge version", `{"a":"f","c":"t","d":"x","v":1e300}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"version beyond safe integers", `{"a":"op","c":"t","d":"x","v":18014398509481984,"seq":8,"op":["z"]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"negative seq", `{"a":"op","c":"t","d":"x","v":1,"seq":-1,"op":["z"]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"string seq", `{"a":"op","c":"t","d":"x","v":1,"seq":"9","op":["z"]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"seq overflow", `{"a":"op","c":"t","d":"x","v":1,"seq":9007199254740992,"op":["z"]}`, "ERR_CONNECTION_SEQ_INTEGER_OVERFLOW"},
		{"src is a number", `{"a":"op","c":"t","d":"x","v":1,"src":5,"seq":10,"op":["z"]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"op without body", `{"a":"op","c":"t","d":"x","v":1,"seq":11}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"op without seq", `{"a":"op","c":"t","d":"x","v":1,"op":["z"]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"del not true", `{"a":"op","c":"t","d":"x","v":1,"seq":12,"del":"yes"}`, "ERR_OT_OP_BADLY_FORMED"},
		{"create is a string", `{"a":"op","c":"t","d":"n1","v":null,"seq":13,"create":"json0"}`, "ERR_OT_OP_BADLY_FORMED"},
		{"create without type", `{"a":"op","c":"t","d":"n2","v":null,"seq":14,"create":{"data":1}}`, "ERR_OT_OP_BADLY_FORMED"},
		{"unknown type", `{"a":"op","c":"t","d":"n3","v":null,"seq":15,"create":{"type":"json2"}}`, "ERR_DOC_TYPE_NOT_RECOGNIZED"},
		{"bad create data", `{"a":"op","c":"t","d":"n4","v":null,"seq":16,"create":{"type":"text-unicode","data":5}}`, "ERR_OT_OP_NOT_APPLIED"},
		{"create over an existing doc", `{"a":"op","c":"t","d":"x","v":1,"seq":17,"create":{"type":"text-unicode","data":""}}`, "ERR_DOC_ALREADY_CREATED"},
		{"op on a missing doc", `{"a":"op","c":"t","d":"never","v":0,"seq":18,"op":["z"]}`, "ERR_DOC_DOES_NOT_EXIST"},
		{"op on a deleted doc", `{"a":"op","c":"t","d":"gone","v":2,"seq":19,"op":["z"]}`, "ERR_DOC_DOES_NOT_EXIST"},
		{"stale op on a deleted doc", `{"a":"op","c":"t","d":"gone","v":1,"seq":20,"op":["z"]}`, "ERR_DOC_WAS_DELETED"},
		{"op from the future", `{"a":"op","c":"t","d":"x","v":99,"seq":21,"op":["z"]}`, "ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT"},
		{"text skip past the end", `{"a":"op","c":"t","d":"x","v":1,"seq":22,"op":[50,"z"]}`, "ERR_OT_OP_NOT_APPLIED"},
		{"text unknown component", `{"a":"op","c":"t","d":"x","v":1,"seq":23,"op":[{"x":1}]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"text op not an array", `{"a":"op","c":"t","d":"x","v":1,"seq":24,"op":"z"}`, "ERR_OT_OP_BADLY_FORMED"},
		{"text zero skip", `{"a":"op","c":"t","d":"x","v":1,"seq":25,"op":[0,"z"]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"json0 __proto__ path", `{"a":"op","c":"j","d":"x","v":1,"seq":26,"op":[{"p":["__proto__","x"],"oi":1}]}`, "ERR_OT_OP_"},
		{"json0 missing path", `{"a":"op","c":"j","d":"x","v":1,"seq":27,"op":[{"oi":1}]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"json0 op not an array", `{"a":"op","c":"j","d":"x","v":1,"seq":28,"op":{"p":["a"],"na":1}}`, "ERR_OT_OP_BADLY_FORMED"},
		{"json0 path into nothing", `{"a":"op","c":"j","d":"x","v":1,"seq":29,"op":[{"p":["nope","deeper"],"oi":1}]}`, "ERR_OT_OP_NOT_APPLIED"},
		{"json0 na on a string", `{"a":"op","c":"j","d":"x","v":1,"seq":30,"op":[{"p":["s"],"na":1}]}`, "ERR_OT_OP_NOT_APPLIED"},
		{"json0 sd that does not match", `{"a":"op","c":"j","d":"x","v":1,"seq":31,"op":[{"p":["s",0],"sd":"zzz"}]}`, "ERR_OT_OP_NOT_APPLIED"},
		{"rich-text delete past the end", `{"a":"op","c":"r","d":"x","v":1,"seq":32,"op":[{"retain":3},{"delete":99}]}`, "ERR_OT_OP_NOT_APPLIED"},
		{"rich-text negative retain", `{"a":"op","c":"r","d":"x","v":1,"seq":33,"op":[{"retain":-3}]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"rich-text attributes not an object", `{"a":"op","c":"r","d":"x","v":1,"seq":34,"op":[{"insert":"a","attributes":5}]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"lone surrogate in an op", `{"a":"op","c":"t","d":"x","v":1,"seq":35,"op":["\udfff"]}`, "ERR_OT_OP_BADLY_FORMED"},
		{"deep nesting", `{"a":"op","c":"j","d":"x","v":1,"seq":36,"op":[{"p":["a"],"oi":` + deep + `}]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"document over the size limit", `{"a":"op","c":"t","d":"x","v":1,"seq":37,"op":["` + big + `"]}`, "ERR_TOO_LARGE"},
		{"bulk data is a number", `{"a":"bs","c":"t","b":5}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"bulk prototype id", `{"a":"bf","c":"t","b":["x","valueOf"]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"bulk negative version", `{"a":"bs","c":"t","b":{"x":-2}}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"bulk without collection", `{"a":"bf","b":["x"]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"presence id not a string", `{"a":"p","ch":"r.x","id":7,"p":null,"pv":0}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"presence negative pv", `{"a":"p","ch":"r.x","id":"a","p":null,"pv":-1}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"presence on text-unicode", `{"a":"p","ch":"t.x","id":"a","p":{"index":0},"pv":0,"c":"t","d":"x","v":1,"t":"http://sharejs.org/types/text-unicode"}`, "ERR_TYPE_DOES_NOT_SUPPORT_PRESENCE"},
		{"presence of an unknown type", `{"a":"p","ch":"r.x","id":"a","p":{"index":0},"pv":0,"c":"r","d":"x","v":1,"t":"nope"}`, "ERR_DOC_TYPE_NOT_RECOGNIZED"},
		{"presence channel is a number", `{"a":"ps","ch":5,"seq":1}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"presence channel __proto__", `{"a":"ps","ch":"__proto__","seq":1}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"query without id", `{"a":"qf","c":"t","q":{}}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"query with $where", `{"a":"qf","id":1,"c":"j","q":{"$where":"sleep(1000)"}}`, "ERR_QUERY_INVALID"},
		{"query with an unknown operator", `{"a":"qs","id":2,"c":"j","q":{"a":{"$wat":1}}}`, "ERR_QUERY_INVALID"},
		{"query results malformed", `{"a":"qs","id":3,"c":"j","q":{},"r":[["x",-1]]}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"snapshot fetch without id", `{"a":"nf","id":1,"c":"t","v":1}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"snapshot by a string time", `{"a":"nt","id":2,"c":"t","d":"x","ts":"yesterday"}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"snapshot beyond the current version", `{"a":"nf","id":3,"c":"t","d":"x","v":1000}`, "ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT"},
		{"handshake protocol object", `{"a":"hs","protocol":{}}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"handshake id number", `{"a":"hs","id":12}`, "ERR_MESSAGE_BADLY_FORMED"},
		{"handshake id too long", `{"a":"hs","id":"` + strings.Repeat("i", 300) + `"}`, "ERR_MESSAGE_BADLY_FORMED"},
	}
	if len(cases) < 50 {
		t.Fatalf("only %d classes", len(cases))
	}
	attacker := ts.connect("")
	for _, tc := range cases {
		attacker.sendRaw(tc.msg)
		r := attacker.recv()
		if code := errCode(r); !strings.HasPrefix(code, tc.code) {
			t.Errorf("%s: reply %.300v, want %s", tc.name, r, tc.code)
		}
	}

	// Floods: presence beyond its rate, subscriptions beyond the limit.
	limited := 0
	for i := 0; i < 40; i++ {
		attacker.send(M{"a": "p", "ch": "r.x", "id": "flood", "p": M{"index": 1, "length": 0}, "pv": i, "c": "r", "d": "x", "v": 1, "t": richTextURI})
	}
	for i := 0; i < 40; i++ {
		if errCode(attacker.recv()) == "ERR_RATE_LIMITED" {
			limited++
		}
	}
	if limited < 20 {
		t.Errorf("presence flood: only %d of 40 refused", limited)
	}
	var ids []any
	for i := 0; i < 30; i++ {
		ids = append(ids, "flood"+string(rune('a'+i)))
	}
	if r := attacker.roundTrip(M{"a": "bs", "c": "t", "b": ids}); errCode(r) != "ERR_TOO_MANY_SUBSCRIPTIONS" {
		t.Errorf("bulk subscription flood: %v", r)
	}
	refused := 0
	for i := 0; i < 30; i++ {
		if errCode(attacker.roundTrip(M{"a": "s", "c": "t", "d": ids[i], "v": nil})) == "ERR_TOO_MANY_SUBSCRIPTIONS" {
			refused++
		}
	}
	if refused != 10 {
		t.Errorf("subscription flood: %d refused, want 10 (limit 20)", refused)
	}

	// Nothing changed, nobody else heard anything.
	for _, d := range docs {
		if got := owner.fetch(d[0], d[1]); !jsonEqual(got, before[d[0]+"/"+d[1]]) {
			t.Errorf("%s/%s changed: %v -> %v", d[0], d[1], before[d[0]+"/"+d[1]], got)
		}
	}
	bystander.expectNothing(200 * time.Millisecond)
	if ack := bystander.roundTrip(M{"a": "op", "c": "t", "d": "x", "v": 1, "seq": 1, "op": []any{"ok "}}); ack["v"] != float64(1) {
		t.Fatalf("bystander edit after the attack: %v", ack)
	}
	if r := attacker.roundTrip(M{"a": "pp"}); r["a"] != "pp" {
		t.Fatalf("attacker's connection unusable: %v", r)
	}
	_ = rt
}

// TestFramesThatCloseTheConnection: what the protocol cannot answer
// (not a JSON object, invalid UTF-8, binary, over the size limit) closes
// that connection only.
func TestFramesThatCloseTheConnection(t *testing.T) {
	ts := startServer(t, testOpts{})
	other := ts.connect("")
	for name, send := range map[string]func(c *client){
		// Write errors are ignored: the server may close while a big
		// frame is still being written.
		"array frame":   func(c *client) { c.ws.WriteMessage(1, []byte(`["a"]`)) },
		"number frame":  func(c *client) { c.ws.WriteMessage(1, []byte(`42`)) },
		"invalid UTF-8": func(c *client) { c.ws.WriteMessage(1, []byte("{\"a\":\"f\",\"c\":\"\xff\"}")) },
		"binary frame":  func(c *client) { c.ws.WriteMessage(2, []byte(`{"a":"pp"}`)) },
		"oversized":     func(c *client) { c.ws.WriteMessage(1, []byte(`{"a":"pp","x":"`+strings.Repeat("x", 2<<20)+`"}`)) },
	} {
		c := ts.connect("")
		send(c)
		if _, err := c.tryRecv(3 * time.Second); err != errClosed {
			t.Errorf("%s: connection not closed (%v)", name, err)
		}
	}
	if r := other.roundTrip(M{"a": "pp"}); r["a"] != "pp" {
		t.Fatalf("bystander: %v", r)
	}
}

package server

import "testing"

func TestPresenceGoneOnAbruptCloseCarriesLatestVersion(t *testing.T) {
	ts := startServer(t, testOpts{})
	a := ts.connect("")
	c := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "n", "d": "x", "v": nil, "seq": 1, "create": M{"type": "rich-text", "data": []M{{"insert": "hello\n"}}}})
	for _, cl := range []*client{a, c} {
		cl.roundTrip(M{"a": "s", "c": "n", "d": "x", "v": nil})
		cl.roundTrip(M{"a": "ps", "ch": "n.x", "seq": 1})
	}
	a.roundTrip(M{"a": "p", "ch": "n.x", "id": "cur", "p": M{"index": 1, "length": 0}, "pv": 0, "c": "n", "d": "x", "v": 1, "t": richTextURI})
	if m := c.recv(); m["a"] != "p" || m["id"] != "cur" {
		t.Fatalf("c got %v", m)
	}
	// An op after the cursor: the null sent when a leaves must carry the
	// latest version, or sharedb clients never apply it.
	c.roundTrip(M{"a": "op", "c": "n", "d": "x", "v": 1, "seq": 1, "op": []M{{"insert": "Q"}}})
	a.recv()
	a.ws.UnderlyingConn().Close()
	m := c.recv()
	if m["a"] != "p" || m["p"] != nil || m["src"] != a.id || m["v"] != float64(2) {
		t.Fatalf("c got %v", m)
	}
}

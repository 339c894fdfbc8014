package server

import (
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestAuthorizationMatrix checks every endpoint and every message for
// four callers: no token, a viewer, an editor, and an editor of another
// document only.
func TestAuthorizationMatrix(t *testing.T) {
	ts := startServer(t, testOpts{secret: testSecret})
	tok := func(c Claims) string { return token(t, c, testSecret, jwt.SigningMethodHS256) }
	admin := ts.connect("token=" + tok(Claims{DefaultRole: "editor"}))
	admin.roundTrip(M{"a": "op", "c": "m", "d": "doc", "v": nil, "seq": 1, "create": M{"type": "rich-text", "data": []M{{"insert": "x\n"}}}})

	callers := map[string]string{
		"viewer":       tok(Claims{DefaultRole: "viewer"}),
		"editor":       tok(Claims{DefaultRole: "editor"}),
		"other-editor": tok(Claims{Docs: map[string]map[string]string{"m": {"other": "editor"}}}),
	}
	// want: "ok" or an error code, per caller.
	type want map[string]string
	reads := want{"viewer": "ok", "editor": "ok", "other-editor": "ERR_FORBIDDEN"}
	writes := want{"viewer": "ERR_FORBIDDEN", "editor": "ok", "other-editor": "ERR_FORBIDDEN"}
	messages := []struct {
		name string
		msg  M
		want want
	}{
		{"f", M{"a": "f", "c": "m", "d": "doc", "v": nil}, reads},
		{"s", M{"a": "s", "c": "m", "d": "doc", "v": nil}, reads},
		{"nf", M{"a": "nf", "id": 1, "c": "m", "d": "doc", "v": 1}, reads},
		{"nt", M{"a": "nt", "id": 2, "c": "m", "d": "doc", "ts": nil}, reads},
		{"qf", M{"a": "qf", "id": 3, "c": "m", "q": M{}}, reads},
		{"ps", M{"a": "ps", "ch": "m.doc", "seq": 1}, reads},
		{"p", M{"a": "p", "ch": "m.doc", "id": "c", "p": M{"index": 0, "length": 0}, "pv": 0, "c": "m", "d": "doc", "v": 1, "t": richTextURI}, writes},
		{"op edit", M{"a": "op", "c": "m", "d": "doc", "v": 1, "seq": 1, "op": []M{{"insert": "!"}}}, writes},
		{"op create", M{"a": "op", "c": "m", "d": "new", "v": nil, "seq": 2, "create": M{"type": "json0"}}, writes},
		{"op del", M{"a": "op", "c": "m", "d": "doc", "v": nil, "seq": 3, "del": true}, writes},
	}
	for who, tk := range callers {
		for _, m := range messages {
			c := ts.connect("token=" + tk)
			r := c.roundTrip(m.msg)
			for r["a"] == "p" && r["error"] == nil && m.name == "ps" {
				r = c.recv()
			}
			got := "ok"
			if code := errCode(r); code != "" {
				got = code
			}
			if got != m.want[who] {
				t.Errorf("%s %s: %s (%v), want %s", who, m.name, got, r, m.want[who])
			}
			// Undo a successful delete so later callers see the doc.
			if got == "ok" && m.name == "op del" {
				admin.roundTrip(M{"a": "op", "c": "m", "d": "doc", "v": nil, "seq": 100, "create": M{"type": "rich-text", "data": []M{{"insert": "x\n"}}}})
			}
		}
		// Bulk forms: per-doc errors inside data for the array form.
		c := ts.connect("token=" + tk)
		r := c.roundTrip(M{"a": "bf", "c": "m", "b": []any{"doc"}})
		got := "ok"
		if e, ok := r["data"].(M)["doc"].(M)["error"].(M); ok {
			got = e["code"].(string)
		}
		if got != reads[who] {
			t.Errorf("%s bf: %v", who, r)
		}
	}

	// HTTP: the WebSocket upgrade and every API endpoint.
	endpoints := []string{"/api/v1/docs/m", "/api/v1/docs/m/doc", "/api/v1/docs/m/doc/ops", "/api/v1/docs/m/doc/events", "/api/v1/docs/m/doc/presence"}
	status := func(path, tk string) int {
		if tk != "" {
			path += "?token=" + tk
		}
		req, _ := http.NewRequest("GET", "http://"+ts.addr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, ep := range endpoints {
		for who, tk := range map[string]string{"none": "", "viewer": callers["viewer"], "editor": callers["editor"], "other-editor": callers["other-editor"]} {
			want := map[string]int{"none": 401, "viewer": 200, "editor": 200, "other-editor": 403}[who]
			if got := status(ep, tk); got != want {
				t.Errorf("GET %s as %s: %d, want %d", ep, who, got, want)
			}
		}
	}
	if _, resp, _ := ts.dial(""); resp == nil || resp.StatusCode != 401 {
		t.Errorf("WebSocket without a token: %v", resp)
	}
}

package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "test-secret"

func token(t *testing.T, c Claims, secret string, method jwt.SigningMethod) string {
	t.Helper()
	if c.ExpiresAt == nil {
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
	}
	s, err := jwt.NewWithClaims(method, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthRoles(t *testing.T) {
	ts := startServer(t, testOpts{secret: testSecret})
	editorTok := token(t, Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ed"}, Name: "Ed", DefaultRole: "editor"}, testSecret, jwt.SigningMethodHS256)
	viewerTok := token(t, Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "vi"}, DefaultRole: "viewer"}, testSecret, jwt.SigningMethodHS256)
	otherDocTok := token(t, Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "o"}, Docs: map[string]map[string]string{"notes": {"other": "editor"}}}, testSecret, jwt.SigningMethodHS256)

	ed := ts.connect("token=" + editorTok)
	ed.roundTrip(M{"a": "op", "c": "notes", "d": "plan", "v": nil, "seq": 1, "create": M{"type": "json0", "data": M{"n": 1}}})

	vi := ts.connect("token=" + viewerTok)
	if snap := vi.fetch("notes", "plan"); !jsonEqual(snap, M{"v": 1, "data": M{"n": 1}}) {
		t.Fatalf("viewer fetch %v", snap)
	}
	for _, msg := range []M{
		{"a": "op", "c": "notes", "d": "plan", "v": 1, "seq": 1, "op": []M{{"p": []any{"n"}, "na": 1}}},
		{"a": "op", "c": "notes", "d": "plan", "v": 1, "seq": 2, "del": true},
		{"a": "op", "c": "notes", "d": "new", "v": nil, "seq": 3, "create": M{"type": "json0"}},
		{"a": "p", "ch": "notes.plan", "id": "x", "p": M{"index": 0}, "pv": 0, "c": "notes", "d": "plan", "v": 1},
	} {
		if r := vi.roundTrip(msg); errCode(r) != "ERR_FORBIDDEN" {
			t.Fatalf("viewer write %v: %v", msg, r)
		}
	}
	// Someone with a role on another document only cannot read this one.
	o := ts.connect("token=" + otherDocTok)
	if r := o.roundTrip(M{"a": "f", "c": "notes", "d": "plan", "v": nil}); errCode(r) != "ERR_FORBIDDEN" {
		t.Fatalf("other-doc read: %v", r)
	}
	if snap := ed.fetch("notes", "plan"); !jsonEqual(snap, M{"v": 1, "data": M{"n": 1}}) {
		t.Fatalf("document changed: %v", snap)
	}

	// Refused connections: no token, wrong secret, wrong algorithm, expired.
	for name, q := range map[string]string{
		"none":    "",
		"bad sig": "token=" + token(t, Claims{DefaultRole: "editor"}, "other", jwt.SigningMethodHS256),
		"HS384":   "token=" + token(t, Claims{DefaultRole: "editor"}, testSecret, jwt.SigningMethodHS384),
		"expired": "token=" + token(t, Claims{DefaultRole: "editor", RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(-time.Hour))}}, testSecret, jwt.SigningMethodHS256),
	} {
		if _, resp, err := ts.dial(q); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: err %v resp %v, want 401", name, err, resp)
		}
	}
	// SSE and the read API take the token too, and never without one.
	if _, resp := ts.sse("/api/v1/docs/notes/plan/events?token="+viewerTok, nil); resp.StatusCode != 200 {
		t.Fatalf("viewer SSE: %d", resp.StatusCode)
	}
	if _, resp := ts.sse("/api/v1/docs/notes/plan/events", nil); resp.StatusCode != 401 {
		t.Fatalf("anonymous SSE: %d", resp.StatusCode)
	}
	if _, resp := ts.sse("/api/v1/docs/notes/plan/events?token="+otherDocTok, nil); resp.StatusCode != 403 {
		t.Fatalf("other-doc SSE: %d", resp.StatusCode)
	}
}

func TestTokenExpiryClosesConnection(t *testing.T) {
	ts := startServer(t, testOpts{secret: testSecret})
	tok := token(t, Claims{DefaultRole: "editor", RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(time.Now().Add(1500 * time.Millisecond))}}, testSecret, jwt.SigningMethodHS256)
	c := ts.connect("token=" + tok)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("connection with an expired token still open")
	}
}

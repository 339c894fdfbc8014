package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/sessions"
	"github.com/tandemhq/tandem/storage"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	event, id string
	data      M
}

// sseClient reads an event stream in the background.
type sseClient struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

func (ts *testServer) sse(path string, header http.Header) (*sseClient, *http.Response) {
	ts.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ts.addr+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		ts.t.Fatal(err)
	}
	c := &sseClient{t: ts.t, resp: resp, events: make(chan sseEvent, 1000), cancel: cancel}
	ts.t.Cleanup(c.close)
	if resp.StatusCode != 200 {
		return c, resp
	}
	go func() {
		defer close(c.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var ev sseEvent
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if len(data) > 0 {
					json.Unmarshal([]byte(strings.Join(data, "\n")), &ev.data)
					c.events <- ev
				}
				ev, data = sseEvent{}, nil
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = append(data, line[6:])
			}
		}
	}()
	return c, resp
}

// insertAt is a text-unicode op inserting s at pos.
func insertAt(pos int, s string) []any {
	if pos == 0 {
		return []any{s}
	}
	return []any{pos, s}
}

func (c *sseClient) close() { c.cancel(); c.resp.Body.Close() }

func (c *sseClient) next() sseEvent {
	c.t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			c.t.Fatal("stream ended")
		}
		c.t.Logf("event %s id=%s %v", ev.event, ev.id, ev.data)
		return ev
	case <-time.After(5 * time.Second):
		c.t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

// nextOf skips events of other kinds.
func (c *sseClient) nextOf(kind string) sseEvent {
	c.t.Helper()
	for {
		if ev := c.next(); ev.event == kind {
			return ev
		}
	}
}

func TestSSEViewerFollowsDocumentAndPresence(t *testing.T) {
	ts := startServer(t, testOpts{})
	ed := ts.connect("name=Ann&color=%23e91e63")
	ed.roundTrip(M{"a": "op", "c": "notes", "d": "n1", "v": nil, "seq": 1, "create": M{"type": "rich-text", "data": []M{{"insert": "Hello\n"}}}})

	v, resp := ts.sse("/api/v1/docs/notes/n1/events", nil)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	snap := v.next()
	if snap.event != "snapshot" || snap.id != "1" || !jsonEqual(snap.data, M{"v": 1, "type": richTextURI, "data": M{"ops": []M{{"insert": "Hello\n"}}}}) {
		t.Fatalf("snapshot event %+v", snap)
	}
	if set := v.next(); set.event != "presence" || set.data["type"] != "set" {
		t.Fatalf("presence set %+v", set)
	}
	// The editor subscribes: it joins. Its cursor moves: an update.
	ed.roundTrip(M{"a": "s", "c": "notes", "d": "n1", "v": 1})
	join := v.nextOf("presence")
	editor, _ := join.data["editor"].(M)
	if join.data["type"] != "join" || editor["name"] != "Ann" || editor["color"] != "#e91e63" || editor["id"] != ed.id {
		t.Fatalf("join %+v", join)
	}
	ed.send(M{"a": "ps", "ch": "notes.n1", "seq": 1})
	ed.recv()
	ed.roundTrip(M{"a": "p", "ch": "notes.n1", "id": "cur", "p": M{"index": 2, "length": 1}, "pv": 0, "c": "notes", "d": "n1", "v": 1, "t": richTextURI})
	upd := v.nextOf("presence")
	if upd.data["type"] != "update" || !jsonEqual(upd.data["editor"].(M)["cursor"], M{"index": 2, "length": 1}) {
		t.Fatalf("update %+v", upd)
	}
	// An op reaches the viewer with the version as its event id, and the
	// cursor after it moves with it.
	ed.roundTrip(M{"a": "op", "c": "notes", "d": "n1", "v": 1, "seq": 2, "op": []M{{"insert": ">> "}}})
	op := v.nextOf("op")
	if op.id != "2" || !jsonEqual(op.data, M{"v": 1, "src": ed.id, "seq": 2, "op": []M{{"insert": ">> "}}}) {
		t.Fatalf("op event %+v", op)
	}
	moved := v.nextOf("presence")
	if !jsonEqual(moved.data["editor"].(M)["cursor"], M{"index": 5, "length": 1}) {
		t.Fatalf("cursor after op %+v", moved)
	}
	// The editor leaves.
	ed.ws.Close()
	leave := v.nextOf("presence")
	if leave.data["type"] != "leave" || leave.data["editor"].(M)["id"] != ed.id {
		t.Fatalf("leave %+v", leave)
	}
}

func TestSSEResumeWithLastEventID(t *testing.T) {
	ts := startServer(t, testOpts{})
	ed := ts.connect("")
	ed.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})
	for i := 1; i <= 3; i++ {
		ed.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": i, "seq": i + 1, "op": insertAt(i-1, string(rune('a'+i-1)))})
	}
	v, _ := ts.sse("/api/v1/docs/t/r/events", nil)
	if s := v.next(); s.id != "4" || s.data["data"] != "abc" {
		t.Fatalf("snapshot %+v", s)
	}
	v.close()
	// Two more ops while the viewer is away.
	ed.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": 4, "seq": 5, "op": []any{3, "d"}})
	ed.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": 5, "seq": 6, "op": []any{4, "e"}})
	v2, _ := ts.sse("/api/v1/docs/t/r/events", http.Header{"Last-Event-Id": {"4"}})
	var got []string
	for len(got) < 2 {
		ev := v2.next()
		if ev.event == "snapshot" {
			t.Fatalf("resume sent a snapshot: %+v", ev)
		}
		if ev.event == "op" {
			got = append(got, ev.id)
		}
	}
	if strings.Join(got, ",") != "5,6" {
		t.Fatalf("resumed op ids %v, want 5,6", got)
	}
	// Nothing repeated after that.
	ed.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": 6, "seq": 7, "op": []any{5, "f"}})
	if ev := v2.nextOf("op"); ev.id != "7" {
		t.Fatalf("next op id %s", ev.id)
	}
}

func TestReadAPI(t *testing.T) {
	ts := startServer(t, testOpts{})
	ed := ts.connect("")
	ed.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": "x"}})
	for i := 1; i <= 4; i++ {
		ed.roundTrip(M{"a": "op", "c": "t", "d": "r", "v": i, "seq": i + 1, "op": []any{i, "y"}})
	}
	get := func(path string) (int, M) {
		resp, err := http.Get("http://" + ts.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m M
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %s", path, b)
		}
		return resp.StatusCode, m
	}
	if code, m := get("/api/v1/docs/t/r"); code != 200 || !jsonEqual(m, M{"v": 5, "type": textURI, "data": "xyyyy"}) {
		t.Fatalf("snapshot %d %v", code, m)
	}
	if code, m := get("/api/v1/docs/t/r?v=2"); code != 200 || m["data"] != "xy" || m["v"] != float64(2) {
		t.Fatalf("snapshot at v=2: %d %v", code, m)
	}
	code, m := get("/api/v1/docs/t/r/ops?from=1&limit=2")
	ops, _ := m["ops"].([]any)
	if code != 200 || len(ops) != 2 || m["next"] != float64(3) || ops[0].(M)["v"] != float64(1) {
		t.Fatalf("ops page %d %v", code, m)
	}
	if code, m := get("/api/v1/docs/t/r/ops?from=3"); code != 200 || len(m["ops"].([]any)) != 2 || m["next"] != nil {
		t.Fatalf("last ops page %d %v", code, m)
	}
	if code, m := get("/api/v1/docs/t?include=data"); code != 200 || len(m["docs"].([]any)) != 1 || m["docs"].([]any)[0].(M)["data"] != "xyyyy" {
		t.Fatalf("list %d %v", code, m)
	}
	for _, tc := range []struct {
		path string
		code int
		err  string
	}{
		{"/api/v1/docs/t/nope", 404, "ERR_DOC_DOES_NOT_EXIST"},
		{"/api/v1/docs/t/nope/events", 404, "ERR_DOC_DOES_NOT_EXIST"},
		{"/api/v1/docs/t/__proto__", 400, "ERR_MESSAGE_BADLY_FORMED"},
		{"/api/v1/docs/constructor/x/events", 400, "ERR_MESSAGE_BADLY_FORMED"},
		{"/api/v1/docs/t/r?v=99", 400, "ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT"},
		{"/api/v1/docs/t/r/ops?from=-1", 400, "ERR_MESSAGE_BADLY_FORMED"},
	} {
		code, m := get(tc.path)
		if code != tc.code || m["error"].(M)["code"] != tc.err {
			t.Errorf("%s: %d %v, want %d %s", tc.path, code, m, tc.code, tc.err)
		}
	}
}

// TestSSEViewerOnAnotherInstance: the viewer is on one instance, the
// editor on another (one store, one broker): it sees the editor's ops and
// its presence join, move and leave.
func TestSSEViewerOnAnotherInstance(t *testing.T) {
	store := storage.NewMemory()
	broker := pubsub.NewMemory()
	defer broker.Close()
	s1 := startServer(t, testOpts{store: store, broker: broker})
	s2 := startServer(t, testOpts{store: store, broker: broker})
	ed := s1.connect("name=Remote&color=%23009688")
	ed.roundTrip(M{"a": "op", "c": "notes", "d": "x", "v": nil, "seq": 1, "create": M{"type": "rich-text", "data": []M{{"insert": "abc\n"}}}})

	v, _ := s2.sse("/api/v1/docs/notes/x/events", nil)
	if s := v.nextOf("snapshot"); s.id != "1" {
		t.Fatalf("snapshot %+v", s)
	}
	ed.roundTrip(M{"a": "s", "c": "notes", "d": "x", "v": 1})
	join := v.nextOf("presence")
	for join.data["type"] == "set" {
		join = v.nextOf("presence")
	}
	if join.data["type"] != "join" || join.data["editor"].(M)["name"] != "Remote" {
		t.Fatalf("join from the other instance %+v", join)
	}
	ed.roundTrip(M{"a": "p", "ch": "notes.x", "id": "c", "p": M{"index": 1, "length": 0}, "pv": 0, "c": "notes", "d": "x", "v": 1, "t": richTextURI})
	if upd := v.nextOf("presence"); upd.data["type"] != "update" || !jsonEqual(upd.data["editor"].(M)["cursor"], M{"index": 1, "length": 0}) {
		t.Fatalf("cursor from the other instance %+v", upd)
	}
	ed.roundTrip(M{"a": "op", "c": "notes", "d": "x", "v": 1, "seq": 2, "op": []M{{"retain": 3}, {"insert": "!"}}})
	if op := v.nextOf("op"); op.id != "2" || op.data["src"] != ed.id {
		t.Fatalf("op from the other instance %+v", op)
	}
	ed.ws.Close()
	for {
		ev := v.nextOf("presence")
		if ev.data["type"] == "leave" {
			if ev.data["editor"].(M)["id"] != ed.id {
				t.Fatalf("leave %+v", ev)
			}
			break
		}
	}
}

// cutBroker stops publishing when cut, like an instance that died.
type cutBroker struct {
	pubsub.Broker
	cut atomic.Bool
}

func (b *cutBroker) Publish(ctx context.Context, chs []string, msg []byte) error {
	if b.cut.Load() {
		return nil
	}
	return b.Broker.Publish(ctx, chs, msg)
}

// TestEditorsOfADeadInstanceExpire: an instance that dies says nothing;
// the others drop its editors after the presence TTL, telling viewers and
// their own ShareDB clients (p:null).
func TestEditorsOfADeadInstanceExpire(t *testing.T) {
	store := storage.NewMemory()
	mem := pubsub.NewMemory()
	defer mem.Close()
	dying := &cutBroker{Broker: mem}
	short := func(c *sessions.Config) { c.PresenceTTL = 900 * time.Millisecond }
	s1 := startServer(t, testOpts{store: store, broker: dying, sessCfg: short})
	s2 := startServer(t, testOpts{store: store, broker: mem, sessCfg: short})
	ed := s1.connect("name=Doomed")
	ed.roundTrip(M{"a": "op", "c": "n", "d": "x", "v": nil, "seq": 1, "create": M{"type": "rich-text", "data": []M{{"insert": "abc\n"}}}})
	ed.roundTrip(M{"a": "s", "c": "n", "d": "x", "v": 1})
	watcher := s2.connect("")
	watcher.roundTrip(M{"a": "s", "c": "n", "d": "x", "v": 1})
	watcher.roundTrip(M{"a": "ps", "ch": "n.x", "seq": 1})
	ed.roundTrip(M{"a": "p", "ch": "n.x", "id": "c", "p": M{"index": 2, "length": 0}, "pv": 3, "c": "n", "d": "x", "v": 1, "t": richTextURI})
	if m := watcher.recv(); m["a"] != "p" || m["id"] != "c" {
		t.Fatalf("watcher got %v", m)
	}
	v, _ := s2.sse("/api/v1/docs/n/x/presence", nil)
	// The remote editor shows up under the name its instance announced,
	// in the first set or (pub/sub being asynchronous) right after it.
	named := func(ev sseEvent) bool {
		if ev.data["type"] == "set" {
			for _, e := range ev.data["editors"].([]any) {
				if e.(M)["name"] == "Doomed" {
					return true
				}
			}
			return false
		}
		e, _ := ev.data["editor"].(M)
		return e["name"] == "Doomed"
	}
	for !named(v.nextOf("presence")) {
	}
	dying.cut.Store(true) // s1 "dies": nothing it says reaches anyone
	start := time.Now()
	leave := v.nextOf("presence")
	if leave.data["type"] != "leave" || leave.data["editor"].(M)["id"] != ed.id {
		t.Fatalf("want the dead instance's editor to leave, got %+v", leave)
	}
	m := watcher.recv()
	if m["a"] != "p" || m["id"] != "c" || m["p"] != nil || m["src"] != ed.id {
		t.Fatalf("watcher should be told the presence is gone: %v", m)
	}
	gone := time.Since(start)
	t.Logf("dead instance's editor gone after %v (TTL 900ms)", gone)
}

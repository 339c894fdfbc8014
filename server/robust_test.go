package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/ot/builtin"
	"github.com/tandemhq/tandem/ot/json0"
	"github.com/tandemhq/tandem/ot/richtext"
	"github.com/tandemhq/tandem/ot/textunicode"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/sessions"
	"github.com/tandemhq/tandem/storage"
)

func TestSlowClientIsDisconnectedWithoutStallingOthers(t *testing.T) {
	ts := startServer(t, testOpts{sendQueue: 64 << 10})
	ed := ts.connect("")
	chunk := strings.Repeat("x", 32<<10)
	ed.roundTrip(M{"a": "op", "c": "t", "d": "big", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": chunk}})

	// A subscriber that never reads its socket.
	slow, _, err := websocket.DefaultDialer.Dial("ws://"+ts.addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.WriteJSON(M{"a": "s", "c": "t", "d": "big", "v": nil})
	watcher := ts.connect("")
	watcher.roundTrip(M{"a": "s", "c": "t", "d": "big", "v": nil})

	start := time.Now()
	for i := 1; i <= 300; i++ {
		// Replace the 32 KiB text: every op is a 32 KiB message to send.
		ack := ed.roundTrip(M{"a": "op", "c": "t", "d": "big", "v": i, "seq": i + 1, "op": []any{chunk, M{"d": len(chunk)}}})
		if ack["v"] != float64(i) {
			t.Fatalf("ack %d: %v", i, ack)
		}
		if w := watcher.recv(); w["v"] != float64(i) {
			t.Fatalf("watcher op %d: %v", i, w)
		}
	}
	t.Logf("300 ops of 32 KiB acked and fanned out in %v with a stalled subscriber", time.Since(start))
	// The stalled socket was closed by the server: reading what is in the
	// kernel buffers ends in an error (a close frame, or EOF when the
	// frame could not be written), never in all 300 ops.
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	n := 0
	for {
		_, _, err := slow.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("slow client's connection is still open")
			}
			break
		}
		n++
	}
	if n >= 300 {
		t.Fatalf("slow client received all %d messages; it should have been dropped", n)
	}
}

// panicType is json0 that panics on an op {"panic":true}: a stand-in for
// any bug in a type.
type panicType struct{ ot.Type }

func (panicType) Name() string { return "panicky" }
func (panicType) URI() string  { return "http://tandem.test/panicky" }
func (p panicType) Apply(s ot.Snapshot, op ot.Op) (ot.Snapshot, error) {
	b, _ := p.Type.EncodeOp(op)
	if strings.Contains(string(b), "boom") {
		panic("boom")
	}
	return p.Type.Apply(s, op)
}

func TestPanicInOneDocumentHarmsNoOther(t *testing.T) {
	reg := ot.NewRegistry(json0.Type{}, textunicode.Type{}, richtext.Type{}, panicType{json0.Type{}})
	ts := startServer(t, testOpts{types: reg})
	a := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "c", "d": "bad", "v": nil, "seq": 1, "create": M{"type": "panicky", "data": M{"k": "v"}}})
	a.roundTrip(M{"a": "op", "c": "c", "d": "good", "v": nil, "seq": 2, "create": M{"type": "json0", "data": M{"k": "v"}}})
	r := a.roundTrip(M{"a": "op", "c": "c", "d": "bad", "v": 1, "seq": 3, "op": []M{{"p": []any{"k"}, "od": "v", "oi": "boom"}}})
	if errCode(r) != "ERR_UNKNOWN_ERROR" || r["seq"] != float64(3) {
		t.Fatalf("panicking op reply %v", r)
	}
	// The connection, the other document and the same document still work.
	if ack := a.roundTrip(M{"a": "op", "c": "c", "d": "good", "v": 1, "seq": 4, "op": []M{{"p": []any{"k"}, "od": "v", "oi": "w"}}}); ack["v"] != float64(1) {
		t.Fatalf("other doc after panic: %v", ack)
	}
	if ack := a.roundTrip(M{"a": "op", "c": "c", "d": "bad", "v": 1, "seq": 5, "op": []M{{"p": []any{"k"}, "od": "v", "oi": "fine"}}}); ack["v"] != float64(1) {
		t.Fatalf("same doc after panic: %v", ack)
	}
	if snap := a.fetch("c", "bad"); !jsonEqual(snap["data"], M{"k": "fine"}) {
		t.Fatalf("doc after panic %v", snap)
	}
}

// flakyStore fails commits while failing is set, as an unreachable
// database would; some failures happen after the write (a lost reply).
type flakyStore struct {
	storage.Store
	failing   atomic.Bool
	afterSave atomic.Bool
	failures  atomic.Int64
}

func (f *flakyStore) Commit(ctx context.Context, c, d string, ops []storage.Op, snap storage.Snapshot) error {
	if f.failing.Load() {
		f.failures.Add(1)
		if f.afterSave.Load() {
			if err := f.Store.Commit(ctx, c, d, ops, snap); err != nil {
				return err
			}
		}
		return fmt.Errorf("%w: connection refused", storage.ErrUnavailable)
	}
	return f.Store.Commit(ctx, c, d, ops, snap)
}

func (f *flakyStore) Ops(ctx context.Context, c, d string, from, to int64) ([]storage.Op, error) {
	if f.failing.Load() {
		return nil, fmt.Errorf("%w: connection refused", storage.ErrUnavailable)
	}
	return f.Store.Ops(ctx, c, d, from, to)
}

func TestStoreOutageLosesNothingAndAppliesNothingTwice(t *testing.T) {
	store := &flakyStore{Store: storage.NewMemory()}
	ts := startServer(t, testOpts{store: store, sessCfg: func(c *sessions.Config) { c.CommitRetryFor = 300 * time.Millisecond }})
	a := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "o", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})

	// A short outage: the commit is retried and acknowledged.
	store.failing.Store(true)
	go func() { time.Sleep(100 * time.Millisecond); store.failing.Store(false) }()
	if ack := a.roundTrip(M{"a": "op", "c": "t", "d": "o", "v": 1, "seq": 2, "op": []any{"a"}}); ack["v"] != float64(1) {
		t.Fatalf("ack after short outage %v", ack)
	}

	// A long outage where the write landed but the reply was lost: the
	// submitter is disconnected (its op stays pending in the client) ...
	store.afterSave.Store(true)
	store.failing.Store(true)
	a.send(M{"a": "op", "c": "t", "d": "o", "v": 2, "seq": 3, "op": []any{1, "b"}})
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		t.Fatal("submitter not disconnected during a long outage")
	}
	store.failing.Store(false)
	// ... and its resend after reconnecting is acknowledged, not applied again.
	b := ts.connect("")
	b.send(M{"a": "op", "c": "t", "d": "o", "v": 2, "src": a.id, "seq": 3, "op": []any{1, "b"}})
	ack := b.recv()
	if ack["src"] != a.id || ack["seq"] != float64(3) || ack["v"] != float64(2) {
		t.Fatalf("resend ack %v", ack)
	}
	if snap := b.fetch("t", "o"); !jsonEqual(snap, M{"v": 3, "data": "ab", "type": textURI}) {
		t.Fatalf("snapshot %v (failures seen: %d)", snap, store.failures.Load())
	}
}

// TestTwoInstancesConverge runs two servers on one store and one broker:
// editors on either see each other, concurrent submits conflict at the
// store and are transformed, and every acknowledged op is in the log once.
func TestTwoInstancesConverge(t *testing.T) {
	store := storage.NewMemory()
	broker := pubsub.NewMemory()
	defer broker.Close()
	s1 := startServer(t, testOpts{store: store, broker: broker})
	s2 := startServer(t, testOpts{store: store, broker: broker})
	a := s1.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "shared", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})

	const clients, opsEach = 6, 40
	var wg sync.WaitGroup
	type acked struct {
		src string
		seq int64
	}
	var mu sync.Mutex
	var acks []acked
	for i := 0; i < clients; i++ {
		srv := s1
		if i%2 == 1 {
			srv = s2
		}
		c := srv.connect("")
		wg.Add(1)
		go func(c *client, i int) {
			defer wg.Done()
			// A client with one op in flight, like sharedb's: it learns
			// the version from its own acks and the ops sent before them.
			v := 1
			for n := 1; n <= opsEach; n++ {
				c.send(M{"a": "op", "c": "t", "d": "shared", "v": v, "seq": n, "op": []any{fmt.Sprintf("<%d.%d>", i, n)}})
				for {
					m := c.recv()
					if m["error"] != nil {
						t.Errorf("client %d: %v", i, m)
						return
					}
					if m["src"] == c.id && m["seq"] == float64(n) && m["op"] == nil {
						v = int(m["v"].(float64)) + 1
						mu.Lock()
						acks = append(acks, acked{c.id, int64(n)})
						mu.Unlock()
						break
					}
					v = int(m["v"].(float64)) + 1 // an op it was transformed against
				}
			}
		}(c, i)
	}
	wg.Wait()
	ctx := context.Background()
	snap, _ := store.Snapshot(ctx, "t", "shared")
	if snap.V != 1+clients*opsEach {
		t.Fatalf("version %d, want %d", snap.V, 1+clients*opsEach)
	}
	ops, err := store.Ops(ctx, "t", "shared", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[acked]int{}
	for _, op := range ops {
		seen[acked{op.Src, op.Seq}]++
	}
	for _, k := range acks {
		if seen[k] != 1 {
			t.Fatalf("acknowledged op %v is in the log %d times", k, seen[k])
		}
	}
	var text string
	json.Unmarshal(snap.Data, &text)
	for i := 0; i < clients; i++ {
		for n := 1; n <= opsEach; n++ {
			if c := strings.Count(text, fmt.Sprintf("<%d.%d>", i, n)); c != 1 {
				t.Fatalf("marker <%d.%d> appears %d times", i, n, c)
			}
		}
	}
	// Both instances serve the same snapshot.
	x, y := s1.connect("").fetch("t", "shared"), s2.connect("").fetch("t", "shared")
	if !jsonEqual(x, y) {
		t.Fatalf("instances disagree:\n%v\n%v", x, y)
	}
	_ = builtin.Registry
}

// pickyStore refuses ops holding "BAD", as MongoDB refuses reserved field
// names: a permanent error, nothing written.
type pickyStore struct{ storage.Store }

func (p pickyStore) Commit(ctx context.Context, c, d string, ops []storage.Op, snap storage.Snapshot) error {
	for _, op := range ops {
		if strings.Contains(string(op.Op), "BAD") {
			return fmt.Errorf("%w: field name refused", storage.ErrInvalidData)
		}
	}
	return p.Store.Commit(ctx, c, d, ops, snap)
}

func TestUnstorableOpIsRefusedAlone(t *testing.T) {
	ts := startServer(t, testOpts{store: pickyStore{storage.NewMemory()}})
	a := ts.connect("")
	b := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "p", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})
	// Sent back to back, so they may land in one batch: only the bad one
	// fails, and at once (no retry loop, no disconnect).
	a.send(M{"a": "op", "c": "t", "d": "p", "v": 1, "seq": 2, "op": []any{"BAD"}})
	b.send(M{"a": "op", "c": "t", "d": "p", "v": 1, "seq": 1, "op": []any{"good"}})
	if r := a.recv(); errCode(r) != "ERR_STORE_REJECTED" || r["seq"] != float64(2) {
		t.Fatalf("bad op reply %v", r)
	}
	for {
		r := b.recv()
		if r["error"] != nil {
			t.Fatalf("good op failed: %v", r)
		}
		if r["src"] == b.id {
			break
		}
	}
	if snap := a.fetch("t", "p"); !jsonEqual(snap, M{"v": 2, "data": "good", "type": textURI}) {
		t.Fatalf("snapshot %v", snap)
	}
}

// TestUnusedDocumentsRetire: once its clients leave, a document's session
// goes after IdleTimeout, however often the presence tick fires.
func TestUnusedDocumentsRetire(t *testing.T) {
	ts := startServer(t, testOpts{sessCfg: func(c *sessions.Config) {
		c.IdleTimeout = 300 * time.Millisecond
		c.PresenceTTL = 90 * time.Millisecond // a tick every 15 ms
	}})
	c := ts.connect("")
	c.roundTrip(M{"a": "op", "c": "t", "d": "idle", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})
	c.roundTrip(M{"a": "s", "c": "t", "d": "idle", "v": 1})
	if n := ts.mgr.OpenDocuments(); n != 1 {
		t.Fatalf("%d open documents", n)
	}
	c.ws.Close()
	deadline := time.Now().Add(10 * time.Second)
	for ts.mgr.OpenDocuments() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("document still open long after its last client left")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A peer that answers no ping is closed with 1001 "ping timeout" after 2.5
// ping intervals; one that answers stays. The close frame names the reason
// and nothing else (no socket addresses).
func TestPingTimeoutClosesSilentPeers(t *testing.T) {
	const interval = 200 * time.Millisecond
	ts := startServer(t, testOpts{ping: interval})
	dial := func(answerPings bool) (*websocket.Conn, chan error) {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+ts.addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if !answerPings {
			c.SetPingHandler(func(string) error { return nil })
		}
		ended := make(chan error, 1)
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					ended <- err
					return
				}
			}
		}()
		return c, ended
	}
	_, silentEnded := dial(false)
	_, aliveEnded := dial(true)

	select {
	case err := <-silentEnded:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || ce.Text != "ping timeout" {
			t.Fatalf("silent peer: want close 1001 \"ping timeout\", got %v", err)
		}
	case <-time.After(40 * interval):
		t.Fatal("a peer that answers no ping is still connected after 40 ping intervals")
	}
	select {
	case err := <-aliveEnded:
		t.Fatalf("a peer that answers pings was closed: %v", err)
	case <-time.After(10 * interval):
	}
}

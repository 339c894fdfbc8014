package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/ot/builtin"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/sessions"
	"github.com/tandemhq/tandem/storage"
)

// testServer is a Tandem server on a random port with a memory store.
type testServer struct {
	t     *testing.T
	srv   *Server
	mgr   *sessions.Manager
	store storage.Store
	addr  string
}

type testOpts struct {
	store     storage.Store
	broker    pubsub.Broker
	types     *ot.Registry
	secret    string
	sendQueue int64
	ping      time.Duration
	agent     sessions.AgentConfig
	sessCfg   func(*sessions.Config)
}

func startServer(t *testing.T, o testOpts) *testServer {
	t.Helper()
	if o.store == nil {
		o.store = storage.NewMemory()
	}
	if o.types == nil {
		o.types = builtin.Registry()
	}
	broker := o.broker
	if broker == nil {
		mem := pubsub.NewMemory()
		t.Cleanup(func() { mem.Close() })
		broker = mem
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// A test that passes its own broker runs several instances.
	scfg := sessions.Config{Store: o.store, Broker: broker, Types: o.types, Logger: log, Shared: o.broker != nil}
	if o.sessCfg != nil {
		o.sessCfg(&scfg)
	}
	mgr, err := sessions.NewManager(scfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Manager: mgr, Store: o.store, Logger: log, AuthSecret: []byte(o.secret),
		SendQueueBytes: o.sendQueue, Agent: o.agent, PingInterval: o.ping})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	ts := &testServer{t: t, srv: srv, mgr: mgr, store: o.store, addr: ln.Addr().String()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ts
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// client is a raw protocol client: it sends and receives JSON objects.
type client struct {
	t    *testing.T
	ws   *websocket.Conn
	id   string
	in   chan M
	done chan struct{} // closed when the connection's read side ends
}

// readAll is the client's only reader; a timeout in recv must not break
// the connection, so reads never carry deadlines.
func (c *client) readAll() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var m M
		if err := json.Unmarshal(data, &m); err != nil {
			m = M{"_nonjson": string(data)}
		}
		c.in <- m
	}
}

func (ts *testServer) dial(query string) (*client, *http.Response, error) {
	url := "ws://" + ts.addr + "/ws"
	if query != "" {
		url += "?" + query
	}
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: ts.t, ws: ws, in: make(chan M, 10000), done: make(chan struct{})}
	go c.readAll()
	ts.t.Cleanup(func() { ws.Close() })
	return c, resp, nil
}

// connect dials and completes the handshake.
func (ts *testServer) connect(query string) *client {
	ts.t.Helper()
	c, _, err := ts.dial(query)
	if err != nil {
		ts.t.Fatalf("dial: %v", err)
	}
	init := c.recv()
	if init["a"] != "init" {
		ts.t.Fatalf("first message %v, want init", init)
	}
	c.send(M{"a": "hs", "id": nil, "protocol": 1, "protocolMinor": 2})
	hs := c.recv()
	if hs["a"] != "hs" || hs["protocol"] != float64(1) {
		ts.t.Fatalf("hs reply %v", hs)
	}
	c.id = hs["id"].(string)
	return c
}

type M = map[string]any

func (c *client) send(m M) {
	c.t.Helper()
	if err := c.ws.WriteJSON(m); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) recv() M {
	c.t.Helper()
	m, err := c.tryRecv(5 * time.Second)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return m
}

var (
	errTimeout = errors.New("timeout")
	errClosed  = errors.New("connection closed")
)

func (c *client) tryRecv(d time.Duration) (M, error) {
	select {
	case m := <-c.in:
		if s, ok := m["_nonjson"]; ok {
			c.t.Fatalf("server sent non-JSON %q", s)
		}
		return m, nil
	case <-c.done:
		select {
		case m := <-c.in:
			return m, nil
		default:
		}
		return nil, errClosed
	case <-time.After(d):
		return nil, errTimeout
	}
}

// expectNothing asserts no message arrives within d.
func (c *client) expectNothing(d time.Duration) {
	c.t.Helper()
	if m, err := c.tryRecv(d); err == nil {
		c.t.Fatalf("unexpected message %v", m)
	}
}

// roundTrip sends m and returns the next message.
func (c *client) roundTrip(m M) M {
	c.t.Helper()
	c.send(m)
	return c.recv()
}

// fetch returns the snapshot {v,data,type} of a document.
func (c *client) fetch(coll, id string) M {
	c.t.Helper()
	r := c.roundTrip(M{"a": "f", "c": coll, "d": id, "v": nil})
	if r["error"] != nil {
		c.t.Fatalf("fetch error %v", r["error"])
	}
	return r["data"].(M)
}

func jsonEqual(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	var x, y any
	json.Unmarshal(ab, &x)
	json.Unmarshal(bb, &y)
	return reflect.DeepEqual(x, y)
}

func errCode(m M) string {
	e, ok := m["error"].(M)
	if !ok {
		return ""
	}
	s, _ := e["code"].(string)
	return s
}

package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// httpClient speaks the protocol over the HTTP fallbacks: sse (SSE down,
// POST up) or poll (long polling down, POST up).
type httpClient struct {
	t    *testing.T
	base string
	id   string
	in   chan M
	stop chan struct{}
}

func (ts *testServer) httpConnect(mode string) *httpClient {
	ts.t.Helper()
	c := &httpClient{t: ts.t, base: "http://" + ts.addr, in: make(chan M, 1000), stop: make(chan struct{})}
	ts.t.Cleanup(func() { close(c.stop) })
	if mode == "sse" {
		s, resp := ts.sse("/sharedb/sse", nil)
		if resp.StatusCode != 200 {
			ts.t.Fatalf("sse open: %d", resp.StatusCode)
		}
		// sseClient parses "data:" lines of events; the open event names
		// the connection, messages have the default event type.
		go func() {
			for ev := range s.events {
				if ev.event == "open" {
					c.id = ev.data["id"].(string)
				}
				c.in <- ev.data
			}
			close(c.in)
		}()
		if first := c.recv(); first["id"] == nil {
			ts.t.Fatalf("first event %v", first)
		}
	} else {
		resp, err := http.Post(c.base+"/sharedb/poll", "application/json", nil)
		if err != nil {
			ts.t.Fatal(err)
		}
		var open struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&open)
		resp.Body.Close()
		c.id = open.ID
		go c.pollLoop()
	}
	if init := c.recv(); init["a"] != "init" {
		ts.t.Fatalf("init %v", init)
	}
	c.send(M{"a": "hs", "id": nil, "protocol": 1, "protocolMinor": 2})
	c.recv()
	return c
}

func (c *httpClient) pollLoop() {
	defer close(c.in)
	var ack int64
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		resp, err := http.Get(c.base + "/sharedb/poll?id=" + c.id + "&ack=" + strconv.FormatInt(ack, 10))
		if err != nil {
			return
		}
		var out struct {
			Messages []M
			Last     int64
			Closed   *string
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return
		}
		for _, m := range out.Messages {
			c.in <- m
		}
		ack = out.Last
		if out.Closed != nil {
			return
		}
	}
}

func (c *httpClient) send(msgs ...M) {
	c.t.Helper()
	body, _ := json.Marshal(msgs)
	resp, err := http.Post(c.base+"/sharedb/send?id="+c.id, "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 204 {
		c.t.Fatalf("send: %d %s", resp.StatusCode, b)
	}
}

func (c *httpClient) recv() M {
	c.t.Helper()
	select {
	case m, ok := <-c.in:
		if !ok {
			c.t.Fatal("connection ended")
		}
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatal("nothing received within 5s")
	}
	return nil
}

// TestHTTPFallbackTransports: clients on SSE+POST and on long polling edit
// one document with a WebSocket client and all converge.
func TestHTTPFallbackTransports(t *testing.T) {
	ts := startServer(t, testOpts{})
	ws := ts.connect("")
	ws.roundTrip(M{"a": "op", "c": "t", "d": "f", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})
	ws.roundTrip(M{"a": "s", "c": "t", "d": "f", "v": 1})
	for i, mode := range []string{"sse", "poll"} {
		c := ts.httpConnect(mode)
		c.send(M{"a": "s", "c": "t", "d": "f", "v": nil})
		sub := c.recv()
		v := int(sub["data"].(M)["v"].(float64))
		// Two messages in one POST are handled in order.
		c.send(M{"a": "op", "c": "t", "d": "f", "v": v, "seq": 1, "op": []any{fmt.Sprintf("<%s1>", mode)}},
			M{"a": "op", "c": "t", "d": "f", "v": v + 1, "seq": 2, "op": []any{fmt.Sprintf("<%s2>", mode)}})
		for _, want := range []float64{float64(v), float64(v + 1)} {
			if ack := c.recv(); ack["a"] != "op" || ack["v"] != want {
				t.Fatalf("%s ack %v, want v %v", mode, ack, want)
			}
		}
		// The WebSocket client sees both ops, and its own op reaches the
		// fallback client.
		for j := 0; j < 2; j++ {
			if m := ws.recv(); m["a"] != "op" {
				t.Fatalf("ws got %v", m)
			}
		}
		ws.roundTrip(M{"a": "op", "c": "t", "d": "f", "v": v + 2, "seq": 10 + i, "op": []any{"w"}})
		if m := c.recv(); m["a"] != "op" || m["src"] != ws.id {
			t.Fatalf("%s got %v", mode, m)
		}
	}
	if snap := ws.fetch("t", "f"); snap["data"] != "w<poll2><poll1>w<sse2><sse1>" {
		t.Fatalf("snapshot %v", snap)
	}
}

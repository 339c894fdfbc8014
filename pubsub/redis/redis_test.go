package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/pubsub/pubsubtest"
)

func TestConformance(t *testing.T) {
	pubsubtest.Run(t,
		func(t *testing.T) pubsub.Broker { return newTestBroker(t, Config{}) },
		pubsubtest.WithPeer(func(t *testing.T, _ pubsub.Broker) pubsub.Broker { return newTestBroker(t, Config{}) }))
}

// TestConformancePrefixRESP2 runs the suite again with a prefix and over
// RESP2 (node-redis's protocol) instead of go-redis's default RESP3.
func TestConformancePrefixRESP2(t *testing.T) {
	cfg := Config{URL: withQuery(sharedURL, "protocol=2"), Prefix: "tandem-test"}
	pubsubtest.Run(t,
		func(t *testing.T) pubsub.Broker { return newTestBroker(t, cfg) },
		pubsubtest.WithPeer(func(t *testing.T, _ pubsub.Broker) pubsub.Broker { return newTestBroker(t, cfg) }))
}

// sharedbScript is PUBLISH_SCRIPT of sharedb-redis-pubsub 5.1.0 index.js.
const sharedbScript = "for i = 2, #ARGV do " + "redis.call(\"publish\", ARGV[i], ARGV[1]) " + "end"

func commandCalls(t *testing.T, c *goredis.Client, cmd string) int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	for line := range splitLines(info) {
		var n int
		if _, err := fmt.Sscanf(line, "cmdstat_"+cmd+":calls=%d", &n); err == nil {
			calls = n
		}
	}
	return calls
}

func splitLines(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i < len(s); i++ {
			if s[i] == '\n' {
				line := s[start:i]
				if len(line) > 0 && line[len(line)-1] == '\r' {
					line = line[:len(line)-1]
				}
				if !yield(line) {
					return
				}
				start = i + 1
			}
		}
		if start < len(s) {
			yield(s[start:])
		}
	}
}

// TestWireFormat checks interop with sharedb-redis-pubsub: what the broker
// publishes is what a plain SUBSCRIBE sees, byte for byte, on the sharedb
// channel names, through sharedb's script; and a plain PUBLISH reaches
// handlers.
func TestWireFormat(t *testing.T) {
	b := newTestBroker(t, Config{})
	plain := plainClient(t, sharedURL)
	ctx := context.Background()
	coll := pubsubtest.Channels(t, 1)[0] // unique "collection"
	doc := pubsub.DocChannel(coll, "fido")
	pres := pubsub.PresenceChannel(doc)

	sub := plain.Subscribe(ctx, coll, doc, pres)
	t.Cleanup(func() { _ = sub.Close() })
	for range 3 {
		if _, err := sub.ReceiveTimeout(ctx, 5*time.Second); err != nil { // confirmations
			t.Fatal(err)
		}
	}

	evalsBefore := commandCalls(t, plain, "evalsha") + commandCalls(t, plain, "eval")
	publishesBefore := commandCalls(t, plain, "publish")
	op := []byte(`{"src":"c1","seq":2,"v":1,"op":[{"p":["a"],"na":1}],"c":"` + coll + `","d":"fido"}`)
	if err := b.Publish(ctx, []string{coll, doc}, op); err != nil {
		t.Fatal(err)
	}
	presence := []byte(`{"a":"p","ch":"` + doc + `","src":"c1","id":"p1","p":{"x":1},"pv":0,"c":"` + coll + `","d":"fido","v":2}`)
	if err := b.Publish(ctx, []string{pres}, presence); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ ch, payload string }{{coll, string(op)}, {doc, string(op)}, {pres, string(presence)}} {
		m, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Channel != want.ch || m.Payload != want.payload {
			t.Fatalf("plain SUBSCRIBE got %q on %q, want %q on %q", m.Payload, m.Channel, want.payload, want.ch)
		}
	}
	// One script call per Publish, running PUBLISH once per channel, and
	// it is sharedb's script: same text, same SHA1.
	if got := commandCalls(t, plain, "evalsha") + commandCalls(t, plain, "eval") - evalsBefore; got != 2 {
		t.Errorf("EVAL/EVALSHA calls for 2 Publish: %d, want 2", got)
	}
	if got := commandCalls(t, plain, "publish") - publishesBefore; got != 3 {
		t.Errorf("PUBLISH calls: %d, want 3", got)
	}
	sum := sha1.Sum([]byte(sharedbScript))
	exists, err := plain.ScriptExists(ctx, hex.EncodeToString(sum[:])).Result()
	if err != nil || !exists[0] {
		t.Errorf("sharedb's script is not in Redis's script cache (%v, %v): the script text differs", exists, err)
	}

	// A plain PUBLISH, as sharedb would send, reaches handlers.
	r := pubsubtest.NewRecorder()
	unsub, err := b.Subscribe(doc, r.Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	if n, err := plain.Publish(ctx, doc, op).Result(); err != nil || n != 2 {
		t.Fatalf("PUBLISH: %d receivers, %v; want 2 (plain subscriber and broker)", n, err)
	}
	r.Expect(t, string(op))
}

func TestPrefix(t *testing.T) {
	ctx := context.Background()
	plain := plainClient(t, sharedURL)
	prefix := "app-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	b := newTestBroker(t, Config{Prefix: prefix})
	unprefixed := newTestBroker(t, Config{})
	ch := pubsubtest.Channels(t, 1)[0]

	sub := plain.Subscribe(ctx, prefix+" "+ch)
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.ReceiveTimeout(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	r, other := pubsubtest.NewRecorder(), pubsubtest.NewRecorder()
	if _, err := b.Subscribe(ch, r.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := unprefixed.Subscribe(ch, other.Handle); err != nil {
		t.Fatal(err)
	}

	if err := b.Publish(ctx, []string{ch}, []byte("prefixed")); err != nil {
		t.Fatal(err)
	}
	m, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Channel != prefix+" "+ch || m.Payload != "prefixed" {
		t.Fatalf("got %q on %q", m.Payload, m.Channel)
	}
	// From outside: the prefixed name reaches the handler, the bare one
	// does not.
	if n, err := plain.Publish(ctx, ch, "bare").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH bare: %d receivers, %v; want 1 (the unprefixed broker)", n, err)
	}
	if err := plain.Publish(ctx, prefix+" "+ch, "from outside").Err(); err != nil {
		t.Fatal(err)
	}
	pubsubtest.Expect(t,
		pubsubtest.Want{R: r, Msgs: []string{"prefixed", "from outside"}},
		pubsubtest.Want{R: other, Msgs: []string{"bare"}})
}

// TestOneSubscribingConnection checks that however many channels and
// handlers, a broker holds one subscribing connection, subscribes a channel
// once, and unsubscribes it when its last handler goes.
func TestOneSubscribingConnection(t *testing.T) {
	ctx := context.Background()
	name := "tandem-one-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	b := newTestBroker(t, Config{URL: withQuery(sharedURL, "client_name="+name)})
	plain := plainClient(t, sharedURL)
	chs := pubsubtest.Channels(t, 40)
	var unsubs []func()
	for _, ch := range chs {
		for range 3 {
			u, err := b.Subscribe(ch, func([]byte) {})
			if err != nil {
				t.Fatal(err)
			}
			unsubs = append(unsubs, u)
		}
	}
	// Something for the publishing pool to do, so it has connections too.
	if err := b.Publish(ctx, chs, []byte("x")); err != nil {
		t.Fatal(err)
	}
	subs := subscribers(t, plain, name)
	if len(subs) != 1 || subs[0]["sub"] != strconv.Itoa(len(chs)) {
		t.Fatalf("subscribing connections: %v; want one with sub=%d", subs, len(chs))
	}
	counts, err := plain.PubSubNumSub(ctx, chs...).Result()
	if err != nil {
		t.Fatal(err)
	}
	for ch, n := range counts {
		if n != 1 {
			t.Fatalf("PUBSUB NUMSUB %s = %d, want 1", ch, n)
		}
	}
	// Two of three handlers gone: still subscribed; the third: not.
	for i, u := range unsubs {
		if i%3 != 2 {
			u()
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := plain.PubSubNumSub(ctx, chs[0]).Val()[chs[0]]; n != 1 {
		t.Fatalf("NUMSUB with handlers left = %d, want 1", n)
	}
	for _, u := range unsubs {
		u()
	}
	eventually(t, "UNSUBSCRIBE of every channel", func() bool {
		for _, n := range plain.PubSubNumSub(ctx, chs...).Val() {
			if n != 0 {
				return false
			}
		}
		return true
	})
}

// TestSubscribeIsLiveOnReturn: once Subscribe returns, Redis routes the
// channel to the broker (PUBLISH counts it as a receiver).
func TestSubscribeIsLiveOnReturn(t *testing.T) {
	ctx := context.Background()
	b := newTestBroker(t, Config{})
	plain := plainClient(t, sharedURL)
	for i, ch := range pubsubtest.Channels(t, 100) {
		u, err := b.Subscribe(ch, func([]byte) {})
		if err != nil {
			t.Fatal(err)
		}
		if n := plain.Publish(ctx, ch, "x").Val(); n != 1 {
			t.Fatalf("channel %d: PUBLISH right after Subscribe reached %d subscribers, want 1", i, n)
		}
		if i%2 == 0 {
			u() // and the next first-subscribe follows an UNSUBSCRIBE
		}
	}
}

// waitForSubscriber finds the subscribing connection of the broker named
// name.
func waitForSubscriber(t *testing.T, c *goredis.Client, name string) map[string]string {
	t.Helper()
	var sub map[string]string
	eventually(t, "the subscribing connection", func() bool {
		subs := subscribers(t, c, name)
		if len(subs) == 1 {
			sub = subs[0]
		}
		return sub != nil
	})
	return sub
}

// TestReconnectAfterKill: CLIENT KILL on the subscribing connection; every
// handler hears "missed" once and subscriptions work again.
func TestReconnectAfterKill(t *testing.T) {
	ctx := context.Background()
	name := "tandem-kill-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	b := newTestBroker(t, Config{URL: withQuery(sharedURL, "client_name="+name)})
	plain := plainClient(t, sharedURL)
	chs := pubsubtest.Channels(t, 3)
	rs := []*pubsubtest.Recorder{pubsubtest.NewRecorder(), pubsubtest.NewRecorder(), pubsubtest.NewRecorder(), pubsubtest.NewRecorder()}
	for i, r := range rs {
		if _, err := b.Subscribe(chs[i%len(chs)], r.Handle); err != nil {
			t.Fatal(err)
		}
	}
	before := waitForSubscriber(t, plain, name)
	id, _ := strconv.ParseInt(before["id"], 10, 64)
	if err := plain.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		r.WaitMissed(t, 1)
	}
	after := waitForSubscriber(t, plain, name)
	if after["id"] == before["id"] || after["sub"] != strconv.Itoa(len(chs)) {
		t.Fatalf("after the kill: %v; want a new connection with sub=%d", after, len(chs))
	}
	for i, ch := range chs {
		if err := b.Publish(ctx, []string{ch}, []byte("after "+ch)); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	for i, r := range rs {
		r.Expect(t, "after "+chs[i%len(chs)])
		if n := r.Missed(); n != 1 {
			t.Errorf("handler %d: %d nil messages, want 1", i, n)
		}
	}
}

// TestRedisRestart stops redis-server, checks what happens meanwhile,
// starts it again on the same port and checks that (a) every handler got a
// nil "missed" call, (b) subscriptions work again, old and new, without
// subscribing by hand, (c) Publish works again (the script cache is empty
// after a restart: EVALSHA falls back to EVAL).
func TestRedisRestart(t *testing.T) {
	ctx := context.Background()
	url := privateRedis(t)
	b := newTestBroker(t, Config{URL: url, PublishTimeout: time.Second})
	chs := pubsubtest.Channels(t, 3)
	rs := []*pubsubtest.Recorder{pubsubtest.NewRecorder(), pubsubtest.NewRecorder(), pubsubtest.NewRecorder(), pubsubtest.NewRecorder()}
	for i, r := range rs {
		if _, err := b.Subscribe(chs[i%len(chs)], r.Handle); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(ctx, chs, []byte("before")); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		r.Wait(t, 1)
	}

	if _, err := runScript("down", url); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, chs, []byte("while down")); err == nil {
		t.Fatal("Publish while Redis is down: no error")
	}
	// Subscribing while Redis is down neither fails nor hangs; the
	// subscription becomes live, with a nil call, when Redis is back.
	start := time.Now()
	late := pubsubtest.NewRecorder()
	if _, err := b.Subscribe(chs[0]+".late", late.Handle); err != nil {
		t.Fatalf("Subscribe while Redis is down: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Subscribe while Redis is down took %v", d)
	}
	time.Sleep(300 * time.Millisecond) // a few failed reconnects

	if _, err := runScript("up", url); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(rs, late) {
		r.WaitMissed(t, 1) // (a)
	}
	for i, ch := range append(chs, chs[0]+".late") { // (c)
		if err := b.Publish(ctx, []string{ch}, []byte("after "+strconv.Itoa(i))); err != nil {
			t.Fatalf("Publish after restart: %v", err)
		}
	}
	for i, r := range rs { // (b)
		r.Expect(t, "before", "after "+strconv.Itoa(i%len(chs)))
	}
	late.Expect(t, "after 3")
	for i, r := range append(rs, late) {
		if n := r.Missed(); n != 1 {
			t.Errorf("handler %d: %d nil messages, want exactly 1", i, n)
		}
	}

	// A quick stop-and-start, as a restart by a supervisor would be.
	if _, err := runScript("restart", url); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		r.WaitMissed(t, 2)
	}
	if err := b.Publish(ctx, chs[:1], []byte("after quick restart")); err != nil {
		t.Fatal(err)
	}
	rs[0].Expect(t, "before", "after 0", "after quick restart")
}

// TestSilentConnectionReplaced: a connection that stops answering without
// closing (a network partition, a frozen host) is noticed by the PING
// health check and replaced.
func TestSilentConnectionReplaced(t *testing.T) {
	ctx := context.Background()
	p := newProxy(t, sharedURL)
	b := newTestBroker(t, Config{URL: p.URL(), PingInterval: 250 * time.Millisecond})
	plain := plainClient(t, sharedURL)
	start := time.Now()
	defer func() { t.Logf("replaced after %v", time.Since(start)) }()
	chs := pubsubtest.Channels(t, 2)
	rs := []*pubsubtest.Recorder{pubsubtest.NewRecorder(), pubsubtest.NewRecorder()}
	for i, r := range rs {
		if _, err := b.Subscribe(chs[i], r.Handle); err != nil {
			t.Fatal(err)
		}
	}
	p.Freeze() // existing connections stall; new ones work
	for _, r := range rs {
		r.WaitMissed(t, 1)
	}
	for i, ch := range chs {
		// Redis still counts the frozen connection as a subscriber too.
		if err := plain.Publish(ctx, ch, "after "+strconv.Itoa(i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range rs {
		r.Expect(t, "after "+strconv.Itoa(i))
	}
}

// TestQueueOverflow: a handler that blocks does not stall the connection;
// messages beyond QueueSize are dropped and their channels' handlers get a
// nil message.
func TestQueueOverflow(t *testing.T) {
	ctx := context.Background()
	b := newTestBroker(t, Config{QueueSize: 4})
	plain := plainClient(t, sharedURL)
	chs := pubsubtest.Channels(t, 3)
	release := make(chan struct{})
	var once sync.Once
	r0, r1 := pubsubtest.NewRecorder(), pubsubtest.NewRecorder()
	if _, err := b.Subscribe(chs[0], func(msg []byte) {
		once.Do(func() { <-release })
		r0.Handle(msg)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(chs[1], r1.Handle); err != nil {
		t.Fatal(err)
	}
	// The sentinel's handler runs, with its message or with nil, once
	// everything published before it has been read and delivered.
	sentinel := make(chan struct{}, 1)
	if _, err := b.Subscribe(chs[2], func([]byte) { sentinel <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		for _, ch := range chs[:2] {
			if err := plain.Publish(ctx, ch, strconv.Itoa(i)).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := plain.Publish(ctx, chs[2], "sentinel").Err(); err != nil {
		t.Fatal(err)
	}
	// The reader keeps reading while the handler blocks, and drops what
	// does not fit.
	eventually(t, "both channels to overflow", func() bool {
		b.q.mu.Lock()
		defer b.q.mu.Unlock()
		return b.q.missed[chs[0]] && b.q.missed[chs[1]]
	})
	close(release)
	select {
	case <-sentinel:
	case <-time.After(pubsubtest.Wait):
		t.Fatal("sentinel not delivered")
	}
	r0.WaitMissed(t, 1)
	r1.WaitMissed(t, 1)
	if n := len(r0.Msgs()) + len(r1.Msgs()); n >= 100 {
		t.Fatalf("%d messages delivered; want some dropped", n)
	}
	// Delivery goes on normally afterwards.
	if err := b.Publish(ctx, chs[:2], []byte("later")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivery after the overflow", func() bool {
		m0, m1 := r0.Msgs(), r1.Msgs()
		return len(m0) > 0 && string(m0[len(m0)-1]) == "later" && len(m1) > 0 && string(m1[len(m1)-1]) == "later"
	})
}

func TestNewFailsWithoutRedis(t *testing.T) {
	p := newProxy(t, sharedURL)
	url := p.URL()
	p.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := New(ctx, Config{URL: url, Logger: testLogger(t)}); err == nil {
		t.Fatal("New without Redis: no error")
	}
	if d := time.Since(start); d > 3500*time.Millisecond {
		t.Fatalf("New took %v to fail", d)
	}
	for _, cfg := range []Config{{}, {URL: "http://x"}, {URL: sharedURL, QueueSize: -1}, {URL: sharedURL, PingInterval: -1}} {
		if b, err := New(context.Background(), cfg); err == nil {
			_ = b.Close()
			t.Errorf("New(%+v): no error", cfg)
		}
	}
}

func TestPublishHonoursContext(t *testing.T) {
	b := newTestBroker(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Publish(ctx, []string{"x"}, []byte("y")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a canceled context: %v", err)
	}
}

// TestCloseStopsGoroutines: Close waits for the broker's goroutines, even
// with Redis down and the broker reconnecting.
func TestCloseStopsGoroutines(t *testing.T) {
	warm := newTestBroker(t, Config{})
	_ = warm.Close()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for _, kill := range []bool{false, true} {
		p := newProxy(t, sharedURL)
		b := newTestBroker(t, Config{URL: p.URL()})
		if _, err := b.Subscribe(pubsubtest.Channels(t, 1)[0], func([]byte) {}); err != nil {
			t.Fatal(err)
		}
		if kill {
			p.Close() // reconnecting from now on
			time.Sleep(100 * time.Millisecond)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	eventually(t, "goroutines to stop", func() bool { return runtime.NumGoroutine() <= before })
}

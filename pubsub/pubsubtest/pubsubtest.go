package pubsubtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemhq/tandem/pubsub"
)

// Factory makes a fresh broker for one test. Run closes it when the test
// ends (Close is idempotent, so a factory may register its own Close too).
type Factory func(t *testing.T) pubsub.Broker

// PeerFactory makes a second broker on the same backend as first, as a
// second server instance would have.
type PeerFactory func(t *testing.T, first pubsub.Broker) pubsub.Broker

// Option adjusts Run.
type Option func(*suite)

// WithPeer lets Run check that two brokers on one backend see each other's
// messages. Without it that test is skipped: an in-process broker has no
// backend to share.
func WithPeer(newPeer PeerFactory) Option {
	return func(s *suite) { s.newPeer = newPeer }
}

type suite struct {
	newBroker Factory
	newPeer   PeerFactory
}

// Wait bounds every wait for a message; Quiet is how long a test watches
// for messages that must not come.
const (
	Wait  = 10 * time.Second
	Quiet = 150 * time.Millisecond
)

// Run runs the conformance suite against the brokers newBroker makes.
func Run(t *testing.T, newBroker Factory, opts ...Option) {
	s := &suite{newBroker: newBroker}
	for _, o := range opts {
		o(s)
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"DeliversToSubscribersOnly", s.testDelivery},
		{"PublishToSeveralChannels", s.testSeveralChannels},
		{"OrderPerChannel", s.testOrder},
		{"Unsubscribe", s.testUnsubscribe},
		{"UnsubscribeFromHandler", s.testUnsubscribeFromHandler},
		{"SubscribeAgain", s.testSubscribeAgain},
		{"Payloads", s.testPayloads},
		{"PublisherMayReuseBuffer", s.testPublisherReuse},
		{"HandlerCopies", s.testHandlerCopies},
		{"ConcurrentUse", s.testConcurrent},
		{"Close", s.testClose},
		{"TwoInstances", s.testTwoInstances},
	} {
		t.Run(tc.name, tc.fn)
	}
}

func (s *suite) broker(t *testing.T) pubsub.Broker {
	t.Helper()
	b := s.newBroker(t)
	if b == nil {
		t.Fatal("factory returned a nil broker")
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Channels returns n channel names unique to this test run, shaped like
// sharedb's: "<collection>.<id>".
func Channels(t *testing.T, n int) []string {
	t.Helper()
	var r [6]byte
	_, _ = rand.Read(r[:])
	base := "pubsubtest-" + hex.EncodeToString(r[:]) + "-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	chs := make([]string, n)
	for i := range chs {
		chs[i] = fmt.Sprintf("%s.doc%d", base, i)
	}
	return chs
}

// Recorder is a handler that keeps copies of what it receives.
type Recorder struct {
	mu     sync.Mutex // guards msgs and missed
	msgs   [][]byte
	missed int
	wake   chan struct{} // cap 1
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{wake: make(chan struct{}, 1)} }

// Handle is the pubsub.Handler.
func (r *Recorder) Handle(msg []byte) {
	r.mu.Lock()
	if msg == nil {
		r.missed++
	} else {
		r.msgs = append(r.msgs, bytes.Clone(msg))
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Msgs returns copies of the messages received so far.
func (r *Recorder) Msgs() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Missed is the number of nil messages received.
func (r *Recorder) Missed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.missed
}

// WaitMissed waits until at least n nil messages have arrived.
func (r *Recorder) WaitMissed(t *testing.T, n int) {
	t.Helper()
	r.waitUntil(t, func() bool { return r.missed >= n }, fmt.Sprintf("%d nil messages", n))
}

// Wait waits until at least n messages have arrived and returns them.
func (r *Recorder) Wait(t *testing.T, n int) [][]byte {
	t.Helper()
	r.waitUntil(t, func() bool { return len(r.msgs) >= n }, fmt.Sprintf("%d messages", n))
	return r.Msgs()
}

func (r *Recorder) waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.NewTimer(Wait)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		got, missed := len(r.msgs), r.missed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("waited %v for %s; have %d messages and %d nil messages", Wait, what, got, missed)
		}
	}
}

// Expect waits for exactly want (in order) and checks nothing more arrives
// for Quiet.
func (r *Recorder) Expect(t *testing.T, want ...string) {
	t.Helper()
	Expect(t, Want{r, want})
}

// Want is what one Recorder should have received.
type Want struct {
	R    *Recorder
	Msgs []string
}

// Expect waits until every recorder has its messages, then checks, after
// Quiet, that each has exactly those, in order.
func Expect(t *testing.T, wants ...Want) {
	t.Helper()
	for _, w := range wants {
		if len(w.Msgs) > 0 {
			w.R.Wait(t, len(w.Msgs))
		}
	}
	time.Sleep(Quiet)
	for i, w := range wants {
		got := w.R.Msgs()
		if len(got) != len(w.Msgs) {
			t.Fatalf("recorder %d: got %d messages %q, want %q", i, len(got), got, w.Msgs)
		}
		for j := range w.Msgs {
			if string(got[j]) != w.Msgs[j] {
				t.Fatalf("recorder %d, message %d: got %q, want %q", i, j, got[j], w.Msgs[j])
			}
		}
	}
}

func msgs(m ...string) []string { return m }

func subscribe(t *testing.T, b pubsub.Broker, ch string, h pubsub.Handler) func() {
	t.Helper()
	unsub, err := b.Subscribe(ch, h)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", ch, err)
	}
	if unsub == nil {
		t.Fatalf("Subscribe(%q) returned a nil unsubscribe", ch)
	}
	t.Cleanup(unsub)
	return unsub
}

func publish(t *testing.T, b pubsub.Broker, msg string, chs ...string) {
	t.Helper()
	if err := b.Publish(context.Background(), chs, []byte(msg)); err != nil {
		t.Fatalf("Publish(%q, %q): %v", chs, msg, err)
	}
}

func (s *suite) testDelivery(t *testing.T) {
	b := s.broker(t)
	chs := Channels(t, 2)
	a1, a2, other := NewRecorder(), NewRecorder(), NewRecorder()
	subscribe(t, b, chs[0], a1.Handle)
	subscribe(t, b, chs[0], a2.Handle)
	subscribe(t, b, chs[1], other.Handle)
	// Names are exact, not patterns or prefixes.
	near := NewRecorder()
	subscribe(t, b, chs[0]+".x", near.Handle)
	subscribe(t, b, strings.TrimSuffix(chs[0], ".doc0"), near.Handle)

	publish(t, b, `{"n":1}`, chs[0])
	Expect(t, Want{a1, msgs(`{"n":1}`)}, Want{a2, msgs(`{"n":1}`)}, Want{other, nil}, Want{near, nil})

	publish(t, b, `{"n":2}`, chs[1])
	Expect(t, Want{a1, msgs(`{"n":1}`)}, Want{a2, msgs(`{"n":1}`)}, Want{other, msgs(`{"n":2}`)}, Want{near, nil})
}

func (s *suite) testSeveralChannels(t *testing.T) {
	b := s.broker(t)
	chs := Channels(t, 4)
	rs := make([]*Recorder, len(chs))
	for i, ch := range chs {
		rs[i] = NewRecorder()
		subscribe(t, b, ch, rs[i].Handle)
	}
	// One handler on two of the channels gets the message twice.
	both := NewRecorder()
	subscribe(t, b, chs[0], both.Handle)
	subscribe(t, b, chs[1], both.Handle)

	publish(t, b, "op", chs[0], chs[1], chs[2])
	Expect(t, Want{rs[0], msgs("op")}, Want{rs[1], msgs("op")}, Want{rs[2], msgs("op")},
		Want{rs[3], nil}, Want{both, msgs("op", "op")})
}

func (s *suite) testOrder(t *testing.T) {
	b := s.broker(t)
	chs := Channels(t, 2)
	const n = 300
	rs := []*Recorder{NewRecorder(), NewRecorder()}
	for i, ch := range chs {
		subscribe(t, b, ch, rs[i].Handle)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(chs))
	for i, ch := range chs {
		wg.Go(func() {
			for j := range n {
				if err := b.Publish(context.Background(), []string{ch}, fmt.Appendf(nil, "%d-%d", i, j)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, r := range rs {
		got := r.Wait(t, n)
		for j, m := range got {
			if want := fmt.Sprintf("%d-%d", i, j); string(m) != want {
				t.Fatalf("channel %d, message %d: got %q, want %q", i, j, m, want)
			}
		}
	}
}

func (s *suite) testUnsubscribe(t *testing.T) {
	b := s.broker(t)
	ch := Channels(t, 1)[0]
	r1, r2 := NewRecorder(), NewRecorder()
	unsub1 := subscribe(t, b, ch, r1.Handle)
	// The same handler twice is two registrations.
	unsub2a := subscribe(t, b, ch, r2.Handle)
	unsub2b := subscribe(t, b, ch, r2.Handle)

	publish(t, b, "a", ch)
	r1.Wait(t, 1)
	r2.Wait(t, 2)

	unsub1()
	unsub1() // idempotent: must not remove anyone else
	unsub2a()
	publish(t, b, "b", ch)
	Expect(t, Want{r1, msgs("a")}, Want{r2, msgs("a", "a", "b")})

	unsub2b()
	unsub2a()
	publish(t, b, "c", ch)
	Expect(t, Want{r1, msgs("a")}, Want{r2, msgs("a", "a", "b")})
}

func (s *suite) testUnsubscribeFromHandler(t *testing.T) {
	b := s.broker(t)
	ch := Channels(t, 1)[0]
	var (
		mu    sync.Mutex
		unsub func()
	)
	r, stays := NewRecorder(), NewRecorder()
	subscribe(t, b, ch, stays.Handle)
	mu.Lock()
	unsub = subscribe(t, b, ch, func(msg []byte) {
		r.Handle(msg)
		mu.Lock()
		u := unsub
		mu.Unlock()
		u()
	})
	mu.Unlock()
	publish(t, b, "1", ch)
	publish(t, b, "2", ch)
	publish(t, b, "3", ch)
	Expect(t, Want{stays, msgs("1", "2", "3")}, Want{r, msgs("1")})
}

func (s *suite) testSubscribeAgain(t *testing.T) {
	b := s.broker(t)
	ch := Channels(t, 1)[0]
	// Churn: the first handler comes and the last goes, again and again,
	// which a networked broker turns into SUBSCRIBE and UNSUBSCRIBE.
	for i := range 50 {
		r := NewRecorder()
		unsub := subscribe(t, b, ch, r.Handle)
		if i%10 == 0 {
			publish(t, b, "during", ch)
			r.Wait(t, 1)
		}
		unsub()
	}
	r := NewRecorder()
	subscribe(t, b, ch, r.Handle)
	publish(t, b, "after", ch)
	r.Expect(t, "after")
}

func (s *suite) testPayloads(t *testing.T) {
	b := s.broker(t)
	ch := Channels(t, 1)[0]
	var all [256]byte
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	payloads := [][]byte{
		[]byte(`{"src":"c1","seq":1,"v":0,"op":[{"p":["a"],"na":1}],"c":"dogs","d":"fido"}`),
		[]byte(`{"a":"p","ch":"room","src":"c1","id":"p1","p":{"x":"héllo 😀 \u2028"},"pv":0}`),
		all[:],
		[]byte("line\r\nbreaks\r\n*3\r\n$7\r\nmessage\r\n"), // RESP framing inside
		[]byte("\xff\xfe not UTF-8 \xc3\x28"),
		{0},
		big,
	}
	r := NewRecorder()
	subscribe(t, b, ch, r.Handle)
	for _, p := range payloads {
		if err := b.Publish(context.Background(), []string{ch}, p); err != nil {
			t.Fatalf("Publish %d bytes: %v", len(p), err)
		}
	}
	got := r.Wait(t, len(payloads))
	for i, p := range payloads {
		if !bytes.Equal(got[i], p) {
			t.Errorf("payload %d (%d bytes) arrived as %d bytes, different", i, len(p), len(got[i]))
		}
	}

	// An empty payload arrives as an empty message, not as nil ("missed").
	var empty []byte
	seen := make(chan bool, 2)
	subscribe(t, b, ch+".empty", func(msg []byte) { seen <- msg != nil && len(msg) == 0 })
	publish(t, b, "", ch+".empty")
	if err := b.Publish(context.Background(), []string{ch + ".empty"}, empty); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case ok := <-seen:
			if !ok {
				t.Fatal("an empty payload arrived as nil or not empty")
			}
		case <-time.After(Wait):
			t.Fatal("empty payload not delivered")
		}
	}
}

func (s *suite) testPublisherReuse(t *testing.T) {
	b := s.broker(t)
	ch := Channels(t, 1)[0]
	r := NewRecorder()
	subscribe(t, b, ch, r.Handle)
	buf := []byte("first")
	if err := b.Publish(context.Background(), []string{ch}, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	if err := b.Publish(context.Background(), []string{ch}, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "YYYYY")
	r.Expect(t, "first", "XXXXX")
}

func (s *suite) testHandlerCopies(t *testing.T) {
	// A handler may look at msg during the call only: brokers may reuse the
	// buffer for the next message. Handlers that keep data copy it (as
	// Recorder does), and the copies stay intact.
	b := s.broker(t)
	ch := Channels(t, 1)[0]
	const n = 100
	var (
		mu   sync.Mutex
		bad  []string
		kept [][]byte
	)
	subscribe(t, b, ch, func(msg []byte) {
		if msg == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if want := fmt.Sprintf("message %03d", len(kept)); string(msg) != want {
			bad = append(bad, fmt.Sprintf("got %q during the call, want %q", msg, want))
		}
		kept = append(kept, append([]byte(nil), msg...))
	})
	for i := range n {
		publish(t, b, fmt.Sprintf("message %03d", i), ch)
	}
	deadline := time.Now().Add(Wait)
	for {
		mu.Lock()
		got := len(kept)
		mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d messages", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatal(bad)
	}
	for i, m := range kept {
		if want := fmt.Sprintf("message %03d", i); string(m) != want {
			t.Fatalf("kept copy %d is %q, want %q", i, m, want)
		}
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	b := s.broker(t)
	chs := Channels(t, 8)
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				ch := chs[mrand.IntN(len(chs))]
				want := fmt.Sprintf("w%d-r%d", w, i)
				got := make(chan struct{}, 1)
				unsub, err := b.Subscribe(ch, func(msg []byte) {
					if string(msg) == want {
						select {
						case got <- struct{}{}:
						default:
						}
					}
				})
				if err != nil {
					errs <- err
					return
				}
				if err := b.Publish(context.Background(), []string{ch, chs[mrand.IntN(len(chs))]}, []byte(want)); err != nil {
					errs <- err
					return
				}
				select {
				case <-got:
				case <-time.After(Wait):
					errs <- fmt.Errorf("%s not delivered on %s", want, ch)
					return
				}
				unsub()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func (s *suite) testClose(t *testing.T) {
	b := s.broker(t)
	ch := Channels(t, 1)[0]
	r := NewRecorder()
	unsub, err := b.Subscribe(ch, r.Handle)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Publish(context.Background(), []string{ch}, []byte("x")); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(ch, r.Handle); !errors.Is(err, pubsub.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
	unsub() // still safe
	unsub()
}

func (s *suite) testTwoInstances(t *testing.T) {
	if s.newPeer == nil {
		t.Skip("no second broker on the same backend (pubsubtest.WithPeer not given)")
	}
	a := s.broker(t)
	b := s.newPeer(t, a)
	if b == nil {
		t.Fatal("peer factory returned a nil broker")
	}
	t.Cleanup(func() { _ = b.Close() })
	chs := Channels(t, 2)
	ra, rb, onlyB := NewRecorder(), NewRecorder(), NewRecorder()
	subscribe(t, a, chs[0], ra.Handle)
	subscribe(t, b, chs[0], rb.Handle)
	subscribe(t, b, chs[1], onlyB.Handle)

	publish(t, a, "from a", chs[0])
	ra.Wait(t, 1)
	rb.Wait(t, 1)
	publish(t, b, "from b", chs[0])
	publish(t, a, "to b only", chs[1])
	Expect(t, Want{ra, msgs("from a", "from b")}, Want{rb, msgs("from a", "from b")}, Want{onlyB, msgs("to b only")})
}

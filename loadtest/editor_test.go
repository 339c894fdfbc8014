package loadtest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/ot/richtext"
	"github.com/tandemhq/tandem/ot/textunicode"
)

// TestReconnectMidFlight closes editors' sockets right after they send an
// op, before the ack can arrive (sometimes before the server has even read
// the op). The editors must reconnect with their previous id, resend the
// same src and seq, keep typing into the pending op meanwhile, and every
// op must be applied exactly once.
func TestReconnectMidFlight(t *testing.T) {
	for _, typ := range []string{richtext.Name, textunicode.Name} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			urls := startServers(t, 1)
			var sends atomic.Int64
			rep := runLoad(t, Config{URLs: urls, Editors: 4, Viewers: 2, Docs: 1, Rate: 20,
				Duration: 3 * time.Second, Type: typ, Seed: 3},
				testHooks{afterSend: func(e *editor, resend bool) {
					if !resend && sends.Add(1)%4 == 0 {
						e.conn.Close()
					}
				}})
			if !rep.Verdict.OK {
				t.Fatalf("verdict failed: %v", rep.Verdict.Reasons)
			}
			if rep.Ops.Resent == 0 || rep.Reconnects.Editors == 0 {
				t.Fatalf("no resends (%d) or reconnects (%d): the test did not test", rep.Ops.Resent, rep.Reconnects.Editors)
			}
			if rep.Ops.Typed <= rep.Ops.Sent {
				t.Fatalf("typed %d, sent %d: no edits were composed while an op was in flight", rep.Ops.Typed, rep.Ops.Sent)
			}
			if n := rep.ClientErrors["SRC_CHANGED"]; n > 0 {
				t.Fatalf("server did not keep the client's id on reconnect (%d times)", n)
			}
			if len(rep.Errors) > 0 {
				t.Fatalf("server errors: %v %v", rep.Errors, rep.ErrorSamples)
			}
		})
	}
}

// TestResendIsAppliedOnce drives one editor by hand: it types one edit,
// loses its socket right after sending it, and must get it acknowledged
// after the reconnect with the op in the log exactly once under its
// original src and seq.
func TestResendIsAppliedOnce(t *testing.T) {
	urls := startServers(t, 1)
	r, err := New(Config{URLs: urls, Editors: 1, Docs: 1, Rate: 1, Type: textunicode.Name, Seed: 5, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.setupDocs(ctx); err != nil {
		t.Fatal(err)
	}
	r.sched = newScheduler(r.st.now)
	var closes atomic.Int64
	r.hooks.afterSend = func(e *editor, resend bool) {
		if closes.Add(1) <= 2 { // the first two frames are cut off
			e.conn.Close()
		}
	}
	e := r.editors[0]
	done := make(chan struct{})
	go func() { e.run(ctx); close(done) }()
	defer func() { e.close(); <-done }()

	waitFor(t, "the editor's copy", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.haveCopy && e.connected
	})
	r.typing.Store(true)
	e.mu.Lock()
	e.typeLocked() // sent, then the socket is closed
	firstSrc, firstSeq := "", uint64(0)
	if e.inflight != nil {
		firstSrc, firstSeq = e.inflight.src, e.inflight.seq
	}
	e.typeLocked() // composed into pending while the first is in flight
	e.mu.Unlock()
	if firstSeq == 0 {
		t.Fatal("the first edit was not sent")
	}
	waitFor(t, "both edits acknowledged", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.settledLocked() && len(e.acked) == 2
	})
	e.mu.Lock()
	acked := append([]ackRec(nil), e.acked...)
	text := e.snap.(string)
	e.mu.Unlock()
	if acked[0].src != firstSrc || acked[0].seq != firstSeq {
		t.Fatalf("first ack is %s/%d, want the original %s/%d", acked[0].src, acked[0].seq, firstSrc, firstSeq)
	}
	if acked[1].mFrom != 1 || acked[1].mTo != 2 || acked[1].seq != firstSeq+1 {
		t.Fatalf("second op %+v", acked[1])
	}
	// Depending on timing the first ack may already be in our socket's
	// buffer when the hook closes it; at least one op is resent.
	if r.st.resent.Load() < 1 || r.st.editorReconnects.Load() < 1 {
		t.Fatalf("resent %d, reconnects %d", r.st.resent.Load(), r.st.editorReconnects.Load())
	}
	// The op log has each of our ops exactly once.
	count := map[uint64]int{}
	s, err := r.fetchSnapshot(ctx, r.docs[0].id)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.fetchOps(ctx, r.docs[0].id, s.V, func(op logOp) {
		if op.Src == firstSrc {
			count[op.Seq]++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if count[firstSeq] != 1 || count[firstSeq+1] != 1 || len(count) != 2 {
		t.Fatalf("op log counts for our src: %v", count)
	}
	var server string
	json.Unmarshal(s.Data, &server)
	if server != text {
		t.Fatalf("server text %q, editor %q", server, text)
	}
	for m := range uint32(2) {
		if n := strings.Count(text, markerText(r.tag, 0, m)); n != 1 {
			t.Fatalf("marker %d appears %d times in %q", m, n, text)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tcpProxy forwards connections to target until kill, which closes its
// listener and every connection, as a killed instance would.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) (*tcpProxy, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.kill)
	return p, "http://" + ln.Addr().String()
}

func (p *tcpProxy) kill() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestFailoverToAnotherInstance: when the instance of some editors and
// viewers dies for good, they reconnect to another --url, resend what was
// in flight and end identical; without fail-over they would wait for the
// dead instance and the run would end unsettled.
func TestFailoverToAnotherInstance(t *testing.T) {
	urls := startServers(t, 2)
	proxy, dying := startProxy(t, strings.TrimPrefix(urls[1], "http://"))
	// Kill it once everyone types (30 ops sent), however slow the machine.
	var sent atomic.Int64
	hooks := testHooks{afterSend: func(*editor, bool) {
		if sent.Add(1) == 30 {
			go proxy.kill()
		}
	}}
	rep := runLoad(t, Config{URLs: []string{urls[0], dying}, Editors: 8, Viewers: 4, Docs: 2, Rate: 5,
		Duration: 4 * time.Second, Ramp: 200 * time.Millisecond, Type: textunicode.Name, Seed: 31}, hooks)
	if !rep.Verdict.OK {
		t.Fatalf("verdict failed: %v", rep.Verdict.Reasons)
	}
	if rep.Reconnects.Editors == 0 || rep.Reconnects.Viewers == 0 {
		t.Fatalf("nobody reconnected (%+v): the instance was not killed during the run", rep.Reconnects)
	}
	if rep.Verdict.Checks.EditorsCompared != 8 || rep.Verdict.Checks.ViewersCompared != 4 {
		t.Fatalf("checks %+v", rep.Verdict.Checks)
	}
}

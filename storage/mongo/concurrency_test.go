package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/tandemhq/tandem/storage"
)

// TestInstancesCommitConcurrently runs several writers, each with its own
// Store (its own client and connection pool, like separate server
// instances), committing to one document at once the way a sharedb server
// does: read the snapshot, commit at its version, and on a conflict read
// the ops committed since (to transform against) and try again. Some
// commits carry several ops (group commit). Afterwards the op log read
// through the links holds every version exactly once, every acknowledged
// commit is in it at the version it was acknowledged at, nothing else is,
// and no op document is left over from the commits that lost.
func TestInstancesCommitConcurrently(t *testing.T) {
	const writers, commitsPerWriter = 5, 8
	db := newDatabase(t)
	stores := make([]*Store, writers)
	for i := range stores {
		stores[i] = openStore(t, db)
	}
	ctx := t.Context()
	created := &storage.OpID{Src: "creator", Seq: 1, V: 0}
	create := storage.Op{V: 0, Src: "creator", Seq: 1, Create: &storage.Create{Type: json0, Data: json.RawMessage(`{"n":0}`)}}
	if err := stores[0].Commit(ctx, "race", "doc", []storage.Op{create},
		storage.Snapshot{V: 1, Type: json0, Data: json.RawMessage(`{"n":0}`), Meta: storage.SnapshotMeta{Create: created}}); err != nil {
		t.Fatal(err)
	}

	type ack struct {
		src      string
		seq, v   int64 // the first op's seq and version
		batch    int
		conflict int
	}
	var (
		mu    sync.Mutex
		acked []ack
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, writers)
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w]
			src := fmt.Sprintf("instance-%d", w)
			seq := int64(0)
			<-start
			for c := range commitsPerWriter {
				batch := 1 + (w+c)%3 // 1, 2 or 3 ops per commit
				snap, err := s.Snapshot(ctx, "race", "doc")
				if err != nil {
					errs <- err
					return
				}
				base, conflicts := snap.V, 0
				for {
					ops := make([]storage.Op, batch)
					for i := range ops {
						ops[i] = storage.Op{V: base + int64(i), Src: src, Seq: seq + 1 + int64(i),
							Op: json.RawMessage(`[{"p":["n"],"na":1}]`), Meta: storage.OpMeta{TS: time.Now().UnixMilli()}}
					}
					next := storage.Snapshot{V: base + int64(batch), Type: json0,
						Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, base+int64(batch))), Meta: storage.SnapshotMeta{Create: created}}
					err := s.Commit(ctx, "race", "doc", ops, next)
					if err == nil {
						mu.Lock()
						acked = append(acked, ack{src, seq + 1, base, batch, conflicts})
						mu.Unlock()
						seq += int64(batch)
						break
					}
					if !errors.Is(err, storage.ErrVersionConflict) {
						errs <- fmt.Errorf("%s: %w", src, err)
						return
					}
					conflicts++
					if conflicts > 1000 {
						errs <- fmt.Errorf("%s: no progress", src)
						return
					}
					// Catch up: the ops committed since base, as sharedb
					// transforms against them, then retry on top.
					since, err := s.Ops(ctx, "race", "doc", base, -1)
					if err != nil {
						errs <- fmt.Errorf("%s: catching up from %d: %w", src, base, err)
						return
					}
					for i, op := range since {
						if op.V != base+int64(i) {
							errs <- fmt.Errorf("%s: caught-up op %d has version %d", src, i, op.V)
							return
						}
					}
					base += int64(len(since))
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	// Every version exactly once, and each one is the acknowledged commit's.
	total := int64(1)
	conflicts := 0
	byVersion := map[int64]string{0: "creator/1"}
	for _, a := range acked {
		total += int64(a.batch)
		conflicts += a.conflict
		for i := range a.batch {
			v := a.v + int64(i)
			if prev, dup := byVersion[v]; dup {
				t.Fatalf("version %d acknowledged twice: %s and %s/%d", v, prev, a.src, a.seq+int64(i))
			}
			byVersion[v] = fmt.Sprintf("%s/%d", a.src, a.seq+int64(i))
		}
	}
	t.Logf("%d commits, %d ops, %d conflicts retried", len(acked), total, conflicts)
	if len(acked) != writers*commitsPerWriter {
		t.Fatalf("%d commits acknowledged, want %d", len(acked), writers*commitsPerWriter)
	}
	for _, s := range stores {
		snap, err := s.Snapshot(ctx, "race", "doc")
		if err != nil || snap.V != total || string(snap.Data) != fmt.Sprintf(`{"n":%d}`, total) {
			t.Fatalf("Snapshot = %+v, %v; want version %d", snap, err, total)
		}
		log, err := s.Ops(ctx, "race", "doc", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(log)) != total {
			t.Fatalf("the log has %d ops, want %d", len(log), total)
		}
		for i, op := range log {
			if op.V != int64(i) {
				t.Fatalf("op %d has version %d", i, op.V)
			}
			if got := fmt.Sprintf("%s/%d", op.Src, op.Seq); got != byVersion[op.V] {
				t.Errorf("version %d holds %s, but %s was acknowledged there", op.V, got, byVersion[op.V])
			}
		}
	}
	// The losers' op documents were removed.
	n, err := testClient.Database(db).Collection("o_race").CountDocuments(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Errorf("%d op documents stored, want %d (the log); losers' ops were left behind", n, total)
	}
}

// forwarder is a TCP relay to the test server that the test can cut and
// restore on the same address, to make the server unreachable.
type forwarder struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex // guards ln and conns
	ln    net.Listener
	conns []net.Conn
}

func newForwarder(t *testing.T, target string) *forwarder {
	f := &forwarder{t: t, target: target}
	f.listen("127.0.0.1:0")
	t.Cleanup(f.cut)
	return f
}

func (f *forwarder) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.ln, f.addr = ln, ln.Addr().String()
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", f.target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every relayed connection.
func (f *forwarder) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// TestUnavailable cuts the connection to the server: every method fails
// with an error wrapping storage.ErrUnavailable (a Commit never with
// ErrVersionConflict), and the store works again once the server is back.
func TestUnavailable(t *testing.T) {
	cs, err := connstring.Parse(testURL)
	if err != nil {
		t.Fatal(err)
	}
	f := newForwarder(t, cs.Hosts[0])
	s, err := New(t.Context(), Config{
		URL: "mongodb://" + f.addr + "/?directConnection=true", Database: newDatabase(t),
		ServerSelectionTimeout: 500 * time.Millisecond,
		ClientOptions:          options.Client().SetHeartbeatInterval(500 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := t.Context()
	create := []storage.Op{{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: text, Data: json.RawMessage(`"a"`)}}}
	if err := s.Commit(ctx, "docs", "d", create, storage.Snapshot{V: 1, Type: text, Data: json.RawMessage(`"a"`)}); err != nil {
		t.Fatal(err)
	}

	f.cut()
	edit := []storage.Op{{V: 1, Src: "s", Seq: 2, Op: json.RawMessage(`["b"]`)}}
	calls := map[string]func() error{
		"Ping":      func() error { return s.Ping(ctx) },
		"Snapshot":  func() error { _, err := s.Snapshot(ctx, "docs", "d"); return err },
		"Snapshots": func() error { _, err := s.Snapshots(ctx, "docs", []string{"d"}); return err },
		"Ops":       func() error { _, err := s.Ops(ctx, "docs", "d", 0, -1); return err },
		"List":      func() error { _, err := s.List(ctx, "docs", "", 0); return err },
		"Commit": func() error {
			return s.Commit(ctx, "docs", "d", edit, storage.Snapshot{V: 2, Type: text, Data: json.RawMessage(`"ba"`)})
		},
	}
	for _, name := range []string{"Ping", "Snapshot", "Snapshots", "Ops", "List", "Commit"} {
		start := time.Now()
		err := calls[name]()
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s while unreachable: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v to fail", name, d)
		}
	}

	f.listen(f.addr)
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not reconnect within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := calls["Commit"](); err != nil {
		t.Fatalf("Commit after reconnecting: %v", err)
	}
	if snap, err := s.Snapshot(ctx, "docs", "d"); err != nil || snap.V != 2 {
		t.Errorf("Snapshot after reconnecting: %+v, %v", snap, err)
	}
}

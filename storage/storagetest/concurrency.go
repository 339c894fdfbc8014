package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

// testConcurrentSameVersion races many writers at each version: exactly one
// wins, the others see ErrVersionConflict, and the log holds the winners.
func testConcurrentSameVersion(t *testing.T, s storage.Store) {
	const writers, rounds = 8, 6
	ops, _ := seed(t, s, "race", "d", 1)
	created := &storage.OpID{Src: "seed", Seq: 1, V: 0}
	for v := int64(1); v <= rounds; v++ {
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results = make([]error, writers)
			tried   = make([]storage.Op, writers)
		)
		for w := range writers {
			tried[w] = editOp(v, fmt.Sprintf("w%d", w), v, fmt.Sprintf(`[{"p":["w"],"oi":%d}]`, w))
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				snap := snapAt(v+1, created)
				snap.Data = raw(fmt.Sprintf(`{"v":%d,"w":%d}`, v+1, w))
				results[w] = s.Commit(context.Background(), "race", "d", []storage.Op{deepCopyOp(tried[w])}, snap)
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range results {
			switch {
			case err == nil && winner < 0:
				winner = w
			case err == nil:
				t.Fatalf("version %d: writers %d and %d both committed", v, winner, w)
			case !errors.Is(err, storage.ErrVersionConflict):
				t.Fatalf("version %d: writer %d: %v, want nil or ErrVersionConflict", v, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("version %d: no writer committed", v)
		}
		ops = append(ops, tried[winner])
		snap := snapAt(v+1, created)
		snap.Data = raw(fmt.Sprintf(`{"v":%d,"w":%d}`, v+1, winner))
		checkSnap(t, fmt.Sprintf("Snapshot after round %d", v), mustSnapshot(t, s, "race", "d"), snap)
	}
	checkOps(t, "Ops after the races", mustOps(t, s, "race", "d", 0, -1), ops)
}

// testConcurrentRetryLoop runs writers that each commit their own ops with
// the read-and-retry loop of a sharedb server, on two documents at once.
// Every version must be acknowledged exactly once, and each document's log
// must hold every writer's ops exactly once, in each writer's order.
func testConcurrentRetryLoop(t *testing.T, s storage.Store) {
	const writers, perWriter = 4, 6
	docs := []string{"d1", "d2"}
	for _, id := range docs {
		seed(t, s, "retry", id, 1)
	}
	var (
		mu    sync.Mutex
		acked = map[string]map[int64]string{"d1": {}, "d2": {}} // doc -> version -> src
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, writers*len(docs))
	)
	for w := range writers {
		for _, id := range docs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ctx := context.Background()
				src := fmt.Sprintf("w%d", w)
				for seq := int64(1); seq <= perWriter; seq++ {
					for attempt := 0; ; attempt++ {
						if attempt > 10_000 {
							errs <- fmt.Errorf("%s/%s seq %d: no progress", id, src, seq)
							return
						}
						snap, err := s.Snapshot(ctx, "retry", id)
						if err != nil {
							errs <- err
							return
						}
						op := editOp(snap.V, src, seq, fmt.Sprintf(`[{"p":["n"],"na":%d}]`, seq))
						next := snapAt(snap.V+1, snap.Meta.Create)
						err = s.Commit(ctx, "retry", id, []storage.Op{op}, next)
						if errors.Is(err, storage.ErrVersionConflict) {
							continue
						}
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						if prev, dup := acked[id][snap.V]; dup {
							mu.Unlock()
							errs <- fmt.Errorf("%s: version %d acknowledged to %s and %s", id, snap.V, prev, src)
							return
						}
						acked[id][snap.V] = src
						mu.Unlock()
						break
					}
				}
			}()
		}
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
	const total = 1 + writers*perWriter
	for _, id := range docs {
		snap := mustSnapshot(t, s, "retry", id)
		if snap.V != total {
			t.Errorf("%s: version %d, want %d", id, snap.V, total)
		}
		log := mustOps(t, s, "retry", id, 0, -1)
		if len(log) != total {
			t.Fatalf("%s: %d ops, want %d", id, len(log), total)
		}
		nextSeq := map[string]int64{}
		for i, op := range log {
			if op.V != int64(i) {
				t.Errorf("%s: op %d has version %d", id, i, op.V)
			}
			if i == 0 {
				continue
			}
			if acked[id][op.V] != op.Src {
				t.Errorf("%s: op %d from %q, but version %d was acknowledged to %q", id, i, op.Src, op.V, acked[id][op.V])
			}
			nextSeq[op.Src]++
			if op.Seq != nextSeq[op.Src] {
				t.Errorf("%s: op %d is %s seq %d, want seq %d", id, i, op.Src, op.Seq, nextSeq[op.Src])
			}
		}
		for w := range writers {
			if src := fmt.Sprintf("w%d", w); nextSeq[src] != perWriter {
				t.Errorf("%s: %s has %d ops in the log, want %d", id, src, nextSeq[src], perWriter)
			}
		}
	}
}

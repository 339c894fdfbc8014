package sessions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tandemhq/tandem/ot/builtin"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/bolt"
	"github.com/tandemhq/tandem/storage/mongo"
)

// chanTransport is a Transport that hands messages to a channel.
type chanTransport struct {
	ch     chan []byte
	closed atomic.Bool
}

func (t *chanTransport) Send(msg []byte) bool {
	if t.closed.Load() {
		return false
	}
	select {
	case t.ch <- msg:
		return true
	default:
		t.closed.Store(true)
		return false
	}
}

func (t *chanTransport) Close(string) { t.closed.Store(true) }

// benchEditor is a minimal ShareDB client: one op in flight, the version
// learned from acks and the ops sent before them.
type benchEditor struct {
	agent *Agent
	t     *chanTransport
	v     int64
	seq   int64
}

func (e *benchEditor) submit(c, d string, op string) error {
	e.seq++
	msg := fmt.Sprintf(`{"a":"op","c":%q,"d":%q,"v":%d,"seq":%d,"op":%s}`, c, d, e.v, e.seq, op)
	e.agent.Handle([]byte(msg))
	for raw := range e.t.ch {
		var m struct {
			A     string          `json:"a"`
			V     int64           `json:"v"`
			Seq   int64           `json:"seq"`
			Src   string          `json:"src"`
			Op    json.RawMessage `json:"op"`
			Error json.RawMessage `json:"error"`
		}
		json.Unmarshal(raw, &m)
		if m.Error != nil {
			return fmt.Errorf("%s", raw)
		}
		if m.A != "op" {
			continue
		}
		e.v = m.V + 1
		if m.Src == e.agent.Src() && m.Seq == e.seq && m.Op == nil {
			return nil
		}
	}
	return fmt.Errorf("transport closed")
}

func newBenchManager(b *testing.B, store storage.Store, broker pubsub.Broker, maxBatch int) *Manager {
	m, err := NewManager(Config{Store: store, Broker: broker, Types: builtin.Registry(),
		Logger: slog.New(slog.NewTextHandler(benchLog, nil)), MaxBatch: maxBatch})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(b.Context()) })
	return m
}

// BenchmarkContention measures per-document commit throughput: E editors
// on E connections submit to ONE document as fast as acks come back (rate
// 0). batch=1 commits every op alone (as sharedb does: one database commit
// per op); batch=128 lets the session commit what queued up during the
// previous commit in one store call. instances=2 runs two managers on one
// store and broker, so commits also race at the store (version conflicts,
// catch-up, re-transform).
func BenchmarkContention(b *testing.B) {
	stores := []string{"memory", "bolt"}
	if os.Getenv("TANDEM_BENCH_MONGO_URL") != "" {
		stores = append(stores, "mongo")
	}
	for _, storeName := range stores {
		for _, batch := range []int{1, 128} {
			for _, instances := range []int{1, 2} {
				name := fmt.Sprintf("store=%s/batch=%d/instances=%d/editors=50", storeName, batch, instances)
				b.Run(name, func(b *testing.B) { benchContention(b, storeName, batch, instances, 50) })
			}
		}
	}
}

func benchContention(b *testing.B, storeName string, batch, instances, editors int) {
	var store storage.Store
	switch storeName {
	case "memory":
		store = storage.NewMemory()
	case "bolt":
		s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close(b.Context()) })
		store = s
	case "mongo":
		// A fresh database per run on the server TANDEM_BENCH_MONGO_URL
		// names (e.g. the one scripts/mongo-test-server.sh starts).
		s, err := mongo.New(b.Context(), mongo.Config{URL: os.Getenv("TANDEM_BENCH_MONGO_URL"), Database: fmt.Sprintf("bench%d", time.Now().UnixNano())})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close(context.Background()) })
		store = s
	}
	broker := pubsub.NewMemory()
	b.Cleanup(func() { broker.Close() })
	managers := make([]*Manager, instances)
	for i := range managers {
		managers[i] = newBenchManager(b, store, broker, batch)
	}
	eds := make([]*benchEditor, editors)
	for i := range eds {
		t := &chanTransport{ch: make(chan []byte, 1<<16)}
		a := managers[i%instances].NewAgent(t, AgentConfig{OpsPerSecond: 1e9, MessagesPerSecond: 1e9})
		eds[i] = &benchEditor{agent: a, t: t}
	}
	create := `{"a":"op","c":"bench","d":"doc","v":null,"seq":1,"create":{"type":"text-unicode","data":""}}`
	eds[0].seq = 1
	eds[0].agent.Handle([]byte(create))
	<-eds[0].t.ch
	for _, e := range eds {
		e.v = 1 // everyone starts from the created document
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	for _, e := range eds {
		wg.Add(1)
		go func(e *benchEditor) {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := e.submit("bench", "doc", `["x"]`); err != nil {
					failed.Store(err)
					return
				}
			}
		}(e)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	var retries float64
	for _, m := range managers {
		retries += testutil.ToFloat64(m.met.Retries)
	}
	b.ReportMetric(retries/float64(b.N), "retries/op")
	snap, _ := store.Snapshot(b.Context(), "bench", "doc")
	if snap.V != int64(b.N)+1 {
		b.Fatalf("version %d after %d ops", snap.V, b.N)
	}
}

// benchLog is where benchmark managers log (TANDEM_BENCH_LOG=1: stderr).
var benchLog io.Writer = func() io.Writer {
	if os.Getenv("TANDEM_BENCH_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}()

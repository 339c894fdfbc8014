package sessions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/ot/builtin"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/storage"
)

// FuzzAgent drives one connection's whole message handler with arbitrary
// frames (one per line) and checks that nothing panics, every message the
// server sends is a JSON object, and every document's stored snapshot is
// what its op log replays to.
var fuzzSeeds = []string{
	"{\"a\":\"hs\",\"id\":null,\"protocol\":1,\"protocolMinor\":2}\n{\"a\":\"op\",\"c\":\"c\",\"d\":\"d\",\"v\":null,\"seq\":1,\"create\":{\"type\":\"json0\",\"data\":{\"a\":1}}}\n{\"a\":\"op\",\"c\":\"c\",\"d\":\"d\",\"v\":1,\"seq\":2,\"op\":[{\"p\":[\"a\"],\"na\":2}]}",
	"{\"a\":\"op\",\"c\":\"c\",\"d\":\"t\",\"v\":null,\"seq\":1,\"create\":{\"type\":\"text-unicode\",\"data\":\"ab\"}}\n{\"a\":\"op\",\"c\":\"c\",\"d\":\"t\",\"v\":1,\"seq\":2,\"op\":[1,\"x\"]}\n{\"a\":\"op\",\"c\":\"c\",\"d\":\"t\",\"v\":1,\"seq\":3,\"op\":[\"y\",{\"d\":1}]}",
	"{\"a\":\"op\",\"c\":\"c\",\"d\":\"r\",\"v\":null,\"seq\":1,\"create\":{\"type\":\"rich-text\",\"data\":[{\"insert\":\"hi\\n\"}]}}\n{\"a\":\"s\",\"c\":\"c\",\"d\":\"r\",\"v\":null}\n{\"a\":\"ps\",\"ch\":\"c.r\",\"seq\":1}\n{\"a\":\"p\",\"ch\":\"c.r\",\"id\":\"x\",\"p\":{\"index\":1,\"length\":0},\"pv\":0,\"c\":\"c\",\"d\":\"r\",\"v\":1,\"t\":\"http://sharejs.org/types/rich-text/v1\"}\n{\"a\":\"op\",\"c\":\"c\",\"d\":\"r\",\"v\":1,\"seq\":2,\"op\":{\"ops\":[{\"retain\":1},{\"delete\":1}]}}",
	"{\"a\":\"bs\",\"c\":\"c\",\"b\":[\"d\",\"e\"]}\n{\"a\":\"bf\",\"c\":\"c\",\"b\":{\"d\":0}}\n{\"a\":\"bu\",\"c\":\"c\",\"b\":[\"d\"]}\n{\"a\":\"nf\",\"id\":1,\"c\":\"c\",\"d\":\"d\",\"v\":0}\n{\"a\":\"nt\",\"id\":2,\"c\":\"c\",\"d\":\"d\",\"ts\":5}",
	"{\"a\":\"op\",\"c\":\"c\",\"d\":\"d\",\"v\":null,\"seq\":1,\"create\":{\"type\":\"json0\"}}\n{\"a\":\"op\",\"c\":\"c\",\"d\":\"d\",\"v\":1,\"seq\":2,\"del\":true}\n{\"a\":\"op\",\"c\":\"c\",\"d\":\"d\",\"v\":1,\"seq\":3,\"op\":[]}\n{\"a\":\"qf\",\"id\":1,\"c\":\"c\",\"q\":{}}",
	"[1]\n{\n{\"a\":5}\n{\"a\":\"zz\"}\n{\"a\":\"op\",\"c\":\"__proto__\",\"d\":\"x\"}",
}

func FuzzAgent(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(runAgentFuzz)
}

func runAgentFuzz(t *testing.T, input []byte) {
	{
		store := storage.NewMemory()
		broker := pubsub.NewMemory()
		defer broker.Close()
		m, err := NewManager(Config{Store: store, Broker: broker, Types: builtin.Registry(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), IdleTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tr := &chanTransport{ch: make(chan []byte, 1<<14)}
		a := m.NewAgent(tr, AgentConfig{MessagesPerSecond: 1e9, OpsPerSecond: 1e9})
		a.Start()
		docs := map[docKey]bool{}
		handled := make(chan struct{})
		go func() {
			defer close(handled)
			for _, frame := range bytes.Split(input, []byte("\n")) {
				if len(frame) == 0 {
					continue
				}
				var probe struct{ C, D string }
				if json.Unmarshal(frame, &probe) == nil && probe.C != "" && probe.D != "" {
					docs[docKey{probe.C, probe.D}] = true
				}
				if !a.Handle(frame) {
					break
				}
			}
		}()
		select {
		case <-handled:
		case <-time.After(10 * time.Second):
			t.Fatalf("the handler hangs on %q", input)
		}
		// Let the sessions finish, then close.
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
			if len(tr.ch) == cap(tr.ch) {
				break
			}
			n := len(tr.ch)
			time.Sleep(20 * time.Millisecond)
			if len(tr.ch) == n {
				break
			}
		}
		a.Close()
		m.Close(context.Background())
		close(tr.ch)
		for msg := range tr.ch {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(msg, &obj); err != nil {
				t.Fatalf("server sent a non-object %q", msg)
			}
		}
		ctx := context.Background()
		for k := range docs {
			snap, err := store.Snapshot(ctx, k.c, k.d)
			if err != nil {
				continue
			}
			ops, err := store.Ops(ctx, k.c, k.d, 0, snap.V)
			if err != nil {
				t.Fatalf("%s: op log unreadable: %v", k, err)
			}
			h, perr := m.replay(ops)
			if perr != nil {
				t.Fatalf("%s: op log does not replay: %v", k, perr)
			}
			if h.v != snap.V || h.typ != snap.Type || !sameJSON(h.data, snap.Data) {
				t.Fatalf("%s: snapshot v%d %s %s, op log replays to v%d %s %s", k, snap.V, snap.Type, snap.Data, h.v, h.typ, h.data)
			}
		}
	}
}

func sameJSON(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestAgentRandomFrames runs the FuzzAgent checks on deterministic random
// recombinations and byte flips of the seed messages, so the whole
// handler meets hostile input in every plain `go test` run.
func TestAgentRandomFrames(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	n := 150
	if testing.Short() {
		n = 30
	}
	for i := 0; i < n; i++ {
		var lines []string
		for _, s := range fuzzSeeds {
			for _, l := range strings.Split(s, "\n") {
				if rng.Intn(2) == 0 {
					lines = append(lines, l)
				}
			}
		}
		rng.Shuffle(len(lines), func(a, b int) { lines[a], lines[b] = lines[b], lines[a] })
		in := []byte(strings.Join(lines, "\n"))
		for k := rng.Intn(4); k > 0 && len(in) > 0; k-- {
			in[rng.Intn(len(in))] = byte(rng.Intn(128))
		}
		runAgentFuzz(t, in)
	}
}

package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tandemhq/tandem/storage"
)

// ownServer starts a test server of the test's own (even when
// TANDEM_TEST_MONGO_URL names another: the test kills it) and returns its
// URL and a function running the script on it.
func ownServer(t *testing.T) (string, func(args ...string)) {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join("..", "..", "scripts", "mongo-test-server.sh"), args...)
		var env []string
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "TANDEM_TEST_MONGO_URL=") {
				env = append(env, e)
			}
		}
		cmd.Env = append(env, "TANDEM_MONGO_TEST_STATE="+state)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mongo-test-server.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	url := run("start")
	t.Cleanup(func() { run("stop") })
	return url, func(args ...string) { run(args...) }
}

// TestServerCrash kills the server (SIGKILL, no clean shutdown) while
// several writers commit to one document, and starts it again on the same
// data. A commit that returned nil is never lost; a commit that failed
// with ErrUnavailable may or may not have happened, and the writer finds
// out by reading the log for its src and seq (as sharedb's dedupe does)
// before trying again. Afterwards the chain of ops holds every writer's
// ops exactly once, in order, at the versions they were acknowledged at.
func TestServerCrash(t *testing.T) {
	const writers, perWriter = 3, 12
	url, script := ownServer(t)
	s, err := New(t.Context(), Config{URL: url, Database: "crash", ServerSelectionTimeout: 500 * time.Millisecond,
		ClientOptions: options.Client().SetHeartbeatInterval(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := t.Context()
	create := storage.Op{V: 0, Src: "c", Seq: 1, Create: &storage.Create{Type: json0, Data: json.RawMessage(`{}`)}}
	if err := s.Commit(ctx, "docs", "d", []storage.Op{create}, storage.Snapshot{V: 1, Type: json0, Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}

	var (
		mu          sync.Mutex
		acked       = map[int64]string{0: "c/1"} // version -> src/seq
		unknown     int
		wg          sync.WaitGroup
		errs        = make(chan error, writers)
		crashAt     = make(chan struct{})
		crashedOnce sync.Once
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := fmt.Sprintf("w%d", w)
			deadline := time.Now().Add(30 * time.Second)
			for seq := int64(1); seq <= perWriter; seq++ {
				if seq == perWriter/2 {
					crashedOnce.Do(func() { close(crashAt) })
				}
				for {
					if time.Now().After(deadline) {
						errs <- fmt.Errorf("%s seq %d: no progress", src, seq)
						return
					}
					snap, err := s.Snapshot(ctx, "docs", "d")
					if errors.Is(err, storage.ErrUnavailable) {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					op := storage.Op{V: snap.V, Src: src, Seq: seq, Op: json.RawMessage(`[]`)}
					err = s.Commit(ctx, "docs", "d", []storage.Op{op}, storage.Snapshot{V: snap.V + 1, Type: json0, Data: json.RawMessage(`{}`)})
					if err == nil {
						mu.Lock()
						acked[snap.V] = fmt.Sprintf("%s/%d", src, seq)
						mu.Unlock()
						break
					}
					if errors.Is(err, storage.ErrVersionConflict) {
						continue
					}
					if !errors.Is(err, storage.ErrUnavailable) {
						errs <- fmt.Errorf("%s seq %d: %w", src, seq, err)
						return
					}
					// Unknown outcome: look for the op once the server is back.
					mu.Lock()
					unknown++
					mu.Unlock()
					found := false
					for {
						ops, err := s.Ops(ctx, "docs", "d", snap.V, -1)
						if errors.Is(err, storage.ErrUnavailable) {
							time.Sleep(20 * time.Millisecond)
							continue
						}
						if err != nil {
							errs <- fmt.Errorf("%s seq %d: reading back: %w", src, seq, err)
							return
						}
						for _, o := range ops {
							if o.Src == src && o.Seq == seq {
								found = true
								mu.Lock()
								acked[o.V] = fmt.Sprintf("%s/%d", src, seq)
								mu.Unlock()
							}
						}
						break
					}
					if found {
						break
					}
				}
			}
		}()
	}
	<-crashAt
	script("crash")
	time.Sleep(200 * time.Millisecond)
	script("resume")
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	log, err := s.Ops(ctx, "docs", "d", 0, -1)
	if err != nil {
		t.Fatalf("Ops after the crash: %v", err)
	}
	next := map[string]int64{}
	for i, op := range log {
		if op.V != int64(i) {
			t.Fatalf("op %d has version %d", i, op.V)
		}
		if i == 0 {
			continue
		}
		next[op.Src]++
		if op.Seq != next[op.Src] {
			t.Errorf("version %d is %s/%d, want %s/%d: an op is missing or repeated", op.V, op.Src, op.Seq, op.Src, next[op.Src])
		}
	}
	for v, id := range acked {
		if v >= int64(len(log)) || fmt.Sprintf("%s/%d", log[v].Src, log[v].Seq) != id {
			t.Errorf("acknowledged %s at version %d is not in the log there", id, v)
		}
	}
	if want := int64(1 + writers*perWriter); int64(len(log)) != want {
		t.Errorf("%d ops in the log, want %d", len(log), want)
	}
	t.Logf("%d ops, %d commits of unknown outcome", len(log), unknown)
}

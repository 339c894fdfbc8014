package bolt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/tandemhq/tandem/storage"
)

// crashChildEnv names the file a child process of TestCrash writes to.
const crashChildEnv = "TANDEM_BOLT_CRASH_CHILD"

// crashDocs are the documents the child writes, one goroutine each.
var crashDocs = []string{"d0", "d1", "d2"}

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		os.Exit(3) // crashChild only returns on failure
	}
	os.Exit(m.Run())
}

// crashOp and crashSnap are what the child commits at each version, so the
// parent can check every byte it finds.
func crashOp(id string, v int64) storage.Op {
	if v == 0 {
		return storage.Op{V: 0, Src: id, Seq: 1, Create: &storage.Create{Type: "t", Data: json.RawMessage(`{"n":0}`)}, Meta: storage.OpMeta{TS: 1}}
	}
	return storage.Op{V: v, Src: id, Seq: v + 1, Op: json.RawMessage(fmt.Sprintf(`[{"p":["n"],"na":1,"v":%d}]`, v)), Meta: storage.OpMeta{TS: v + 1}}
}

func crashSnap(v int64) storage.Snapshot {
	return storage.Snapshot{V: v, Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, v)), Meta: storage.SnapshotMeta{CTime: 1, MTime: v}}
}

// crashChild commits to crashDocs as fast as it can, in batches of 1 to 4
// ops, and after each acknowledged Commit prints "ack <id> <version> end".
// It runs until it is killed, or for 20 s if nobody kills it.
func crashChild(path string) {
	s, err := Open(path, Options{Timeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	var out sync.Mutex
	for i, id := range crashDocs {
		go func() {
			ctx := context.Background()
			snap, err := s.Snapshot(ctx, "crash", id)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(4)
			}
			for v, batch := snap.V, 1+i; ; batch = batch%4 + 1 {
				ops := make([]storage.Op, batch)
				for j := range ops {
					ops[j] = crashOp(id, v+int64(j))
				}
				if err := s.Commit(ctx, "crash", id, ops, crashSnap(v+int64(batch))); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(5)
				}
				v += int64(batch)
				out.Lock()
				fmt.Fprintf(os.Stdout, "ack %s %d end\n", id, v)
				out.Unlock()
			}
		}()
	}
	time.Sleep(20 * time.Second)
}

// TestCrash kills a committing child process with SIGKILL at arbitrary
// points, three times over the same file, and checks after each kill that
// every Commit the child saw acknowledged is in the file, complete, and
// that the file passes bbolt's consistency check. A process kill leaves the
// page cache intact, so this tests the transaction protocol (no torn or
// half-visible commit), not the disk's fsync; bbolt's own power-failure
// tests cover that.
func TestCrash(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[string]int64{}
	for round, kills := range []int{25, 60, 40} {
		runCrashChild(t, path, kills, acked)

		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		checkConsistent(t, s)
		for _, id := range crashDocs {
			checkCrashDoc(t, s, id, acked[id])
		}
		if err := s.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
		t.Logf("round %d: acknowledged versions %v", round, acked)
	}
}

// runCrashChild starts the child, kills it once it has acknowledged kills
// commits, and records the highest acknowledged version of each document.
func runCrashChild(t *testing.T, path string, kills int, acked map[string]int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	record := func(line string) {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "ack" || f[3] != "end" {
			return // a line cut by the kill was never a complete acknowledgement
		}
		v, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Errorf("bad line %q", line)
			return
		}
		if v <= acked[f[1]] {
			t.Errorf("version %d of %s acknowledged after %d", v, f[1], acked[f[1]])
		}
		acked[f[1]] = v
	}
	timeout := time.After(10 * time.Second)
	n := 0
	for n < kills {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("child exited early: %s", stderr.String())
			}
			record(line)
			n++
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("child acknowledged %d commits in 10 s: %s", n, stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	// Acknowledgements already in the pipe count too.
	for line := range lines {
		record(line)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != -1 {
		t.Fatalf("child did not die of the kill: %v: %s", err, stderr.String())
	}
	io.Copy(io.Discard, stdout)
}

func checkConsistent(t *testing.T, s *Store) {
	t.Helper()
	err := s.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkCrashDoc checks that the document holds at least version acked, and
// that its snapshot and whole op log are exactly what the child wrote.
func checkCrashDoc(t *testing.T, s *Store, id string, acked int64) {
	t.Helper()
	snap, err := s.Snapshot(t.Context(), "crash", id)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if snap.V < acked {
		t.Errorf("%s: version %d, but %d was acknowledged", id, snap.V, acked)
	}
	if want := crashSnap(snap.V); !reflect.DeepEqual(snap, want) {
		t.Errorf("%s: snapshot %+v, want %+v", id, snap, want)
	}
	ops, err := s.Ops(t.Context(), "crash", id, 0, -1)
	if err != nil {
		t.Fatalf("%s: Ops: %v", id, err)
	}
	if int64(len(ops)) != snap.V {
		t.Fatalf("%s: %d ops for version %d", id, len(ops), snap.V)
	}
	// No op of a half-done commit may be left beyond the snapshot either.
	var keys int64
	s.db.View(func(tx *bbolt.Tx) error {
		prefix := opPrefix("crash", id)
		c := tx.Bucket(opsBucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys++
		}
		return nil
	})
	if keys != snap.V {
		t.Errorf("%s: %d op keys in the file for version %d", id, keys, snap.V)
	}
	for i, op := range ops {
		want := crashOp(id, int64(i))
		if !reflect.DeepEqual(op, want) {
			t.Errorf("%s: op %d = %+v, want %+v", id, i, op, want)
		}
	}
}

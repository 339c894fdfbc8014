package mongo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/storagetest"
)

// The tests run against the server named by TANDEM_TEST_MONGO_URL, or
// else against the test server that scripts/mongo-test-server.sh starts
// (FerretDB behind a write-serializing proxy) for this test binary alone.
var (
	testURL    string
	testClient *mongo.Client // for raw reads and dropping test databases
	// stateFile is the script's state of the server this binary started;
	// empty when TANDEM_TEST_MONGO_URL is used.
	stateFile string
	dbSeq     atomic.Int64
)

func TestMain(m *testing.M) {
	code, err := runTests(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "storage/mongo tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runTests(m *testing.M) (int, error) {
	testURL = os.Getenv("TANDEM_TEST_MONGO_URL")
	if testURL == "" {
		dir, err := os.MkdirTemp("", "tandem-mongo-test-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		stateFile = filepath.Join(dir, "state")
		out, err := script("start")
		if err != nil {
			return 0, err
		}
		testURL = strings.TrimSpace(out)
		defer script("stop")
	}
	c, err := mongo.Connect(options.Client().ApplyURI(testURL))
	if err != nil {
		return 0, err
	}
	testClient = c
	defer c.Disconnect(context.Background())
	return m.Run(), nil
}

// script runs scripts/mongo-test-server.sh with this binary's state file.
func script(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join("..", "..", "scripts", "mongo-test-server.sh"), args...)
	cmd.Env = append(os.Environ(), "TANDEM_MONGO_TEST_STATE="+stateFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("mongo-test-server.sh %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// newDatabase returns a fresh database name and drops the database at
// cleanup.
func newDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("tandem_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := testClient.Database(name).Drop(ctx); err != nil {
			tb.Logf("drop %s: %v", name, err)
		}
	})
	return name
}

// openStore opens a Store on db (a fresh database when db is "") and
// closes it at cleanup.
func openStore(tb testing.TB, db string) *Store {
	tb.Helper()
	if db == "" {
		db = newDatabase(tb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, Config{URL: testURL, Database: db})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return openStore(t, "") })
}

func TestNewUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := New(ctx, Config{URL: "mongodb://127.0.0.1:1/", ServerSelectionTimeout: 300 * time.Millisecond})
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("New on a closed port: %v, want ErrUnavailable", err)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		url, db, want string
	}{
		{testURL, "", DefaultDatabase},
		{strings.TrimSuffix(testURL, "/") + "/fromurl", "", "fromurl"},
		{strings.TrimSuffix(testURL, "/") + "/fromurl", "explicit", "explicit"},
	}
	for _, tc := range tests {
		s, err := New(t.Context(), Config{URL: tc.url, Database: tc.db})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Database(); got != tc.want {
			t.Errorf("URL %q, Database %q: database %q, want %q", tc.url, tc.db, got, tc.want)
		}
		s.Close(t.Context())
	}
	for _, w := range []string{"0", "-1"} {
		if _, err := New(t.Context(), Config{URL: testURL, WriteConcern: w}); err == nil {
			t.Errorf("write concern %q accepted", w)
		}
	}
	if _, err := New(t.Context(), Config{}); err == nil {
		t.Error("no URL accepted")
	}
	if _, err := New(t.Context(), Config{URL: "http://x"}); err == nil {
		t.Error("bad URL accepted")
	}
	// A write concern that the server can satisfy works, w:1 and majority.
	for _, w := range []string{"1", "majority"} {
		s, err := New(t.Context(), Config{URL: testURL, Database: newDatabase(t), WriteConcern: w, Journal: true})
		if err != nil {
			t.Fatal(err)
		}
		op := storage.Op{V: 0, Src: "s", Seq: 1, Create: &storage.Create{Type: "t", Data: []byte(`"x"`)}}
		if err := s.Commit(t.Context(), "c", "d", []storage.Op{op}, storage.Snapshot{V: 1, Type: "t", Data: []byte(`"x"`)}); err != nil {
			t.Errorf("write concern %q: %v", w, err)
		}
		s.Close(t.Context())
	}
}

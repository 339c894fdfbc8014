package redis

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The package's tests share one redis-server, started by TestMain through
// scripts/redis-test-server.sh (or TANDEM_TEST_REDIS_URL, if set). Tests
// that stop and start Redis get a private one.

const script = "../../scripts/redis-test-server.sh"

var sharedURL string

// testRedisLog sends go-redis's own log lines (failed dials while Redis is
// down, by design here) to the test log when -v is given, else nowhere.
type testRedisLog struct{}

func (testRedisLog) Printf(_ context.Context, format string, v ...any) {
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "go-redis: "+format+"\n", v...)
	}
}

func TestMain(m *testing.M) {
	goredis.SetLogger(testRedisLog{})
	url, stop, err := startRedis(false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redis tests:", err)
		os.Exit(1)
	}
	sharedURL = url
	code := m.Run()
	stop()
	os.Exit(code)
}

// startRedis starts a redis-server with the script. private ignores
// TANDEM_TEST_REDIS_URL: the caller will stop and start that server.
func startRedis(private bool) (url string, stop func(), err error) {
	if ext := os.Getenv("TANDEM_TEST_REDIS_URL"); ext != "" && !private {
		return ext, func() {}, nil
	}
	out, err := runScript("start")
	if err != nil {
		return "", nil, err
	}
	url = strings.TrimSpace(out)
	return url, func() { _, _ = runScript("stop", url) }, nil
}

func runScript(args ...string) (string, error) {
	path, err := filepath.Abs(script)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(path, args...)
	env := []string{"TANDEM_REDIS_TEST_WATCH_PID=" + strconv.Itoa(os.Getpid())}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TANDEM_TEST_REDIS_URL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", script, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// privateRedis starts a redis-server for this test alone.
func privateRedis(t *testing.T) string {
	t.Helper()
	url, stop, err := startRedis(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestBroker makes a broker for cfg (URL defaults to the shared server)
// and closes it when the test ends.
func newTestBroker(t *testing.T, cfg Config) *Broker {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = sharedURL
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// plainClient is a go-redis client that knows nothing of this package.
func plainClient(t testing.TB, url string) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// withQuery adds query options to a redis:// URL.
func withQuery(url, q string) string {
	if strings.Contains(url, "?") {
		return url + "&" + q
	}
	return url + "?" + q
}

// clientsNamed returns CLIENT LIST entries (as field maps) with that name.
func clientsNamed(t *testing.T, c *goredis.Client, name string) []map[string]string {
	t.Helper()
	list, err := c.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for line := range strings.SplitSeq(strings.TrimSpace(list), "\n") {
		fields := make(map[string]string)
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name {
			out = append(out, fields)
		}
	}
	return out
}

// subscribers returns the connections named name that subscribe to
// something.
func subscribers(t *testing.T, c *goredis.Client, name string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, f := range clientsNamed(t, c, name) {
		if f["sub"] != "0" && f["sub"] != "" {
			out = append(out, f)
		}
	}
	return out
}

// eventually retries cond until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	pubsubredis "github.com/tandemhq/tandem/pubsub/redis"
	"github.com/tandemhq/tandem/storage"
)

// privateRedis starts a redis-server of this test's own through the
// project's script (it installs redis-server if needed) and stops it at
// the end.
func privateRedis(t *testing.T) (url string, script func(args ...string)) {
	t.Helper()
	path, _ := filepath.Abs("../scripts/redis-test-server.sh")
	run := func(args ...string) string {
		cmd := exec.Command(path, args...)
		cmd.Env = append(os.Environ(), "TANDEM_TEST_REDIS_URL=", "TANDEM_REDIS_TEST_WATCH_PID="+strconv.Itoa(os.Getpid()))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("redis-test-server.sh %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	url = run("start")
	t.Cleanup(func() { run("stop", url) })
	return url, func(args ...string) { run(append(args, url)...) }
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

// TestTwoInstancesOverRedisSurviveRestart: two instances on one store and
// one Redis, writers on both, Redis stopped and started again mid-run.
// Observers on both instances must see every version exactly once, in
// order: what pub/sub dropped is read back from the store.
func TestTwoInstancesOverRedisSurviveRestart(t *testing.T) {
	goredis.SetLogger(quietRedisLog{})
	url, script := privateRedis(t)
	ctx := context.Background()
	store := storage.NewMemory()
	brokers := make([]*pubsubredis.Broker, 2)
	for i := range brokers {
		b, err := pubsubredis.New(ctx, pubsubredis.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		brokers[i] = b
	}
	s1 := startServer(t, testOpts{store: store, broker: brokers[0]})
	s2 := startServer(t, testOpts{store: store, broker: brokers[1]})
	a := s1.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "shared", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})
	var observers []*client
	for _, s := range []*testServer{s1, s2} {
		o := s.connect("")
		if r := o.roundTrip(M{"a": "s", "c": "t", "d": "shared", "v": 1}); r["a"] != "s" {
			t.Fatalf("subscribe reply %v", r)
		}
		observers = append(observers, o)
	}
	const writers, opsEach = 4, 40
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		srv := []*testServer{s1, s2}[i%2]
		c := srv.connect("")
		wg.Add(1)
		go func(c *client, i int) {
			defer wg.Done()
			v := 1
			for n := 1; n <= opsEach; n++ {
				c.send(M{"a": "op", "c": "t", "d": "shared", "v": v, "seq": n, "op": []any{fmt.Sprintf("<%d.%d>", i, n)}})
				for {
					m, err := c.tryRecv(20 * time.Second)
					if err != nil || m["error"] != nil {
						t.Errorf("writer %d: %v %v", i, err, m)
						return
					}
					v = int(m["v"].(float64)) + 1
					if m["src"] == c.id && m["seq"] == float64(n) && m["op"] == nil {
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		}(c, i)
	}
	time.Sleep(300 * time.Millisecond)
	script("down")
	time.Sleep(500 * time.Millisecond)
	script("up")
	wg.Wait()
	total := 1 + writers*opsEach
	for k, o := range observers {
		for next := 1; next < total; {
			m, err := o.tryRecv(20 * time.Second)
			if err != nil {
				t.Fatalf("observer %d: waiting for v=%d: %v", k, next, err)
			}
			if m["a"] != "op" {
				continue
			}
			if v := int(m["v"].(float64)); v != next {
				t.Fatalf("observer %d: got v=%d, want %d", k, v, next)
			}
			next++
		}
	}
}

package loadtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/ot/builtin"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/server"
	"github.com/tandemhq/tandem/sessions"
	"github.com/tandemhq/tandem/storage"
)

// startServers starts n Tandem instances sharing one memory store and one
// in-process broker (as two instances share Mongo and Redis), and returns
// their base URLs.
func startServers(t *testing.T, n int) []string {
	t.Helper()
	return startServersWith(t, n, nil)
}

// startServersWith is startServers with a hook to change each server's
// configuration.
func startServersWith(t *testing.T, n int, configure func(*server.Config)) []string {
	t.Helper()
	store := storage.NewMemory()
	broker := pubsub.NewMemory()
	t.Cleanup(func() { broker.Close() })
	var urls []string
	for range n {
		log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
		mgr, err := sessions.NewManager(sessions.Config{Store: store, Broker: broker, Types: builtin.Registry(), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		cfg := server.Config{Manager: mgr, Store: store, Logger: log}
		if configure != nil {
			configure(&cfg)
		}
		srv, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
		urls = append(urls, "http://"+ln.Addr().String())
	}
	return urls
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// runLoad runs a load test and fails the test on a run error.
func runLoad(t *testing.T, cfg Config, hooks testHooks) *Report {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.hooks = hooks
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Log("\n" + b.String())
	if err := rep.WriteJSON(io.Discard); err != nil {
		t.Fatal(err)
	}
	return rep
}

package loadtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/server"
)

// A server that refuses connections from our address ends the run with an
// explanation instead of endless retries.
func TestRefusedConnectionsAreFatal(t *testing.T) {
	urls := startServersWith(t, 1, func(c *server.Config) { c.MaxConnsPerIP = 4 })
	r, err := New(Config{URLs: urls, Editors: 8, Docs: 1, Idle: true, Duration: 5 * time.Second, Seed: 41})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = r.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "--max-connections-per-ip") {
		t.Fatalf("got %v, want an error explaining the per-address limit", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	r, err := New(Config{URLs: []string{"http://127.0.0.1:1"}, Editors: 1, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot open a WebSocket") {
		t.Fatalf("got %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{URLs: []string{"ftp://x"}, Editors: 1},
		{URLs: []string{"http://x"}},
		{URLs: []string{"http://x"}, Editors: 1, Type: "json0"},
		{URLs: []string{"http://x"}, Editors: 1, Rate: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	ep, err := parseBase("https://example.com/tandem/")
	if err != nil || ep.base != "https://example.com/tandem" || ep.ws != "wss://example.com/tandem/ws" {
		t.Fatalf("%+v %v", ep, err)
	}
}

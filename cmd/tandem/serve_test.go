package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestListenPprof(t *testing.T) {
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "nonsense"} {
		if ln, err := listenPprof(bad); err == nil {
			ln.Close()
			t.Errorf("listenPprof(%q) accepted a non-loopback address", bad)
		}
	}
	ln, err := listenPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("pprof index: %s %.200s", resp.Status, body)
	}
}

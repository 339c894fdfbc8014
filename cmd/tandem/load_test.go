package main

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/loadtest"
)

func TestParseLoad(t *testing.T) {
	var stderr bytes.Buffer
	f, err := parseLoad([]string{"--url", "http://a:1", "--url", "http://b:2,http://c:3", "--editors", "200",
		"--viewers", "20", "--docs", "20", "--rate", "0", "--duration", "5s", "--ramp", "2s", "--type", "text-unicode",
		"--seed", "9", "--idle", "--viewer-transport", "ws", "--json", "r.json", "--html", "r.html", "--no-progress"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := loadtest.Config{URLs: []string{"http://a:1", "http://b:2", "http://c:3"}, Editors: 200, Viewers: 20, Docs: 20,
		Rate: 0, Duration: 5 * time.Second, Ramp: 2 * time.Second, Type: "text-unicode", Seed: 9, Idle: true,
		QuietTimeout: 30 * time.Second, Collection: "load", DialConcurrency: 64, ViewerTransport: "ws"}
	if !reflect.DeepEqual(f.cfg, want) || f.jsonFile != "r.json" || f.htmlFile != "r.html" || !f.noProgress {
		t.Fatalf("got %+v", f)
	}
	f, err = parseLoad(nil, &stderr)
	if err != nil || len(f.cfg.URLs) != 1 || f.cfg.Seed == 0 {
		t.Fatalf("defaults: %+v %v", f.cfg, err)
	}
	if _, err := parseLoad([]string{"--type", "json0"}, &stderr); err == nil {
		t.Fatal("json0 accepted")
	}
	if _, err := parseLoad([]string{"--viewer-transport", "poll"}, &stderr); err == nil {
		t.Fatal("viewer transport poll accepted")
	}
	stderr.Reset()
	if _, err := parseLoad([]string{"-h"}, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-quiet-timeout duration") {
		t.Fatalf("help: %v %q", err, stderr.String())
	}
}

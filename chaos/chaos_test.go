//go:build linux

package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

func TestProbeAppliesOpsInOrder(t *testing.T) {
	p := &probe{in: &instance{idx: 0}, coll: "c", ids: []string{"d"}, docs: map[string]*replica{"d": {}}, errCodes: map[string]int{}}
	msg := func(s string) *wireMsg {
		var m wireMsg
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	p.onSnapshot(nil, msg(`{"a":"s","c":"c","d":"d","data":{"v":1,"type":"http://sharejs.org/types/rich-text/v1","data":{"ops":[{"insert":"ab\n"}]}}}`))
	if v, have := p.state("d"); v != 1 || !have {
		t.Fatalf("after the snapshot: v%d have %v", v, have)
	}
	p.onOp(nil, msg(`{"a":"op","c":"c","d":"d","v":1,"src":"x","seq":1,"op":[{"retain":1},{"insert":"X"}]}`))
	p.onOp(nil, msg(`{"a":"op","c":"c","d":"d","v":1,"src":"x","seq":1,"op":[{"retain":1},{"insert":"X"}]}`)) // duplicate: ignored
	v, have := p.state("d")
	if v != 2 || !have {
		t.Fatalf("after the op: v%d have %v", v, have)
	}
	want, err := canonical("http://sharejs.org/types/rich-text/v1", json.RawMessage(`{"ops":[{"insert":"aXb\n"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.at("d", 2)
	if !ok || string(got) != string(want) {
		t.Fatalf("at v2: %s (%v), want %s", got, ok, want)
	}
	if old, ok := p.at("d", 1); !ok || string(old) == string(got) {
		t.Fatalf("v1 not kept apart: %s %v", old, ok)
	}
	// A gap: the replica stops claiming the document until refetched.
	p.onOp(nil, msg(`{"a":"op","c":"c","d":"d","v":5,"src":"x","seq":2,"op":[{"insert":"Y"}]}`))
	if _, have := p.state("d"); have || p.gaps != 1 {
		t.Fatalf("gap not noticed: have %v gaps %d", have, p.gaps)
	}
	// An op that does not apply is recorded.
	p.onSnapshot(nil, msg(`{"a":"f","c":"c","d":"d","data":{"v":6,"type":"http://sharejs.org/types/rich-text/v1","data":{"ops":[{"insert":"a\n"}]}}}`))
	p.onOp(nil, msg(`{"a":"op","c":"c","d":"d","v":6,"src":"x","seq":3,"op":[{"retain":10},{"delete":5}]}`))
	if len(p.applyFails) != 1 {
		t.Fatalf("apply failures %q", p.applyFails)
	}
}

func TestTraceReady(t *testing.T) {
	ss := []readySample{
		{SentS: 0.2, DoneS: 0.21, Status: 200},
		{SentS: 0.4, DoneS: 2.4, Status: 503, Body: "store unreachable"},
		{SentS: 0.6, DoneS: 0.61, Status: 0},
		{SentS: 2.6, DoneS: 2.61, Status: 200},
	}
	rp := &readyPoller{samples: [][]readySample{ss}, cancel: func() {}} // stop sorts by answer time
	tr := traceReady(0, rp.stop()[0])
	if tr.NotReady != 1 || tr.NoAnswer != 1 || tr.FirstNotReadyS != 0.61 || tr.FirstNotReadySentS != 0.6 || tr.ReadyAgainS != 2.61 {
		t.Fatalf("%+v", tr)
	}
	if got := strings.Join(tr.Transitions, ", "); got != "0.21 s: 200, 0.61 s: 200 → no answer, 2.40 s: no answer → 503, 2.61 s: 503 → 200" {
		t.Fatalf("transitions %s", got)
	}
}

func TestStalledText(t *testing.T) {
	if got := stalledText([]int{3, 8, 9, 10, 12, 13}); got != "3, 8–10, 12–13" {
		t.Fatal(got)
	}
}

func TestCloseMechanism(t *testing.T) {
	for end, want := range map[string]string{
		`close frame 1001 "ping timeout"`:                 "ping/pong",
		`close frame 1008 "slow client: send queue full"`: "send queue",
		"EOF without a close frame":                       "write deadline",
	} {
		if got := closeMechanism(&slowResult{DrainEnd: end}); !strings.Contains(got, want) {
			t.Errorf("%s: %s", end, got)
		}
	}
}

// TestTCPLookup checks both ways of looking a socket up against a real
// connection: sock_diag where the kernel offers it (it must then agree
// with /proc/net/tcp) and /proc/net/tcp, which every Linux has.
func TestTCPLookup(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := <-accepted
	sp, cp := ln.Addr().(*net.TCPAddr).Port, c.LocalAddr().(*net.TCPAddr).Port
	if _, err := srv.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	lookups := map[string]func(int, int) (tcpEntry, bool, error){"proc": procTCPLookup, "combined": tcpLookup}
	if _, _, err := sockDiagLookup(cp, sp); err == nil {
		lookups["sock_diag"] = sockDiagLookup
	} else {
		t.Logf("sock_diag not available here (%v): the combined lookup falls back to /proc/net/tcp", err)
	}
	for name, lookup := range lookups {
		var cli tcpEntry
		for range 100 {
			var ok bool
			if cli, ok, err = lookup(cp, sp); err != nil || !ok {
				t.Fatalf("%s: client end: found %v, err %v", name, ok, err)
			}
			if cli.rxQueue == 5 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if cli.state != tcpEstablished || cli.rxQueue != 5 {
			t.Fatalf("%s: client end: %+v", name, cli)
		}
		if e, ok, err := lookup(sp, cp); err != nil || !ok || e.state != tcpEstablished {
			t.Fatalf("%s: server end: %+v %v %v", name, e, ok, err)
		}
	}
	srv.Close()
	for name, lookup := range lookups {
		if e, ok, err := lookup(sp, cp); err != nil || (ok && e.state == tcpEstablished) {
			t.Fatalf("%s: server end still established after close: %+v %v", name, e, err)
		}
	}
}

func TestParseProcTCP(t *testing.T) {
	const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 0000F2D9:00000010 01:00000014 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
`
	for _, tc := range []struct {
		local, remote int
		want          tcpEntry
		found         bool
	}{
		{8080, 54321, tcpEntry{state: 1, txQueue: 0xF2D9, rxQueue: 0x10}, true},
		{8080, 0, tcpEntry{}, false}, // the listener: its remote is 0.0.0.0, not loopback
		{8080, 1, tcpEntry{}, false},
	} {
		got, found, err := parseProcTCP(table, tc.local, tc.remote)
		if err != nil || found != tc.found || got != tc.want {
			t.Errorf("%d→%d: %+v %v %v, want %+v %v", tc.local, tc.remote, got, found, err, tc.want, tc.found)
		}
	}
	if _, _, err := parseProcTCP("not the table", 1, 2); err == nil {
		t.Error("a file of another format was accepted")
	}
	if _, _, err := parseProcTCP(table[:strings.Index(table, "\n")+1]+"   0: 0100007F:1F90 0100007F:0001 ZZ 0:0\n", 8080, 1); err == nil {
		t.Error("a bad line was accepted")
	}
}

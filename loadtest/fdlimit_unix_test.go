//go:build unix

package loadtest

import (
	"strings"
	"syscall"
	"testing"
)

func TestCheckFDsExplains(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if err := checkFDs(10); err != nil {
		t.Fatalf("10 connections: %v", err)
	}
	err := checkFDs(int(min(lim.Max, 1<<40)) + 1000)
	if err == nil || !strings.Contains(err.Error(), "ulimit -n") {
		t.Fatalf("got %v, want advice to raise ulimit -n", err)
	}
}

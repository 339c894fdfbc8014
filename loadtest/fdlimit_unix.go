//go:build unix

package loadtest

import (
	"fmt"
	"syscall"
)

// fdHeadroom is what the process needs besides one descriptor per
// connection (listeners, API calls, stdio, the Go runtime).
const fdHeadroom = 64

// checkFDs makes sure the process may open a socket per connection,
// raising the soft limit towards the hard one if needed.
func checkFDs(conns int) error {
	need := uint64(conns + fdHeadroom)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil // cannot tell; dial errors will say
	}
	if lim.Cur >= need {
		return nil
	}
	if lim.Max >= need {
		raised := lim
		raised.Cur = need
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return nil
		}
	}
	return fmt.Errorf("loadtest: %d connections need about %d file descriptors, but the limit is %d (hard limit %d): %s",
		conns, need, lim.Cur, lim.Max, fdAdvice(conns))
}

func fdAdvice(conns int) string {
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return fmt.Sprintf("raise it with `ulimit -n %d` in the shell that starts tandem load (hard limit here: %d; the server needs as many), or run fewer editors and viewers",
		conns+fdHeadroom, lim.Max)
}

// processCPU returns the user and system CPU time of this process, in
// seconds.
func processCPU() (user, sys float64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return float64(ru.Utime.Nano()) / 1e9, float64(ru.Stime.Nano()) / 1e9
}

//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Summary is the JSON the chaos run writes (and the Markdown report's
// source).
type Summary struct {
	Tool       string            `json:"tool"`
	StartedAt  time.Time         `json:"started_at"`
	DurationS  float64           `json:"duration_s"`
	Command    string            `json:"command"`
	Options    map[string]string `json:"options"`
	Machine    machine           `json:"machine"`
	Cluster    clusterInfo       `json:"cluster"`
	Scenarios  []*ScenarioResult `json:"scenarios"`
	Violations []string          `json:"violations"`
	OK         bool              `json:"ok"`
}

type machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
	CPU       string `json:"cpu,omitempty"`
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end,omitempty"`
	OpenFiles string `json:"open_files_limit"`
	// TCPWmemMax is the kernel's ceiling for an autotuned socket send
	// buffer (net.ipv4.tcp_wmem's third field), 0 if unreadable.
	TCPWmemMax int64  `json:"tcp_wmem_max,omitempty"`
	Commit     string `json:"commit,omitempty"`
	// Modified lists tracked files with uncommitted changes when the run
	// started (the binary under test was built from them).
	Modified []string `json:"modified,omitempty"`
	// TandemSHA256 identifies the tandem binary under test.
	TandemSHA256 string `json:"tandem_sha256,omitempty"`
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, LoadStart: loadavg(), OpenFiles: rlimitText()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			m.TCPWmemMax, _ = strconv.ParseInt(f[2], 10, 64)
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			m.Commit += " (with uncommitted changes)"
			for _, line := range strings.Split(strings.TrimSpace(string(st)), "\n") {
				if len(line) > 3 {
					m.Modified = append(m.Modified, strings.TrimSpace(line[3:]))
				}
			}
		}
	}
	return m
}

func rlimitText() string {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return ""
	}
	return fmt.Sprintf("%d (hard %d)", rl.Cur, rl.Max)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func optionsEcho(o options) map[string]string {
	return map[string]string{
		"scenarios": strings.Join(o.scenarios, ","), "editors": fmt.Sprint(o.editors), "viewers": fmt.Sprint(o.viewers),
		"docs": fmt.Sprint(o.docs), "rate": fmt.Sprint(o.rate), "duration": o.duration.String(), "ramp": o.ramp.String(),
		"fault_at": o.faultAt.String(), "kill_down": o.killDown.String(), "kill_freeze": o.killFreeze.String(), "kill_gap": o.killGap.String(), "mongo_down": o.mongoDown.String(),
		"redis_down": o.redisDown.String(), "slow_at": o.slowAt.String(), "slow_docs": fmt.Sprint(o.slowDocs),
		"slow_rcvbuf": fmt.Sprint(o.slowRcvBuf), "slow_fetches": fmt.Sprint(o.slowFetches), "slow_big_bytes": fmt.Sprint(o.slowBigBytes), "slow_duration": o.slowDuration.String(),
		"converge_bound": o.convergeBound.String(), "ready_bound": o.readyBound.String(), "slow_bound": o.slowBound.String(),
		"seed": fmt.Sprint(o.seed),
	}
}

func (s *Summary) finish(started time.Time) {
	s.DurationS = roundS(time.Since(started))
	s.Machine.LoadEnd = loadavg()
	if s.Violations == nil {
		s.Violations = []string{}
	}
	s.OK = len(s.Violations) == 0
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

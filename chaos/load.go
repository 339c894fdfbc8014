//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tandemhq/tandem/loadtest"
)

// latency is the load tester's latency summary (milliseconds).
type latency = loadtest.LatencySummary

// loadRun is one `tandem load` process.
type loadRun struct {
	name     string
	args     []string
	jsonPath string
	logPath  string
	started  time.Time
	done     chan struct{}
	exitCode int
	report   *loadtest.Report
	pid      int
}

// loadArgs are the flags of one run: editors and viewers spread over the
// three instances, a few documents in the scenario's own collection.
func loadArgs(cl *cluster, collection string, seed uint64, duration time.Duration, jsonPath string) []string {
	o := cl.o
	args := []string{"load"}
	for _, u := range cl.urls() {
		args = append(args, "--url", u)
	}
	return append(args,
		"--editors", strconv.Itoa(o.editors), "--viewers", strconv.Itoa(o.viewers), "--docs", strconv.Itoa(o.docs),
		"--rate", strconv.FormatFloat(o.rate, 'f', -1, 64), "--duration", duration.String(), "--ramp", o.ramp.String(),
		"--quiet-timeout", "30s", "--collection", collection, "--seed", strconv.FormatUint(seed, 10),
		"--no-progress", "--json", jsonPath)
}

// startLoad starts `tandem load` on collection coll, its report in
// OUT/load-COLL.json and its output in OUT/load-COLL.log; wait for it
// with (*loadRun).wait.
func startLoad(cl *cluster, coll string, seed uint64, duration time.Duration) (*loadRun, error) {
	jsonPath := filepath.Join(cl.o.outDir, "load-"+coll+".json")
	args := loadArgs(cl, coll, seed, duration, jsonPath)
	lr := &loadRun{name: coll, args: args, jsonPath: jsonPath, logPath: filepath.Join(cl.o.outDir, "load-"+coll+".log"), done: make(chan struct{})}
	logFile, err := os.Create(lr.logPath)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "### chaos: tandem %s\n", strings.Join(args, " "))
	cmd := exec.Command(cl.bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = cl.o.outDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	lr.started = time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	logFile.Close()
	lr.pid = cmd.Process.Pid
	cl.track(lr.pid, "tandem load "+coll)
	go func() {
		_ = cmd.Wait()
		lr.exitCode = cmd.ProcessState.ExitCode()
		cl.untrack(lr.pid)
		close(lr.done)
	}()
	return lr, nil
}

// wait waits for the run to end (killing it after limit) and reads its
// report.
func (lr *loadRun) wait(ctx context.Context, limit time.Duration) error {
	select {
	case <-lr.done:
	case <-ctx.Done():
		_ = syscall.Kill(-lr.pid, syscall.SIGKILL)
		<-lr.done
		return fmt.Errorf("load run %s aborted: %v", lr.name, context.Cause(ctx))
	case <-time.After(limit):
		_ = syscall.Kill(-lr.pid, syscall.SIGKILL)
		<-lr.done
		return fmt.Errorf("load run %s did not finish within %s (killed; log %s)", lr.name, limit, lr.logPath)
	}
	b, err := os.ReadFile(lr.jsonPath)
	if err != nil {
		return fmt.Errorf("load run %s exited with status %d and no report (%v); log %s: %s", lr.name, lr.exitCode, err, lr.logPath, tailFile(lr.logPath, 5))
	}
	var rep loadtest.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("load run %s: report %s: %w", lr.name, lr.jsonPath, err)
	}
	lr.report = &rep
	return nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// loadSummary is what the chaos summary keeps of a load report. The
// embedded report sections keep their JSON keys, flat in this object.
type loadSummary struct {
	Command   string   `json:"command"`
	Report    string   `json:"report"`
	ExitCode  int      `json:"exit_code"`
	VerdictOK bool     `json:"verdict_ok"`
	Reasons   []string `json:"reasons,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	loadtest.PhaseTimes
	loadtest.OpCounts
	loadtest.Latencies
	Errors       map[string]uint64 `json:"errors"`
	ClientErrors map[string]uint64 `json:"client_errors"`
	Events       map[string]uint64 `json:"events"`
	Samples      map[string]string `json:"error_samples,omitempty"`
	ReconnectsE  uint64            `json:"reconnects_editors"`
	ReconnectsV  uint64            `json:"reconnects_viewers"`
	Copies       int               `json:"copies_compared"`
	AckedOps     int               `json:"acked_ops_checked"`
	OpLogOps     int               `json:"op_log_ops"`
	Missing      int               `json:"markers_missing"`
	Duplicated   int               `json:"markers_duplicated"`
	OpLogMissing int               `json:"op_log_missing"`
	OpLogDup     int               `json:"op_log_duplicated"`
	Unsettled    int               `json:"editors_unsettled"`
	// StalledSeconds are the seconds of the measured phase (counted from
	// the start of the run) in which no op was acknowledged.
	StalledSeconds []int `json:"stalled_seconds,omitempty"`
}

func summarizeLoad(lr *loadRun, root string) *loadSummary {
	s := &loadSummary{Command: "tandem " + strings.Join(lr.args, " "), Report: relPath(root, lr.jsonPath), ExitCode: lr.exitCode}
	r := lr.report
	if r == nil {
		return s
	}
	c := r.Verdict.Checks
	s.VerdictOK, s.Reasons, s.Warnings = r.Verdict.OK, r.Verdict.Reasons, r.Verdict.Warnings
	s.PhaseTimes, s.OpCounts, s.Latencies = r.Phases, r.Ops, r.Latency
	s.Errors, s.ClientErrors, s.Events, s.Samples = r.Errors, r.ClientErrors, r.Events, r.ErrorSamples
	s.ReconnectsE, s.ReconnectsV = r.Reconnects.Editors, r.Reconnects.Viewers
	s.Copies = c.EditorsCompared + c.ViewersCompared
	s.AckedOps, s.OpLogOps = c.AckedOps, c.OpLogOps
	s.Missing, s.Duplicated, s.OpLogMissing, s.OpLogDup, s.Unsettled = c.MarkersMissing, c.MarkersDuplicated, c.OpLogMissing, c.OpLogDuplicated, c.EditorsUnsettled
	from := r.Phases.SetupS + r.Phases.RampS
	for _, t := range r.Timeline {
		if float64(t.T) >= from && float64(t.T+1) <= from+r.Phases.MeasureS && t.Acked == 0 {
			s.StalledSeconds = append(s.StalledSeconds, t.T)
		}
	}
	return s
}

func relPath(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

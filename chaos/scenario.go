//go:build linux

package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tandemhq/tandem/protocol"
)

// event is one entry of a scenario's timeline.
type event struct {
	T    float64   `json:"t_s"` // seconds since the scenario's load run started
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// ScenarioResult is everything measured in one scenario.
type ScenarioResult struct {
	Name       string   `json:"name"`
	Title      string   `json:"title"`
	Injected   string   `json:"injected"`
	Collection string   `json:"collection"`
	Docs       []string `json:"docs"`
	Seed       uint64   `json:"seed"`
	// FaultS and RecoveredS are seconds since the load run started: when
	// the fault began and when it was over (instance ready again, Redis
	// answering, Mongo answering, the slow client stopped reading).
	FaultS float64 `json:"fault_s"`
	// SecondFaultS: the kill scenario's second kill (-1: none).
	SecondFaultS float64 `json:"second_fault_s"`
	RecoveredS   float64 `json:"recovered_s"`
	// MeasuredFromS is when the load run's measured phase began.
	MeasuredFromS float64      `json:"measured_from_s"`
	Timeline      []event      `json:"timeline"`
	Load          *loadSummary `json:"load"`
	// slow: the same run with the same clients, reading everything
	Baseline        *loadSummary  `json:"baseline,omitempty"`
	BaselineClients []*slowResult `json:"baseline_clients,omitempty"`
	PreFault        *convergence  `json:"pre_fault_identical,omitempty"`
	// Converged is measured after each recovery (the kill scenario has
	// two); RecoveredS is the last recovery.
	Converged  []*convergence `json:"identical_after_recovery"`
	Final      *finalCheck    `json:"identical_after_run"`
	Probes     []probeStats   `json:"replica_subscribers"`
	Readiness  []readyTrace   `json:"readiness"`
	Slow       []*slowResult  `json:"slow_clients,omitempty"`
	Instances  []instanceEnd  `json:"instances"`
	Violations []string       `json:"violations"`
	Notes      []string       `json:"notes,omitempty"`
	Passed     bool           `json:"passed"`
	DurationS  float64        `json:"duration_s"`
}

// instanceEnd is an instance's state after a scenario.
type instanceEnd struct {
	Instance int         `json:"instance"`
	PID      int         `json:"pid"`
	Running  bool        `json:"running"`
	Starts   int         `json:"starts"`
	Panics   float64     `json:"session_panics_metric"`
	Log      logFindings `json:"log"`
}

var titles = map[string]string{
	"kill":  "kill -9 of instances",
	"redis": "Redis restart",
	"mongo": "MongoDB-wire server stopped for a few seconds",
	"slow":  "clients that stop reading their sockets",
}

// retryable are the error codes a client may get in these scenarios: it
// retries (or reconnects and resends) and nothing is lost.
var retryable = map[string]bool{protocol.ErrStoreUnavailable: true, protocol.ErrRateLimited: true, protocol.ErrShuttingDown: true}

// expectedEvents are the load tester's connection events a fault may
// cause: sockets lost or closed for a restart or an unavailable store, SSE
// streams ended, acks of resent ops. Anything else (a load client closed as
// slow (1008), an internal error (1011), a message refused) is a violation.
var expectedEvents = map[string]bool{
	"WS_CLOSED_1001": true, "WS_CLOSED_1006": true, "WS_CLOSED_1012": true, "WS_CLOSED_1013": true,
	"WS_LOST": true, "WS_READ_TIMEOUT": true, "WS_CLOSED_LOCALLY": true, "SSE_ENDED": true, "ACK_VERSION_MISMATCH": true,
}

func docIDs(seed uint64, n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("load-%d-%d", seed, i))
	}
	return ids
}

// scenario is one running scenario.
type scenario struct {
	ctx  context.Context
	cl   *cluster
	o    options
	res  *ScenarioResult
	t0   time.Time
	mu   sync.Mutex
	logs []int64

	rs           *replicaSet
	readySamples [][]readySample
	// mongo: when the pause began, the process was gone, resume began,
	// the server answered again.
	pauseAt, downAt, resumeAt, upAt time.Time
	slowDone                        chan struct{}
}

func (s *scenario) ev(format string, args ...any) time.Time {
	now := time.Now()
	e := event{T: roundS(now.Sub(s.t0)), At: now.UTC().Truncate(time.Millisecond), What: fmt.Sprintf(format, args...)}
	s.mu.Lock()
	s.res.Timeline = append(s.res.Timeline, e)
	s.mu.Unlock()
	logf("  %s: t=%5.2fs %s", s.res.Name, e.T, e.What)
	return now
}

func (s *scenario) violate(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s.ctx.Err() != nil {
		// Aborted (Ctrl-C, --budget): what fails now is the abort's
		// doing; runScenario reports the abort once.
		s.mu.Lock()
		s.res.Notes = append(s.res.Notes, "after the abort: "+msg)
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	s.res.Violations = append(s.res.Violations, msg)
	s.mu.Unlock()
	logf("  %s: VIOLATION: %s", s.res.Name, msg)
}

// waitUntil sleeps until offset after t0.
func (s *scenario) waitUntil(offset time.Duration) {
	sleepCtx(s.ctx, time.Until(s.t0.Add(offset)))
}

// recovered measures how long after t (a recovery) every replica and the
// stored snapshot are identical.
func (s *scenario) recovered(t time.Time) {
	if t.IsZero() {
		return
	}
	s.res.RecoveredS = roundS(t.Sub(s.t0))
	conv := s.rs.waitConverged(s.ctx, t, s.o.convergeBound)
	conv.RecoveredS = s.res.RecoveredS
	conv.Label = "the recovery"
	if s.res.Name == "slow" {
		conv.Label = "the clients stopped reading"
	}
	s.res.Converged = append(s.res.Converged, &conv)
	if conv.AfterS < 0 {
		s.violate("replicas and the stored snapshot not identical within %s of the recovery at %.2f s: %s", s.o.convergeBound, conv.RecoveredS, strings.Join(conv.Last, "; "))
	} else {
		s.ev("every replica on the 3 instances and the stored snapshot identical (%d documents, at stored versions %s), %.2f s after %s",
			len(s.res.Docs), versionsText(conv.Versions), conv.AfterS, conv.Label)
	}
	if len(conv.Mismatches) > 0 {
		s.violate("replica differs from the stored snapshot at the same version: %s", strings.Join(conv.Mismatches, "; "))
	}
}

func runScenario(ctx context.Context, cl *cluster, o options, name string, seed uint64) *ScenarioResult {
	res := &ScenarioResult{Name: name, Title: titles[name], Seed: seed, Collection: name, Docs: docIDs(seed, o.docs),
		FaultS: -1, SecondFaultS: -1, RecoveredS: -1, Violations: []string{}}
	started := time.Now()
	logf("scenario %s: %s", name, res.Title)
	s := &scenario{ctx: ctx, cl: cl, o: o, res: res}
	duration := o.duration
	if name == "slow" {
		duration = o.slowDuration
		res.Baseline = s.baseline(seed, duration)
	}
	s.run(seed, duration)
	if ctx.Err() != nil {
		res.Violations = append(res.Violations, fmt.Sprintf("aborted: %v", context.Cause(ctx)))
	}
	res.Passed = len(res.Violations) == 0
	res.DurationS = roundS(time.Since(started))
	if res.Passed {
		logf("scenario %s: passed (%.1f s)", name, res.DurationS)
	} else {
		logf("scenario %s: FAILED: %s", name, strings.Join(res.Violations, "; "))
	}
	return res
}

// baseline is the slow scenario's control: the same load and the same
// clients making the same requests, but reading everything, in a
// collection of its own. The difference to the slow run is only that the
// clients stop reading.
func (s *scenario) baseline(seed uint64, duration time.Duration) *loadSummary {
	coll := s.res.Name + "-baseline"
	lr, err := startLoad(s.cl, coll, seed, duration)
	if err != nil {
		s.violate("baseline load run: %v", err)
		return nil
	}
	logf("  %s: baseline load run in collection %s, the same clients reading everything", s.res.Name, coll)
	t0 := lr.started
	sleepCtx(s.ctx, time.Until(t0.Add(s.o.slowAt)))
	until := make(chan struct{})
	results, _, done := s.startSlowClients(coll, docIDs(seed, s.o.docs), t0, until)
	if err := lr.wait(s.ctx, s.o.ramp+duration+90*time.Second); err != nil {
		s.violate("baseline: %v", err)
	}
	close(until)
	<-done
	s.res.BaselineClients = results
	for i, r := range results {
		if r.Error != "" {
			s.violate("baseline (reading) client %d: %s", i+1, r.Error)
		}
	}
	sum := summarizeLoad(lr, s.o.root)
	if lr.report != nil && !lr.report.Verdict.OK {
		s.violate("baseline load verdict FAILED: %s", strings.Join(lr.report.Verdict.Reasons, "; "))
	}
	return sum
}

func (s *scenario) run(seed uint64, duration time.Duration) {
	res, o, cl := s.res, s.o, s.cl
	for _, in := range cl.instances {
		s.logs = append(s.logs, in.logSize())
	}
	rs, err := newReplicaSet(s.ctx, cl, res.Collection, res.Docs)
	if err != nil {
		s.violate("%v", err)
		return
	}
	lr, err := startLoad(cl, res.Collection, seed, duration)
	if err != nil {
		rs.close()
		s.violate("load run: %v", err)
		return
	}
	s.t0 = lr.started
	rp := startReadyPoller(cl, s.t0)
	s.ev("tandem load started: %d editors, %d viewers on %d documents over 3 instances, %g edits/s each, %s measured",
		o.editors, o.viewers, o.docs, o.rate, duration)

	// A control check before the fault: the subscribers work and agree.
	preAt := o.faultAt - 2*time.Second
	if res.Name == "slow" {
		preAt = o.slowAt - time.Second
	}
	s.waitUntil(preAt)
	pre := rs.waitConverged(s.ctx, time.Now(), 5*time.Second)
	res.PreFault = &pre
	if pre.AfterS < 0 {
		s.violate("before the fault: replicas and the stored snapshot not identical within 5 s: %s", strings.Join(pre.Last, "; "))
	}

	s.rs = rs
	switch res.Name {
	case "kill":
		s.kill()
	case "redis":
		s.recovered(s.redis())
	case "mongo":
		s.recovered(s.mongo())
	case "slow":
		s.recovered(s.slow())
	}

	limit := o.ramp + duration + 90*time.Second
	if err := lr.wait(s.ctx, limit); err != nil {
		s.violate("%v", err)
	}
	ended := s.ev("tandem load ended (exit status %d)", lr.exitCode)
	final := rs.final(s.ctx, ended, 15*time.Second)
	res.Final = &final
	if !final.OK {
		s.violate("after the run: replicas, read APIs and the stored snapshot not identical: %s", strings.Join(final.Problems, "; "))
	} else {
		s.ev("after the run: 3 replicas, 3 read APIs and MongoDB identical at versions %s (%.2f s after the run ended)", versionsText(final.Versions), final.AfterS)
	}
	if s.slowDone != nil {
		<-s.slowDone
	}
	samples := rp.stop()
	s.readySamples = samples
	for i, ss := range samples {
		res.Readiness = append(res.Readiness, traceReady(i, ss))
	}
	res.Probes = rs.stats()
	rs.close()
	for _, ps := range res.Probes {
		if len(ps.ApplyFails) > 0 {
			s.violate("instance %d sent its subscriber ops that do not apply: %s", ps.Instance, strings.Join(ps.ApplyFails, "; "))
		}
		if ps.Gaps > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("the subscriber on instance %d saw %d version gaps (refetched, as sharedb's client does)", ps.Instance, ps.Gaps))
		}
	}

	s.checkLoad(lr)
	s.checkInstances()
	switch res.Name {
	case "mongo":
		s.checkReadiness()
	case "slow":
		s.checkSlow()
	}
}

func versionsText(v map[string]int64) string {
	keys := slices.Sorted(maps.Keys(v))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d", v[k]))
	}
	return strings.Join(parts, "/")
}

// checkLoad reads the load tester's verdict and errors.
func (s *scenario) checkLoad(lr *loadRun) {
	res := s.res
	res.Load = summarizeLoad(lr, s.o.root)
	r := lr.report
	if r == nil {
		s.violate("no load report (exit status %d): %s", lr.exitCode, tailFile(lr.logPath, 5))
		return
	}
	res.MeasuredFromS = roundS(r.StartedAt.Sub(s.t0)) + r.Phases.SetupS + r.Phases.RampS
	if !r.Verdict.OK {
		s.violate("load verdict FAILED: %s", strings.Join(r.Verdict.Reasons, "; "))
	} else if lr.exitCode != 0 {
		s.violate("tandem load exited with status %d although its verdict is OK", lr.exitCode)
	}
	if r.Ops.Sent != r.Ops.Acked {
		s.violate("%d ops sent, %d acknowledged", r.Ops.Sent, r.Ops.Acked)
	}
	if r.Ops.RolledBackEdits > 0 {
		s.violate("%d edits were refused and rolled back", r.Ops.RolledBackEdits)
	}
	for code, n := range r.Errors {
		if !retryable[code] {
			s.violate("clients got %d × %s, not a retryable error: %s", n, code, r.ErrorSamples[code])
		}
	}
	for code, n := range r.Events {
		if !expectedEvents[code] {
			s.violate("unexpected connection event %d × %s: %s", n, code, r.ErrorSamples[code])
		}
	}
	for code, n := range r.ClientErrors {
		switch {
		case code == "DIAL_FAILED" || code == "SSE_FAILED":
			// Connection refused while an instance is down: retried.
		case strings.HasPrefix(code, "SSE_HTTP_5"):
		default:
			s.violate("client-side error %d × %s: %s", n, code, r.ErrorSamples[code])
		}
	}
}

// checkInstances: every instance runs, nothing crashed, no panic logged.
func (s *scenario) checkInstances() {
	for i, in := range s.cl.instances {
		in.mu.Lock()
		unexpected, starts := in.unexpected, in.starts
		in.unexpected = nil // reported once
		in.mu.Unlock()
		end := instanceEnd{Instance: i + 1, PID: in.currentPID(), Running: in.running(), Starts: starts}
		if i < len(s.logs) {
			end.Log = in.scanLog(s.logs[i])
		}
		end.Panics = in.metric("tandem_session_panics_total")
		s.res.Instances = append(s.res.Instances, end)
		if !end.Running {
			s.violate("instance %d is not running after the scenario (log %s)", i+1, relPath(s.o.root, in.logPath))
		}
		for _, u := range unexpected {
			s.violate("crash: %s", u)
		}
		if len(end.Log.Panics) > 0 {
			s.violate("instance %d logged a panic: %s", i+1, strings.Join(end.Log.Panics, " | "))
		}
		if end.Panics > 0 {
			s.violate("instance %d recovered %g panics in document sessions (tandem_session_panics_total)", i+1, end.Panics)
		}
	}
}

// ---- the faults ----

// kill: SIGKILL instance 2 (instance 1 serves the load tester's setup and
// checks) and start it again after o.killDown; then, if o.killFreeze > 0,
// freeze instance 3 (SIGSTOP) so that its editors' ops are in flight,
// SIGKILL it after o.killFreeze and start it again after o.killDown.
func (s *scenario) kill() {
	in := s.cl.instances[1]
	s.res.Injected = fmt.Sprintf("kill -9 of instance 2, started again %s later on the same port", s.o.killDown)
	if s.o.killFreeze > 0 {
		s.res.Injected += fmt.Sprintf("; %s later instance 3 frozen (SIGSTOP) for %s, so that its editors' ops are in flight, then kill -9 and started again %s later",
			s.o.killGap, s.o.killFreeze, s.o.killDown)
	}
	s.waitUntil(s.o.faultAt)
	s.res.FaultS = roundS(time.Since(s.t0))
	s.recovered(s.killOne(in, 0))
	if s.o.killFreeze <= 0 || s.ctx.Err() != nil {
		return
	}
	s.waitUntil(s.o.faultAt + s.o.killGap)
	s.res.SecondFaultS = roundS(time.Since(s.t0))
	s.recovered(s.killOne(s.cl.instances[2], s.o.killFreeze))
}

func (s *scenario) killOne(in *instance, freeze time.Duration) time.Time {
	if s.ctx.Err() != nil {
		return time.Time{}
	}
	n := in.idx + 1
	if freeze > 0 {
		if err := in.signal(syscall.SIGSTOP); err != nil {
			s.violate("SIGSTOP instance %d: %v", n, err)
			return time.Time{}
		}
		s.ev("kill -STOP %d (instance %d): frozen", in.currentPID(), n)
		sleepCtx(s.ctx, freeze)
	}
	pid, err := in.kill9()
	if err != nil {
		s.violate("kill -9 instance %d: %v", n, err)
		return time.Time{}
	}
	s.ev("kill -9 %d (instance %d): process gone", pid, n)
	sleepCtx(s.ctx, s.o.killDown)
	var startErr error
	for range 20 {
		if startErr = in.start(); startErr == nil {
			break
		}
		sleepCtx(s.ctx, 250*time.Millisecond)
	}
	if startErr != nil {
		s.violate("cannot start instance %d again: %v", n, startErr)
		return time.Time{}
	}
	s.ev("instance %d started again (pid %d)", n, in.currentPID())
	if err := in.waitReady(s.ctx, 30*time.Second); err != nil {
		s.violate("restarted instance %d: %v", n, err)
		return time.Time{}
	}
	return s.ev("instance %d ready (/readyz 200)", n)
}

// redis: restart Redis (or take it down for o.redisDown).
func (s *scenario) redis() time.Time {
	port := s.cl.redisPort()
	s.waitUntil(s.o.faultAt)
	if s.ctx.Err() != nil {
		return time.Time{}
	}
	var err error
	if s.o.redisDown <= 0 {
		s.res.Injected = fmt.Sprintf("scripts/redis-test-server.sh restart %s (stop, start again on the same port, nothing kept)", port)
		at := s.ev("redis-test-server.sh restart %s", port)
		s.res.FaultS = roundS(at.Sub(s.t0))
		_, err = s.cl.runScript(s.ctx, 30*time.Second, "redis-test-server.sh", "restart", port)
	} else {
		s.res.Injected = fmt.Sprintf("Redis stopped for %s (redis-test-server.sh down %s, then up)", s.o.redisDown, port)
		at := s.ev("redis-test-server.sh down %s", port)
		s.res.FaultS = roundS(at.Sub(s.t0))
		if _, err = s.cl.runScript(s.ctx, 30*time.Second, "redis-test-server.sh", "down", port); err == nil {
			s.ev("Redis stopped")
			sleepCtx(s.ctx, s.o.redisDown)
			_, err = s.cl.runScript(s.ctx, 30*time.Second, "redis-test-server.sh", "up", port)
		}
	}
	if err != nil {
		s.violate("redis: %v", err)
		return time.Time{}
	}
	return s.ev("Redis answering again on port %s", port)
}

// mongo: stop the MongoDB-wire server, keep it stopped for o.mongoDown,
// start it on the same port and data.
func (s *scenario) mongo() time.Time {
	s.res.Injected = fmt.Sprintf("scripts/mongo-test-server.sh pause (SIGTERM, wait for exit), %s stopped, resume (same port and data)", s.o.mongoDown)
	s.waitUntil(s.o.faultAt)
	if s.ctx.Err() != nil {
		return time.Time{}
	}
	at := s.ev("mongo-test-server.sh pause")
	s.res.FaultS = roundS(at.Sub(s.t0))
	s.pauseAt = at
	if _, err := s.cl.runScript(s.ctx, 30*time.Second, "mongo-test-server.sh", "pause"); err != nil {
		s.violate("mongo pause: %v", err)
		return time.Time{}
	}
	s.downAt = s.ev("MongoDB-wire server stopped (process gone)")
	sleepCtx(s.ctx, s.o.mongoDown)
	s.resumeAt = s.ev("mongo-test-server.sh resume")
	if _, err := s.cl.runScript(context.WithoutCancel(s.ctx), 60*time.Second, "mongo-test-server.sh", "resume"); err != nil {
		s.violate("mongo resume: %v", err)
		return time.Time{}
	}
	s.upAt = s.ev("MongoDB-wire server answering again (same port and data)")
	return s.upAt
}

// checkReadiness: every instance answered 503 while the store was down and
// 200 again within the bound after it was back, and stayed ready.
func (s *scenario) checkReadiness() {
	if s.downAt.IsZero() || s.upAt.IsZero() {
		return
	}
	rel := func(t time.Time) float64 { return roundS(t.Sub(s.t0)) }
	down, resume, up := rel(s.downAt), rel(s.resumeAt), rel(s.upAt)
	pause := rel(s.pauseAt)
	for i := range s.res.Readiness {
		tr := &s.res.Readiness[i]
		var readyWhileDown int
		for _, smp := range s.readySamples[i] {
			// Sent after the process was gone and answered before
			// resume began: the store was unreachable throughout.
			if smp.SentS >= down && smp.DoneS < resume {
				if smp.Status == 503 {
					tr.NotReadyWhileDown++
				} else if smp.Status == 200 {
					readyWhileDown++
				}
			}
		}
		if tr.NotReadyWhileDown == 0 {
			s.violate("instance %d: no 503 from /readyz while the store was down (%.2f–%.2f s)", i+1, down, resume)
		}
		if readyWhileDown > 0 {
			s.violate("instance %d: /readyz answered 200 %d times while the store was down", i+1, readyWhileDown)
		}
		if tr.FirstNotReadySentS >= 0 && tr.FirstNotReadySentS < pause {
			s.violate("instance %d: /readyz not ready for a poll sent at %.2f s, before the store was stopped (%.2f s)", i+1, tr.FirstNotReadySentS, pause)
		}
		switch {
		case tr.ReadyAgainS < 0:
			s.violate("instance %d: /readyz not ready again by the end of the scenario", i+1)
		case tr.ReadyAgainS-up > s.o.readyBound.Seconds():
			s.violate("instance %d: /readyz ready again %.2f s after the store was back (bound %s)", i+1, tr.ReadyAgainS-up, s.o.readyBound)
		default:
			tr.ReadyAfterResumeS = roundS(time.Duration((tr.ReadyAgainS - resume) * 1e9))
		}
	}
}

// slow: raw clients subscribe to every document of the run and stop
// reading: one on instance 1 right after subscribing, one on instance 3
// after also creating a big document and fetching it o.slowFetches times
// (so the server has more for it than the socket buffers hold and its
// writer blocks).
func (s *scenario) slow() time.Time {
	s.res.Injected = fmt.Sprintf("a raw WebSocket client on instance 1 (SO_RCVBUF %d) subscribes to the run's %d documents and then never reads its socket",
		s.o.slowRcvBuf, len(s.res.Docs))
	if s.o.slowFetches > 0 {
		s.res.Injected += fmt.Sprintf("; at the same time another one on instance 3 subscribes to them, creates a %d KiB document, asks for it %d times (fetch, %.1f MiB of answers) and never reads either",
			s.o.slowBigBytes>>10, s.o.slowFetches, float64(s.o.slowBigBytes*s.o.slowFetches)/(1<<20))
	}
	s.waitUntil(s.o.slowAt)
	if s.ctx.Err() != nil {
		return time.Time{}
	}
	results, last, done := s.startSlowClients(s.res.Collection, s.res.Docs, s.t0, nil)
	s.res.Slow = results
	s.slowDone = done
	if last.IsZero() {
		return time.Time{}
	}
	s.res.FaultS = roundS(last.Sub(s.t0))
	return last
}

// startSlowClients starts the scenario's raw clients on coll (reading
// everything until until is closed, if until is set) and returns their
// results (filled in when done closes) and when the last one had made its
// requests.
func (s *scenario) startSlowClients(coll string, ids []string, t0 time.Time, until <-chan struct{}) ([]*slowResult, time.Time, chan struct{}) {
	if s.o.slowDocs > 0 {
		ids = ids[:min(s.o.slowDocs, len(ids))]
	}
	type spec struct {
		in  *instance
		big bigFetch
	}
	specs := []spec{{s.cl.instances[0], bigFetch{}}}
	if s.o.slowFetches > 0 {
		specs = append(specs, spec{s.cl.instances[2], bigFetch{id: "chaos-big", bytes: s.o.slowBigBytes, count: s.o.slowFetches}})
	}
	stopped := make(chan time.Time, len(specs))
	done := make(chan struct{})
	results := make([]*slowResult, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		wg.Go(func() {
			r := runSlow(s.ctx, sp.in, coll, ids, s.o.slowRcvBuf, sp.big, t0, s.o.slowBound, until, func() {
				what := "subscribed"
				if sp.big.count > 0 {
					what = fmt.Sprintf("subscribed, created %s (%d KiB) and sent %d fetches of it", sp.big.id, sp.big.bytes>>10, sp.big.count)
				}
				if until != nil {
					logf("  %s: baseline: client %d on instance %d %s; it keeps reading", s.res.Name, i+1, sp.in.idx+1, what)
					stopped <- time.Now()
					return
				}
				stopped <- s.ev("slow client %d on instance %d %s; it stops reading now", i+1, sp.in.idx+1, what)
			})
			s.mu.Lock()
			results[i] = r
			s.mu.Unlock()
			if r.ClosedS >= 0 {
				s.ev("the server closed slow client %d's connection (its socket now %s), %.2f s after the client stopped reading; reading it now: %s",
					i+1, r.ServerState, r.ClosedAfterS, r.DrainEnd)
			}
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	var last time.Time
	for range specs {
		select {
		case t := <-stopped:
			last = t
		case <-done:
		}
	}
	return results, last, done
}

// checkSlow: the clients were disconnected, and the others were not slowed.
func (s *scenario) checkSlow() {
	b, l := s.res.Baseline, s.res.Load
	for i, r := range s.res.Slow {
		switch {
		case r == nil:
			s.violate("slow client %d did not run", i+1)
		case r.Error != "":
			s.violate("slow client %d: %s", i+1, r.Error)
		}
	}
	if b == nil || l == nil || b.Ack.Count == 0 || l.Ack.Count == 0 {
		return
	}
	// Loose on purpose: a shared 2-core machine moves tails around. A
	// server that let one socket hold up broadcasting would show seconds.
	limit := max(5*b.Ack.P99MS, b.Ack.P99MS+1000)
	if l.Ack.P99MS > limit {
		s.violate("ack p99 %.1f ms with the slow clients vs %.1f ms without (limit %.0f ms)", l.Ack.P99MS, b.Ack.P99MS, limit)
	}
	limit = max(5*b.FanoutEditor.P99MS, b.FanoutEditor.P99MS+1000)
	if l.FanoutEditor.P99MS > limit {
		s.violate("fan-out p99 %.1f ms with the slow clients vs %.1f ms without (limit %.0f ms)", l.FanoutEditor.P99MS, b.FanoutEditor.P99MS, limit)
	}
}

//go:build linux

// Command chaos is Tandem's fault-injection suite: three `tandem serve`
// instances on one Redis and one MongoDB-wire test server, `tandem load`
// driving editors and viewers across them, and one fault per scenario in
// the middle of a load run:
//
//	kill     kill -9 of one instance (restarted two seconds later)
//	redis    a Redis restart (scripts/redis-test-server.sh restart)
//	mongo    the MongoDB-wire server stopped for 5 s, then started again on the
//	         same port and data (scripts/mongo-test-server.sh pause / resume)
//	slow     one raw WebSocket client that subscribes to a busy document and
//	         then never reads its socket (compared with a baseline run)
//
// After each it checks the load tester's verdict (every copy equals the
// server's snapshot, every acknowledged op in the op log exactly once), that
// every instance's replica of every document (a subscriber on each
// instance) and the stored snapshot (read from MongoDB directly, and through
// each instance's read API) are identical within a stated time after the
// recovery, that no instance crashed or logged a panic, that clients only
// saw retryable errors, /readyz during the store outage, and the slow
// client's disconnection. It writes a JSON summary and a Markdown report and
// exits 1 when any property is violated.
//
// Run it from the repository root (scripts/chaos.sh builds what it needs):
//
//	go build -o bin/tandem ./cmd/tandem
//	go run ./chaos [--scenarios kill,redis,mongo,slow] [--doc docs/reliability.md]
//
// Everything it starts is stopped on exit, on failure and on Ctrl-C; a
// detached watchdog does the same if the program itself is killed.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	root        string
	tandemBin   string
	outDir      string
	docPath     string
	summaryPath string
	scenarios   []string

	editors, viewers, docs int
	rate                   float64
	duration, ramp         time.Duration
	faultAt                time.Duration
	killDown               time.Duration
	killFreeze, killGap    time.Duration
	mongoDown              time.Duration
	redisDown              time.Duration
	slowAt                 time.Duration
	slowDocs               int
	slowRcvBuf             int
	slowFetches            int
	slowBigBytes           int
	slowDuration           time.Duration
	convergeBound          time.Duration
	readyBound             time.Duration
	slowBound              time.Duration
	budget                 time.Duration
	seed                   uint64
	logLevel               string
}

var allScenarios = []string{"kill", "redis", "mongo", "slow"}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	var scen string
	fs.StringVar(&o.root, "root", "", "repository root (default: found from the working directory)")
	fs.StringVar(&o.tandemBin, "tandem", "", "tandem binary (default ROOT/bin/tandem); copied into --out so that a rebuild during the run changes nothing")
	fs.StringVar(&o.outDir, "out", "", "directory for logs, load reports and the summary (default ROOT/bin/chaos; emptied first)")
	fs.StringVar(&o.docPath, "doc", "", "write the Markdown report here (default OUT/reliability.md; docs/reliability.md to regenerate the committed one)")
	fs.StringVar(&o.summaryPath, "json", "", "write the JSON summary here (default OUT/summary.json)")
	fs.StringVar(&scen, "scenarios", strings.Join(allScenarios, ","), "scenarios to run, in order: "+strings.Join(allScenarios, ","))
	fs.IntVar(&o.editors, "editors", 24, "tandem load --editors")
	fs.IntVar(&o.viewers, "viewers", 6, "tandem load --viewers")
	fs.IntVar(&o.docs, "docs", 3, "tandem load --docs")
	fs.Float64Var(&o.rate, "rate", 1, "tandem load --rate (edits per second per editor)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "tandem load --duration (measured phase of each run)")
	fs.DurationVar(&o.ramp, "ramp", 2*time.Second, "tandem load --ramp")
	fs.DurationVar(&o.faultAt, "fault-at", 8*time.Second, "when the fault is injected, counted from the start of the load run")
	fs.DurationVar(&o.killDown, "kill-down", 2*time.Second, "kill: how long the killed instance stays down before it is started again")
	fs.DurationVar(&o.killFreeze, "kill-freeze", 2*time.Second, "kill: then freeze instance 3 (SIGSTOP) this long before its kill -9, so that ops are in flight; 0: only the first kill")
	fs.DurationVar(&o.killGap, "kill-gap", 6*time.Second, "kill: time between the first kill and freezing instance 3")
	fs.DurationVar(&o.mongoDown, "mongo-down", 5*time.Second, "mongo: how long the MongoDB-wire server stays stopped")
	fs.DurationVar(&o.redisDown, "redis-down", 0, "redis: 0 restarts Redis at once (redis-test-server.sh restart); >0 keeps it down this long (down, wait, up)")
	fs.DurationVar(&o.slowAt, "slow-at", 5*time.Second, "slow: when the non-reading client connects, counted from the start of the load run")
	fs.IntVar(&o.slowDocs, "slow-docs", 0, "slow: how many of the run's documents the non-reading client subscribes to (0: all)")
	fs.IntVar(&o.slowRcvBuf, "slow-rcvbuf", 4096, "slow: SO_RCVBUF of the non-reading client's socket (small: the kernel buffers less for it)")
	fs.IntVar(&o.slowFetches, "slow-fetches", 24, "slow: a second non-reading client (on instance 3) creates a document of --slow-big-bytes and fetches it this many times before it stops reading, so that the server has more for it than the socket buffers hold; 0: no second client")
	fs.IntVar(&o.slowBigBytes, "slow-big-bytes", 256<<10, "slow: size of the second client's document")
	fs.DurationVar(&o.slowDuration, "slow-duration", 0, "slow: measured phase of the slow and baseline runs (default --duration)")
	fs.DurationVar(&o.convergeBound, "converge-bound", 15*time.Second, "stated bound: replicas and the stored snapshot identical within this long after recovery")
	fs.DurationVar(&o.readyBound, "ready-bound", 10*time.Second, "stated bound: /readyz back to 200 within this long after the store is back")
	fs.DurationVar(&o.slowBound, "slow-bound", 60*time.Second, "stated bound: the non-reading client is disconnected within this long")
	fs.DurationVar(&o.budget, "budget", 6*time.Minute, "hard limit for the whole run")
	fs.Uint64Var(&o.seed, "seed", 7000, "base seed of the load runs (scenario i uses seed+i)")
	fs.StringVar(&o.logLevel, "log-level", "info", "tandem serve --log-level")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range strings.Split(scen, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return o, fmt.Errorf("unknown scenario %q (want %s)", s, strings.Join(allScenarios, ", "))
		}
		o.scenarios = append(o.scenarios, s)
	}
	if len(o.scenarios) == 0 {
		return o, errors.New("no scenarios")
	}
	if o.slowDuration == 0 {
		o.slowDuration = o.duration
	}
	if o.root == "" {
		r, err := findRoot()
		if err != nil {
			return o, err
		}
		o.root = r
	}
	if o.tandemBin == "" {
		o.tandemBin = filepath.Join(o.root, "bin", "tandem")
	}
	if o.outDir == "" {
		o.outDir = filepath.Join(o.root, "bin", "chaos")
	}
	if o.docPath == "" {
		o.docPath = filepath.Join(o.outDir, "reliability.md")
	}
	if o.summaryPath == "" {
		o.summaryPath = filepath.Join(o.outDir, "summary.json")
	}
	return o, nil
}

// findRoot walks up from the working directory to the module root.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/tandemhq/tandem\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod of github.com/tandemhq/tandem); use --root")
		}
		dir = parent
	}
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	os.Exit(run(o))
}

func run(o options) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ctx, cancelBudget := context.WithTimeoutCause(ctx, o.budget, fmt.Errorf("the run took longer than --budget %s", o.budget))
	defer cancelBudget()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		logf("received %v: stopping and cleaning up (again to exit at once)", s)
		cancel(fmt.Errorf("interrupted by %v", s))
		if _, ok := <-sigs; ok {
			os.Exit(130)
		}
	}()
	defer signal.Stop(sigs)

	raiseFDLimit()
	if err := os.RemoveAll(o.outDir); err != nil {
		logf("cannot empty %s: %v", o.outDir, err)
		return 2
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		logf("cannot create %s: %v", o.outDir, err)
		return 2
	}
	started := time.Now()
	sum := &Summary{
		Tool:      "tandem chaos",
		StartedAt: started.UTC().Truncate(time.Millisecond),
		Command:   "scripts/chaos.sh " + strings.Join(os.Args[1:], " "),
		Options:   optionsEcho(o),
		Machine:   machineInfo(),
	}
	cl, err := startCluster(ctx, o)
	if cl != nil {
		defer cl.stop()
	}
	if err != nil {
		logf("FAILED to start the cluster: %v", err)
		sum.Violations = append(sum.Violations, "cluster start: "+err.Error())
		sum.finish(started)
		writeOutputs(o, sum)
		return 1
	}
	sum.Machine.TandemSHA256 = fileSHA256(cl.bin)

	for i, name := range o.scenarios {
		if ctx.Err() != nil {
			sum.Violations = append(sum.Violations, fmt.Sprintf("run aborted before scenario %s: %v", name, context.Cause(ctx)))
			break
		}
		res := runScenario(ctx, cl, o, name, o.seed+uint64(i)*10)
		sum.Scenarios = append(sum.Scenarios, res)
		for _, v := range res.Violations {
			sum.Violations = append(sum.Violations, name+": "+v)
		}
		if ctx.Err() != nil {
			break
		}
		if !cl.healthy(ctx) {
			sum.Violations = append(sum.Violations, "cluster not healthy after scenario "+name+"; later scenarios skipped")
			break
		}
	}
	cl.stop()
	sum.Cluster = cl.describe()
	sum.finish(started)
	if ctx.Err() != nil && o.docPath != filepath.Join(o.outDir, "reliability.md") {
		// An aborted run does not replace the report it was asked to
		// regenerate; its summary is still written.
		logf("run aborted (%v): %s left as it was", context.Cause(ctx), o.docPath)
		o.docPath = filepath.Join(o.outDir, "reliability.md")
	}
	writeOutputs(o, sum)
	if len(sum.Violations) > 0 {
		logf("FAILED: %d violated properties:", len(sum.Violations))
		for _, v := range sum.Violations {
			logf("  - %s", v)
		}
		logf("logs and reports: %s", o.outDir)
		return 1
	}
	logf("OK: every scenario held every property (%.0f s); summary %s, report %s", time.Since(started).Seconds(), o.summaryPath, o.docPath)
	return 0
}

func writeOutputs(o options, sum *Summary) {
	if err := writeJSON(o.summaryPath, sum); err != nil {
		logf("cannot write %s: %v", o.summaryPath, err)
	}
	if err := writeMarkdown(o.docPath, sum); err != nil {
		logf("cannot write %s: %v", o.docPath, err)
	}
}

var logStart = time.Now()

// logf prints a progress line with the time since the start.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[chaos %6.1fs] %s\n", time.Since(logStart).Seconds(), fmt.Sprintf(format, args...))
}

func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// raiseFDLimit sets the soft open-files limit to the hard one; the children
// (instances, load tester) inherit it.
func raiseFDLimit() {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			logf("cannot raise the open-files limit: %v", err)
		}
	}
}

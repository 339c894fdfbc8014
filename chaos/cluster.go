//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cluster is what the chaos run starts: Redis and the MongoDB-wire test
// server (through their scripts) and three tandem instances, plus a
// watchdog that stops all of it if this process dies without cleaning up.
type cluster struct {
	o          options
	bin        string // the run's copy of the tandem binary
	redisURL   string
	mongoURL   string // mongodb://127.0.0.1:PORT/
	mongoDB    string
	mongoState string
	pidsFile   string
	watchdog   *os.Process
	instances  []*instance

	mu       sync.Mutex
	children map[int]string // pid -> what, for the watchdog and stop
	stopOnce sync.Once
}

// instance is one `tandem serve` process (a new one after each restart).
type instance struct {
	cl      *cluster
	idx     int
	port    int
	url     string
	logPath string

	mu       sync.Mutex
	pid      int
	starts   int
	exited   chan struct{} // closed when the current process has exited
	expected bool          // the current process is being killed on purpose
	// unexpected lists exits nobody asked for (crashes).
	unexpected []string
}

func (cl *cluster) script(name string) string { return filepath.Join(cl.o.root, "scripts", name) }

// scriptEnv is the environment of the test-server scripts: never an
// existing server handed in from outside (restarting it would be
// meaningless), our own Mongo state file.
func (cl *cluster) scriptEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TANDEM_TEST_REDIS_URL=") || strings.HasPrefix(kv, "TANDEM_TEST_MONGO_URL=") ||
			strings.HasPrefix(kv, "TANDEM_MONGO_TEST_STATE=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TANDEM_MONGO_TEST_STATE="+cl.mongoState)
	return append(env, extra...)
}

// runScript runs one of the test-server scripts and returns the last line
// of its output.
func (cl *cluster) runScript(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cl.script(name), args...)
	cmd.Env = cl.scriptEnv("TANDEM_REDIS_TEST_WATCH_PID=" + strconv.Itoa(os.Getpid()))
	cmd.Dir = cl.o.root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if err != nil {
		return last, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return last, nil
}

func startCluster(ctx context.Context, o options) (*cluster, error) {
	cl := &cluster{
		o:          o,
		mongoState: filepath.Join(o.outDir, "mongo.state"),
		pidsFile:   filepath.Join(o.outDir, "pids"),
		mongoDB:    fmt.Sprintf("chaos_%d", time.Now().Unix()),
		children:   make(map[int]string),
	}
	cl.bin = filepath.Join(o.outDir, "tandem")
	if err := copyFile(o.tandemBin, cl.bin); err != nil {
		return nil, fmt.Errorf("copy the tandem binary (build it with go build -o bin/tandem ./cmd/tandem): %w", err)
	}
	if err := cl.startWatchdog(); err != nil {
		return cl, err
	}
	logf("starting redis-server and the MongoDB-wire test server")
	var wg sync.WaitGroup
	var redisErr, mongoErr error
	wg.Go(func() { cl.redisURL, redisErr = cl.runScript(ctx, 3*time.Minute, "redis-test-server.sh", "start") })
	wg.Go(func() { cl.mongoURL, mongoErr = cl.runScript(ctx, 5*time.Minute, "mongo-test-server.sh", "start") })
	wg.Wait()
	cl.writePids() // the watchdog now knows the Redis URL
	if err := errors.Join(redisErr, mongoErr); err != nil {
		return cl, err
	}
	if !strings.HasPrefix(cl.redisURL, "redis://") || !strings.HasPrefix(cl.mongoURL, "mongodb://") {
		return cl, fmt.Errorf("unexpected server URLs %q, %q", cl.redisURL, cl.mongoURL)
	}
	logf("redis %s, mongo %s (database %s)", cl.redisURL, cl.mongoURL, cl.mongoDB)
	ports, err := freePorts(3)
	if err != nil {
		return cl, err
	}
	for i, p := range ports {
		cl.instances = append(cl.instances, &instance{cl: cl, idx: i, port: p, url: fmt.Sprintf("http://127.0.0.1:%d", p),
			logPath: filepath.Join(o.outDir, fmt.Sprintf("instance%d.log", i+1))})
	}
	for _, in := range cl.instances {
		if err := in.start(); err != nil {
			return cl, err
		}
	}
	for _, in := range cl.instances {
		if err := in.waitReady(ctx, 30*time.Second); err != nil {
			return cl, err
		}
	}
	logf("three instances ready: %s", strings.Join(cl.urls(), ", "))
	return cl, nil
}

func (cl *cluster) urls() []string {
	var u []string
	for _, in := range cl.instances {
		u = append(u, in.url)
	}
	return u
}

func (cl *cluster) redisPort() string {
	s := strings.TrimPrefix(cl.redisURL, "redis://")
	s = s[strings.LastIndex(s, ":")+1:]
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// track records a child process for the watchdog and for stop.
func (cl *cluster) track(pid int, what string) {
	cl.mu.Lock()
	cl.children[pid] = what
	cl.mu.Unlock()
	cl.writePids()
}

func (cl *cluster) untrack(pid int) {
	cl.mu.Lock()
	delete(cl.children, pid)
	cl.mu.Unlock()
	cl.writePids()
}

// writePids writes the watchdog's file: the Redis URL, then one pid a line.
func (cl *cluster) writePids() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", cl.redisURL)
	for pid := range cl.children {
		fmt.Fprintf(&b, "%d\n", pid)
	}
	tmp := cl.pidsFile + ".tmp"
	if os.WriteFile(tmp, []byte(b.String()), 0o644) == nil {
		_ = os.Rename(tmp, cl.pidsFile)
	}
}

// startWatchdog starts a detached shell that waits for this process to go
// away and then kills every child listed in the pids file and stops both
// test servers. stop kills it after cleaning up itself.
func (cl *cluster) startWatchdog() error {
	cl.writePids()
	const script = `
while kill -0 "$WATCHED" 2>/dev/null; do sleep 1; done
if [ -f "$PIDS" ]; then
  redis=$(head -n 1 "$PIDS")
  for p in $(tail -n +2 "$PIDS"); do kill -KILL "$p" 2>/dev/null; done
  if [ -n "$redis" ]; then "$REDIS_SCRIPT" stop "$redis" >/dev/null 2>&1; fi
fi
TANDEM_MONGO_TEST_STATE="$STATE" "$MONGO_SCRIPT" stop >/dev/null 2>&1
`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(cl.scriptEnv(), "WATCHED="+strconv.Itoa(os.Getpid()), "PIDS="+cl.pidsFile, "STATE="+cl.mongoState,
		"REDIS_SCRIPT="+cl.script("redis-test-server.sh"), "MONGO_SCRIPT="+cl.script("mongo-test-server.sh"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	cl.watchdog = cmd.Process
	go func() { _ = cmd.Wait() }()
	return nil
}

// stop stops everything this run started; safe to call more than once.
func (cl *cluster) stop() {
	cl.stopOnce.Do(func() {
		logf("stopping the instances, Redis and the MongoDB-wire server")
		var wg sync.WaitGroup
		for _, in := range cl.instances {
			wg.Go(func() { in.stop(5 * time.Second) })
		}
		wg.Wait()
		// Anything else still running (a load run on an aborted scenario).
		cl.mu.Lock()
		for pid := range cl.children {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		cl.mu.Unlock()
		ctx := context.Background()
		if cl.redisURL != "" {
			if _, err := cl.runScript(ctx, 30*time.Second, "redis-test-server.sh", "stop", cl.redisURL); err != nil {
				logf("stopping redis: %v", err)
			}
		}
		if _, err := cl.runScript(ctx, 30*time.Second, "mongo-test-server.sh", "stop"); err != nil {
			logf("stopping mongo: %v", err)
		}
		if cl.watchdog != nil {
			_ = syscall.Kill(-cl.watchdog.Pid, syscall.SIGKILL)
			_ = cl.watchdog.Kill()
		}
		_ = os.Remove(cl.pidsFile)
	})
}

// healthy waits (bounded) until every instance runs and is ready.
func (cl *cluster) healthy(ctx context.Context) bool {
	for _, in := range cl.instances {
		if !in.running() {
			return false
		}
		if in.waitReady(ctx, 20*time.Second) != nil {
			return false
		}
	}
	return true
}

func (in *instance) args() []string {
	cl := in.cl
	return []string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", in.port), "--store", "mongo",
		"--mongo-url", cl.mongoURL, "--mongo-db", cl.mongoDB, "--redis-url", cl.redisURL,
		"--max-connections-per-ip", "-1", "--log-level", cl.o.logLevel}
}

// start starts the instance's process (again) on its port.
func (in *instance) start() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.exited != nil {
		select {
		case <-in.exited:
		default:
			return fmt.Errorf("instance %d is still running (pid %d)", in.idx+1, in.pid)
		}
	}
	logFile, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "### chaos: start %d of instance %d at %s: %s %s\n", in.starts+1, in.idx+1,
		time.Now().UTC().Format(time.RFC3339Nano), in.cl.bin, strings.Join(in.args(), " "))
	cmd := exec.Command(in.cl.bin, in.args()...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = in.cl.o.outDir
	// Own process group: a Ctrl-C on the terminal reaches only us, and we
	// stop the instances in order. Pdeathsig kills it if we are killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start instance %d: %w", in.idx+1, err)
	}
	logFile.Close()
	in.pid = cmd.Process.Pid
	in.starts++
	in.expected = false
	exited := make(chan struct{})
	in.exited = exited
	in.cl.track(in.pid, fmt.Sprintf("instance %d", in.idx+1))
	pid := in.pid
	go func() {
		_ = cmd.Wait()
		in.mu.Lock()
		if !in.expected {
			msg := fmt.Sprintf("instance %d (pid %d) exited on its own at %s: %v", in.idx+1, pid,
				time.Now().UTC().Format(time.RFC3339Nano), cmd.ProcessState)
			in.unexpected = append(in.unexpected, msg)
			logf("%s", msg)
		}
		in.mu.Unlock()
		in.cl.untrack(pid)
		close(exited)
	}()
	return nil
}

func (in *instance) running() bool {
	in.mu.Lock()
	ch := in.exited
	in.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

func (in *instance) currentPID() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.pid
}

// kill9 sends SIGKILL and waits until the process is gone.
func (in *instance) kill9() (int, error) {
	in.mu.Lock()
	pid, ch := in.pid, in.exited
	in.expected = true
	in.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return pid, err
	}
	select {
	case <-ch:
		return pid, nil
	case <-time.After(10 * time.Second):
		return pid, fmt.Errorf("pid %d still there 10 s after SIGKILL", pid)
	}
}

// signal sends sig to the current process.
func (in *instance) signal(sig syscall.Signal) error {
	return syscall.Kill(in.currentPID(), sig)
}

// stop sends SIGTERM, then SIGKILL after grace.
func (in *instance) stop(grace time.Duration) {
	in.mu.Lock()
	pid, ch := in.pid, in.exited
	in.expected = true
	in.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
		return
	default:
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	_ = syscall.Kill(pid, syscall.SIGCONT)
	select {
	case <-ch:
	case <-time.After(grace):
		_ = syscall.Kill(pid, syscall.SIGKILL)
		<-ch
	}
}

// waitReady polls /readyz until it answers 200.
func (in *instance) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 3 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !in.running() {
			return fmt.Errorf("instance %d is not running (log %s)", in.idx+1, in.logPath)
		}
		resp, err := client.Get(in.url + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("instance %d not ready within %s: %s (log %s)", in.idx+1, limit, last, in.logPath)
}

// logSize is the current length of the instance's log (to scan only what a
// scenario added).
func (in *instance) logSize() int64 {
	st, err := os.Stat(in.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logFindings scans the log from offset for crashes and counts warnings
// and errors.
type logFindings struct {
	Panics   []string       `json:"panics,omitempty"`
	Warnings int            `json:"warnings"`
	Errors   int            `json:"errors"`
	Messages map[string]int `json:"messages,omitempty"` // WARN/ERROR lines by msg
}

func (in *instance) scanLog(from int64) logFindings {
	f := logFindings{Messages: map[string]int{}}
	fh, err := os.Open(in.logPath)
	if err != nil {
		return f
	}
	defer fh.Close()
	if _, err := fh.Seek(from, io.SeekStart); err != nil {
		return f
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") ||
			strings.Contains(line, "WARNING: DATA RACE") || strings.Contains(line, "level=ERROR msg=\"panic") ||
			strings.Contains(line, "panic recovered") || strings.Contains(line, "goroutine ") && strings.Contains(line, "[running]"):
			if len(f.Panics) < 20 {
				f.Panics = append(f.Panics, line)
			}
		case strings.Contains(line, "level=WARN"):
			f.Warnings++
			f.Messages["WARN "+logMsg(line)]++
		case strings.Contains(line, "level=ERROR"):
			f.Errors++
			f.Messages["ERROR "+logMsg(line)]++
		}
	}
	return f
}

// logMsg extracts msg="..." from a slog text line.
func logMsg(line string) string {
	i := strings.Index(line, "msg=")
	if i < 0 {
		return line
	}
	s := line[i+4:]
	if strings.HasPrefix(s, `"`) {
		if j := strings.Index(s[1:], `"`); j >= 0 {
			return s[1 : j+1]
		}
		return s
	}
	if j := strings.IndexByte(s, ' '); j >= 0 {
		return s[:j]
	}
	return s
}

// metric reads one unlabelled counter or gauge from /metrics (-1 if absent).
func (in *instance) metric(name string) float64 {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(in.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// freePorts returns n distinct ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// clusterInfo describes the cluster for the summary.
type clusterInfo struct {
	RedisURL  string         `json:"redis_url"`
	MongoURL  string         `json:"mongo_url"`
	MongoDB   string         `json:"mongo_db"`
	Instances []instanceInfo `json:"instances"`
}

type instanceInfo struct {
	URL        string   `json:"url"`
	Starts     int      `json:"starts"`
	Command    string   `json:"command"`
	Log        string   `json:"log"`
	Unexpected []string `json:"unexpected_exits,omitempty"`
}

func (cl *cluster) describe() clusterInfo {
	ci := clusterInfo{RedisURL: cl.redisURL, MongoURL: cl.mongoURL, MongoDB: cl.mongoDB}
	for _, in := range cl.instances {
		in.mu.Lock()
		ci.Instances = append(ci.Instances, instanceInfo{URL: in.url, Starts: in.starts,
			Command: "tandem " + strings.Join(in.args(), " "), Log: in.logPath, Unexpected: append([]string(nil), in.unexpected...)})
		in.mu.Unlock()
	}
	return ci
}

package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/ot/richtext"
)

// Phase is where a run is.
type Phase int32

const (
	PhaseSetup   Phase = iota // creating or checking the documents
	PhaseRamp                 // connecting (editors type as soon as they can)
	PhaseMeasure              // the measured phase
	PhaseQuiet                // typing stopped; waiting for everyone to catch up
	PhaseVerify               // comparing copies, snapshot and op log
	PhaseDone
)

func (p Phase) String() string {
	return [...]string{"setup", "ramp", "measure", "quiet", "verify", "done"}[p]
}

type docInfo struct {
	id      string
	created bool        // by this run (else reused)
	chain   viewerChain // the viewers' shared copies
}

// testHooks let tests break things on purpose.
type testHooks struct {
	afterSend    func(e *editor, resend bool)   // called with e.mu held, after an op frame is written
	viewerOp     func(v *viewer, o *sseOp) bool // true drops the event (version still advances)
	beforeVerify func(r *Runner)
	viewersFirst bool // connect every viewer before the first editor
}

// Runner runs one load test. Create it with New, then call Run once;
// Progress and Stop may be called from other goroutines meanwhile.
type Runner struct {
	cfg   Config
	typ   ot.Type
	rich  bool
	units unitCounter
	tag   string // run tag in markers
	eps   []endpoint
	docs  []*docInfo

	editors []*editor
	viewers []*viewer

	st     *stats
	sched  *scheduler
	dialer *websocket.Dialer
	api    *http.Client
	sse    *http.Client
	srcs   sync.Map // connection id -> *editor
	dials  chan struct{}

	phase     atomic.Int32
	phaseAt   atomic.Int64 // ns since start when the phase began
	typing    atomic.Bool
	stopOnce  sync.Once
	stopCh    chan struct{}
	fatalOnce sync.Once
	fatalErr  error
	fatalCh   chan struct{}

	rampFrom, measureFrom, measureTo time.Duration
	measuredAcked, measuredTyped     uint64
	mem                              MemoryReport

	hooks testHooks
}

// New checks cfg and prepares a run.
func New(cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	typ, _ := lookupType(cfg.Type)
	cfg.Type = typ.Name()
	r := &Runner{
		cfg:     cfg,
		typ:     typ,
		rich:    typ.Name() == richtext.Name,
		units:   countCodePoints,
		stopCh:  make(chan struct{}),
		fatalCh: make(chan struct{}),
		dials:   make(chan struct{}, cfg.DialConcurrency),
	}
	if r.rich {
		r.units = countUTF16
	}
	for _, u := range cfg.URLs {
		ep, _ := parseBase(u)
		r.eps = append(r.eps, ep)
	}
	for i := range cfg.Docs {
		r.docs = append(r.docs, &docInfo{id: fmt.Sprintf("load-%d-%d", cfg.Seed, i)})
	}
	// The tag only has to differ between runs on the same documents.
	r.tag = strconv.FormatUint(uint64(time.Now().UnixNano()/1e6)%(36*36*36*36), 36)
	r.st = newStats(time.Now(), int((cfg.Ramp+cfg.Duration+cfg.QuietTimeout)/time.Second)+120)
	r.dialer = &websocket.Dialer{
		NetDialContext:   (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		HandshakeTimeout: 15 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
	}
	r.api = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, MaxIdleConnsPerHost: 16,
	}}
	r.sse = &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: 20 * time.Second,
		ReadBufferSize:        2048,
		WriteBufferSize:       1024,
		DisableCompression:    true,
		MaxIdleConnsPerHost:   -1,
	}}
	// Editors: document i%D; within a document, instances in turn, so
	// every document has editors on every instance.
	for i := range cfg.Editors {
		d := i % cfg.Docs
		seed := cfg.Seed*0x9E3779B97F4A7C15 + uint64(i)
		r.editors = append(r.editors, &editor{
			r: r, idx: i, doc: r.docs[d], ep: &r.eps[(i/cfg.Docs+d)%len(r.eps)],
			rng: rand.New(rand.NewPCG(seed, uint64(i)^0xD1B54A32D192ED03)),
		})
	}
	for j := range cfg.Viewers {
		d := j % cfg.Docs
		r.viewers = append(r.viewers, &viewer{r: r, idx: j, doc: r.docs[d], ep: &r.eps[(j/cfg.Docs+d+1)%len(r.eps)]})
	}
	return r, nil
}

// Stop ends the measured phase early (the quiet phase and the checks still
// run). Safe to call any number of times, from any goroutine.
func (r *Runner) Stop() { r.stopOnce.Do(func() { close(r.stopCh) }) }

func (r *Runner) fatal(err error) {
	r.fatalOnce.Do(func() {
		r.fatalErr = err
		close(r.fatalCh)
	})
}

func (r *Runner) setPhase(p Phase) {
	r.phaseAt.Store(int64(r.st.now()))
	r.phase.Store(int32(p))
}

// Run performs the whole test: setup, ramp, measured phase, quiet phase,
// checks. It returns the report, whose Verdict says whether the system
// behaved; the error is for runs that could not be carried out (server
// unreachable, too few file descriptors, ctx cancelled).
func (r *Runner) Run(ctx context.Context) (*Report, error) {
	if err := checkFDs(r.cfg.Editors + r.cfg.Viewers); err != nil {
		return nil, err
	}
	r.setPhase(PhaseSetup)
	started := time.Now()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := r.setupDocs(ctx); err != nil {
		return nil, err
	}
	r.mem.BaselineRSSBytes, r.mem.BaselineHeapBytes, _ = measureMemory()

	r.sched = newScheduler(r.st.now)
	var wg sync.WaitGroup
	wg.Go(func() { r.sched.run(ctx, max(2, runtime.GOMAXPROCS(0)*2)) })
	wg.Go(func() { r.sampleLoop(ctx) })
	defer func() {
		for _, e := range r.editors {
			e.close()
		}
		for _, v := range r.viewers {
			v.close()
		}
		cancel()
		wg.Wait()
	}()

	// Ramp: start everyone, spread over the ramp, viewers interleaved
	// with editors.
	r.typing.Store(!r.cfg.Idle)
	r.setPhase(PhaseRamp)
	starts := r.startOrder()
	rampStart := r.st.now()
	r.rampFrom = rampStart
	for k, start := range starts {
		at := rampStart + time.Duration(int64(r.cfg.Ramp)*int64(k)/int64(len(starts)))
		if d := at - r.st.now(); d > 0 {
			if err := r.wait(ctx, d); err != nil && !errors.Is(err, errStopped) {
				return nil, err
			}
		}
		wg.Go(func() { start(ctx) })
	}
	if d := rampStart + r.cfg.Ramp - r.st.now(); d > 0 {
		if err := r.wait(ctx, d); err != nil && !errors.Is(err, errStopped) {
			return nil, err
		}
	}
	// Memory per connection: once everyone is connected (bounded wait).
	r.waitConnected(ctx, time.Minute)
	r.mem.measureConnected(r)
	select {
	case <-r.fatalCh:
		return nil, r.fatalErr
	default:
	}

	r.setPhase(PhaseMeasure)
	r.measureFrom = r.st.now()
	acked0, typed0 := r.st.acked.Load(), r.st.typed.Load()
	if err := r.wait(ctx, r.cfg.Duration); err != nil && !errors.Is(err, errStopped) {
		return nil, err
	}
	r.measureTo = r.st.now()
	r.measuredAcked, r.measuredTyped = r.st.acked.Load()-acked0, r.st.typed.Load()-typed0

	r.typing.Store(false)
	r.setPhase(PhaseQuiet)
	quietStart := r.st.now()
	settleNote := r.quiet(ctx)
	quietEnd := r.st.now()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	r.setPhase(PhaseVerify)
	if h := r.hooks.beforeVerify; h != nil {
		h(r)
	}
	verdict, docs := r.verify(ctx, settleNote)
	r.mem.measureEnd()
	rep := r.report(started, quietStart, quietEnd, verdict, docs)
	r.setPhase(PhaseDone)
	return rep, nil
}

var errStopped = errors.New("loadtest: stopped")

// wait sleeps d, returning early when ctx ends, Stop is called or the run
// hits a fatal error.
func (r *Runner) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.fatalCh:
		return r.fatalErr
	case <-r.stopCh:
		return errStopped
	}
}

// startOrder interleaves editors and viewers evenly.
func (r *Runner) startOrder() []func(context.Context) {
	out := make([]func(context.Context), 0, len(r.editors)+len(r.viewers))
	if r.hooks.viewersFirst {
		for _, v := range r.viewers {
			out = append(out, v.run)
		}
		for _, e := range r.editors {
			out = append(out, e.run)
		}
		return out
	}
	i, j := 0, 0
	for i < len(r.editors) || j < len(r.viewers) {
		// Compare positions (i+½)/E and (j+½)/V without floats.
		if j >= len(r.viewers) || (i < len(r.editors) && (2*i+1)*len(r.viewers) <= (2*j+1)*len(r.editors)) {
			out = append(out, r.editors[i].run)
			i++
		} else {
			out = append(out, r.viewers[j].run)
			j++
		}
	}
	return out
}

// waitConnected waits until every editor has subscribed and every viewer
// has streamed (at least once), at most limit.
func (r *Runner) waitConnected(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.st.editorsReady.Load() >= int64(len(r.editors)) && r.st.viewersReady.Load() >= int64(len(r.viewers)) {
			return
		}
		select {
		case <-r.fatalCh:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sampleLoop records the connected counts every second for the timeline.
func (r *Runner) sampleLoop(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.st.sampleConnections()
		}
	}
}

// failover returns the instance after ep: a client whose instance refuses
// connections tries the next one, as a client behind a load balancer
// lands on a live instance, instead of waiting for its own to come back.
func (r *Runner) failover(ep *endpoint) *endpoint {
	for i := range r.eps {
		if &r.eps[i] == ep {
			return &r.eps[(i+1)%len(r.eps)]
		}
	}
	return ep
}

// dialWS opens a WebSocket to an instance, at most DialConcurrency at once.
func (r *Runner) dialWS(ctx context.Context, ep *endpoint) (*websocket.Conn, error) {
	select {
	case r.dials <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.dials }()
	u := ep.ws
	if r.cfg.Token != "" {
		u += "?token=" + url.QueryEscape(r.cfg.Token)
	}
	conn, resp, err := r.dialer.DialContext(ctx, u, nil)
	if err != nil && resp != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		err = &refusedError{status: resp.StatusCode, msg: fmt.Sprintf("%v (HTTP %s: %s)", err, resp.Status, bytes.TrimSpace(body))}
	}
	return conn, err
}

// refusedError is a WebSocket upgrade the server answered with an HTTP
// error.
type refusedError struct {
	status int
	msg    string
}

func (e *refusedError) Error() string { return e.msg }

// dialFailed counts a failed connection attempt; running out of file
// descriptors ends the run with an explanation.
func (r *Runner) dialFailed(err error) {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		r.fatal(fmt.Errorf("loadtest: cannot open more sockets (%v) with %d connections open: %s",
			err, r.st.editorsConnected.Load()+r.st.viewersConnected.Load(), fdAdvice(r.cfg.Editors+r.cfg.Viewers)))
		return
	}
	if re := (*refusedError)(nil); errors.As(err, &re) && re.status == http.StatusTooManyRequests {
		r.fatal(fmt.Errorf("loadtest: the server refuses more connections from this address (%d connected so far): %v; "+
			"start it with --max-connections-per-ip -1 (or at least the number of editors and viewers)",
			r.st.editorsConnected.Load()+r.st.viewersConnected.Load(), err))
		return
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		r.fatal(fmt.Errorf("loadtest: out of local ports (%v): spread the load over more server addresses or raise net.ipv4.ip_local_port_range", err))
		return
	}
	r.st.clientError("DIAL_FAILED", err.Error())
}

// sentAt returns when the op (src, seq) was first sent, if one of our
// editors sent it.
func (r *Runner) sentAt(src string, seq uint64) (time.Duration, bool) {
	x, ok := r.srcs.Load(src)
	if !ok {
		return 0, false
	}
	ring := x.(*editor).ring.Load()
	if ring == nil {
		return 0, false
	}
	return ring.get(seq)
}

// plainOf returns the text of a snapshot of the run's type.
func (r *Runner) plainOf(s ot.Snapshot) (string, error) {
	if !r.rich {
		str, ok := s.(string)
		if !ok {
			return "", fmt.Errorf("text-unicode snapshot is %T", s)
		}
		return str, nil
	}
	raw, err := r.typ.EncodeSnapshot(s)
	if err != nil {
		return "", err
	}
	return richPlain(raw)
}

func (r *Runner) docURL(ep *endpoint, id string) string {
	return ep.base + "/api/v1/docs/" + url.PathEscape(r.cfg.Collection) + "/" + url.PathEscape(id)
}

func (r *Runner) authorize(req *http.Request) {
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.Token)
	}
}

// Progress is a snapshot of a running test for a live display.
type Progress struct {
	Phase Phase
	// Elapsed is the time since Run started; PhaseElapsed since the
	// current phase began, PhaseTotal its planned length (0 if open).
	Elapsed, PhaseElapsed, PhaseTotal time.Duration
	Editors, EditorsConnected         int
	Viewers, ViewersConnected         int
	Typed, Sent, Acked                uint64
	// OpsPerSecond is the acks in the last whole second.
	OpsPerSecond   float64
	AckP50, AckP99 time.Duration
	// Errors counts server error replies and client-side failures.
	Errors, Reconnects uint64
}

// Progress returns the current figures; cheap enough to call several
// times a second.
func (r *Runner) Progress() Progress {
	now := r.st.now()
	ph := Phase(r.phase.Load())
	p := Progress{
		Phase: ph, Elapsed: now, PhaseElapsed: now - time.Duration(r.phaseAt.Load()),
		Editors: len(r.editors), EditorsConnected: int(r.st.editorsConnected.Load()),
		Viewers: len(r.viewers), ViewersConnected: int(r.st.viewersConnected.Load()),
		Typed: r.st.typed.Load(), Sent: r.st.sent.Load(), Acked: r.st.acked.Load(),
		AckP50: r.st.ack.quantile(0.5), AckP99: r.st.ack.quantile(0.99),
		Errors:     r.st.errorTotal(),
		Reconnects: r.st.editorReconnects.Load() + r.st.viewerReconnects.Load(),
	}
	switch ph {
	case PhaseRamp:
		p.PhaseTotal = r.cfg.Ramp
	case PhaseMeasure:
		p.PhaseTotal = r.cfg.Duration
	case PhaseQuiet:
		p.PhaseTotal = r.cfg.QuietTimeout
	}
	if s := int(now/time.Second) - 1; s >= 0 && s < len(r.st.seconds) {
		p.OpsPerSecond = float64(r.st.seconds[s].acked.Load())
	}
	return p
}

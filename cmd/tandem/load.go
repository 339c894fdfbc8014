package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/tandemhq/tandem/loadtest"
)

// urlList is a repeatable flag; each value may also hold a comma-separated
// list.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*u = append(*u, s)
		}
	}
	return nil
}

type loadFlags struct {
	cfg        loadtest.Config
	urls       urlList
	jsonFile   string
	htmlFile   string
	noProgress bool
	cpuProfile string
}

func parseLoad(args []string, stderr io.Writer) (loadFlags, error) {
	var f loadFlags
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: tandem load [flags]

Simulated editors (ShareDB over WebSocket, with the real client's state machine)
and viewers (Server-Sent Events, or subscribed WebSockets with --viewer-transport
ws) load a running Tandem server; then every copy is compared with the server's
snapshot and every acknowledged op is looked up in the text and the op log. Exit
status 0 only when that verdict is OK. (A ShareDB server works too if it serves
GET /api/v1/docs/{c}/{id} and /ops as bench/server.js does; use --viewer-transport ws.)

Phases: setup (create or reuse documents load/load-<seed>-<n>), ramp (connect;
editors type as soon as they have their document), measured (--duration), quiet
(typing stops; wait until every op is acknowledged and everyone caught up, at most
--quiet-timeout), checks. Ctrl-C ends the measured phase early (the checks still
run); a second Ctrl-C aborts.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.Var(&f.urls, "url", "server base URL, e.g. http://127.0.0.1:8080 (repeatable or comma-separated; editors and viewers are spread over them, and one whose instance refuses a connection moves on to the next; default http://127.0.0.1:8080)")
	fs.IntVar(&f.cfg.Editors, "editors", 10, "simulated editors (one WebSocket each)")
	fs.IntVar(&f.cfg.Viewers, "viewers", 2, "simulated viewers (one SSE stream each, or one WebSocket with --viewer-transport ws)")
	fs.StringVar(&f.cfg.ViewerTransport, "viewer-transport", "sse", "how viewers follow their document: sse (the event stream) or ws (a subscribed ShareDB WebSocket client that never writes, for servers without SSE such as ShareDB)")
	fs.IntVar(&f.cfg.Docs, "docs", 1, "documents; editors and viewers are spread over them")
	fs.Float64Var(&f.cfg.Rate, "rate", 2, "edits per second per editor, typed in bursts with pauses; 0 = next edit right after the ack")
	fs.DurationVar(&f.cfg.Duration, "duration", 30*time.Second, "length of the measured phase (after the ramp)")
	fs.DurationVar(&f.cfg.Ramp, "ramp", 0, "spread connecting over this long")
	fs.StringVar(&f.cfg.Type, "type", "rich-text", "document type: rich-text or text-unicode")
	fs.Uint64Var(&f.cfg.Seed, "seed", 0, "seed of document ids and typing; 0 picks one from the clock (printed, so the run can be repeated)")
	fs.StringVar(&f.jsonFile, "json", "", "write the report as JSON to this file")
	fs.StringVar(&f.htmlFile, "html", "", "write a self-contained HTML report (charts) to this file")
	tokenDefault := os.Getenv("TANDEM_LOAD_TOKEN")
	fs.StringVar(&f.cfg.Token, "token", tokenDefault, "JWT for servers run with --auth-secret; must grant the editor role on collection load (env TANDEM_LOAD_TOKEN)")
	fs.BoolVar(&f.cfg.Idle, "idle", false, "editors connect and subscribe but never type (memory per connection)")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress display")
	fs.StringVar(&f.cpuProfile, "cpu-profile", "", "write a CPU profile of the tester itself (pprof) over the whole run to this file")
	fs.DurationVar(&f.cfg.QuietTimeout, "quiet-timeout", 30*time.Second, "longest wait for everyone to catch up after the measured phase")
	fs.StringVar(&f.cfg.Collection, "collection", "load", "collection of the documents")
	fs.IntVar(&f.cfg.DialConcurrency, "dial-concurrency", 64, "connection attempts in progress at once")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("load: unexpected argument %q", fs.Arg(0))
	}
	if len(f.urls) == 0 {
		f.urls = urlList{"http://127.0.0.1:8080"}
	}
	f.cfg.URLs = f.urls
	if f.cfg.Seed == 0 {
		f.cfg.Seed = uint64(time.Now().UnixNano()%1_000_000_000) + 1
	}
	return f, f.cfg.Validate()
}

func runLoad(args []string) error {
	f, err := parseLoad(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	r, err := loadtest.New(f.cfg)
	if err != nil {
		return err
	}
	fmt.Printf("tandem load: %d editors, %d viewers on %d %s documents (seed %d) against %s\n",
		f.cfg.Editors, f.cfg.Viewers, f.cfg.Docs, f.cfg.Type, f.cfg.Seed, strings.Join(f.cfg.URLs, ", "))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(os.Stderr, "\ntandem load: stopping the measured phase (Ctrl-C again to abort)")
		r.Stop()
		if _, ok := <-sigs; ok {
			cancel()
		}
	}()

	if f.cpuProfile != "" {
		fh, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer fh.Close()
		if err := pprof.StartCPUProfile(fh); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	stopDisplay := func() {}
	if !f.noProgress {
		if isTerminal(os.Stdout) {
			stopDisplay = barDisplay(r, f.cfg)
		} else {
			stopDisplay = plainDisplay(r, os.Stdout, 5*time.Second)
		}
	}
	rep, err := r.Run(ctx)
	stopDisplay()
	if err != nil {
		return err
	}
	if err := rep.WriteText(os.Stdout); err != nil {
		return err
	}
	if f.jsonFile != "" {
		if err := writeFile(f.jsonFile, rep.WriteJSON); err != nil {
			return err
		}
	}
	if f.htmlFile != "" {
		if err := writeFile(f.htmlFile, rep.WriteHTML); err != nil {
			return err
		}
	}
	if !rep.Verdict.OK {
		return fmt.Errorf("load: verdict FAILED (%d problems, listed above)", len(rep.Verdict.Reasons))
	}
	return nil
}

func writeFile(name string, write func(io.Writer) error) error {
	fh, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return fh.Close()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func fmtLatency(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/1e6)
}

func progressLine(p loadtest.Progress) string {
	return fmt.Sprintf("ops/s %4.0f  acked %d  ack p50 %s p99 %s  errors %d  reconnects %d",
		p.OpsPerSecond, p.Acked, fmtLatency(p.AckP50), fmtLatency(p.AckP99), p.Errors, p.Reconnects)
}

// plainDisplay prints a status line every interval, for logs and pipes.
func plainDisplay(r *loadtest.Runner, w io.Writer, every time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p := r.Progress()
				fmt.Fprintf(w, "[%6.1fs] %-7s editors %d/%d  viewers %d/%d  %s\n", p.Elapsed.Seconds(), p.Phase,
					p.EditorsConnected, p.Editors, p.ViewersConnected, p.Viewers, progressLine(p))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// barDisplay shows two live bars on a terminal: connections, and the
// phase with throughput, latency and errors.
func barDisplay(r *loadtest.Runner, cfg loadtest.Config) (stop func()) {
	var cur atomic.Pointer[loadtest.Progress]
	first := r.Progress()
	cur.Store(&first)
	get := func() loadtest.Progress { return *cur.Load() }

	p := mpb.New(mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond))
	conns := p.AddBar(int64(max(cfg.Editors+cfg.Viewers, 1)),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			g := get()
			return fmt.Sprintf("%-8s editors %d/%d viewers %d/%d", "connect", g.EditorsConnected, g.Editors, g.ViewersConnected, g.Viewers)
		}, decor.WCSyncWidthR)),
	)
	phase := p.AddBar(1000,
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			g := get()
			s := fmt.Sprintf("%-8s %5.1fs", g.Phase, g.PhaseElapsed.Seconds())
			if g.PhaseTotal > 0 {
				s += fmt.Sprintf(" / %.0fs", g.PhaseTotal.Seconds())
			}
			return s
		}, decor.WCSyncWidthR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return progressLine(get()) })),
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			g := r.Progress()
			cur.Store(&g)
			conns.SetCurrent(int64(g.EditorsConnected + g.ViewersConnected))
			switch {
			case g.PhaseTotal > 0:
				phase.SetCurrent(min(1000, int64(1000*g.PhaseElapsed/g.PhaseTotal)))
			case g.Phase >= loadtest.PhaseVerify:
				phase.SetCurrent(1000)
			default:
				phase.SetCurrent(0)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		conns.SetTotal(-1, true)
		phase.SetTotal(-1, true)
		p.Wait()
	}
}

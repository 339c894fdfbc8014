package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Report is the result of a run; its JSON form is what --json writes.
// Times are in seconds (_s) or milliseconds (_ms); byte counts in bytes.
type Report struct {
	Tool      string       `json:"tool"` // "tandem load"
	StartedAt time.Time    `json:"started_at"`
	Config    ReportConfig `json:"config"`
	Phases    PhaseTimes   `json:"phases"`
	Ops       OpCounts     `json:"ops"`
	Latency   Latencies    `json:"latency"`
	// Errors counts the server's error replies by code.
	Errors map[string]uint64 `json:"errors"`
	// ClientErrors counts failures seen on the tester's side: failed
	// dials (DIAL_FAILED), undecodable messages, SSE streams refused
	// (SSE_HTTP_<status>) or out of order (SSE_GAP, SSE_DUPLICATE_OP),
	// a handshake that did not keep our id (SRC_CHANGED).
	ClientErrors map[string]uint64 `json:"client_errors"`
	// Events counts things that are not errors by themselves: sockets
	// lost (WS_CLOSED_<close code>, WS_LOST, WS_READ_TIMEOUT), SSE streams
	// ended by the server (SSE_ENDED), acks at another version than the
	// editor's (ACK_VERSION_MISMATCH: normal after a reconnect, when the
	// server acknowledges a resent op as a duplicate).
	Events map[string]uint64 `json:"events"`
	// ErrorSamples holds the first message seen for each code above.
	ErrorSamples map[string]string `json:"error_samples"`
	Reconnects   Reconnects        `json:"reconnects"`
	Memory       MemoryReport      `json:"memory"`
	Docs         []DocReport       `json:"docs"`
	// Timeline has one entry per second of the run.
	Timeline   []Second   `json:"timeline"`
	Histograms Histograms `json:"histograms"`
	Verdict    Verdict    `json:"verdict"`
}

// ReportConfig echoes the run's configuration.
type ReportConfig struct {
	URLs    []string `json:"urls"`
	Editors int      `json:"editors"`
	Viewers int      `json:"viewers"`
	// ViewerTransport: "sse" or "ws" (subscribed WebSocket clients).
	ViewerTransport string  `json:"viewer_transport"`
	Docs            int     `json:"docs"`
	Rate            float64 `json:"rate"` // edits per second per editor; 0 = next edit right after the ack
	DurationS       float64 `json:"duration_s"`
	RampS           float64 `json:"ramp_s"`
	Type            string  `json:"type"`
	Seed            uint64  `json:"seed"`
	Idle            bool    `json:"idle"`
	Collection      string  `json:"collection"`
	MarkerTag       string  `json:"marker_tag"` // edits insert "[<tag>.<editor>.<n>]" (base 36)
}

// PhaseTimes are the actual lengths of the phases.
type PhaseTimes struct {
	SetupS   float64 `json:"setup_s"`
	RampS    float64 `json:"ramp_s"` // includes waiting for every connection
	MeasureS float64 `json:"measure_s"`
	QuietS   float64 `json:"quiet_s"`
	VerifyS  float64 `json:"verify_s"`
	TotalS   float64 `json:"total_s"`
}

// OpCounts count edits and ops over the whole run.
type OpCounts struct {
	// Typed edits, each carrying one marker. Edits typed while an op is
	// in flight are composed into one pending op.
	Typed uint64 `json:"typed"`
	// Sent ops: distinct (src, seq) submissions.
	Sent uint64 `json:"sent"`
	// Resent: submissions repeated after a reconnect (same src and seq).
	Resent uint64 `json:"resent"`
	Acked  uint64 `json:"acked"`
	// RolledBackEdits: typed edits dropped because the server refused
	// their op.
	RolledBackEdits uint64 `json:"rolled_back_edits"`
	// During the measured phase only.
	MeasuredAcked  uint64  `json:"measured_acked"`
	AckedPerSecond float64 `json:"acked_per_second"`
	TypedPerSecond float64 `json:"typed_per_second"`
}

// Latencies: Ack is submit (first send) to ack at the submitter;
// FanoutEditor submit to receipt by another editor; FanoutViewer submit to
// receipt of the op event by a viewer.
type Latencies struct {
	Ack          LatencySummary `json:"ack"`
	FanoutEditor LatencySummary `json:"fanout_editor"`
	FanoutViewer LatencySummary `json:"fanout_viewer"`
}

// Reconnects counts connections re-established after a loss.
type Reconnects struct {
	Editors uint64 `json:"editors"`
	Viewers uint64 `json:"viewers"`
}

// Second is one second of the timeline (T seconds after the start).
type Second struct {
	T       int    `json:"t"`
	Typed   uint64 `json:"typed"`
	Sent    uint64 `json:"sent"`
	Acked   uint64 `json:"acked"`
	Errors  uint64 `json:"errors"`
	Editors int64  `json:"editors"` // connected
	Viewers int64  `json:"viewers"` // connected
}

// Histograms hold the non-empty buckets of each latency distribution.
type Histograms struct {
	Ack          []HistBin `json:"ack"`
	FanoutEditor []HistBin `json:"fanout_editor"`
	FanoutViewer []HistBin `json:"fanout_viewer"`
}

func secs(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

func (r *Runner) report(started time.Time, quietStart, quietEnd time.Duration, v Verdict, docs []DocReport) *Report {
	end := r.st.now()
	ec := r.st.errorCounts()
	rep := &Report{
		Tool:      "tandem load",
		StartedAt: started.UTC().Truncate(time.Millisecond),
		Config: ReportConfig{
			URLs: r.cfg.URLs, Editors: r.cfg.Editors, Viewers: r.cfg.Viewers, ViewerTransport: r.cfg.ViewerTransport, Docs: r.cfg.Docs,
			Rate: r.cfg.Rate, DurationS: secs(r.cfg.Duration), RampS: secs(r.cfg.Ramp), Type: r.cfg.Type,
			Seed: r.cfg.Seed, Idle: r.cfg.Idle, Collection: r.cfg.Collection, MarkerTag: r.tag,
		},
		Phases: PhaseTimes{
			SetupS: secs(r.rampFrom), RampS: secs(r.measureFrom - r.rampFrom), MeasureS: secs(r.measureTo - r.measureFrom),
			QuietS: secs(quietEnd - quietStart), VerifyS: secs(end - quietEnd), TotalS: secs(end),
		},
		Ops: OpCounts{
			Typed: r.st.typed.Load(), Sent: r.st.sent.Load(), Resent: r.st.resent.Load(), Acked: r.st.acked.Load(),
			RolledBackEdits: r.st.rolledBack.Load(), MeasuredAcked: r.measuredAcked,
		},
		Latency: Latencies{Ack: r.st.ack.summary(), FanoutEditor: r.st.fanEditor.summary(), FanoutViewer: r.st.fanViewer.summary()},
		Errors:  ec.server, ClientErrors: ec.client, Events: ec.events, ErrorSamples: ec.samples,
		Reconnects: Reconnects{Editors: r.st.editorReconnects.Load(), Viewers: r.st.viewerReconnects.Load()},
		Memory:     r.mem,
		Docs:       docs,
		Histograms: Histograms{Ack: r.st.ack.bins(), FanoutEditor: r.st.fanEditor.bins(), FanoutViewer: r.st.fanViewer.bins()},
		Verdict:    v,
	}
	if d := (r.measureTo - r.measureFrom).Seconds(); d > 0 {
		rep.Ops.AckedPerSecond = math.Round(float64(r.measuredAcked)/d*10) / 10
		rep.Ops.TypedPerSecond = math.Round(float64(r.measuredTyped)/d*10) / 10
	}
	n := min(int(end/time.Second)+1, len(r.st.seconds))
	for i := range n {
		s := &r.st.seconds[i]
		rep.Timeline = append(rep.Timeline, Second{T: i, Typed: s.typed.Load(), Sent: s.sent.Load(), Acked: s.acked.Load(),
			Errors: s.errors.Load(), Editors: s.editors.Load(), Viewers: s.viewers.Load()})
	}
	return rep
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

func latLine(name string, l LatencySummary) string {
	if l.Count == 0 {
		return fmt.Sprintf("  %-22s no samples\n", name)
	}
	return fmt.Sprintf("  %-22s p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f ms  (n=%d)\n", name, l.P50MS, l.P90MS, l.P99MS, l.MaxMS, l.Count)
}

// WriteText writes the human summary printed at the end of a run.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	c := rep.Config
	fmt.Fprintf(&b, "tandem load: %d editors, %d viewers (%s), %d %s docs, rate %g/s, %gs measured (seed %d, tag %s)\n",
		c.Editors, c.Viewers, c.ViewerTransport, c.Docs, c.Type, c.Rate, rep.Phases.MeasureS, c.Seed, c.MarkerTag)
	o := rep.Ops
	fmt.Fprintf(&b, "ops:        typed %d, sent %d, resent %d, acked %d, rolled back %d\n", o.Typed, o.Sent, o.Resent, o.Acked, o.RolledBackEdits)
	fmt.Fprintf(&b, "throughput: %.1f acked ops/s, %.1f typed edits/s (measured phase)\n", o.AckedPerSecond, o.TypedPerSecond)
	b.WriteString("latency:\n")
	b.WriteString(latLine("ack", rep.Latency.Ack))
	b.WriteString(latLine("fan-out editor→editor", rep.Latency.FanoutEditor))
	b.WriteString(latLine("fan-out editor→viewer", rep.Latency.FanoutViewer))
	fmt.Fprintf(&b, "reconnects: editors %d, viewers %d\n", rep.Reconnects.Editors, rep.Reconnects.Viewers)
	writeCounts(&b, "errors:    ", rep.Errors, rep.ErrorSamples)
	writeCounts(&b, "client:    ", rep.ClientErrors, rep.ErrorSamples)
	writeCounts(&b, "events:    ", rep.Events, nil)
	m := rep.Memory
	fmt.Fprintf(&b, "memory:     RSS %s baseline, %s with %d editors + %d viewers connected (%s RSS, %s Go heap+stack per connection); peak %s\n",
		mib(float64(m.BaselineRSSBytes)), mib(float64(m.ConnectedRSSBytes)), m.EditorsConnected, m.ViewersConnected,
		kib(m.PerConnectionRSSBytes), kib(m.PerConnectionHeapBytes), mib(float64(m.PeakRSSBytes)))
	fmt.Fprintf(&b, "tester CPU: %.1f s user + %.1f s system over %.1f s\n", m.CPUUserS, m.CPUSysS, rep.Phases.TotalS)
	ch := rep.Verdict.Checks
	fmt.Fprintf(&b, "checks:     %d editor copies, %d viewer copies, %d acked ops (%d edits) against %d op-log entries\n",
		ch.EditorsCompared, ch.ViewersCompared, ch.AckedOps, ch.AckedMarkers, ch.OpLogOps)
	if rep.Verdict.OK {
		b.WriteString("verdict:    OK: all copies identical to the server's snapshot; every acknowledged op applied exactly once\n")
	} else {
		b.WriteString("verdict:    FAILED\n")
		for _, r := range rep.Verdict.Reasons {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCounts(b *strings.Builder, label string, m map[string]uint64, samples map[string]string) {
	if len(m) == 0 {
		fmt.Fprintf(b, "%s none\n", label)
		return
	}
	b.WriteString(label)
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(b, " %s ×%d", k, m[k])
	}
	b.WriteString("\n")
	for _, k := range sortedKeys(m) {
		if s := samples[k]; s != "" {
			fmt.Fprintf(b, "              %s: %.300s\n", k, s)
		}
	}
}

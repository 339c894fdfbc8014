package loadtest

import (
	"maps"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Histograms are log-linear, like HdrHistogram: values are microseconds,
// each power of two is split into histSub linear buckets, so a recorded
// value is known to within 1/histSub (1.6%) at any magnitude. Memory is
// fixed (histBuckets counters) however many samples are recorded, and
// recording is one atomic add, so every goroutine records directly.
const (
	histBits    = 6
	histSub     = 1 << histBits
	histMaxBits = 40 // 2^40 µs is 12.7 days; larger values land in the last bucket
	histBuckets = (histMaxBits - histBits + 1) * histSub
)

type hist struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // µs
	max    atomic.Uint64 // µs
}

func bucketOf(us uint64) int {
	if us < histSub {
		return int(us)
	}
	e := bits.Len64(us) - histBits - 1 // us>>e is in [histSub, 2*histSub)
	i := (e+1)*histSub + int(us>>e) - histSub
	return min(i, histBuckets-1)
}

// bucketRange returns the values [lo, hi) counted by bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < histSub {
		return uint64(i), uint64(i) + 1
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return m << e, (m + 1) << e
}

func (h *hist) record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	h.sum.Add(us)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// quantile returns the value below which a fraction q of the samples fall
// (the middle of the bucket holding that rank), or 0 without samples.
func (h *hist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return time.Duration(min(v, h.max.Load())) * time.Microsecond
		}
	}
	return time.Duration(h.max.Load()) * time.Microsecond
}

// LatencySummary describes one latency distribution; times are in
// milliseconds.
type LatencySummary struct {
	Count  uint64  `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P90MS  float64 `json:"p90_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (h *hist) summary() LatencySummary {
	n := h.n.Load()
	s := LatencySummary{Count: n}
	if n == 0 {
		return s
	}
	s.MeanMS = math.Round(float64(h.sum.Load())/float64(n)) / 1e3
	s.P50MS = ms(h.quantile(0.50))
	s.P90MS = ms(h.quantile(0.90))
	s.P99MS = ms(h.quantile(0.99))
	s.MaxMS = ms(time.Duration(h.max.Load()) * time.Microsecond)
	return s
}

// HistBin is one non-empty histogram bucket: Count samples in [LoMS, HiMS).
type HistBin struct {
	LoMS  float64 `json:"lo_ms"`
	HiMS  float64 `json:"hi_ms"`
	Count uint64  `json:"count"`
}

func (h *hist) bins() []HistBin {
	var out []HistBin
	for i := range h.counts {
		if c := h.counts[i].Load(); c > 0 {
			lo, hi := bucketRange(i)
			out = append(out, HistBin{LoMS: float64(lo) / 1e3, HiMS: float64(hi) / 1e3, Count: c})
		}
	}
	return out
}

// second holds the counters of one second of the run.
type second struct {
	typed, sent, acked, errors atomic.Uint64
	editors, viewers           atomic.Int64 // connected, sampled at the end of the second
}

// stats is everything the run measures. All methods are safe for
// concurrent use.
type stats struct {
	start time.Time

	typed, sent, resent, acked, rolledBack atomic.Uint64
	editorReconnects, viewerReconnects     atomic.Uint64
	editorsConnected, viewersConnected     atomic.Int64
	editorsReady, viewersReady             atomic.Int64 // connected at least once
	ack, fanEditor, fanViewer              hist

	mu           sync.Mutex // guards the maps below
	serverErrors map[string]uint64
	clientErrors map[string]uint64
	events       map[string]uint64
	samples      map[string]string // first message seen per code

	seconds []second // fixed length; the last one absorbs overflow
}

func newStats(start time.Time, maxSeconds int) *stats {
	return &stats{
		start:        start,
		serverErrors: make(map[string]uint64),
		clientErrors: make(map[string]uint64),
		events:       make(map[string]uint64),
		samples:      make(map[string]string),
		seconds:      make([]second, max(maxSeconds, 1)),
	}
}

// now is the time since the run started (monotonic).
func (s *stats) now() time.Duration { return time.Since(s.start) }

func (s *stats) sec(t time.Duration) *second {
	i := int(t / time.Second)
	return &s.seconds[min(max(i, 0), len(s.seconds)-1)]
}

// serverError counts an error reply from the server by its code.
func (s *stats) serverError(code, msg string) {
	s.sec(s.now()).errors.Add(1)
	s.count(s.serverErrors, code, msg)
}

// clientError counts something that went wrong on the tester's side of a
// connection (a failed dial, a lost socket, a gap in a stream).
func (s *stats) clientError(kind, msg string) {
	s.sec(s.now()).errors.Add(1)
	s.count(s.clientErrors, kind, msg)
}

// event counts something worth knowing that is not an error: a lost
// socket (by close code), an ack at an unexpected version (normal after a
// reconnect, when the server acknowledges a resent op as a duplicate).
func (s *stats) event(kind, msg string) { s.count(s.events, kind, msg) }

// count adds one to m[kind] (one of the maps above) and keeps the first
// message seen for kind.
func (s *stats) count(m map[string]uint64, kind, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m[kind]++
	if _, ok := s.samples[kind]; !ok {
		s.samples[kind] = msg
	}
}

type errorCounts struct {
	server, client, events map[string]uint64
	samples                map[string]string
}

func (s *stats) errorCounts() errorCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errorCounts{server: maps.Clone(s.serverErrors), client: maps.Clone(s.clientErrors),
		events: maps.Clone(s.events), samples: maps.Clone(s.samples)}
}

// errorTotal counts server and client errors, without copying the maps
// (Progress calls it several times a second).
func (s *stats) errorTotal() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, v := range s.serverErrors {
		n += v
	}
	for _, v := range s.clientErrors {
		n += v
	}
	return n
}

// sampleConnections stores the connected counts into the current second.
func (s *stats) sampleConnections() {
	sec := s.sec(s.now())
	sec.editors.Store(s.editorsConnected.Load())
	sec.viewers.Store(s.viewersConnected.Load())
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

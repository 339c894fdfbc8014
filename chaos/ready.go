//go:build linux

package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// readySample is one GET /readyz.
type readySample struct {
	SentS  float64 `json:"sent_s"` // since the load run started
	DoneS  float64 `json:"done_s"`
	Status int     `json:"status"` // 0: no HTTP answer
	Body   string  `json:"body,omitempty"`
}

func (s readySample) class() string {
	switch s.Status {
	case http.StatusOK:
		return "200"
	case 0:
		return "no answer"
	}
	return fmt.Sprint(s.Status)
}

// readyPoller polls GET /readyz on every instance every 200 ms, each poll
// in its own goroutine (a poll during a store outage takes up to the
// server's 2 s ping timeout, and must not delay the next).
type readyPoller struct {
	t0      time.Time
	mu      sync.Mutex
	samples [][]readySample
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startReadyPoller(cl *cluster, t0 time.Time) *readyPoller {
	ctx, cancel := context.WithCancel(context.Background())
	rp := &readyPoller{t0: t0, cancel: cancel, samples: make([][]readySample, len(cl.instances))}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for i, in := range cl.instances {
		rp.wg.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				rp.wg.Go(func() { rp.poll(ctx, client, i, in.url) })
			}
		})
	}
	return rp
}

func (rp *readyPoller) poll(ctx context.Context, client *http.Client, i int, base string) {
	sent := time.Now()
	s := readySample{SentS: roundS(sent.Sub(rp.t0))}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	resp, err := client.Do(req)
	if ctx.Err() != nil {
		return // stopped: not a sample
	}
	if err != nil {
		s.Body = err.Error()
	} else {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		s.Status = resp.StatusCode
		if resp.StatusCode != http.StatusOK {
			s.Body = strings.TrimSpace(string(b))
		}
	}
	s.DoneS = roundS(time.Since(rp.t0))
	rp.mu.Lock()
	rp.samples[i] = append(rp.samples[i], s)
	rp.mu.Unlock()
}

// stop ends polling and returns each instance's samples in the order their
// answers arrived.
func (rp *readyPoller) stop() [][]readySample {
	rp.cancel()
	rp.wg.Wait()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for _, s := range rp.samples {
		slices.SortStableFunc(s, func(a, b readySample) int { return cmp.Compare(a.DoneS, b.DoneS) })
	}
	return rp.samples
}

// readyTrace summarizes one instance's /readyz during a scenario.
type readyTrace struct {
	Instance int `json:"instance"`
	Polls    int `json:"polls"`
	NotReady int `json:"not_ready"` // 503 answers
	NoAnswer int `json:"no_answer"` // connection refused, timeouts
	// Transitions lists every change of answer, at the time the answer
	// arrived: "t s: 200 → 503".
	Transitions []string `json:"transitions"`
	// FirstNotReadyS is when the first answer other than 200 arrived (-1:
	// never); ReadyAgainS when the first 200 after the last other answer
	// arrived (-1: not ready at the end).
	FirstNotReadyS     float64 `json:"first_not_ready_s"`
	FirstNotReadySentS float64 `json:"first_not_ready_sent_s"`
	ReadyAgainS        float64 `json:"ready_again_s"`
	NotReadyBody       string  `json:"not_ready_body,omitempty"`
	// Store outage (mongo only): 503 answers to polls sent after the
	// server was gone and answered before it was started again, and when
	// /readyz was 200 again counted from the start of the resume.
	NotReadyWhileDown int     `json:"not_ready_while_down,omitempty"`
	ReadyAfterResumeS float64 `json:"ready_after_resume_s,omitempty"`
	// SlowestMS is the longest a poll took.
	SlowestMS float64 `json:"slowest_poll_ms"`
}

func traceReady(i int, ss []readySample) readyTrace {
	tr := readyTrace{Instance: i + 1, Polls: len(ss), FirstNotReadyS: -1, FirstNotReadySentS: -1, ReadyAgainS: -1}
	prev := ""
	lastBad := -1
	for k, s := range ss {
		c := s.class()
		if c != prev {
			if prev == "" {
				tr.Transitions = append(tr.Transitions, fmt.Sprintf("%.2f s: %s", s.DoneS, c))
			} else {
				tr.Transitions = append(tr.Transitions, fmt.Sprintf("%.2f s: %s → %s", s.DoneS, prev, c))
			}
			prev = c
		}
		tr.SlowestMS = max(tr.SlowestMS, (s.DoneS-s.SentS)*1000)
		if s.Status == http.StatusOK {
			continue
		}
		lastBad = k
		if s.Status == 0 {
			tr.NoAnswer++
		} else {
			tr.NotReady++
			if tr.NotReadyBody == "" {
				tr.NotReadyBody = s.Body
			}
		}
		if tr.FirstNotReadyS < 0 {
			tr.FirstNotReadyS, tr.FirstNotReadySentS = s.DoneS, s.SentS
		}
	}
	if len(ss) > 0 && lastBad < len(ss)-1 {
		if lastBad >= 0 {
			tr.ReadyAgainS = ss[lastBad+1].DoneS
		} else {
			tr.ReadyAgainS = ss[0].DoneS
		}
	}
	tr.SlowestMS = float64(int(tr.SlowestMS*10)) / 10
	if len(tr.Transitions) > 12 {
		tr.Transitions = append(tr.Transitions[:12:12], fmt.Sprintf("… %d more changes", len(tr.Transitions)-12))
	}
	return tr
}

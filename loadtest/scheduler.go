package loadtest

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// scheduler drives typing for every editor from one timer heap and a few
// workers, so an editor costs a heap entry rather than a goroutine and a
// timer.
type scheduler struct {
	clock func() time.Duration // time since the run started
	work  chan *editor
	wake  chan struct{}

	mu sync.Mutex // guards h
	h  timerHeap
}

type timerEntry struct {
	at time.Duration
	e  *editor
}

type timerHeap []timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = timerEntry{}
	*h = old[:len(old)-1]
	return x
}

func newScheduler(clock func() time.Duration) *scheduler {
	return &scheduler{clock: clock, work: make(chan *editor, 1024), wake: make(chan struct{}, 1)}
}

// add asks for e.tick to run at time at (since the run started).
func (s *scheduler) add(at time.Duration, e *editor) {
	s.mu.Lock()
	heap.Push(&s.h, timerEntry{at: at, e: e})
	first := s.h[0].e == e && s.h[0].at == at
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// run dispatches due entries to workers until ctx ends.
func (s *scheduler) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for e := range s.work {
				e.tick()
			}
		})
	}
	defer wg.Wait()
	defer close(s.work)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var due []*editor
		now := s.clock()
		for len(s.h) > 0 && s.h[0].at <= now {
			due = append(due, heap.Pop(&s.h).(timerEntry).e)
		}
		wait := time.Hour
		if len(s.h) > 0 {
			wait = s.h[0].at - now
		}
		s.mu.Unlock()
		for _, e := range due {
			select {
			case s.work <- e:
			case <-ctx.Done():
				return
			}
		}
		if len(due) > 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

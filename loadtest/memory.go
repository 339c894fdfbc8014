package loadtest

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// MemoryReport is what the load process itself used, to tell what one
// simulated connection costs. RSS figures come from /proc (Linux; zero
// elsewhere); heap figures are the Go runtime's HeapInuse + StackInuse.
// Every figure is taken right after a forced GC that returns free memory
// to the OS.
type MemoryReport struct {
	// Before any editor or viewer connected.
	BaselineRSSBytes  uint64 `json:"baseline_rss_bytes"`
	BaselineHeapBytes uint64 `json:"baseline_heap_bytes"`
	// Once all editors had subscribed and all viewers streamed (or a
	// minute after the ramp), before the measured phase.
	ConnectedRSSBytes  uint64 `json:"connected_rss_bytes"`
	ConnectedHeapBytes uint64 `json:"connected_heap_bytes"`
	// Of ConnectedHeapBytes, goroutine stacks.
	ConnectedStackBytes uint64 `json:"connected_stack_bytes"`
	EditorsConnected    int    `json:"editors_connected"`
	ViewersConnected    int    `json:"viewers_connected"`
	Goroutines          int    `json:"goroutines"`
	// (Connected - Baseline) / (editors + viewers connected).
	PerConnectionRSSBytes  float64 `json:"per_connection_rss_bytes"`
	PerConnectionHeapBytes float64 `json:"per_connection_heap_bytes"`
	// At the end of the run: RSS now and the peak (VmHWM).
	EndRSSBytes  uint64 `json:"end_rss_bytes"`
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`
	// CPU time the tester process used over the whole run (user and
	// system), to tell when it, not the server, was the limit.
	CPUUserS float64 `json:"cpu_user_s"`
	CPUSysS  float64 `json:"cpu_sys_s"`
}

// measureMemory returns RSS, heap+stack in use and stacks after a full GC.
func measureMemory() (rss, heap, stack uint64) {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ = procStatus()
	return rss, ms.HeapInuse + ms.StackInuse, ms.StackInuse
}

func (m *MemoryReport) measureConnected(r *Runner) {
	m.ConnectedRSSBytes, m.ConnectedHeapBytes, m.ConnectedStackBytes = measureMemory()
	m.EditorsConnected = int(r.st.editorsConnected.Load())
	m.ViewersConnected = int(r.st.viewersConnected.Load())
	m.Goroutines = runtime.NumGoroutine()
	if n := m.EditorsConnected + m.ViewersConnected; n > 0 {
		m.PerConnectionRSSBytes = float64(int64(m.ConnectedRSSBytes)-int64(m.BaselineRSSBytes)) / float64(n)
		m.PerConnectionHeapBytes = float64(int64(m.ConnectedHeapBytes)-int64(m.BaselineHeapBytes)) / float64(n)
	}
}

func (m *MemoryReport) measureEnd() {
	m.EndRSSBytes, m.PeakRSSBytes = procStatus()
	m.CPUUserS, m.CPUSysS = processCPU()
}

// procStatus reads VmRSS and VmHWM from /proc/self/status.
func procStatus() (rss, hwm uint64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		fields := bytes.Fields(v)
		if len(fields) < 1 {
			continue
		}
		n, err := strconv.ParseUint(string(fields[0]), 10, 64)
		if err != nil {
			continue
		}
		switch string(k) {
		case "VmRSS":
			rss = n * 1024
		case "VmHWM":
			hwm = n * 1024
		}
	}
	return rss, hwm
}

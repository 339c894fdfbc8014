package loadtest

import (
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/ot/richtext"
	"github.com/tandemhq/tandem/ot/textunicode"
)

func hasReason(rep *Report, substr string) bool {
	for _, r := range rep.Verdict.Reasons {
		if strings.Contains(r, substr) {
			return true
		}
	}
	return false
}

// The verdict must be able to fail: a tampered editor copy.
func TestVerdictCatchesTamperedEditor(t *testing.T) {
	urls := startServers(t, 1)
	rep := runLoad(t, Config{URLs: urls, Editors: 3, Viewers: 1, Docs: 1, Rate: 10, Duration: time.Second, Type: richtext.Name, Seed: 21},
		testHooks{beforeVerify: func(r *Runner) {
			e := r.editors[1]
			e.mu.Lock()
			defer e.mu.Unlock()
			op, err := r.typ.DecodeOp([]byte(`[{"insert":"tampered"}]`))
			if err != nil {
				t.Fatal(err)
			}
			if e.snap, err = r.typ.Apply(e.snap, op); err != nil {
				t.Fatal(err)
			}
		}})
	if rep.Verdict.OK || rep.Verdict.Checks.EditorsDiffering != 1 || !hasReason(rep, "editor 1's copy differs") {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
}

// The verdict must be able to fail: a viewer that lost one op event.
func TestVerdictCatchesDroppedViewerEvent(t *testing.T) {
	urls := startServers(t, 1)
	var seen int
	rep := runLoad(t, Config{URLs: urls, Editors: 3, Viewers: 2, Docs: 1, Rate: 10, Duration: time.Second, Type: textunicode.Name, Seed: 22},
		testHooks{viewerOp: func(v *viewer, o *sseOp) bool {
			if v.idx != 0 {
				return false
			}
			seen++
			return seen == 5
		}})
	if rep.Verdict.OK || rep.Verdict.Checks.ViewersDiffering != 1 || !(hasReason(rep, "viewer 0's copy differs") || hasReason(rep, "viewer 0's copy diverged")) {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
}

// The verdict must be able to fail: an op the editor believes acknowledged
// that is neither in the text nor in the op log.
func TestVerdictCatchesLostAck(t *testing.T) {
	urls := startServers(t, 1)
	rep := runLoad(t, Config{URLs: urls, Editors: 2, Docs: 1, Rate: 10, Duration: time.Second, Type: textunicode.Name, Seed: 23},
		testHooks{beforeVerify: func(r *Runner) {
			e := r.editors[0]
			e.mu.Lock()
			defer e.mu.Unlock()
			e.acked = append(e.acked, ackRec{src: e.src, seq: e.seq + 100, mFrom: e.nextMarker, mTo: e.nextMarker + 1})
			e.nextMarker++
		}})
	c := rep.Verdict.Checks
	if rep.Verdict.OK || c.OpLogMissing != 1 || c.MarkersMissing != 1 || !hasReason(rep, "is not in the op log") {
		t.Fatalf("verdict %+v", rep.Verdict)
	}
}

func TestScanMarkers(t *testing.T) {
	text := "ab[t1.0.0]cd[t1.a.1z][t1.0.0][other.0.0][t1.bad][t1.2."
	got := scanMarkers(text, "t1")
	want := map[markerKey]int{mkey(0, 0): 2, mkey(10, 71): 1}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("%s: got %d, want %d (%v)", k, got[k], n, got)
		}
	}
	if m := markerText("t1", 10, 71); m != "[t1.a.1z]" {
		t.Fatalf("markerText %q", m)
	}
}

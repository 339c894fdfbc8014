package loadtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tandemhq/tandem/ot/richtext"
	"github.com/tandemhq/tandem/ot/textunicode"
)

// TestEndToEnd runs 20 editors and 5 viewers on 2 documents for a few
// seconds against two in-process instances, for both types, and expects a
// clean verdict.
func TestEndToEnd(t *testing.T) {
	for _, typ := range []string{richtext.Name, textunicode.Name} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			urls := startServers(t, 2)
			rep := runLoad(t, Config{
				URLs: urls, Editors: 20, Viewers: 5, Docs: 2, Rate: 10,
				Duration: 3 * time.Second, Ramp: 500 * time.Millisecond, Type: typ, Seed: 7,
			}, testHooks{})
			if !rep.Verdict.OK {
				t.Fatalf("verdict failed: %v", rep.Verdict.Reasons)
			}
			if rep.Ops.Acked < 100 || rep.Verdict.Checks.AckedMarkers < 100 {
				t.Fatalf("only %d ops acked (%d edits): the editors hardly typed", rep.Ops.Acked, rep.Verdict.Checks.AckedMarkers)
			}
			if rep.Latency.FanoutEditor.Count == 0 || rep.Latency.FanoutViewer.Count == 0 {
				t.Fatalf("no fan-out measured: %+v", rep.Latency)
			}
			if len(rep.Errors) > 0 {
				t.Fatalf("server errors: %v %v", rep.Errors, rep.ErrorSamples)
			}
			if rep.Verdict.Checks.EditorsCompared != 20 || rep.Verdict.Checks.ViewersCompared != 5 {
				t.Fatalf("checks %+v", rep.Verdict.Checks)
			}
		})
	}
}

// TestEndToEndAsFastAsAcks runs rate 0: every editor types its next edit
// as soon as the previous op is acknowledged.
func TestEndToEndAsFastAsAcks(t *testing.T) {
	urls := startServers(t, 1)
	rep := runLoad(t, Config{URLs: urls, Editors: 6, Viewers: 2, Docs: 1, Rate: 0,
		Duration: 2 * time.Second, Type: textunicode.Name, Seed: 11}, testHooks{})
	if !rep.Verdict.OK {
		t.Fatalf("verdict failed: %v", rep.Verdict.Reasons)
	}
	if rep.Ops.Acked < 200 {
		t.Fatalf("only %d ops acked at rate 0", rep.Ops.Acked)
	}
}

// TestReportFiles renders the JSON and HTML reports of a short run and
// checks the HTML is self-contained.
func TestReportFiles(t *testing.T) {
	urls := startServers(t, 1)
	rep := runLoad(t, Config{URLs: urls, Editors: 4, Viewers: 1, Docs: 1, Rate: 20, Duration: time.Second, Seed: 31}, testHooks{})
	var js, page strings.Builder
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(js.String()), &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ops", "latency", "errors", "timeline", "histograms", "verdict", "memory", "reconnects"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	h := page.String()
	if strings.Count(h, "<svg") != 4 || !strings.Contains(h, "Verdict: OK") {
		t.Errorf("HTML report lacks charts or verdict")
	}
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url("} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML report is not self-contained: has %q", bad)
		}
	}
}

// TestViewersOpenTheDocument has the viewers' event streams open each
// document on its instance before any editor subscribes: the session the
// server creates for an SSE request must serve the editors that join it.
func TestViewersOpenTheDocument(t *testing.T) {
	for _, typ := range []string{richtext.Name, textunicode.Name} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			urls := startServers(t, 2)
			rep := runLoad(t, Config{URLs: urls, Editors: 12, Viewers: 4, Docs: 2, Rate: 10,
				Duration: 2 * time.Second, Ramp: 400 * time.Millisecond, Type: typ, Seed: 13, QuietTimeout: 10 * time.Second},
				testHooks{viewersFirst: true})
			if !rep.Verdict.OK {
				t.Fatalf("verdict failed: %v", rep.Verdict.Reasons)
			}
		})
	}
}

// TestWebSocketViewers runs the viewers as subscribed WebSocket clients
// (ViewerTransport "ws", as against ShareDB): their copies must match and
// fan-out to them must be measured.
func TestWebSocketViewers(t *testing.T) {
	for _, typ := range []string{richtext.Name, textunicode.Name} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			urls := startServers(t, 2)
			rep := runLoad(t, Config{URLs: urls, Editors: 12, Viewers: 6, ViewerTransport: ViewerWS, Docs: 2, Rate: 10,
				Duration: 2 * time.Second, Ramp: 400 * time.Millisecond, Type: typ, Seed: 17, QuietTimeout: 10 * time.Second},
				testHooks{})
			if !rep.Verdict.OK {
				t.Fatalf("verdict failed: %v", rep.Verdict.Reasons)
			}
			if rep.Verdict.Checks.ViewersCompared != 6 || rep.Latency.FanoutViewer.Count == 0 {
				t.Fatalf("viewers compared %d, fan-out samples %d", rep.Verdict.Checks.ViewersCompared, rep.Latency.FanoutViewer.Count)
			}
			if rep.Config.ViewerTransport != ViewerWS {
				t.Fatalf("report says viewer transport %q", rep.Config.ViewerTransport)
			}
			if len(rep.ClientErrors) > 0 {
				t.Fatalf("client errors: %v %v", rep.ClientErrors, rep.ErrorSamples)
			}
		})
	}
}

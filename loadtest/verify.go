package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// quiet waits, at most QuietTimeout, until no editor has anything
// outstanding and every editor and viewer holds the server's version. It
// returns "" when that happened, else what was still missing.
func (r *Runner) quiet(ctx context.Context) string {
	deadline := time.Now().Add(r.cfg.QuietTimeout)
	// Each poll reads every document's snapshot once it looks settled.
	poll := min(max(100*time.Millisecond, time.Duration(len(r.docs))*5*time.Millisecond), 2*time.Second)
	for {
		unsettled := 0
		for _, e := range r.editors {
			e.mu.Lock()
			if !e.settledLocked() {
				unsettled++
			}
			e.mu.Unlock()
		}
		note := fmt.Sprintf("%d editors still had ops outstanding or were not connected", unsettled)
		if unsettled == 0 {
			behind, err := r.countBehind(ctx)
			if err == nil && behind == 0 {
				return ""
			}
			note = fmt.Sprintf("%d editors or viewers had not caught up with the server", behind)
			if err != nil {
				note = "cannot read the server's snapshots: " + err.Error()
			}
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("quiet phase timed out after %s: %s", r.cfg.QuietTimeout, note)
		}
		select {
		case <-ctx.Done():
			return ctx.Err().Error()
		case <-r.fatalCh:
			return r.fatalErr.Error()
		case <-time.After(poll):
		}
	}
}

// countBehind counts editors and viewers whose version differs from the
// server's.
func (r *Runner) countBehind(ctx context.Context) (int, error) {
	versions := make(map[*docInfo]int64, len(r.docs))
	for _, d := range r.docs {
		s, err := r.fetchSnapshot(ctx, d.id)
		if err != nil {
			return 0, err
		}
		versions[d] = s.V
	}
	behind := 0
	for _, e := range r.editors {
		e.mu.Lock()
		if !e.haveCopy || e.version != versions[e.doc] {
			behind++
		}
		e.mu.Unlock()
	}
	for _, v := range r.viewers {
		v.mu.Lock()
		if v.failed == "" && (!v.have || v.version != versions[v.doc]) {
			behind++
		}
		v.mu.Unlock()
	}
	return behind, nil
}

// Verdict says whether the system under test behaved: every editor's copy,
// every viewer's copy and the server's snapshot are identical per document,
// and every acknowledged op is in the text exactly once (its marker) and in
// the op log exactly once (its src and seq).
type Verdict struct {
	OK bool `json:"ok"`
	// Reasons lists what failed (examples, then a count per kind); empty
	// when OK.
	Reasons []string `json:"reasons"`
	// Warnings are worth a look but do not fail the run (server error
	// replies, rolled-back ops).
	Warnings []string      `json:"warnings"`
	Checks   VerdictChecks `json:"checks"`
}

// VerdictChecks are the counts behind the verdict.
type VerdictChecks struct {
	EditorsCompared   int `json:"editors_compared"`
	EditorsDiffering  int `json:"editors_differing"`
	EditorsUnsettled  int `json:"editors_unsettled"`
	ViewersCompared   int `json:"viewers_compared"`
	ViewersDiffering  int `json:"viewers_differing"`
	AckedOps          int `json:"acked_ops"`
	AckedMarkers      int `json:"acked_markers"`
	MarkersMissing    int `json:"markers_missing"`
	MarkersDuplicated int `json:"markers_duplicated"`
	// Markers of ops the server refused (rolled back) found in the text.
	MarkersRolledBack int `json:"markers_rolled_back_present"`
	// Markers of this run no editor typed or got acknowledged.
	MarkersUnexpected int `json:"markers_unexpected"`
	OpLogOps          int `json:"op_log_ops"`
	OpLogMissing      int `json:"op_log_missing"`
	OpLogDuplicated   int `json:"op_log_duplicated"`
	OpLogGaps         int `json:"op_log_gaps"`
	// Editors whose plain-text mirror disagreed with their copy (a tester
	// bug, not a server one).
	MirrorMismatches int `json:"mirror_mismatches"`
}

// DocReport describes one document at the end of the run.
type DocReport struct {
	ID       string `json:"id"`
	Created  bool   `json:"created"` // false: reused from an earlier run
	Version  int64  `json:"version"`
	Bytes    int    `json:"bytes"` // encoded snapshot
	Markers  int    `json:"markers"`
	OpLogOps int    `json:"op_log_ops"`
	Editors  int    `json:"editors"`
	Viewers  int    `json:"viewers"`
}

// problems collects failures per kind with a few examples each.
type problems struct {
	order    []string
	count    map[string]int
	examples map[string][]string
}

const maxExamples = 5

func (p *problems) add(kind, format string, args ...any) {
	if p.count == nil {
		p.count, p.examples = map[string]int{}, map[string][]string{}
	}
	if p.count[kind] == 0 {
		p.order = append(p.order, kind)
	}
	p.count[kind]++
	if len(p.examples[kind]) < maxExamples {
		p.examples[kind] = append(p.examples[kind], fmt.Sprintf(format, args...))
	}
}

func (p *problems) list() []string {
	out := []string{}
	for _, k := range p.order {
		out = append(out, p.examples[k]...)
		if n := p.count[k]; n > len(p.examples[k]) {
			out = append(out, fmt.Sprintf("%s: %d in all", k, n))
		}
	}
	return out
}

// marker states per editor counter.
const (
	mUnknown uint8 = iota
	mAcked
	mDropped
	mOutstanding
)

// verify compares everything and builds the verdict and the per-document
// figures.
func (r *Runner) verify(ctx context.Context, settleNote string) (Verdict, []DocReport) {
	var p problems
	var c VerdictChecks
	if settleNote != "" {
		p.add("settle", "%s", settleNote)
	}
	byDoc := map[*docInfo][]*editor{}
	for _, e := range r.editors {
		byDoc[e.doc] = append(byDoc[e.doc], e)
	}
	viewersByDoc := map[*docInfo][]*viewer{}
	for _, v := range r.viewers {
		viewersByDoc[v.doc] = append(viewersByDoc[v.doc], v)
	}
	var docs []DocReport
	for _, d := range r.docs {
		dr := DocReport{ID: d.id, Created: d.created, Editors: len(byDoc[d]), Viewers: len(viewersByDoc[d])}
		r.verifyDoc(ctx, d, byDoc[d], viewersByDoc[d], &dr, &p, &c)
		docs = append(docs, dr)
	}
	v := Verdict{Reasons: p.list(), Checks: c, Warnings: []string{}}
	v.OK = len(v.Reasons) == 0
	ec := r.st.errorCounts()
	for _, code := range sortedKeys(ec.server) {
		v.Warnings = append(v.Warnings, fmt.Sprintf("server error %s ×%d: %s", code, ec.server[code], ec.samples[code]))
	}
	for _, kind := range sortedKeys(ec.client) {
		v.Warnings = append(v.Warnings, fmt.Sprintf("client error %s ×%d: %s", kind, ec.client[kind], ec.samples[kind]))
	}
	if n := r.st.rolledBack.Load(); n > 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%d typed edits were rolled back after error replies", n))
	}
	return v, docs
}

func (r *Runner) verifyDoc(ctx context.Context, d *docInfo, editors []*editor, viewers []*viewer, dr *DocReport, p *problems, c *VerdictChecks) {
	s, err := r.fetchSnapshot(ctx, d.id)
	if err != nil {
		p.add("server", "cannot read %s from the server: %v", d.id, err)
		return
	}
	dr.Version = s.V
	if s.Type == nil || *s.Type != r.typ.URI() {
		p.add("server", "document %s has type %v on the server", d.id, s.Type)
		return
	}
	snap, err := r.typ.DecodeSnapshot(s.Data)
	if err != nil {
		p.add("server", "document %s: server snapshot does not decode: %v", d.id, err)
		return
	}
	want, _ := r.typ.EncodeSnapshot(snap)
	dr.Bytes = len(want)
	text, err := r.plainOf(snap)
	if err != nil {
		p.add("server", "document %s: %v", d.id, err)
		return
	}
	found := scanMarkers(text, r.tag)
	dr.Markers = len(found)

	// The op log: versions 0..v-1, each (src, seq) once.
	logCount := make(map[string]int)
	next := int64(0)
	err = r.fetchOps(ctx, d.id, s.V, func(op logOp) {
		if op.V != next {
			c.OpLogGaps++
			p.add("oplog-gap", "document %s: op log has v%d where v%d was expected", d.id, op.V, next)
		}
		next = op.V + 1
		logCount[op.Src+"\x00"+strconv.FormatUint(op.Seq, 10)]++
		dr.OpLogOps++
	})
	c.OpLogOps += dr.OpLogOps
	if err != nil {
		p.add("server", "document %s: cannot read the op log: %v", d.id, err)
	} else if next != s.V {
		c.OpLogGaps++
		p.add("oplog-gap", "document %s: op log ends at v%d, snapshot is at v%d", d.id, next, s.V)
	}
	for k, n := range logCount {
		if n > 1 {
			c.OpLogDuplicated++
			src, seq, _ := strings.Cut(k, "\x00")
			p.add("oplog-duplicate", "document %s: src %s seq %s is in the op log %d times", d.id, src, seq, n)
		}
	}

	// Editors: copies, and every acknowledged op once in text and log.
	states := make(map[int][]uint8, len(editors))
	for _, e := range editors {
		e.mu.Lock()
		c.EditorsCompared++
		st := make([]uint8, e.nextMarker)
		for _, a := range e.acked {
			c.AckedOps++
			for n := a.mFrom; n < a.mTo; n++ {
				st[n] = mAcked
			}
			if err == nil && logCount[a.src+"\x00"+strconv.FormatUint(a.seq, 10)] == 0 {
				c.OpLogMissing++
				p.add("oplog-missing", "document %s: editor %d's acknowledged op (src %s seq %d) is not in the op log", d.id, e.idx, a.src, a.seq)
			}
		}
		for _, rg := range e.dropped {
			for n := rg[0]; n < rg[1]; n++ {
				st[n] = mDropped
			}
		}
		for _, q := range []*pendingOp{e.inflight, e.pending} {
			if q != nil {
				for n := q.mFrom; n < q.mTo; n++ {
					st[n] = mOutstanding
				}
			}
		}
		states[e.idx] = st
		if !e.settledLocked() {
			c.EditorsUnsettled++
			p.add("editor-unsettled", "document %s: editor %d was not settled at the end (connected %v, in flight %v, pending %v)",
				d.id, e.idx, e.connected, e.inflight != nil, e.pending != nil)
		}
		switch {
		case !e.haveCopy:
			c.EditorsDiffering++
			p.add("editor-copy", "document %s: editor %d has no copy", d.id, e.idx)
		case e.version != s.V:
			c.EditorsDiffering++
			p.add("editor-copy", "document %s: editor %d is at v%d, the server at v%d", d.id, e.idx, e.version, s.V)
		default:
			got, err := r.typ.EncodeSnapshot(e.snap)
			if err != nil || !bytes.Equal(got, want) {
				c.EditorsDiffering++
				p.add("editor-copy", "document %s: editor %d's copy differs from the server's snapshot at v%d: %s",
					d.id, e.idx, s.V, firstDiff(got, want))
			}
		}
		if r.rich && e.haveCopy {
			mirrorErr := e.syncMirrorLocked()
			if plain, err := r.plainOf(e.snap); mirrorErr != nil || err != nil || plain != e.text {
				c.MirrorMismatches++
				p.add("tester-mirror", "document %s: editor %d's plain-text mirror differs from its copy (tester bug)", d.id, e.idx)
			}
		}
		e.mu.Unlock()
	}
	// Markers: every acknowledged one exactly once, none of the others.
	for k, n := range found {
		ei, m := int(uint64(k)>>32), uint32(k)
		st, ok := states[ei]
		var state uint8
		if ok && int(m) < len(st) {
			state = st[m]
		}
		switch {
		case state == mAcked && n > 1:
			c.MarkersDuplicated++
			p.add("marker-duplicate", "document %s: the marker of edit %s is in the text %d times", d.id, k, n)
		case state == mDropped:
			c.MarkersRolledBack++
			p.add("marker-rolled-back", "document %s: edit %s was refused by the server but is in the text", d.id, k)
		case state == mUnknown:
			c.MarkersUnexpected++
			p.add("marker-unexpected", "document %s: edit %s is in the text but no editor of this document typed it", d.id, k)
		}
	}
	for ei, st := range states {
		for m, s := range st {
			if s != mAcked {
				continue
			}
			c.AckedMarkers++
			if found[mkey(ei, uint32(m))] == 0 {
				c.MarkersMissing++
				p.add("marker-missing", "document %s: acknowledged edit %s is not in the text", d.id, mkey(ei, uint32(m)))
			}
		}
	}
	// Viewers.
	for _, v := range viewers {
		v.mu.Lock()
		c.ViewersCompared++
		switch {
		case !v.have:
			c.ViewersDiffering++
			p.add("viewer-copy", "document %s: viewer %d has no copy", d.id, v.idx)
		case v.failed != "":
			c.ViewersDiffering++
			p.add("viewer-copy", "document %s: viewer %d's copy diverged: %s", d.id, v.idx, v.failed)
		case v.version != s.V:
			c.ViewersDiffering++
			p.add("viewer-copy", "document %s: viewer %d is at v%d, the server at v%d", d.id, v.idx, v.version, s.V)
		default:
			got, err := v.node.encoded(r.typ) // once per copy the viewers share
			if err != nil || !bytes.Equal(got, want) {
				c.ViewersDiffering++
				p.add("viewer-copy", "document %s: viewer %d's copy differs from the server's snapshot at v%d: %s",
					d.id, v.idx, s.V, firstDiff(got, want))
			}
		}
		v.mu.Unlock()
	}
}

// firstDiff shows where two encodings part.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-20)
	return fmt.Sprintf("at byte %d: copy …%q… server …%q…", i, clip(got, from, i+20), clip(want, from, i+20))
}

func clip(b []byte, from, to int) string {
	from, to = min(from, len(b)), min(to, len(b))
	return string(b[from:to])
}

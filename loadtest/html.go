package loadtest

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes a self-contained HTML report: inline SVG charts, inline
// CSS, no scripts, fonts or other external resources.
func (rep *Report) WriteHTML(w io.Writer) error {
	data := struct {
		R                     *Report
		Timeline              template.HTML
		Ack, FanEditor, FanVw template.HTML
		Errors                []countRow
		Memory                []kv
	}{
		R:         rep,
		Timeline:  timelineSVG(rep),
		Ack:       histSVG(rep.Histograms.Ack, rep.Latency.Ack, "#1565c0"),
		FanEditor: histSVG(rep.Histograms.FanoutEditor, rep.Latency.FanoutEditor, "#2e7d32"),
		FanVw:     histSVG(rep.Histograms.FanoutViewer, rep.Latency.FanoutViewer, "#6a1b9a"),
		Errors:    countRows(rep),
		Memory:    memoryRows(rep.Memory),
	}
	return htmlTmpl.Execute(w, data)
}

type countRow struct {
	Kind, Code, Sample string
	Count              uint64
}

func countRows(rep *Report) []countRow {
	var rows []countRow
	for _, g := range []struct {
		kind string
		m    map[string]uint64
	}{{"server error", rep.Errors}, {"client error", rep.ClientErrors}, {"event", rep.Events}} {
		for _, k := range sortedKeys(g.m) {
			rows = append(rows, countRow{Kind: g.kind, Code: k, Count: g.m[k], Sample: rep.ErrorSamples[k]})
		}
	}
	return rows
}

type kv struct{ K, V string }

func memoryRows(m MemoryReport) []kv {
	return []kv{
		{"RSS before connecting", mib(float64(m.BaselineRSSBytes))},
		{"RSS with everyone connected", fmt.Sprintf("%s (%d editors, %d viewers, %d goroutines)", mib(float64(m.ConnectedRSSBytes)), m.EditorsConnected, m.ViewersConnected, m.Goroutines)},
		{"RSS per connection", kib(m.PerConnectionRSSBytes)},
		{"Go heap + stacks per connection", kib(m.PerConnectionHeapBytes)},
		{"RSS at the end / peak", mib(float64(m.EndRSSBytes)) + " / " + mib(float64(m.PeakRSSBytes))},
	}
}

const (
	chartW = 860.0
	chartH = 240.0
	padL   = 56.0
	padR   = 56.0
	padT   = 14.0
	padB   = 34.0
)

// niceStep picks a round axis step for a range.
func niceStep(span float64, ticks int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(ticks)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func fmtNum(v float64) string {
	switch {
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// timelineSVG draws acked, sent and typed ops per second, connected
// editors on the right axis, errors as red ticks, and the phases shaded.
func timelineSVG(rep *Report) template.HTML {
	tl := rep.Timeline
	if len(tl) == 0 {
		return "<p>No timeline.</p>"
	}
	var maxOps, maxConn float64 = 1, 1
	for _, s := range tl {
		maxOps = max(maxOps, float64(s.Acked), float64(s.Sent), float64(s.Typed))
		maxConn = max(maxConn, float64(s.Editors))
	}
	step := niceStep(maxOps, 5)
	maxOps = math.Ceil(maxOps/step) * step
	cstep := niceStep(maxConn, 5)
	maxConn = math.Ceil(maxConn/cstep) * cstep
	n := float64(len(tl))
	iw, ih := chartW-padL-padR, chartH-padT-padB
	x := func(t float64) float64 { return padL + iw*t/n }
	y := func(v float64) float64 { return padT + ih*(1-v/maxOps) }
	yc := func(v float64) float64 { return padT + ih*(1-v/maxConn) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" class="chart" role="img" aria-label="throughput timeline">`, chartW, chartH)
	// Phases.
	p := rep.Phases
	bounds := []struct {
		from, to float64
		name     string
		fill     string
	}{
		{p.SetupS, p.SetupS + p.RampS, "ramp", "#fff8e1"},
		{p.SetupS + p.RampS, p.SetupS + p.RampS + p.MeasureS, "measured", "#e8f5e9"},
		{p.SetupS + p.RampS + p.MeasureS, p.SetupS + p.RampS + p.MeasureS + p.QuietS, "quiet", "#eceff1"},
	}
	for _, ph := range bounds {
		if ph.to <= ph.from {
			continue
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x(ph.from), padT, x(min(ph.to, n))-x(ph.from), ih, ph.fill)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ph">%s</text>`, x(ph.from)+3, padT+11, ph.name)
	}
	// Grid and axes.
	for v := 0.0; v <= maxOps+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, padL, padL+iw, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" text-anchor="end">%s</text>`, padL-4, y(v)+4, fmtNum(v))
	}
	for v := 0.0; v <= maxConn+cstep/2; v += cstep {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" fill="#ef6c00">%s</text>`, padL+iw+4, yc(v)+4, fmtNum(v))
	}
	tstep := niceStep(n, 10)
	for t := 0.0; t <= n; t += tstep {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" text-anchor="middle">%ss</text>`, x(t), chartH-padB+16, fmtNum(t))
	}
	fmt.Fprintf(&b, `<text x="12" y="%.1f" class="ax" transform="rotate(-90 12 %.1f)" text-anchor="middle">ops per second</text>`, padT+ih/2, padT+ih/2)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" fill="#ef6c00" transform="rotate(90 %.1f %.1f)" text-anchor="middle">editors connected</text>`,
		chartW-10, padT+ih/2, chartW-10, padT+ih/2)
	// Acked ops as bars, typed and sent as lines, editors as a line.
	bw := iw / n
	for i, s := range tl {
		if s.Acked > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1565c0" opacity="0.55"><title>%ds: %d acked</title></rect>`,
				x(float64(i))+bw*0.1, y(float64(s.Acked)), bw*0.8, y(0)-y(float64(s.Acked)), s.T, s.Acked)
		}
		if s.Errors > 0 {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c62828" stroke-width="2"><title>%ds: %d errors</title></line>`,
				x(float64(i)+0.5), x(float64(i)+0.5), y(0), y(0)-6, s.T, s.Errors)
		}
	}
	line := func(val func(Second) float64, yf func(float64) float64, color, dash string) {
		var pts []string
		for i, s := range tl {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(i)+0.5), yf(val(s))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" stroke-dasharray="%s" points="%s"/>`, color, dash, strings.Join(pts, " "))
	}
	line(func(s Second) float64 { return float64(s.Sent) }, y, "#0d47a1", "")
	line(func(s Second) float64 { return float64(s.Typed) }, y, "#43a047", "4 3")
	line(func(s Second) float64 { return float64(s.Editors) }, yc, "#ef6c00", "2 2")
	b.WriteString(`</svg>`)
	b.WriteString(`<p class="legend"><span style="color:#1565c0">■ acked</span> <span style="color:#0d47a1">— sent</span> <span style="color:#43a047">- - typed</span> <span style="color:#ef6c00">··· editors connected (right axis)</span> <span style="color:#c62828">| errors</span></p>`)
	return template.HTML(b.String())
}

// histSVG draws a latency histogram on a logarithmic time axis, ten bins
// per decade, with the percentiles marked.
func histSVG(bins []HistBin, sum LatencySummary, color string) template.HTML {
	if len(bins) == 0 {
		return "<p>No samples.</p>"
	}
	lo := math.Floor(math.Log10(max(bins[0].LoMS, 0.001)))
	hi := math.Ceil(math.Log10(max(bins[len(bins)-1].HiMS, 0.01)))
	if hi <= lo {
		hi = lo + 1
	}
	const perDecade = 10
	nb := int((hi - lo) * perDecade)
	counts := make([]float64, nb)
	for _, bn := range bins {
		mid := (bn.LoMS + bn.HiMS) / 2
		i := int((math.Log10(max(mid, 0.001)) - lo) * perDecade)
		counts[min(max(i, 0), nb-1)] += float64(bn.Count)
	}
	var total, maxC float64
	for _, c := range counts {
		total += c
		maxC = max(maxC, c)
	}
	maxPct := maxC / total * 100
	step := niceStep(maxPct, 4)
	maxPct = math.Ceil(maxPct/step) * step
	iw, ih := chartW-padL-padR, chartH-padT-padB
	x := func(logv float64) float64 { return padL + iw*(logv-lo)/(hi-lo) }
	y := func(pct float64) float64 { return padT + ih*(1-pct/maxPct) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" class="chart" role="img" aria-label="latency histogram">`, chartW, chartH)
	for v := 0.0; v <= maxPct+step/2; v += step {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, padL, padL+iw, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" text-anchor="end">%s%%</text>`, padL-4, y(v)+4, fmtNum(v))
	}
	for d := lo; d <= hi; d++ {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, x(d), x(d), padT, padT+ih)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax" text-anchor="middle">%s ms</text>`, x(d), chartH-padB+16, fmtNum(math.Pow(10, d)))
	}
	bw := iw / float64(nb)
	for i, c := range counts {
		if c == 0 {
			continue
		}
		pct := c / total * 100
		from := math.Pow(10, lo+float64(i)/perDecade)
		to := math.Pow(10, lo+float64(i+1)/perDecade)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s–%s ms: %.0f (%.2f%%)</title></rect>`,
			padL+bw*float64(i)+0.5, y(pct), bw-1, y(0)-y(pct), color, fmtNum(from), fmtNum(to), c, pct)
	}
	for qi, q := range []struct {
		name string
		v    float64
	}{{"p50", sum.P50MS}, {"p90", sum.P90MS}, {"p99", sum.P99MS}, {"max", sum.MaxMS}} {
		if q.v <= 0 {
			continue
		}
		xv := x(math.Log10(q.v))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#37474f" stroke-dasharray="3 3"/>`, xv, xv, padT, padT+ih)
		// Labels to the right of their line, staggered so close ones do not collide.
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="ax">%s %s ms</text>`, xv+3, padT+10+float64(qi)*13, q.name, fmtNum(q.v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var htmlTmpl = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>tandem load: {{.R.Config.Editors}} editors, {{.R.Config.Type}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:920px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 16px}
.verdict{padding:12px 16px;border-radius:6px;font-weight:600;margin:16px 0}
.ok{background:#e8f5e9;color:#1b5e20;border:1px solid #a5d6a7}.fail{background:#ffebee;color:#b71c1c;border:1px solid #ef9a9a}
.verdict ul{font-weight:400;margin:8px 0 0}
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#fafafa;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}.card{border:1px solid #e0e0e0;border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:20px}.card span{color:#666;font-size:12px}
.chart{width:100%;height:auto;font-size:11px}.chart .grid{stroke:#eee}.chart .ax{fill:#555;font-size:11px}.chart .ph{fill:#888;font-size:10px}
.legend{font-size:12px;color:#444;margin:2px 0 0}.small{font-size:12px;color:#555}code{font-size:12px}
</style></head><body>
<h1>tandem load</h1>
<p class="sub">{{.R.StartedAt.Format "2006-01-02 15:04:05 UTC"}} · {{.R.Config.Editors}} editors, {{.R.Config.Viewers}} viewers, {{.R.Config.Docs}} {{.R.Config.Type}} documents · rate {{.R.Config.Rate}}/s per editor{{if .R.Config.Idle}} (idle){{end}} · {{.R.Phases.MeasureS}} s measured · seed {{.R.Config.Seed}} · {{range $i, $u := .R.Config.URLs}}{{if $i}}, {{end}}{{$u}}{{end}}</p>
{{if .R.Verdict.OK}}<div class="verdict ok">Verdict: OK. Every editor's copy, every viewer's copy and the server's snapshot are identical; every acknowledged op is in the text and in the op log exactly once.</div>
{{else}}<div class="verdict fail">Verdict: FAILED<ul>{{range .R.Verdict.Reasons}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
<div class="cards">
<div class="card"><b>{{.R.Ops.AckedPerSecond}}</b><span>acked ops/s (measured)</span></div>
<div class="card"><b>{{.R.Latency.Ack.P50MS}} ms</b><span>ack p50 · p99 {{.R.Latency.Ack.P99MS}} ms</span></div>
<div class="card"><b>{{.R.Latency.FanoutEditor.P50MS}} ms</b><span>fan-out to editors p50 · p99 {{.R.Latency.FanoutEditor.P99MS}} ms</span></div>
<div class="card"><b>{{.R.Latency.FanoutViewer.P50MS}} ms</b><span>fan-out to viewers p50 · p99 {{.R.Latency.FanoutViewer.P99MS}} ms</span></div>
</div>
<h2>Throughput</h2>
{{.Timeline}}
<h2>Ops</h2>
<table><tr><th>typed edits</th><th>sent ops</th><th>resent</th><th>acked</th><th>rolled-back edits</th><th>reconnects (editors / viewers)</th></tr>
<tr><td class="n">{{.R.Ops.Typed}}</td><td class="n">{{.R.Ops.Sent}}</td><td class="n">{{.R.Ops.Resent}}</td><td class="n">{{.R.Ops.Acked}}</td><td class="n">{{.R.Ops.RolledBackEdits}}</td><td class="n">{{.R.Reconnects.Editors}} / {{.R.Reconnects.Viewers}}</td></tr></table>
<p class="small">Edits typed while an op is in flight are composed into one pending op, so there can be fewer ops than edits.</p>
<h2>Latency</h2>
<table><tr><th></th><th class="n">samples</th><th class="n">mean</th><th class="n">p50</th><th class="n">p90</th><th class="n">p99</th><th class="n">max (ms)</th></tr>
{{with .R.Latency.Ack}}<tr><td>ack (submit → ack)</td><td class="n">{{.Count}}</td><td class="n">{{.MeanMS}}</td><td class="n">{{.P50MS}}</td><td class="n">{{.P90MS}}</td><td class="n">{{.P99MS}}</td><td class="n">{{.MaxMS}}</td></tr>{{end}}
{{with .R.Latency.FanoutEditor}}<tr><td>fan-out editor → editor</td><td class="n">{{.Count}}</td><td class="n">{{.MeanMS}}</td><td class="n">{{.P50MS}}</td><td class="n">{{.P90MS}}</td><td class="n">{{.P99MS}}</td><td class="n">{{.MaxMS}}</td></tr>{{end}}
{{with .R.Latency.FanoutViewer}}<tr><td>fan-out editor → viewer</td><td class="n">{{.Count}}</td><td class="n">{{.MeanMS}}</td><td class="n">{{.P50MS}}</td><td class="n">{{.P90MS}}</td><td class="n">{{.P99MS}}</td><td class="n">{{.MaxMS}}</td></tr>{{end}}
</table>
<h3>Ack latency</h3>{{.Ack}}
<h3>Fan-out, editor to editor</h3>{{.FanEditor}}
<h3>Fan-out, editor to viewer</h3>{{.FanVw}}
<h2>Errors and events</h2>
{{if .Errors}}<table><tr><th>kind</th><th>code</th><th class="n">count</th><th>first message</th></tr>
{{range .Errors}}<tr><td>{{.Kind}}</td><td><code>{{.Code}}</code></td><td class="n">{{.Count}}</td><td class="small">{{.Sample}}</td></tr>{{end}}</table>
{{else}}<p>None.</p>{{end}}
{{if .R.Verdict.Warnings}}<ul class="small">{{range .R.Verdict.Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Checks</h2>
{{with .R.Verdict.Checks}}<table>
<tr><td>editor copies compared / differing / unsettled</td><td class="n">{{.EditorsCompared}} / {{.EditorsDiffering}} / {{.EditorsUnsettled}}</td></tr>
<tr><td>viewer copies compared / differing</td><td class="n">{{.ViewersCompared}} / {{.ViewersDiffering}}</td></tr>
<tr><td>acknowledged ops / their edits (markers)</td><td class="n">{{.AckedOps}} / {{.AckedMarkers}}</td></tr>
<tr><td>markers missing / duplicated / rolled back but present / unexpected</td><td class="n">{{.MarkersMissing}} / {{.MarkersDuplicated}} / {{.MarkersRolledBack}} / {{.MarkersUnexpected}}</td></tr>
<tr><td>op-log entries / acked ops missing / duplicated src+seq / version gaps</td><td class="n">{{.OpLogOps}} / {{.OpLogMissing}} / {{.OpLogDuplicated}} / {{.OpLogGaps}}</td></tr>
</table>{{end}}
<h2>Documents</h2>
<table><tr><th>id</th><th class="n">version</th><th class="n">bytes</th><th class="n">markers</th><th class="n">op log</th><th class="n">editors</th><th class="n">viewers</th><th>created</th></tr>
{{range .R.Docs}}<tr><td><code>{{.ID}}</code></td><td class="n">{{.Version}}</td><td class="n">{{.Bytes}}</td><td class="n">{{.Markers}}</td><td class="n">{{.OpLogOps}}</td><td class="n">{{.Editors}}</td><td class="n">{{.Viewers}}</td><td>{{if .Created}}yes{{else}}reused{{end}}</td></tr>{{end}}
</table>
<h2>Memory of the load process</h2>
<table>{{range .Memory}}<tr><td>{{.K}}</td><td class="n">{{.V}}</td></tr>{{end}}</table>
<h2>Phases</h2>
<p>setup {{.R.Phases.SetupS}} s · ramp {{.R.Phases.RampS}} s · measured {{.R.Phases.MeasureS}} s · quiet {{.R.Phases.QuietS}} s · checks {{.R.Phases.VerifyS}} s · total {{.R.Phases.TotalS}} s</p>
</body></html>
`))

package loadtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandemhq/tandem/internal/jsonenc"
)

// Every edit an editor types inserts a marker, "[<tag>.<editor>.<n>]" (editor
// and n in base 36, tag naming the run), so that the final text shows
// whether each acknowledged edit was applied exactly once. Editors insert
// only at positions outside markers and delete only filler characters
// outside markers; OT never splits a concurrent insert, so markers survive
// every interleaving intact.

const (
	fillerChars = "etaoinshrdlucmfwypvbgk"
	// maxMarkerScan bounds the backwards scan that tells whether a
	// position lies inside a marker (markers are shorter).
	maxMarkerScan = 48
)

func markerText(tag string, editor int, n uint32) string {
	b := make([]byte, 0, 24)
	b = append(b, '[')
	b = append(b, tag...)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(editor), 36)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(n), 36)
	b = append(b, ']')
	return string(b)
}

// markerKey identifies one typed edit: editor index and its counter.
type markerKey uint64

func mkey(editor int, n uint32) markerKey { return markerKey(uint64(editor)<<32 | uint64(n)) }

func (k markerKey) String() string {
	return fmt.Sprintf("e%d.%d", uint64(k)>>32, uint32(k))
}

// scanMarkers counts this run's markers in text.
func scanMarkers(text, tag string) map[markerKey]int {
	out := make(map[markerKey]int)
	prefix := "[" + tag + "."
	for i := 0; ; {
		j := strings.Index(text[i:], prefix)
		if j < 0 {
			return out
		}
		i += j + len(prefix)
		end := strings.IndexByte(text[i:], ']')
		if end < 0 {
			return out
		}
		body := text[i : i+end]
		dot := strings.IndexByte(body, '.')
		if dot > 0 {
			e, err1 := strconv.ParseUint(body[:dot], 36, 31)
			n, err2 := strconv.ParseUint(body[dot+1:], 36, 32)
			if err1 == nil && err2 == nil {
				out[mkey(int(e), uint32(n))]++
			}
		}
	}
}

func isFiller(c byte) bool { return c == ' ' || (c >= 'a' && c <= 'z') }

// markerStart returns where the marker around byte offset b starts, or b
// when b is not inside one.
func markerStart(s string, b int) int {
	for i := b - 1; i >= 0 && i >= b-maxMarkerScan; i-- {
		switch s[i] {
		case ']':
			return b
		case '[':
			return i
		}
	}
	return b
}

// runeStart moves b back to the start of the character it is in.
func runeStart(s string, b int) int {
	for b > 0 && b < len(s) && !utf8.RuneStart(s[b]) {
		b--
	}
	return b
}

// unitCounter counts positions the way a type does: code points for
// text-unicode, UTF-16 code units for rich-text.
type unitCounter func(s string) int

func countCodePoints(s string) int { return utf8.RuneCountInString(s) }

func countUTF16(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// advanceUTF16 returns the byte length of the first n UTF-16 units of s.
func advanceUTF16(s string, n int) (int, error) {
	i := 0
	for n > 0 {
		if i >= len(s) {
			return i, errors.New("past the end of the text")
		}
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			n--
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if u > n {
			return i, errors.New("offset inside a surrogate pair")
		}
		i += size
		n -= u
	}
	return i, nil
}

// edit is one typed change, described in the plain text's bytes and the
// type's units.
type edit struct {
	pos      int    // units before the change
	ins      string // inserted text (filler and/or marker)
	del      int    // units deleted after the insert (filler only)
	fmtLen   int    // rich-text: units formatted after the insert
	fmtAttrs string // rich-text: attributes JSON object for fmtLen
	// For the plain-text mirror: bytes [b, b+delBytes) are replaced by ins.
	b, delBytes int
}

// nextEdit picks a human-looking edit of text (the editor's own copy):
// mostly short inserts, some deletes, and for rich-text some formatting.
// Each edit inserts marker. The choice depends only on rng and text.
func nextEdit(rng *rand.Rand, text, marker string, units unitCounter, rich bool) edit {
	roll := rng.IntN(100)
	if roll < 25 && len(text) > 0 {
		if e, ok := deleteEdit(rng, text, marker, units); ok {
			return e
		}
	}
	if rich && roll >= 85 && len(text) > 0 {
		return formatEdit(rng, text, marker, units)
	}
	return insertEdit(rng, text, marker, units)
}

// randomBoundary picks a byte offset in [0, len(text)] that is a character
// boundary outside every marker.
func randomBoundary(rng *rand.Rand, text string) int {
	b := rng.IntN(len(text) + 1)
	b = runeStart(text, b)
	return markerStart(text, b)
}

func insertEdit(rng *rand.Rand, text, marker string, units unitCounter) edit {
	b := randomBoundary(rng, text)
	n := 1 + rng.IntN(6)
	var sb strings.Builder
	sb.Grow(n + len(marker) + 1)
	if rng.IntN(4) == 0 {
		sb.WriteByte(' ')
		n--
	}
	for range n {
		sb.WriteByte(fillerChars[rng.IntN(len(fillerChars))])
	}
	sb.WriteString(marker)
	return edit{pos: units(text[:b]), ins: sb.String(), b: b}
}

func deleteEdit(rng *rand.Rand, text, marker string, units unitCounter) (edit, bool) {
	b := randomBoundary(rng, text)
	// Find the next filler character outside markers.
	i, limit := b, min(len(text), b+256)
	for i < limit && !isFiller(text[i]) {
		if text[i] == '[' {
			end := strings.IndexByte(text[i:], ']')
			if end < 0 {
				return edit{}, false
			}
			i += end + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	if i >= limit {
		return edit{}, false
	}
	n := 1 + rng.IntN(5)
	j := i
	for j < len(text) && j-i < n && isFiller(text[j]) {
		j++
	}
	// Filler is ASCII: bytes are units.
	return edit{pos: units(text[:i]), ins: marker, del: j - i, b: i, delBytes: j - i}, true
}

var formatAttrs = []string{
	`{"bold":true}`, `{"bold":null}`, `{"italic":true}`, `{"italic":null}`,
	`{"underline":true}`, `{"color":"#e91e63"}`, `{"color":null}`, `{"bold":true,"italic":true}`,
}

func formatEdit(rng *rand.Rand, text, marker string, units unitCounter) edit {
	b := randomBoundary(rng, text)
	if b == len(text) {
		b = runeStart(text, len(text)-1)
		b = markerStart(text, b)
	}
	end := runeStart(text, min(len(text), b+1+rng.IntN(24)))
	if end <= b {
		_, size := utf8.DecodeRuneInString(text[b:])
		end = b + size
	}
	return edit{pos: units(text[:b]), ins: marker, fmtLen: units(text[b:end]), fmtAttrs: formatAttrs[rng.IntN(len(formatAttrs))], b: b}
}

// applyToPlain returns text after e.
func (e edit) applyToPlain(text string) string {
	return text[:e.b] + e.ins + text[e.b+e.delBytes:]
}

// opJSON returns e as an op of the given type.
func (e edit) opJSON(rich bool) []byte {
	b := make([]byte, 0, 64+len(e.ins))
	b = append(b, '[')
	if rich {
		if e.pos > 0 {
			b = append(b, `{"retain":`...)
			b = strconv.AppendInt(b, int64(e.pos), 10)
			b = append(b, "},"...)
		}
		b = append(b, `{"insert":`...)
		b = jsonenc.AppendString(b, e.ins)
		b = append(b, '}')
		if e.del > 0 {
			b = append(b, `,{"delete":`...)
			b = strconv.AppendInt(b, int64(e.del), 10)
			b = append(b, '}')
		}
		if e.fmtLen > 0 {
			b = append(b, `,{"retain":`...)
			b = strconv.AppendInt(b, int64(e.fmtLen), 10)
			b = append(b, `,"attributes":`...)
			b = append(b, e.fmtAttrs...)
			b = append(b, '}')
		}
	} else {
		if e.pos > 0 {
			b = strconv.AppendInt(b, int64(e.pos), 10)
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, e.ins)
		if e.del > 0 {
			b = append(b, `,{"d":`...)
			b = strconv.AppendInt(b, int64(e.del), 10)
			b = append(b, '}')
		}
	}
	return append(b, ']')
}

// startTypingLocked begins typing once the editor has its document.
func (e *editor) startTypingLocked() {
	if e.r.cfg.Idle {
		return
	}
	if e.r.cfg.Rate == 0 {
		e.kickLocked()
		return
	}
	if !e.scheduled && e.r.typing.Load() {
		e.scheduled = true
		first := time.Duration(e.rng.Float64() * float64(time.Second) / e.r.cfg.Rate)
		e.r.sched.add(e.r.st.now()+first, e)
	}
}

// kickLocked types the next edit at once in rate-0 mode when nothing is
// outstanding.
func (e *editor) kickLocked() {
	if e.r.cfg.Rate != 0 || e.r.cfg.Idle || !e.r.typing.Load() || e.closed {
		return
	}
	if e.haveCopy && e.connected && e.inflight == nil && e.pending == nil {
		e.typeLocked()
	}
}

// tick is called by the scheduler: type one edit and schedule the next.
func (e *editor) tick() {
	e.mu.Lock()
	if e.closed || !e.r.typing.Load() {
		e.scheduled = false
		e.mu.Unlock()
		return
	}
	if e.haveCopy {
		e.typeLocked()
	}
	next := e.nextDelayLocked()
	e.mu.Unlock()
	e.r.sched.add(e.r.st.now()+next, e)
}

// Typing rhythm: bursts of burstMean edits on average, typed at
// burstSpeedup times the requested rate, separated by exponentially
// distributed pauses sized so the long-run average is the requested rate.
const (
	burstMean    = 5.0
	burstSpeedup = 5.0
)

func (e *editor) nextDelayLocked() time.Duration {
	rate := e.r.cfg.Rate
	if e.burstLeft > 0 {
		e.burstLeft--
		gap := (0.5 + e.rng.Float64()) / (burstSpeedup * rate)
		return time.Duration(gap * float64(time.Second))
	}
	n := 0 // extra edits in the next burst: geometric, mean burstMean-1
	for n < 50 && e.rng.Float64() > 1/burstMean {
		n++
	}
	e.burstLeft = n
	pause := (burstMean - (burstMean-1)/burstSpeedup) / rate
	return time.Duration(e.rng.ExpFloat64() * pause * float64(time.Second))
}

// typeLocked makes one edit on the local copy and composes it into the
// pending op, as a sharedb submitOp does.
func (e *editor) typeLocked() {
	marker := markerText(e.r.tag, e.idx, e.nextMarker)
	var text string
	if e.r.rich {
		_ = e.syncMirrorLocked() // on failure it has rebuilt the mirror from the copy
		text = e.text
	} else {
		text = e.snap.(string)
	}
	ed := nextEdit(e.rng, text, marker, e.r.units, e.r.rich)
	op, err := e.r.typ.DecodeOp(ed.opJSON(e.r.rich))
	if err != nil {
		e.r.st.clientError("LOCAL_OP_INVALID", fmt.Sprintf("editor %d: %v: %s", e.idx, err, ed.opJSON(e.r.rich)))
		return
	}
	snap, err := e.r.typ.Apply(e.snap, op)
	if err != nil {
		e.r.st.clientError("LOCAL_OP_INVALID", fmt.Sprintf("editor %d: %v: %s", e.idx, err, ed.opJSON(e.r.rich)))
		return
	}
	if e.pending == nil {
		e.pending = &pendingOp{op: op, mFrom: e.nextMarker, mTo: e.nextMarker + 1}
	} else {
		c, err := e.r.typ.Compose(e.pending.op, op)
		if err != nil {
			e.r.st.clientError("COMPOSE_FAILED", fmt.Sprintf("editor %d: %v", e.idx, err))
			return
		}
		e.pending.op = c
		e.pending.mTo = e.nextMarker + 1
	}
	e.snap = snap
	if e.r.rich {
		e.text = ed.applyToPlain(text)
		e.ascii = e.ascii && isASCII(ed.ins)
	}
	e.nextMarker++
	now := e.r.st.now()
	e.r.st.typed.Add(1)
	e.r.st.sec(now).typed.Add(1)
	e.flushLocked()
}

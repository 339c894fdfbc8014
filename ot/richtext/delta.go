package richtext

import (
	"fmt"
	"math"
	"strings"

	"github.com/tandemhq/tandem/ot"
)

type kind uint8

const (
	kText  kind = iota // insert of a string
	kEmbed             // insert of an object
	kRetain
	kDelete
)

// op is one Delta component. Values are immutable once built: strings and
// attribute sets are shared between inputs and outputs, never written.
type op struct {
	// s is the inserted text (kText) or the canonical JSON of the embed
	// (kEmbed).
	s string
	// n is the length in UTF-16 code units (an embed counts 1).
	n     int
	attrs *attrSet
	kind  kind
}

func (o *op) isInsert() bool { return o.kind <= kEmbed }

// inf stands for JavaScript's Infinity: the length an exhausted iterator
// reports.
const inf = math.MaxInt

// lenCap bounds merged retain and delete lengths so sums never overflow.
const lenCap = 1 << 60

func addLen(a, b int) int {
	if s := a + b; s < lenCap {
		return s
	}
	return lenCap
}

// errSplit is set by an iterator asked to cut a surrogate pair in two.
func errSplit(what string) error {
	return fmt.Errorf("%w: %s would cut a surrogate pair in two", ot.ErrLoneSurrogate, what)
}

// iter is quill-delta's Op iterator. It walks ops, then the ops of each
// chunk in more (a chunked document); it never rests at the end of a
// chunk that has a successor.
type iter struct {
	ops  []op
	more []chunk
	i    int
	off  int // UTF-16 units of ops[i] already consumed
	boff int // bytes of ops[i].s already consumed (text)
	// split is set when a next call had to cut a surrogate pair.
	split bool
}

func (it *iter) hasNext() bool { return it.i < len(it.ops) }

func (it *iter) peekLength() int {
	if it.i < len(it.ops) {
		return it.ops[it.i].n - it.off
	}
	return inf
}

// peekKind returns kText for any insert, kRetain when exhausted.
func (it *iter) peekKind() kind {
	if it.i < len(it.ops) {
		if k := it.ops[it.i].kind; k != kEmbed {
			return k
		}
		return kText
	}
	return kRetain
}

// step moves to the next op, and to the next chunk at the end of one.
func (it *iter) step() {
	it.i++
	it.off, it.boff = 0, 0
	if it.i == len(it.ops) && len(it.more) > 0 {
		it.ops, it.more, it.i = it.more[0].ops, it.more[1:], 0
	}
}

// next consumes up to length units (all of the current op if length <= 0).
func (it *iter) next(length int) op {
	if it.i >= len(it.ops) {
		return op{kind: kRetain, n: inf}
	}
	o := &it.ops[it.i]
	rem := o.n - it.off
	if length <= 0 || length >= rem {
		r := op{kind: o.kind, n: rem}
		switch o.kind {
		case kText:
			r.s, r.attrs = o.s[it.boff:], o.attrs
		case kEmbed:
			r.s, r.attrs = o.s, o.attrs
		case kRetain:
			r.attrs = o.attrs
		}
		it.step()
		return r
	}
	r := op{kind: o.kind, n: length}
	switch o.kind {
	case kText:
		var end int
		if len(o.s) == o.n { // ASCII: bytes are units
			end = it.boff + length
		} else {
			var ok bool
			if end, ok = advance(o.s, it.boff, length); !ok {
				it.split = true
			}
		}
		r.s, r.attrs = o.s[it.boff:end], o.attrs
		it.boff = end
	case kRetain:
		r.attrs = o.attrs
	}
	it.off += length
	return r
}

// rest is Iterator.rest: the remaining ops, without moving the iterator.
// The current op, if partly consumed, comes apart as first; then the rest
// of the current chunk (tail) and the following chunks (more).
func (it *iter) rest() (first op, hasFirst bool, tail []op, more []chunk) {
	if !it.hasNext() {
		return op{}, false, nil, nil
	}
	if it.off == 0 {
		return op{}, false, it.ops[it.i:], it.more
	}
	save := *it
	first = it.next(0)
	tail, more = it.ops[it.i:], it.more
	*it = save
	return first, true, tail, more
}

// writer builds a Delta with quill-delta's push rules. Text merged into an
// op is collected as pieces and joined once (flush), so merging into a long
// run costs one copy however many pieces arrive.
type writer struct {
	ops     []op
	pend    []string // pieces of ops[pendIdx].s while pendIdx >= 0
	pendIdx int
	// nonIns counts retain and delete ops in ops.
	nonIns int
}

func newWriter(capacity int) writer {
	return writer{ops: make([]op, 0, capacity), pendIdx: -1}
}

func (w *writer) flush() {
	if w.pendIdx < 0 {
		return
	}
	w.ops[w.pendIdx].s = strings.Join(w.pend, "")
	clear(w.pend)
	w.pend = w.pend[:0]
	w.pendIdx = -1
}

func (w *writer) mergeText(i int, s string, n int) {
	if w.pendIdx != i {
		w.flush()
		w.pendIdx = i
		w.pend = append(w.pend, w.ops[i].s)
	}
	w.pend = append(w.pend, s)
	w.ops[i].n += n
}

func (w *writer) count(o *op, d int) {
	if !o.isInsert() {
		w.nonIns += d
	}
}

// push is Delta.push. It reports whether newOp was appended as the new last
// op (the reference's isEqual(last op, newOp) check in compose).
func (w *writer) push(newOp op) bool {
	idx := len(w.ops)
	if idx > 0 {
		last := &w.ops[idx-1]
		if newOp.kind == kDelete && last.kind == kDelete {
			*last = op{kind: kDelete, n: addLen(last.n, newOp.n)}
			return false
		}
		// Since it does not matter if we insert before or after deleting at
		// the same index, always prefer to insert first.
		if last.kind == kDelete && newOp.isInsert() {
			idx--
			if idx == 0 {
				w.insertAt(0, newOp)
				return false
			}
			last = &w.ops[idx-1]
		}
		if attrsEqual(newOp.attrs, last.attrs) {
			if newOp.kind == kText && last.kind == kText {
				w.mergeText(idx-1, newOp.s, newOp.n)
				last.attrs = newOp.attrs
				return false
			}
			if newOp.kind == kRetain && last.kind == kRetain {
				last.n = addLen(last.n, newOp.n)
				last.attrs = newOp.attrs
				return false
			}
		}
	}
	if idx == len(w.ops) {
		w.ops = append(w.ops, newOp)
		w.count(&newOp, 1)
		return true
	}
	w.insertAt(idx, newOp)
	return false
}

func (w *writer) insertAt(i int, o op) {
	w.ops = append(w.ops, op{})
	copy(w.ops[i+1:], w.ops[i:])
	w.ops[i] = o
	if w.pendIdx >= i {
		w.pendIdx++
	}
	w.count(&o, 1)
}

// retain is Delta.retain.
func (w *writer) retain(n int, a *attrSet) {
	if n <= 0 {
		return
	}
	w.push(op{kind: kRetain, n: n, attrs: nonEmpty(a)})
}

// delete is Delta.delete.
func (w *writer) delete(n int) {
	if n <= 0 {
		return
	}
	w.push(op{kind: kDelete, n: n})
}

// chop is Delta.chop: drop a trailing retain without attributes.
func (w *writer) chop() {
	if k := len(w.ops); k > 0 {
		last := &w.ops[k-1]
		if last.kind == kRetain && last.attrs == nil {
			w.count(last, -1)
			w.ops = w.ops[:k-1]
		}
	}
}

func (w *writer) finish() []op {
	w.flush()
	return w.ops
}

// composeLoop is the main loop of Delta.compose, run after the leading
// retain step. It returns true when it stopped at the reference's "rest of
// other is just retain" shortcut: the caller then appends thisIter.rest()
// (its first op through push, the others verbatim) and chops.
func composeLoop(w *writer, thisIter, otherIter *iter) (shortcut bool, err error) {
	for thisIter.hasNext() || otherIter.hasNext() {
		if otherIter.peekKind() == kText {
			w.push(otherIter.next(0))
		} else if thisIter.peekKind() == kDelete {
			w.push(thisIter.next(0))
		} else {
			length := min(thisIter.peekLength(), otherIter.peekLength())
			thisOp := thisIter.next(length)
			otherOp := otherIter.next(length)
			if thisIter.split {
				return false, errSplit("a retain or delete")
			}
			if otherOp.kind == kRetain {
				var newOp op
				if thisOp.kind == kRetain {
					newOp = op{kind: kRetain, n: length}
				} else {
					newOp = op{kind: thisOp.kind, s: thisOp.s, n: thisOp.n}
				}
				// Preserve null when composing with a retain, otherwise
				// remove it for inserts.
				newOp.attrs = composeAttrs(thisOp.attrs, otherOp.attrs, thisOp.kind == kRetain)
				appended := w.push(newOp)
				// Optimization if rest of other is just retain (the
				// reference checks isEqual(last op, newOp), true exactly
				// when push appended it).
				if !otherIter.hasNext() && appended {
					return true, nil
				}
			} else if otherOp.kind == kDelete && thisOp.kind == kRetain {
				w.push(otherOp)
			}
			// Other op should be delete, we could be an insert or retain.
			// Insert + delete cancels out.
		}
	}
	return false, nil
}

// leadingRetain is the length of b's first op if it is a retain without
// attributes (the reference's fast path), else 0.
func leadingRetain(b []op) int {
	if len(b) > 0 && b[0].kind == kRetain && b[0].attrs == nil {
		return b[0].n
	}
	return 0
}

// compose is Delta.compose(a, b). It reports how many retain and delete ops
// the result holds.
func compose(a, b []op) ([]op, int, error) {
	thisIter := iter{ops: a}
	otherIter := iter{ops: b}
	w := newWriter(len(a) + len(b) + 1)
	if first := leadingRetain(b); first > 0 {
		firstLeft := first
		k := 0
		for k < len(a) && a[k].isInsert() && a[k].n <= firstLeft {
			firstLeft -= a[k].n
			k++
		}
		w.ops = append(w.ops, a[:k]...)
		thisIter.i = k
		if first-firstLeft > 0 {
			otherIter.next(first - firstLeft)
		}
	}
	shortcut, err := composeLoop(&w, &thisIter, &otherIter)
	if err != nil {
		return nil, 0, err
	}
	if shortcut {
		first, hasFirst, tail, _ := thisIter.rest()
		if hasFirst {
			w.push(first)
		} else if len(tail) > 0 {
			w.push(tail[0])
			tail = tail[1:]
		}
		w.flush()
		for i := range tail {
			w.count(&tail[i], 1)
		}
		w.ops = append(w.ops, tail...)
	}
	w.chop()
	return w.finish(), w.nonIns, nil
}

// transform is Delta(this).transform(Delta(other), priority).
func transform(this, other []op, priority bool) []op {
	thisIter := iter{ops: this}
	otherIter := iter{ops: other}
	w := newWriter(len(this) + len(other) + 1)
	for thisIter.hasNext() || otherIter.hasNext() {
		if thisIter.peekKind() == kText && (priority || otherIter.peekKind() != kText) {
			w.retain(thisIter.next(0).n, nil)
		} else if otherIter.peekKind() == kText {
			w.push(otherIter.next(0))
		} else {
			length := min(thisIter.peekLength(), otherIter.peekLength())
			thisOp := thisIter.next(length)
			otherOp := otherIter.next(length)
			switch {
			case thisOp.kind == kDelete:
				// Our delete either makes their delete redundant or removes
				// their retain.
			case otherOp.kind == kDelete:
				w.push(otherOp)
			default:
				// We retain either their retain or insert.
				w.retain(length, transformAttrs(thisOp.attrs, otherOp.attrs, priority))
			}
		}
	}
	w.chop()
	return w.finish()
}

// transformPosition is Delta.transformPosition(index, priority).
func transformPosition(ops []op, index int, priority bool) int {
	offset := 0
	for i := 0; i < len(ops) && offset <= index; i++ {
		length := ops[i].n
		switch ops[i].kind {
		case kDelete:
			index -= min(length, index-offset)
			continue
		case kText, kEmbed:
			if offset < index || !priority {
				index += length
			}
		}
		offset += length
	}
	return index
}

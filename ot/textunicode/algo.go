package textunicode

import "strings"

// This file ports the op walking machinery of ot-text-unicode 4.0.0
// (dist/type.js): makeAppend, makeTake, trim, transform and compose. The
// structure follows the reference closely so that every tie and every
// component boundary comes out the same.

// opBuilder is the reference's makeAppend + trim: it drops empty
// components and merges a component into the previous one of the same
// kind. Texts merged into one component are joined once, at the end, so a
// long run of merges stays linear. A builder lives on the stack: it holds
// the first components in an array and copies the result into one
// allocation of the right size.
type opBuilder struct {
	small  [8]Component
	n      int      // components in small while big is nil
	big    Op       // all the components, once small is full
	pieces []string // texts of the last component while it is being merged
	merged bool     // the last component has been merged into already
}

// comps returns the components built so far.
func (b *opBuilder) comps() []Component {
	if b.big != nil {
		return b.big
	}
	return b.small[:b.n]
}

func (b *opBuilder) add(c Component) {
	switch {
	case b.big != nil:
		b.big = append(b.big, c)
	case b.n < len(b.small):
		b.small[b.n] = c
		b.n++
	default:
		b.big = make(Op, 0, 4*len(b.small))
		b.big = append(b.big, b.small[:]...)
		b.big = append(b.big, c)
	}
}

func (b *opBuilder) push(c Component) {
	if c.n == 0 {
		return // 0, "", {d:0}, {d:""}: a no-op
	}
	if cs := b.comps(); len(cs) > 0 {
		last := &cs[len(cs)-1]
		switch {
		case c.k == KindSkip && last.k == KindSkip:
			last.n += c.n
			return
		case c.k == KindInsert && last.k == KindInsert,
			c.k == KindDeleteText && last.k == KindDeleteText:
			// Inserts concatenate; two textual deletes stay textual. The
			// first merge concatenates at once, later ones collect pieces.
			switch {
			case !b.merged:
				last.s += c.s
				b.merged = true
			case len(b.pieces) == 0:
				b.pieces = append(b.pieces, last.s, c.s)
			default:
				b.pieces = append(b.pieces, c.s)
			}
			last.n += c.n
			return
		case c.isDelete() && last.isDelete():
			// A textual and a numeric delete merge to a numeric one: the
			// reference discards the invert information.
			last.k, last.s = KindDelete, ""
			last.n += c.n
			clear(b.pieces)
			b.pieces = b.pieces[:0]
			b.merged = true
			return
		}
		if b.merged {
			b.flush()
		}
	}
	b.add(c)
}

// flush finishes merging into the last component.
func (b *opBuilder) flush() {
	b.merged = false
	if len(b.pieces) > 0 {
		cs := b.comps()
		cs[len(cs)-1].s = strings.Join(b.pieces, "")
		clear(b.pieces)
		b.pieces = b.pieces[:0]
	}
}

// done returns the op, with its trailing skip trimmed (there is at most
// one, as push merges skips), in a new *Op of the right size.
func (b *opBuilder) done() *Op {
	b.flush()
	cs := b.comps()
	if n := len(cs); n > 0 && cs[n-1].k == KindSkip {
		cs = cs[:n-1]
	}
	box := newOp(len(cs))
	*box = append(*box, cs...)
	return box
}

// taker is the reference's makeTake: it hands out op's components, split
// where asked.
type taker struct {
	op   Op
	idx  int // the next component to take
	off  int // code points of op[idx] already taken
	boff int // bytes of op[idx].s already taken
}

// indivisible says which component kind take never splits.
type indivisible uint8

const (
	keepInserts indivisible = iota // transform: inserts stay whole
	keepDeletes                    // compose: deletes stay whole
)

// take returns up to n code points' worth of the next component. Past the
// end of the op it returns a skip of n: the op skips forever.
func (t *taker) take(n int, keep indivisible) Component {
	if t.idx == len(t.op) {
		return Component{k: KindSkip, n: n}
	}
	c := &t.op[t.idx]
	rest := c.n - t.off
	whole := rest <= n ||
		(c.k == KindInsert && keep == keepInserts) ||
		(c.isDelete() && keep == keepDeletes)
	if whole {
		return t.takeRest()
	}
	part := Component{k: c.k, n: n}
	if c.k == KindInsert || c.k == KindDeleteText {
		end, _ := advance(c.s, t.boff, n)
		part.s = c.s[t.boff:end]
		t.boff = end
	}
	t.off += n
	return part
}

// takeRest returns the rest of the next component (the reference's
// take(-1)); ok is false at the end of the op.
func (t *taker) takeAll() (Component, bool) {
	if t.idx == len(t.op) {
		return Component{}, false
	}
	return t.takeRest(), true
}

func (t *taker) takeRest() Component {
	c := t.op[t.idx]
	part := Component{k: c.k, n: c.n - t.off}
	if c.k == KindInsert || c.k == KindDeleteText {
		part.s = c.s[t.boff:]
	}
	t.idx++
	t.off, t.boff = 0, 0
	return part
}

// peekInsert reports whether the next component is an insert.
func (t *taker) peekInsert() bool {
	return t.idx < len(t.op) && t.op[t.idx].k == KindInsert
}

// transform is the reference's transform(op1, op2, side) with left set
// when side is "left". Both ops must be valid.
func transform(op1, op2 Op, left bool) *Op {
	var out opBuilder
	t := taker{op: op1}
	for _, c2 := range op2 {
		switch c2.k {
		case KindSkip:
			for length := c2.n; length > 0; {
				c1 := t.take(length, keepInserts)
				out.push(c1)
				if c1.k != KindInsert {
					length -= c1.n
				}
			}
		case KindInsert:
			// At a tie the left op's insert goes first; the reference moves
			// only the one component it peeks at.
			if left && t.peekInsert() {
				out.push(t.takeRest())
			}
			out.push(Component{k: KindSkip, n: c2.n})
		default: // delete
			for length := c2.n; length > 0; {
				c1 := t.take(length, keepInserts)
				switch c1.k {
				case KindSkip:
					length -= c1.n
				case KindInsert:
					out.push(c1)
				default:
					// Already deleted by op2.
					length -= c1.n
				}
			}
		}
	}
	for {
		c, ok := t.takeAll()
		if !ok {
			break
		}
		out.push(c)
	}
	return out.done()
}

// compose is the reference's compose(op1, op2). Both ops must be valid.
func compose(op1, op2 Op) *Op {
	var out opBuilder
	t := taker{op: op1}
	for _, c2 := range op2 {
		switch c2.k {
		case KindSkip:
			for length := c2.n; length > 0; {
				chunk := t.take(length, keepDeletes)
				out.push(chunk)
				if !chunk.isDelete() {
					length -= chunk.n
				}
			}
		case KindInsert:
			out.push(c2)
		default: // delete
			length := c2.n
			off, boff := 0, 0 // code points and bytes of c2 handled
			for off < length {
				chunk := t.take(length-off, keepDeletes)
				switch chunk.k {
				case KindSkip:
					// op2 deletes text op1 kept.
					d := Component{k: c2.k, n: chunk.n}
					if c2.k == KindDeleteText {
						end, _ := advance(c2.s, boff, chunk.n)
						d.s = c2.s[boff:end]
						boff = end
					}
					out.push(d)
					off += chunk.n
				case KindInsert:
					// op2 deletes text op1 inserted: both vanish.
					if c2.k == KindDeleteText {
						boff, _ = advance(c2.s, boff, chunk.n)
					}
					off += chunk.n
				default:
					out.push(chunk)
				}
			}
		}
	}
	for {
		c, ok := t.takeAll()
		if !ok {
			break
		}
		out.push(c)
	}
	return out.done()
}

// transformPosition is the reference's transformPosition: cursor moves
// past inserts before it (not at it) and back over deletes before it.
func transformPosition(cursor int, op Op) int {
	pos := 0
	for i := 0; i < len(op) && cursor > pos; i++ {
		c := op[i]
		switch c.k {
		case KindSkip:
			pos += c.n
		case KindInsert:
			pos += c.n
			cursor += c.n
		default:
			cursor -= min(c.n, cursor-pos)
		}
	}
	return cursor
}

// invert is the reference's invert: inserts become textual deletes and
// textual deletes inserts. ok is false when a delete lacks its text.
func invert(op Op) (*Op, bool) {
	var out opBuilder
	for _, c := range op {
		switch c.k {
		case KindSkip:
			out.push(c)
		case KindInsert:
			out.push(Component{k: KindDeleteText, n: c.n, s: c.s})
		case KindDeleteText:
			out.push(Component{k: KindInsert, n: c.n, s: c.s})
		default:
			return nil, false
		}
	}
	return out.done(), true
}

// makeInvertible is the reference's makeInvertible: every numeric delete
// gets the text it deletes from doc. Like the reference's uniSlice, the part
// of a delete past the end of doc gets no text (and an empty delete
// disappears).
func makeInvertible(op Op, doc string) Op {
	var out opBuilder
	bpos := 0 // byte offset in doc
	lag := 0  // code points still to move forward from bpos
	for _, c := range op {
		switch c.k {
		case KindSkip:
			lag += c.n
			out.push(c)
		case KindDelete:
			bpos, lag = advance(doc, bpos, lag)
			if lag > 0 {
				// Entirely past the end of doc: uniSlice gives "".
				lag += c.n
				continue
			}
			end, missing := advance(doc, bpos, c.n)
			out.push(Component{k: KindDeleteText, n: c.n - missing, s: doc[bpos:end]})
			bpos, lag = end, missing
		case KindDeleteText:
			lag += c.n
			out.push(c)
		default:
			out.push(c)
		}
	}
	return *out.done()
}

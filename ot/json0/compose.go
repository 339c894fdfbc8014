package json0

import "github.com/tandemhq/tandem/ot"

// pathMatches is the reference's pathMatches(p1, p2) (strict equality of
// every segment).
func pathMatches(a, b []seg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strictEq(a[i], b[i]) {
			return false
		}
	}
	return true
}

// jsonAppend is the reference's json.append(dest, c): it adds c to the end
// of dest, merging it into the last component where the reference does.
// dest must be owned by the caller (its last element may be rewritten).
func jsonAppend(dest []Component, c Component) ([]Component, error) {
	if len(dest) == 0 {
		return append(dest, c), nil
	}
	last := &dest[len(dest)-1]

	if c.isStr() && last.isStr() {
		// Both are old-style string ops: compared and composed as text0
		// on the string they edit.
		if len(c.p) == 0 || len(last.p) == 0 {
			return nil, ot.InvalidOpf("component missing position field")
		}
		if !pathMatches(c.p[:len(c.p)-1], last.p[:len(last.p)-1]) {
			return append(dest, c), nil
		}
		lt, err := last.asText()
		if err != nil {
			return nil, err
		}
		ct, err := c.asText()
		if err != nil {
			return nil, err
		}
		var buf [2]tcomp
		buf[0] = lt
		res, err := text0Append(buf[:1], ct) // text0 compose of [lt] and [ct]
		if err != nil {
			return nil, err
		}
		// text0 compose of one component onto one gives one (merged, or
		// c was empty) or two (last and c unchanged).
		if len(res) == 2 {
			return append(dest, c), nil
		}
		r := res[0]
		if r.p != lt.p { // a merged delete starts where c does
			p := make([]seg, len(last.p))
			copy(p, last.p)
			p[len(p)-1] = intSeg(r.p)
			last.p = p
		}
		if r.del {
			last.s, last.has = r.s, last.has|hSd
		} else {
			last.s, last.has = r.s, last.has|hSi
		}
		return dest, nil
	}

	if !pathMatches(c.p, last.p) {
		return append(dest, c), nil
	}
	switch {
	case c.is(hT) && last.is(hT):
		o, err := text0Compose(last.o, c.o)
		if err != nil {
			return nil, err
		}
		last.o = o
	case last.is(hNa) && c.is(hNa):
		*last = Component{p: last.p, has: hNa, num: last.num + c.num}
	case last.is(hLi) && !c.is(hLi) && c.is(hLd) && jsStrictEqValue(c.del, last.ins):
		// An insert directly followed by its delete cancels.
		if last.is(hLd) {
			last.has &^= hLi
			last.ins = nil
		} else {
			dest = dest[:len(dest)-1]
		}
	case last.is(hOd) && !last.is(hOi) && c.is(hOi) && !c.is(hOd):
		last.ins, last.has = c.ins, last.has|hOi
	case last.is(hOi) && c.is(hOd):
		// Something the last component inserted is deleted (or replaced).
		if c.is(hOi) {
			last.ins = c.ins
		} else if last.is(hOd) {
			last.has &^= hOi
			last.ins = nil
		} else {
			dest = dest[:len(dest)-1]
		}
	case c.is(hLm) && strictEq(segAt(c.p, len(c.p)-1), c.lm()):
		// A move to where it already is does nothing.
	default:
		dest = append(dest, c)
	}
	return dest, nil
}

// compose is json.compose(op1, op2).
func compose(a, b Op) (Op, error) {
	out := make(Op, len(a), len(a)+len(b))
	copy(out, a)
	var err error
	for _, c := range b {
		if out, err = jsonAppend(out, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// invert is json.invert(op).
func invert(op Op) Op {
	out := make(Op, len(op))
	for i := range op {
		out[len(op)-1-i] = invertComponent(&op[i])
	}
	return out
}

func invertComponent(c *Component) Component {
	r := Component{p: c.p}
	if c.is(hT) {
		r.o, r.has = text0Invert(c.o), r.has|hT
	}
	if c.is(hSi) {
		r.s, r.has = c.s, r.has|hSd
	}
	if c.is(hSd) {
		r.s, r.has = c.s, r.has|hSi
	}
	if c.is(hOi) {
		r.del, r.has = c.ins, r.has|hOd
	}
	if c.is(hOd) {
		r.ins, r.has = c.del, r.has|hOi
	}
	if c.is(hLi) {
		r.del, r.has = c.ins, r.has|hLd
	}
	if c.is(hLd) {
		r.ins, r.has = c.del, r.has|hLi
	}
	if c.is(hNa) {
		r.num, r.has = -c.num, r.has|hNa
	}
	if c.is(hLm) {
		r.setLm(segAt(c.p, len(c.p)-1))
		r.has |= hLm
		p := make([]seg, len(c.p))
		copy(p, c.p)
		if len(p) > 0 {
			p[len(p)-1] = c.lm()
		} else {
			p = append(p, c.lm()) // c.p.slice(0, -1).concat([c.lm()])
		}
		r.p = p
	}
	return r
}

package json0

// commonLengthForOps is the reference's commonLengthForOps(a, b): ok is false
// where it returns null.
func commonLengthForOps(a, b *Component) (int, bool) {
	alen, blen := len(a.p), len(b.p)
	if a.is(hNa | hT) {
		alen++
	}
	if b.is(hNa | hT) {
		blen++
	}
	if alen == 0 {
		return -1, true
	}
	if blen == 0 {
		return 0, false
	}
	alen--
	blen--
	for i := 0; i < alen; i++ {
		if i >= blen || !strictEq(segAt(a.p, i), segAt(b.p, i)) {
			return 0, false
		}
	}
	return alen, true
}

// pathWriter gives copy-on-write access to a component's path, with
// JavaScript's array semantics for out-of-range writes.
type pathWriter struct {
	c     *Component
	owned bool
}

func (w *pathWriter) set(i int, v seg) {
	if i < 0 {
		return // p[-1] = x sets a property, not an element
	}
	if !w.owned {
		n := max(len(w.c.p), i+1)
		p := make([]seg, len(w.c.p), n)
		copy(p, w.c.p)
		w.c.p = p
		w.owned = true
	}
	for len(w.c.p) <= i {
		w.c.p = append(w.c.p, seg{}) // holes read as undefined
	}
	w.c.p[i] = v
}

func (w *pathWriter) inc(i int) { w.set(i, inc(segAt(w.c.p, i))) }
func (w *pathWriter) dec(i int) { w.set(i, dec(segAt(w.c.p, i))) }

// transformComponent is the reference's json.transformComponent: it
// appends c, transformed to apply after otherC, to dest.
func transformComponent(dest []Component, c, otherC Component, left bool) ([]Component, error) {
	w := pathWriter{c: &c}
	common, hasCommon := commonLengthForOps(&otherC, &c)
	common2, hasCommon2 := commonLengthForOps(&c, &otherC)
	cplength, otherCplength := len(c.p), len(otherC.p)
	if c.is(hNa | hT) {
		cplength++
	}
	if otherC.is(hNa | hT) {
		otherCplength++
	}

	// If c deletes something that otherC changes, carry the change into
	// the deleted value so c stays invertible.
	if hasCommon2 && otherCplength > cplength && looseEq(segAt(c.p, common2), segAt(otherC.p, common2)) {
		if c.is(hLd) || c.is(hOd) {
			oc := otherC
			oc.p = otherC.p[min(cplength, len(otherC.p)):]
			if c.is(hLd) {
				v, err := applyComponent(c.del, &oc, nil)
				if err != nil {
					return nil, err
				}
				c.del = v
			} else {
				v, err := applyComponent(c.del, &oc, nil)
				if err != nil {
					return nil, err
				}
				c.del = v
			}
		}
	}

	if hasCommon {
		commonOperand := cplength == otherCplength
		at := func(p []seg) seg { return segAt(p, common) }

		switch {
		case c.isStr() && otherC.isStr():
			// Both are old-style string ops: transform them as text0.
			co, err := c.asText()
			if err != nil {
				return nil, err
			}
			oco, err := otherC.asText()
			if err != nil {
				return nil, err
			}
			var buf [2]tcomp
			res, err := text0TransformComponent(buf[:0], co, oco, left) // text0 transform of [co] by [oco]
			if err != nil {
				return nil, err
			}
			base := c.p[:len(c.p)-1]
			for _, r := range res {
				if dest, err = jsonAppend(dest, fromText(base, r)); err != nil {
					return nil, err
				}
			}
			return dest, nil

		case otherC.is(hT):
			if c.is(hT) {
				res, err := text0Transform(c.o, otherC.o, left)
				if err != nil {
					return nil, err
				}
				if len(res) > 0 {
					c.o = res
					return jsonAppend(dest, c)
				}
				return dest, nil
			}
			// A t:text0 edit does not move anything else (and a si/sd on
			// the same string is left alone, as the reference does).

		case otherC.is(hNa):
			// Nothing moves.

		case otherC.is(hLi) && otherC.is(hLd):
			if strictEq(at(otherC.p), at(c.p)) {
				if !commonOperand {
					return dest, nil
				} else if c.is(hLd) {
					if c.is(hLi) && left {
						// Both replace the same element: only one survives.
						c.del = otherC.ins
					} else {
						return dest, nil
					}
				}
			}

		case otherC.is(hLi):
			if c.is(hLi) && !c.is(hLd) && commonOperand && strictEq(at(c.p), at(otherC.p)) {
				// li vs li at the same index: left wins.
				if !left {
					w.inc(common)
				}
			} else if lessEq(at(otherC.p), at(c.p)) {
				w.inc(common)
			}
			if c.is(hLm) && commonOperand {
				if lessEq(at(otherC.p), c.lm()) {
					c.setLm(inc(c.lm()))
				}
			}

		case otherC.is(hLd):
			if c.is(hLm) && commonOperand {
				if strictEq(at(otherC.p), at(c.p)) {
					// They deleted the thing we're moving.
					return dest, nil
				}
				p, from, to := at(otherC.p), at(c.p), c.lm()
				if less(p, to) || (strictEq(p, to) && less(from, to)) {
					c.setLm(dec(c.lm()))
				}
			}
			if less(at(otherC.p), at(c.p)) {
				w.dec(common)
			} else if strictEq(at(otherC.p), at(c.p)) {
				if otherCplength < cplength {
					// We're below the deleted element.
					return dest, nil
				} else if c.is(hLd) {
					if c.is(hLi) {
						// We replace, they delete: we become an insert.
						c.has &^= hLd
						c.del = nil
					} else {
						return dest, nil
					}
				}
			}

		case otherC.is(hLm):
			switch {
			case c.is(hLm) && cplength == otherCplength:
				from, to := at(c.p), c.lm()
				otherFrom, otherTo := at(otherC.p), otherC.lm()
				if strictEq(otherFrom, otherTo) {
					break
				}
				if strictEq(from, otherFrom) {
					// They moved it: tie break.
					if !left {
						return dest, nil
					}
					w.set(common, otherTo)
					if strictEq(from, to) {
						c.setLm(otherTo)
					}
					break
				}
				// They moved around it.
				if greater(from, otherFrom) {
					w.dec(common)
				}
				if greater(from, otherTo) {
					w.inc(common)
				} else if strictEq(from, otherTo) {
					if greater(otherFrom, otherTo) {
						w.inc(common)
						if strictEq(from, to) {
							c.setLm(inc(c.lm()))
						}
					}
				}
				// Where does it go?
				if greater(to, otherFrom) {
					c.setLm(dec(c.lm()))
				} else if strictEq(to, otherFrom) {
					if greater(to, from) {
						c.setLm(dec(c.lm()))
					}
				}
				if greater(to, otherTo) {
					c.setLm(inc(c.lm()))
				} else if strictEq(to, otherTo) {
					if (greater(otherTo, otherFrom) && greater(to, from)) ||
						(less(otherTo, otherFrom) && less(to, from)) {
						if !left {
							c.setLm(inc(c.lm()))
						}
					} else {
						if greater(to, from) {
							c.setLm(inc(c.lm()))
						} else if strictEq(to, otherFrom) {
							c.setLm(dec(c.lm()))
						}
					}
				}
			case c.is(hLi) && !c.is(hLd) && commonOperand:
				from, to, p := at(otherC.p), otherC.lm(), at(c.p)
				if greater(p, from) {
					w.dec(common)
				}
				if greater(p, to) {
					w.inc(common)
				}
			default:
				// Everything that cares where its item went.
				from, to, p := at(otherC.p), otherC.lm(), at(c.p)
				if strictEq(p, from) {
					w.set(common, to)
				} else {
					if greater(p, from) {
						w.dec(common)
					}
					if greater(p, to) {
						w.inc(common)
					} else if strictEq(p, to) && greater(from, to) {
						w.inc(common)
					}
				}
			}

		case otherC.is(hOi) && otherC.is(hOd):
			if strictEq(at(c.p), at(otherC.p)) {
				if c.is(hOi) && commonOperand {
					// We inserted where someone else replaced.
					if !left {
						return dest, nil
					}
					c.del, c.has = otherC.ins, c.has|hOd
				} else {
					// They replaced the object we edit (or a parent).
					return dest, nil
				}
			}

		case otherC.is(hOi):
			if c.is(hOi) && strictEq(at(c.p), at(otherC.p)) {
				// Left wins if both insert at the same place.
				if !left {
					return dest, nil
				}
				var err error
				if dest, err = jsonAppend(dest, Component{p: c.p, has: hOd, del: otherC.ins}); err != nil {
					return nil, err
				}
			}

		case otherC.is(hOd):
			if looseEq(at(c.p), at(otherC.p)) {
				if !commonOperand {
					return dest, nil
				}
				if c.is(hOi) {
					c.has &^= hOd
					c.del = nil
				} else {
					return dest, nil
				}
			}
		}
	}
	return jsonAppend(dest, c)
}

// transform is json0's transform(op, otherOp, side).
func transform(op, other Op, left bool) (Op, error) {
	return bootTransform(op, other, left, transformComponent, jsonAppend)
}

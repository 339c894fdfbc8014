package json0

import (
	"fmt"
	"strings"

	"github.com/tandemhq/tandem/ot"
)

// tcomp is one text0 component: {p, i} inserts s at p, {p, d} deletes s at
// p. p and n (the length of s) are UTF-16 code units.
type tcomp struct {
	p   int
	s   string
	n   int
	del bool
}

func newTcomp(p int, s string, del bool) tcomp {
	return tcomp{p: p, s: s, n: utf16Len(s), del: del}
}

// strInject is the reference's s1.slice(0, pos) + s2 + s1.slice(pos).
func strInject(s1 string, pos int, s2 string) (string, error) {
	b, _, err := byteOffset(s1, pos)
	if err != nil {
		return "", err
	}
	return s1[:b] + s2 + s1[b:], nil
}

// text0Apply applies a text0 op to a string (text0.apply).
func text0Apply(s string, o []tcomp) (string, error) {
	for _, c := range o {
		b, past, err := byteOffset(s, c.p)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ot.ErrApply, err)
		}
		if !c.del {
			s = s[:b] + c.s + s[b:]
			continue
		}
		if c.s == "" {
			continue
		}
		if past || !strings.HasPrefix(s[b:], c.s) {
			got, _ := slice16(s, c.p, c.p+c.n)
			return "", ot.Applyf("Delete component %q does not match deleted text %q", c.s, got)
		}
		s = s[:b] + s[b+len(c.s):]
	}
	return s, nil
}

// text0Append is text0's append: it adds c to the end of dest, merging it
// into the last component when they touch. dest must be owned by the caller.
func text0Append(dest []tcomp, c tcomp) ([]tcomp, error) {
	if c.s == "" {
		return dest, nil
	}
	if len(dest) == 0 {
		return append(dest, c), nil
	}
	last := dest[len(dest)-1]
	switch {
	case !last.del && !c.del && last.p <= c.p && c.p <= last.p+last.n:
		s, err := strInject(last.s, c.p-last.p, c.s)
		if err != nil {
			return nil, err
		}
		dest[len(dest)-1] = tcomp{p: last.p, s: s, n: last.n + c.n}
	case last.del && c.del && c.p <= last.p && last.p <= c.p+c.n:
		s, err := strInject(c.s, last.p-c.p, last.s)
		if err != nil {
			return nil, err
		}
		dest[len(dest)-1] = tcomp{p: c.p, s: s, n: last.n + c.n, del: true}
	default:
		dest = append(dest, c)
	}
	return dest, nil
}

// text0Compose is text0.compose.
func text0Compose(a, b []tcomp) ([]tcomp, error) {
	out := make([]tcomp, len(a), len(a)+len(b))
	copy(out, a)
	var err error
	for _, c := range b {
		if out, err = text0Append(out, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// text0TransformPosition is text0's transformPosition.
func text0TransformPosition(pos int, c tcomp, insertAfter bool) int {
	if !c.del {
		if c.p < pos || (c.p == pos && insertAfter) {
			return pos + c.n
		}
		return pos
	}
	switch {
	case pos <= c.p:
		return pos
	case pos <= c.p+c.n:
		return c.p
	}
	return pos - c.n
}

// text0TransformComponent is text0's transformComponent (text._tc).
func text0TransformComponent(dest []tcomp, c, other tcomp, left bool) ([]tcomp, error) {
	if !c.del {
		return text0Append(dest, tcomp{p: text0TransformPosition(c.p, other, !left), s: c.s, n: c.n})
	}
	var err error
	if !other.del {
		// Delete vs insert.
		s, n := c.s, c.n
		if c.p < other.p {
			cut := other.p - c.p
			head, err := slice16(s, 0, cut)
			if err != nil {
				return nil, err
			}
			if dest, err = text0Append(dest, newTcomp(c.p, head, true)); err != nil {
				return nil, err
			}
			if s, err = slice16(s, cut, -1); err != nil {
				return nil, err
			}
			n = max(n-cut, 0)
		}
		if s != "" {
			return text0Append(dest, tcomp{p: c.p + other.n, s: s, n: n, del: true})
		}
		return dest, nil
	}
	// Delete vs delete.
	switch {
	case c.p >= other.p+other.n:
		return text0Append(dest, tcomp{p: c.p - other.n, s: c.s, n: c.n, del: true})
	case c.p+c.n <= other.p:
		return text0Append(dest, c)
	}
	// They overlap somewhere.
	newD := ""
	if c.p < other.p {
		if newD, err = slice16(c.s, 0, other.p-c.p); err != nil {
			return nil, err
		}
	}
	if c.p+c.n > other.p+other.n {
		tail, err := slice16(c.s, other.p+other.n-c.p, -1)
		if err != nil {
			return nil, err
		}
		newD += tail
	}
	is := max(c.p, other.p)
	ie := min(c.p+c.n, other.p+other.n)
	ci, err := slice16(c.s, is-c.p, ie-c.p)
	if err != nil {
		return nil, err
	}
	oi, err := slice16(other.s, is-other.p, ie-other.p)
	if err != nil {
		return nil, err
	}
	if ci != oi {
		return nil, ot.InvalidOpf("Delete ops delete different text in the same region of the document")
	}
	if newD != "" {
		return text0Append(dest, newTcomp(text0TransformPosition(c.p, other, false), newD, true))
	}
	return dest, nil
}

// text0Transform is text0.transform (bootstrapTransform).
func text0Transform(op, other []tcomp, left bool) ([]tcomp, error) {
	return bootTransform(op, other, left, text0TransformComponent, text0Append)
}

// text0Invert is text0.invert.
func text0Invert(o []tcomp) []tcomp {
	out := make([]tcomp, len(o))
	for i, c := range o {
		c.del = !c.del
		out[len(o)-1-i] = c
	}
	return out
}

// bootTransform is bootstrapTransform's transform(op, otherOp, side) for a
// type given by its transformComponent and append.
func bootTransform[C any](op, other []C, left bool,
	tc func(dest []C, c, other C, left bool) ([]C, error),
	app func(dest []C, c C) ([]C, error)) ([]C, error) {
	if len(other) == 0 {
		return op, nil
	}
	if len(op) == 1 && len(other) == 1 {
		return tc(nil, op[0], other[0], left)
	}
	if left {
		l, _, err := bootTransformX(op, other, tc, app)
		return l, err
	}
	_, r, err := bootTransformX(other, op, tc, app)
	return r, err
}

// bootTransformX is bootstrapTransform's transformX(leftOp, rightOp).
func bootTransformX[C any](leftOp, rightOp []C,
	tc func(dest []C, c, other C, left bool) ([]C, error),
	app func(dest []C, c C) ([]C, error)) ([]C, []C, error) {
	var newRightOp []C
	var err error
	for _, rc := range rightOp {
		rightComponent, has := rc, true
		var newLeftOp []C
		for k := 0; k < len(leftOp); {
			if newLeftOp, err = tc(newLeftOp, leftOp[k], rightComponent, true); err != nil {
				return nil, nil, err
			}
			nextC, err := tc(nil, rightComponent, leftOp[k], false)
			if err != nil {
				return nil, nil, err
			}
			k++
			if len(nextC) == 1 {
				rightComponent = nextC[0]
				continue
			}
			if len(nextC) == 0 {
				for _, c := range leftOp[k:] {
					if newLeftOp, err = app(newLeftOp, c); err != nil {
						return nil, nil, err
					}
				}
			} else {
				l, r, err := bootTransformX(leftOp[k:], nextC, tc, app)
				if err != nil {
					return nil, nil, err
				}
				for _, c := range l {
					if newLeftOp, err = app(newLeftOp, c); err != nil {
						return nil, nil, err
					}
				}
				for _, c := range r {
					if newRightOp, err = app(newRightOp, c); err != nil {
						return nil, nil, err
					}
				}
			}
			has = false
			break
		}
		if has {
			if newRightOp, err = app(newRightOp, rightComponent); err != nil {
				return nil, nil, err
			}
		}
		leftOp = newLeftOp
	}
	return leftOp, newRightOp, nil
}

package textunicode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tandemhq/tandem/internal/jsonenc"
	"github.com/tandemhq/tandem/ot"
)

// Kind is the kind of an op component.
type Kind uint8

const (
	// KindSkip skips code points of the document: JSON N.
	KindSkip Kind = iota + 1
	// KindInsert inserts text: JSON "text".
	KindInsert
	// KindDelete deletes code points without recording them: JSON {"d": N}.
	KindDelete
	// KindDeleteText deletes code points and records them (the invertible
	// form): JSON {"d": "text"}.
	KindDeleteText
)

// Component is one component of an op. Build it with Skip, Insert, Delete
// or DeleteText; the zero Component is invalid.
type Component struct {
	k Kind
	n int    // length in code points (skipped, inserted or deleted)
	s string // inserted text, or the deleted text of a KindDeleteText
}

// Op is a text-unicode op: components that walk the document from the
// start. The ot.Op values this type returns hold a *Op (a pointer boxes into
// an interface without allocating); it accepts an Op or a *Op. Nothing in
// this package modifies an Op after building it.
type Op []Component

// Skip returns a component skipping n code points.
func Skip(n int) Component { return Component{k: KindSkip, n: n} }

// Insert returns a component inserting s, which must be valid UTF-8.
func Insert(s string) Component { return Component{k: KindInsert, n: cpCount(s), s: s} }

// Delete returns a component deleting n code points.
func Delete(n int) Component { return Component{k: KindDelete, n: n} }

// DeleteText returns a component deleting len(s) code points and recording
// s, the text deleted (s must be valid UTF-8).
func DeleteText(s string) Component { return Component{k: KindDeleteText, n: cpCount(s), s: s} }

// Kind returns the kind of the component.
func (c Component) Kind() Kind { return c.k }

// Len returns the component's length in code points.
func (c Component) Len() int { return c.n }

// Text returns the inserted text, or the recorded deleted text ("" for the
// other kinds).
func (c Component) Text() string { return c.s }

func (c Component) isDelete() bool { return c.k == KindDelete || c.k == KindDeleteText }

// maxLen bounds every length and the sum of an op's lengths: 2^53-1, the
// largest integer JavaScript numbers hold exactly. It keeps all arithmetic
// on positions far from int overflow.
const maxLen = 1<<53 - 1

// check validates op as the reference's checkOp does: skips > 0 and never
// two in a row or at the end, no empty inserts or deletes. It also bounds
// the lengths (see maxLen).
func check(op Op) error {
	total := 0
	prevSkip := false
	for i := range op {
		c := &op[i]
		if c.n <= 0 || c.n > maxLen || c.k < KindSkip || c.k > KindDeleteText {
			return checkErr(op)
		}
		isSkip := c.k == KindSkip
		if isSkip && prevSkip {
			return checkErr(op)
		}
		prevSkip = isSkip
		if total += c.n; total > maxLen {
			return checkErr(op)
		}
	}
	if prevSkip {
		return ot.InvalidOpf("text-unicode: op has a trailing skip")
	}
	return nil
}

// checkErr describes the first defect of an op check rejected.
func checkErr(op Op) error {
	total := 0
	for i, c := range op {
		switch c.k {
		case KindSkip:
			if c.n <= 0 {
				return ot.InvalidOpf("text-unicode: component %d: skip must be > 0, got %d", i, c.n)
			}
			if i > 0 && op[i-1].k == KindSkip {
				return ot.InvalidOpf("text-unicode: component %d: adjacent skips must be combined", i)
			}
		case KindInsert:
			if c.n <= 0 {
				return ot.InvalidOpf("text-unicode: component %d: insert must not be empty", i)
			}
		case KindDelete, KindDeleteText:
			if c.n <= 0 {
				return ot.InvalidOpf("text-unicode: component %d: delete must not be empty", i)
			}
		default:
			return ot.InvalidOpf("text-unicode: component %d: unknown component kind %d", i, c.k)
		}
		if c.n > maxLen-total {
			return ot.InvalidOpf("text-unicode: op lengths add up to more than %d", int64(maxLen))
		}
		total += c.n
	}
	return ot.InvalidOpf("text-unicode: invalid op")
}

func asOp(o ot.Op) (Op, error) {
	switch v := o.(type) {
	case *Op:
		if v != nil {
			return *v, nil
		}
	case Op:
		return v, nil
	case []Component:
		return Op(v), nil
	case nil:
		return nil, ot.InvalidOpf("text-unicode: nil op")
	}
	return nil, ot.InvalidOpf("text-unicode: op of Go type %T, want textunicode.Op", o)
}

// newOp returns a *Op of length 0 with room for n components. Up to 16
// components, one allocation holds both the slice header and the
// components, so the op boxes into an ot.Op without a second allocation.
func newOp(n int) *Op {
	switch {
	case n <= 1:
		b := new(opIn1)
		b.op = b.arr[:0]
		return &b.op
	case n <= 2:
		b := new(opIn2)
		b.op = b.arr[:0]
		return &b.op
	case n <= 3:
		b := new(opIn3)
		b.op = b.arr[:0]
		return &b.op
	case n <= 4:
		b := new(opIn4)
		b.op = b.arr[:0]
		return &b.op
	case n <= 6:
		b := new(opIn6)
		b.op = b.arr[:0]
		return &b.op
	case n <= 8:
		b := new(opIn8)
		b.op = b.arr[:0]
		return &b.op
	case n <= 12:
		b := new(opIn12)
		b.op = b.arr[:0]
		return &b.op
	case n <= 16:
		b := new(opIn16)
		b.op = b.arr[:0]
		return &b.op
	}
	op := make(Op, 0, n)
	return &op
}

// opInN holds an Op and the array of N components it uses.
type (
	opIn1 struct {
		op  Op
		arr [1]Component
	}
	opIn2 struct {
		op  Op
		arr [2]Component
	}
	opIn3 struct {
		op  Op
		arr [3]Component
	}
	opIn4 struct {
		op  Op
		arr [4]Component
	}
	opIn6 struct {
		op  Op
		arr [6]Component
	}
	opIn8 struct {
		op  Op
		arr [8]Component
	}
	opIn12 struct {
		op  Op
		arr [12]Component
	}
	opIn16 struct {
		op  Op
		arr [16]Component
	}
)

// decodeOp parses raw JSON. With lenient set (normalize) it accepts empty
// components and does not check adjacency or a trailing skip.
func decodeOp(raw json.RawMessage, lenient bool) (Op, error) {
	if err := ot.CheckSurrogates(raw); err != nil {
		return nil, err
	}
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || raw[0] != '[' {
		return nil, ot.InvalidOpf("text-unicode: op must be an array of components")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, ot.InvalidOpf("text-unicode: op is not valid JSON: %v", err)
	}
	op := make(Op, 0, len(elems))
	for i, e := range elems {
		e = bytes.TrimLeft(e, " \t\r\n")
		if len(e) == 0 {
			return nil, ot.InvalidOpf("text-unicode: component %d is empty", i)
		}
		var c Component
		switch e[0] {
		case '"':
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return nil, ot.InvalidOpf("text-unicode: component %d: %v", i, err)
			}
			if s == "" && !lenient {
				return nil, ot.InvalidOpf("text-unicode: component %d: insert must not be empty", i)
			}
			c = Insert(s)
		case '{':
			var m map[string]json.RawMessage
			if err := json.Unmarshal(e, &m); err != nil {
				return nil, ot.InvalidOpf("text-unicode: component %d: %v", i, err)
			}
			d, ok := m["d"]
			if !ok {
				return nil, ot.InvalidOpf("text-unicode: component %d: object component must be a delete {\"d\": N or \"text\"}", i)
			}
			if len(m) != 1 {
				return nil, ot.InvalidOpf("text-unicode: component %d: delete has fields other than \"d\"", i)
			}
			d = bytes.TrimLeft(d, " \t\r\n")
			switch {
			case len(d) > 0 && d[0] == '"':
				var s string
				if err := json.Unmarshal(d, &s); err != nil {
					return nil, ot.InvalidOpf("text-unicode: component %d: %v", i, err)
				}
				if s == "" && !lenient {
					return nil, ot.InvalidOpf("text-unicode: component %d: delete must not be empty", i)
				}
				c = DeleteText(s)
			case len(d) > 0 && (d[0] == '-' || d[0] >= '0' && d[0] <= '9'):
				n, err := parseLen(d, lenient)
				if err != nil {
					return nil, ot.InvalidOpf("text-unicode: component %d: delete %v", i, err)
				}
				c = Delete(n)
			default:
				return nil, ot.InvalidOpf("text-unicode: component %d: delete must be a number or a string, got %s", i, short(d))
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			n, err := parseLen(e, lenient)
			if err != nil {
				return nil, ot.InvalidOpf("text-unicode: component %d: skip %v", i, err)
			}
			if !lenient && len(op) > 0 && op[len(op)-1].k == KindSkip {
				return nil, ot.InvalidOpf("text-unicode: component %d: adjacent skips must be combined", i)
			}
			c = Skip(n)
		default:
			return nil, ot.InvalidOpf("text-unicode: component %d: want a number, a string or {\"d\": ...}, got %s", i, short(e))
		}
		op = append(op, c)
	}
	if lenient {
		return op, nil
	}
	if err := check(op); err != nil {
		return nil, err
	}
	return op, nil
}

// parseLen parses a JSON number that must be a positive integer (zero too
// when lenient).
func parseLen(raw []byte, lenient bool) (int, error) {
	raw = bytes.TrimSpace(raw)
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !isRangeErr(err) {
		return 0, fmt.Errorf("is not a number: %s", short(raw))
	}
	switch {
	case lenient && f < 0, !lenient && !(f > 0):
		if lenient {
			return 0, fmt.Errorf("must be >= 0, got %s", short(raw))
		}
		return 0, fmt.Errorf("must be > 0, got %s", short(raw))
	case f != math.Trunc(f):
		return 0, fmt.Errorf("must be an integer, got %s", short(raw))
	case f > maxLen:
		return 0, fmt.Errorf("is too large: %s", short(raw))
	}
	return int(f), nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func short(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "..."
	}
	return string(b)
}

// encodeOp writes op as JSON.
func encodeOp(op Op) []byte {
	size := 2
	for _, c := range op {
		size += len(c.s) + 24
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, c := range op {
		if i > 0 {
			b = append(b, ',')
		}
		switch c.k {
		case KindSkip:
			b = strconv.AppendInt(b, int64(c.n), 10)
		case KindInsert:
			b = appendString(b, c.s)
		case KindDelete:
			b = append(b, `{"d":`...)
			b = strconv.AppendInt(b, int64(c.n), 10)
			b = append(b, '}')
		case KindDeleteText:
			b = append(b, `{"d":`...)
			b = appendString(b, c.s)
			b = append(b, '}')
		}
	}
	return append(b, ']')
}

func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

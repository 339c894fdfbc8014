// Package textunicode is the text-unicode OT type
// (http://sharejs.org/types/text-unicode), a port of the JavaScript
// reference ot-text-unicode 4.0.0 (with unicount 1.1.0) that browsers run.
// It gives the same answer as the reference for every input the reference
// handles consistently.
//
// The snapshot is a string (a Go string holding UTF-8). An op is an array of
// components walking the document from the start: a positive integer N skips
// N characters, a non-empty string inserts it, {"d": N} deletes N characters
// and {"d": "text"} deletes len(text) characters and records them, which
// makes the op invertible. Every position and length counts Unicode code
// points: "a😀b" has length 3, and "é" written as e + U+0301 has length 2.
// Nothing counts graphemes.
//
// An op is valid when every skip is > 0, no two skips are adjacent, it does
// not end with a skip and no insert or delete is empty; DecodeOp rejects
// anything else, as the reference's checkOp does. Adjacent inserts or
// deletes are valid and are kept as they are: at a transform tie the
// reference moves only the first of two adjacent inserts, so the component
// boundaries of an input op matter. (For that reason the reference, and so
// this port, does not converge for every pair of ops with adjacent inserts:
// ["x","y"] and ["z"] against a common document can end up as "xzy" on one
// side and "xyz" on the other. Clients normalize their ops before sending
// them, which merges such inserts.)
//
// Lone UTF-16 surrogates: a JavaScript string may hold one, a Go string
// cannot. Every decoder here (Create, DecodeOp, DecodeSnapshot, Normalize)
// first calls ot.CheckSurrogates and rejects JSON holding an unpaired
// surrogate escape or invalid UTF-8 with ot.ErrLoneSurrogate. As positions
// count code points, no valid op can cut a surrogate pair in two, so no
// further check is needed.
//
// Where the reference is lenient (see ot/testdata/vectors/README.md) this
// port does the following: a delete running past the end of the document is
// cut short, as in the reference; the text of {"d": "text"} is not checked
// against the document, as in the reference; fractional lengths, boolean
// components, extra fields in a delete and lengths above 2^53-1 (or ops
// whose lengths add up to more) are rejected.
package textunicode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tandemhq/tandem/ot"
)

const (
	Name = "text-unicode"
	URI  = "http://sharejs.org/types/text-unicode"
)

// Type is the text-unicode OT type. Snapshots are Go strings; ops are *Op
// values (an Op is accepted too).
type Type struct{}

var (
	_ ot.Type        = Type{}
	_ ot.Normalizer  = Type{}
	_ ot.Inverter    = Type{}
	_ ot.DocInverter = Type{}
)

func (Type) Name() string { return Name }
func (Type) URI() string  { return URI }

// Create returns the snapshot for create data: "" when there is none, else
// the data, which must be a JSON string.
func (Type) Create(data json.RawMessage) (ot.Snapshot, error) {
	if len(data) == 0 {
		return "", nil
	}
	s, err := decodeString(data)
	if err != nil {
		return nil, fmt.Errorf("%w: text-unicode: initial data must be a string: %w", ot.ErrInvalidSnapshot, err)
	}
	return s, nil
}

// DecodeSnapshot parses a snapshot: a JSON string.
func (Type) DecodeSnapshot(raw json.RawMessage) (ot.Snapshot, error) {
	s, err := decodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: text-unicode: snapshot must be a string: %w", ot.ErrInvalidSnapshot, err)
	}
	return s, nil
}

func decodeString(raw json.RawMessage) (string, error) {
	if err := ot.CheckSurrogates(raw); err != nil {
		return "", err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", fmt.Errorf("got %s", short(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

func asString(s ot.Snapshot) (string, error) {
	str, ok := s.(string)
	if !ok {
		return "", fmt.Errorf("%w: text-unicode: snapshot of Go type %T, want string", ot.ErrInvalidSnapshot, s)
	}
	return str, nil
}

// EncodeSnapshot returns the snapshot as a JSON string.
func (Type) EncodeSnapshot(s ot.Snapshot) (json.RawMessage, error) {
	str, err := asString(s)
	if err != nil {
		return nil, err
	}
	return appendString(make([]byte, 0, len(str)+2), str), nil
}

// DecodeOp parses and validates an op. It rejects exactly what the
// reference's checkOp rejects, plus the lenient inputs listed in the package
// comment.
func (Type) DecodeOp(raw json.RawMessage) (ot.Op, error) {
	op, err := decodeOp(raw, false)
	if err != nil {
		return nil, err
	}
	return &op, nil
}

// EncodeOp returns the JSON form of op.
func (Type) EncodeOp(o ot.Op) (json.RawMessage, error) {
	op, err := asOp(o)
	if err != nil {
		return nil, err
	}
	return encodeOp(op), nil
}

// Normalize parses a possibly non-canonical op as the reference's normalize
// does: empty components are dropped, neighbours of the same kind merged
// (two textual deletes stay textual, a textual and a numeric delete become
// numeric) and a trailing skip dropped.
func (Type) Normalize(raw json.RawMessage) (ot.Op, error) {
	in, err := decodeOp(raw, true)
	if err != nil {
		return nil, err
	}
	var out opBuilder
	for _, c := range in {
		out.push(c)
	}
	op := out.done()
	if err := check(*op); err != nil {
		return nil, err
	}
	return op, nil
}

// Apply returns the document after op. A skip past the end is an error; a
// delete past the end is cut short, as in the reference. The result is
// built with one allocation of the right size.
func (Type) Apply(s ot.Snapshot, o ot.Op) (ot.Snapshot, error) {
	doc, err := asString(s)
	if err != nil {
		return nil, err
	}
	op, err := asOp(o)
	if err != nil {
		return nil, err
	}
	if err := check(op); err != nil {
		return nil, err
	}
	if len(op) == 0 {
		return doc, nil
	}
	// First pass: find the byte offset where every skip and delete ends,
	// and the size of the result.
	var buf [16]int
	ends := buf[:0]
	pos, size := 0, 0
	for i, c := range op {
		switch c.k {
		case KindSkip:
			end, missing := advance(doc, pos, c.n)
			if missing > 0 {
				return nil, ot.Applyf("text-unicode: component %d skips %d past the end of the document", i, missing)
			}
			size += end - pos
			pos = end
			ends = append(ends, end)
		case KindInsert:
			size += len(c.s)
		default:
			pos, _ = advance(doc, pos, c.n)
			ends = append(ends, pos)
		}
	}
	size += len(doc) - pos
	// Second pass: copy.
	var sb strings.Builder
	sb.Grow(size)
	pos, j := 0, 0
	for _, c := range op {
		switch c.k {
		case KindSkip:
			sb.WriteString(doc[pos:ends[j]])
			pos = ends[j]
			j++
		case KindInsert:
			sb.WriteString(c.s)
		default:
			pos = ends[j]
			j++
		}
	}
	sb.WriteString(doc[pos:])
	return sb.String(), nil
}

// Transform returns op rewritten to apply after other. With ot.Left, op's
// insert goes first where both insert at the same position.
func (Type) Transform(o, other ot.Op, side ot.Side) (ot.Op, error) {
	if side != ot.Left && side != ot.Right {
		return nil, fmt.Errorf("text-unicode: side (%d) must be left or right", int(side))
	}
	op1, err := validOp(o)
	if err != nil {
		return nil, err
	}
	op2, err := validOp(other)
	if err != nil {
		return nil, err
	}
	return transform(op1, op2, side == ot.Left), nil
}

// Compose returns one op with the effect of a followed by b.
func (Type) Compose(a, b ot.Op) (ot.Op, error) {
	op1, err := validOp(a)
	if err != nil {
		return nil, err
	}
	op2, err := validOp(b)
	if err != nil {
		return nil, err
	}
	return compose(op1, op2), nil
}

func validOp(o ot.Op) (Op, error) {
	op, err := asOp(o)
	if err != nil {
		return nil, err
	}
	if err := check(op); err != nil {
		return nil, err
	}
	return op, nil
}

// IsNoop reports whether op is empty.
func (Type) IsNoop(o ot.Op) bool {
	op, err := asOp(o)
	return err == nil && len(op) == 0
}

// Invert returns the inverse of op. It fails unless every delete of op
// carries its text ({"d": "text"}).
func (Type) Invert(o ot.Op) (ot.Op, error) {
	op, err := validOp(o)
	if err != nil {
		return nil, err
	}
	inv, ok := invert(op)
	if !ok {
		return nil, ot.InvalidOpf("text-unicode: cannot invert an op with a {\"d\": N} delete: the deleted text is missing (use InvertWithDoc)")
	}
	return inv, nil
}

// InvertWithDoc returns the inverse of op, which was applied to the
// snapshot s: numeric deletes take their text from s first.
func (Type) InvertWithDoc(o ot.Op, s ot.Snapshot) (ot.Op, error) {
	op, err := validOp(o)
	if err != nil {
		return nil, err
	}
	doc, err := asString(s)
	if err != nil {
		return nil, err
	}
	inv, _ := invert(makeInvertible(op, doc))
	return inv, nil
}

// TransformPosition moves a cursor (in code points) through op, as the
// reference's transformPosition: an insert exactly at the cursor does not
// move it.
func (Type) TransformPosition(pos int, o ot.Op) (int, error) {
	op, err := validOp(o)
	if err != nil {
		return 0, err
	}
	return transformPosition(pos, op), nil
}

// TransformSelection moves a selection through op: a JSON number, or an
// array of numbers such as [anchor, focus] (either order), each moved like
// a position.
func (t Type) TransformSelection(sel json.RawMessage, o ot.Op) (json.RawMessage, error) {
	op, err := validOp(o)
	if err != nil {
		return nil, err
	}
	sel = bytes.TrimSpace(sel)
	if len(sel) > 0 && sel[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(sel, &elems); err != nil {
			return nil, fmt.Errorf("text-unicode: invalid selection: %w", err)
		}
		out := []byte{'['}
		for i, e := range elems {
			p, err := parsePosition(e)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				out = append(out, ',')
			}
			out = strconv.AppendInt(out, int64(transformPosition(p, op)), 10)
		}
		return append(out, ']'), nil
	}
	p, err := parsePosition(sel)
	if err != nil {
		return nil, err
	}
	return strconv.AppendInt(nil, int64(transformPosition(p, op)), 10), nil
}

func parsePosition(raw []byte) (int, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return 0, fmt.Errorf("text-unicode: invalid selection: want a number or an array of numbers, got %s", short(raw))
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f > maxLen || f < -maxLen || f != math.Trunc(f) {
		return 0, fmt.Errorf("text-unicode: invalid selection: position %s is not an integer", short(raw))
	}
	return int(f), nil
}

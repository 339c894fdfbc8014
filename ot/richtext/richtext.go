// Package richtext is the rich-text OT type (Quill Delta), a port of the
// JavaScript reference rich-text 4.1.0, which is quill-delta 4.2.2 with
// fast-diff 1.2.0, lodash.isequal and lodash.clonedeep. Browsers run the
// reference, so every function here gives the same answer for every input.
//
// A document is a Delta holding only inserts; an op is a Delta of inserts
// (a string, or an object: an embed), retains and deletes, each with
// optional attributes. In a retain an attribute whose value is null removes
// that attribute. Attribute values and embeds may be any JSON and are
// compared deeply, as lodash.isEqual does.
//
// # Units
//
// Every length, offset, cursor and presence index counts UTF-16 code units,
// as JavaScript strings do; an embed counts 1. Strings are held as UTF-8 and
// cut at UTF-16 offsets (ASCII runs map directly, others are walked).
//
// # Side
//
// The side is the other way round from text-unicode and json0: Transform(a,
// b, side) is the reference's type.transform(a, b, side), which is
// new Delta(b).transform(new Delta(a), side === "left"). With ot.Left, b has
// priority, so when both insert at the same index a's text ends up after
// b's. Convergence holds in this form:
// apply(apply(d, a), T(b, a, Right)) == apply(apply(d, b), T(a, b, Left)).
//
// # Apply
//
// Apply is compose(snapshot, op), as the reference does, except that an op
// reaching past the end of the document (a delete or a format past the end,
// or a retain past the end followed by an insert) is an error wrapping
// ot.ErrApply: the reference's result would hold retains or deletes and
// not be a document. A plain retain past the end with nothing after it is
// dropped, as the reference does. The inputs are never changed.
//
// A Document keeps its ops in immutable chunks of a few hundred. Apply runs
// the reference's compose step for step but shares the chunks before the
// op's leading retain and after the point where the reference copies the
// rest verbatim, so applying an edit to a large document costs the edit
// and a few hundred ops, not a copy of the document. The chunking is
// invisible in every result.
//
// # Lone surrogates
//
// Every decoder (DecodeOp, DecodeSnapshot, Create, TransformPresence) first
// calls ot.CheckSurrogates and rejects JSON holding an unpaired surrogate
// escape. An op whose offsets would cut a surrogate pair of the text in two
// (a retain or delete ending between the halves of an emoji) is rejected by
// Apply and Compose with an error wrapping ot.ErrLoneSurrogate, because the
// reference would create lone surrogates the server cannot hold. (Where the
// two halves land in neighbouring runs with equal attributes, the
// reference's Delta.push happens to join them again; such ops are rejected
// all the same: an offset inside a character means nothing to a user, and
// the sender only rolls back.) Transform and TransformCursor only move
// offsets and never cut text.
//
// Diff ports fast-diff 1.2.0 on UTF-16 code units. Its Myers core may cut
// a surrogate pair, but its top-level clean-up (fix_unicode) moves such
// cuts to code point boundaries, and the common prefix and suffix scans
// never end inside a pair; Diff therefore matches the reference exactly. As
// a guard it checks the result, and if a component boundary ever did fall
// inside a pair it would return the coarser but valid diff made of the
// common prefix, one delete, one insert and the common suffix, instead of
// an op that cuts the pair. Like the reference, Diff costs O(N·D) time for
// texts of length N that differ in D places: callers should bound it.
package richtext

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tandemhq/tandem/ot"
)

const (
	Name = "rich-text"
	URI  = "http://sharejs.org/types/rich-text/v1"
)

// Type is the rich-text OT type.
type Type struct{}

var (
	_ ot.Type                = Type{}
	_ ot.PresenceTransformer = Type{}
	_ ot.Differ              = Type{}
)

// Delta is a decoded rich-text op. It is immutable.
type Delta struct {
	ops []op
}

// Len returns the number of components.
func (d Delta) Len() int { return len(d.ops) }

func (Type) Name() string { return Name }
func (Type) URI() string  { return URI }

func opsOf(o ot.Op) ([]op, error) {
	switch v := o.(type) {
	case Delta:
		return v.ops, nil
	case *Delta:
		if v != nil {
			return v.ops, nil
		}
	case Document:
		return v.flat(), nil
	case *Document:
		if v != nil {
			return v.flat(), nil
		}
	}
	return nil, fmt.Errorf("%w: %T is not a rich-text op", ot.ErrInvalidOp, o)
}

func docOf(s ot.Snapshot) (Document, error) {
	switch v := s.(type) {
	case Document:
		return v, nil
	case *Document:
		if v != nil {
			return *v, nil
		}
	}
	return Document{}, fmt.Errorf("%w: %T is not a rich-text snapshot", ot.ErrInvalidSnapshot, s)
}

// Create returns the document for create data: an ops array or
// {"ops": [...]}; absent data (or null) gives the empty document.
func (t Type) Create(data json.RawMessage) (ot.Snapshot, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || string(trimmed) == "null" {
		return Document{}, nil
	}
	return t.DecodeSnapshot(data)
}

// DecodeOp reads an op: a bare ops array or {"ops": [...]}.
func (Type) DecodeOp(raw json.RawMessage) (ot.Op, error) {
	if err := ot.CheckSurrogates(raw); err != nil {
		return nil, err
	}
	ops, err := readDelta(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: rich-text: %w", ot.ErrInvalidOp, err)
	}
	return Delta{ops: ops}, nil
}

// EncodeOp writes an op as a bare ops array.
func (Type) EncodeOp(o ot.Op) (json.RawMessage, error) {
	ops, err := opsOf(o)
	if err != nil {
		return nil, err
	}
	return appendOps(make([]byte, 0, encodedSize(ops)), ops), nil
}

// DecodeSnapshot reads a document: an ops array or {"ops": [...]} holding
// only inserts.
func (Type) DecodeSnapshot(raw json.RawMessage) (ot.Snapshot, error) {
	if err := ot.CheckSurrogates(raw); err != nil {
		return nil, err
	}
	ops, err := readDelta(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: rich-text: %w", ot.ErrInvalidSnapshot, err)
	}
	for i := range ops {
		if !ops[i].isInsert() {
			return nil, fmt.Errorf("%w: rich-text: component %d of a document is not an insert", ot.ErrInvalidSnapshot, i)
		}
	}
	return newDocument(ops), nil
}

// EncodeSnapshot writes {"ops": [...]}, the wire and storage form.
func (Type) EncodeSnapshot(s ot.Snapshot) (json.RawMessage, error) {
	d, err := docOf(s)
	if err != nil {
		return nil, err
	}
	encs := make([][]byte, len(d.chunks))
	size := 10 + len(d.chunks)
	for i, c := range d.chunks {
		encs[i] = c.encoded()
		size += len(encs[i])
	}
	b := make([]byte, 0, size)
	b = append(b, `{"ops":[`...)
	for _, e := range encs {
		if len(e) == 0 {
			continue
		}
		if len(b) > len(`{"ops":[`) {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, ']', '}'), nil
}

// Apply composes the document with op. See the package comment for the
// errors.
func (Type) Apply(s ot.Snapshot, o ot.Op) (ot.Snapshot, error) {
	doc, err := docOf(s)
	if err != nil {
		return nil, err
	}
	ops, err := opsOf(o)
	if err != nil {
		return nil, err
	}
	out, nonIns, err := applyDoc(doc, ops)
	if err != nil {
		return nil, fmt.Errorf("%w: rich-text: %w", ot.ErrApply, err)
	}
	if nonIns > 0 {
		return nil, ot.Applyf("rich-text: op reaches past the end of the document (length %d)", doc.Length())
	}
	return out, nil
}

// Transform returns op rewritten to apply after other. As the reference's
// type.transform(op, other, side) it is Delta(other).transform(Delta(op),
// side == ot.Left).
func (Type) Transform(o, other ot.Op, side ot.Side) (ot.Op, error) {
	a, err := opsOf(o)
	if err != nil {
		return nil, err
	}
	b, err := opsOf(other)
	if err != nil {
		return nil, err
	}
	return Delta{ops: transform(b, a, side == ot.Left)}, nil
}

// Compose returns one op with the effect of a followed by b.
func (Type) Compose(a, b ot.Op) (ot.Op, error) {
	x, err := opsOf(a)
	if err != nil {
		return nil, err
	}
	y, err := opsOf(b)
	if err != nil {
		return nil, err
	}
	out, _, err := compose(x, y)
	if err != nil {
		return nil, fmt.Errorf("rich-text: compose: %w", err)
	}
	return Delta{ops: out}, nil
}

// IsNoop reports whether op changes no document: it holds only retains
// without attributes (or with an empty attributes object).
func (Type) IsNoop(o ot.Op) bool {
	ops, err := opsOf(o)
	if err != nil {
		return false
	}
	for i := range ops {
		if ops[i].kind != kRetain || ops[i].attrs.size() > 0 {
			return false
		}
	}
	return true
}

// TransformCursor is the reference's transformCursor: it moves cursor
// through op with op.transformPosition(cursor, !isOwnOp).
func (Type) TransformCursor(cursor int, o ot.Op, isOwnOp bool) (int, error) {
	ops, err := opsOf(o)
	if err != nil {
		return 0, err
	}
	return transformPosition(ops, cursor, !isOwnOp), nil
}

// TransformPresence is the reference's transformPresence: a range
// {"index", "length", ...} has both ends moved like cursors, its other
// fields kept; null stays null.
func (t Type) TransformPresence(presence json.RawMessage, o ot.Op, own bool) (json.RawMessage, error) {
	if err := ot.CheckSurrogates(presence); err != nil {
		return nil, err
	}
	ops, err := opsOf(o)
	if err != nil {
		return nil, err
	}
	return transformPresence(presence, ops, own)
}

// Diff returns the op turning one document into another, exactly as the
// reference's Delta.diff (fast-diff 1.2.0 on the text, embeds standing as
// one NUL character, then attributes).
func (Type) Diff(from, to ot.Snapshot) (ot.Op, error) {
	a, err := docOf(from)
	if err != nil {
		return nil, err
	}
	b, err := docOf(to)
	if err != nil {
		return nil, err
	}
	out, err := diffDocs(a.flat(), b.flat())
	if err != nil {
		return nil, err
	}
	return Delta{ops: out}, nil
}

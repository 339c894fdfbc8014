// Package json0 is the json0 OT type (name "json0", URI
// http://sharejs.org/types/JSONv0), sharedb's default type: a port of the
// JavaScript reference ot-json0 1.1.0, including its built-in text0 string
// subtype, that gives the same answer as the reference for every input the
// reference handles meaningfully.
//
// A document is any JSON value, held as a plain Go JSON value (map[string]any,
// []any, float64, string, bool, nil). Numbers are float64 and add exactly as
// JavaScript numbers do. An op is an array of components {p: path, ...}: na,
// li, ld, li+ld (replace), lm, oi, od, oi+od (replace), si, sd, and
// {t: "text0", o: [{p, i} | {p, d}]}. Apply, Transform (bootstrapTransform
// over transformComponent; left wins ties), Compose, Normalize and Invert
// follow the reference step by step, including its tie-breaks and its merge
// rules.
//
// Units: si/sd offsets (the last path segment) and text0 positions count
// UTF-16 code units, as JavaScript string indexing does, while Go strings
// hold UTF-8; conversion scans only the prefix up to the offset, eight ASCII
// bytes at a time.
//
// Lone surrogates: every decoder (DecodeOp, DecodeSnapshot, Create,
// Normalize) runs ot.CheckSurrogates on its input first, so no unpaired
// \uD800-\uDFFF escape is ever silently turned into U+FFFD. An offset that
// would cut a surrogate pair in two (in Apply, or while Transform or Compose
// slices a string) is an error wrapping ot.ErrLoneSurrogate: carrying it out
// would create a lone surrogate that a Go string cannot hold, so the op is
// refused and the client rolls back instead of diverging.
//
// Apply never modifies its input: each component copies only the objects
// and lists on its path (so an edit in a large document costs the edit plus
// those copies, not a deep clone), and on error the input is unchanged. The
// result shares every untouched subtree with the input (and inserted values
// with the op), so documents and ops must be treated as immutable.
//
// Validation. DecodeOp applies sharedb 7.0's server checks (the op is an
// array; every component an object with an array p; no path segment equal
// to an Object.prototype property name such as __proto__ or constructor)
// and rejects components that the reference could never apply: unknown
// fields, mixed instructions other than li+ld and oi+od, a t other than
// "text0", non-string si/sd, non-number na, list ops (li/ld/lm) and si/sd
// whose path does not end in a number, path numbers that are not
// non-negative integers. Apply rejects everything the reference's apply
// throws on. Where the reference is merely lenient the port keeps its
// behaviour when the result is a sound JSON document (li past the end
// appends, ld past the end does nothing, si past the end appends, ld/od
// values are not checked, oi over an existing key overwrites, oi with p: []
// replaces the document, a number used as an object key names the key of
// that spelling) and refuses it when the reference would leave something
// that is not JSON or not meaningful (a string index into a list, an op
// through a string, number or boolean, si into a list, lm from past the
// end, a replace past the end, od of the whole document, an na whose sum
// overflows to Infinity). Like the reference, oi/od refuse an object that
// holds its own "constructor" key (the reference's isObject check fails on
// it).
package json0

import (
	"encoding/json"
	"fmt"

	"github.com/tandemhq/tandem/ot"
)

const (
	Name = "json0"
	URI  = "http://sharejs.org/types/JSONv0"
)

// Type is the json0 OT type. The zero value is ready to use and safe for
// concurrent use.
type Type struct{}

var _ ot.Type = Type{}

var (
	_ ot.Normalizer = Type{}
	_ ot.Inverter   = Type{}
)

func (Type) Name() string { return Name }
func (Type) URI() string  { return URI }

// Create returns the snapshot for create data: null when there is none (as
// the reference's create(undefined)), otherwise the data itself.
func (Type) Create(data json.RawMessage) (ot.Snapshot, error) {
	if len(data) == 0 {
		return nil, nil
	}
	v, err := decodeValue(data)
	if err != nil {
		return nil, wrapSnapshotErr(err)
	}
	return v, nil
}

func wrapSnapshotErr(err error) error {
	if isLoneSurrogate(err) {
		return err
	}
	return fmt.Errorf("%w: json0: %v", ot.ErrInvalidSnapshot, err)
}

// DecodeSnapshot parses a document (any JSON value).
func (Type) DecodeSnapshot(raw json.RawMessage) (ot.Snapshot, error) {
	v, err := decodeValue(raw)
	if err != nil {
		return nil, wrapSnapshotErr(err)
	}
	return v, nil
}

// EncodeSnapshot writes a document as JSON (object keys sorted).
func (Type) EncodeSnapshot(s ot.Snapshot) (json.RawMessage, error) {
	b, err := appendValue(nil, s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ot.ErrInvalidSnapshot, err)
	}
	return b, nil
}

// DecodeOp parses and validates an op. Errors wrap ot.ErrInvalidOp (or
// ot.ErrLoneSurrogate).
func (t Type) DecodeOp(raw json.RawMessage) (ot.Op, error) {
	op, err := t.decode(raw)
	if err != nil {
		return nil, err
	}
	return op, nil
}

func (Type) decode(raw []byte) (Op, error) {
	v, err := decodeValue(raw)
	if err != nil {
		if isLoneSurrogate(err) {
			return nil, err
		}
		return nil, ot.InvalidOpf("json0: %v", err)
	}
	return decodeOpValue(v)
}

// EncodeOp writes an op as JSON.
func (Type) EncodeOp(o ot.Op) (json.RawMessage, error) {
	op, err := asOp(o)
	if err != nil {
		return nil, err
	}
	return appendOp(nil, op)
}

// Apply returns the document with op applied. The input is never modified;
// errors wrap ot.ErrApply.
func (Type) Apply(s ot.Snapshot, o ot.Op) (ot.Snapshot, error) {
	op, err := asOp(o)
	if err != nil {
		return nil, err
	}
	return applyOp(s, op)
}

// Transform rewrites op to apply after other, made concurrently; with
// ot.Left op wins ties.
func (Type) Transform(o, other ot.Op, side ot.Side) (ot.Op, error) {
	op, err := asOp(o)
	if err != nil {
		return nil, err
	}
	oth, err := asOp(other)
	if err != nil {
		return nil, err
	}
	return transform(op, oth, side == ot.Left)
}

// Compose returns one op with the effect of a followed by b (the
// reference's append-and-merge).
func (Type) Compose(a, b ot.Op) (ot.Op, error) {
	x, err := asOp(a)
	if err != nil {
		return nil, err
	}
	y, err := asOp(b)
	if err != nil {
		return nil, err
	}
	return compose(x, y)
}

// IsNoop reports whether op has no components.
func (Type) IsNoop(o ot.Op) bool {
	op, err := asOp(o)
	return err == nil && len(op) == 0
}

// Normalize is the reference's normalize: it accepts an array of components
// or one bare component, gives a missing p the value [], and appends the
// components one by one, merging where compose would.
func (Type) Normalize(raw json.RawMessage) (ot.Op, error) {
	v, err := decodeValue(raw)
	if err != nil {
		if isLoneSurrogate(err) {
			return nil, err
		}
		return nil, ot.InvalidOpf("json0: %v", err)
	}
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	out := make(Op, 0, len(arr))
	for i, cv := range arr {
		m, ok := cv.(map[string]any)
		if !ok {
			return nil, ot.InvalidOpf("component %d: not an object", i)
		}
		c, err := decodeComponent(m, true)
		if err != nil {
			return nil, fmt.Errorf("%w (component %d)", err, i)
		}
		if out, err = jsonAppend(out, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Invert returns the op that undoes op (the reference's invert; it relies on
// ld/od/sd carrying the removed values).
func (Type) Invert(o ot.Op) (ot.Op, error) {
	op, err := asOp(o)
	if err != nil {
		return nil, err
	}
	return invert(op), nil
}

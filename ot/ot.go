package ot

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Side breaks ties when two ops insert at the same place. The server
// transforms an incoming op against an already-committed one with Left, as
// sharedb does.
type Side int

const (
	Left Side = iota
	Right
)

func (s Side) String() string {
	if s == Right {
		return "right"
	}
	return "left"
}

// ParseSide parses "left" or "right".
func ParseSide(s string) (Side, error) {
	switch s {
	case "left":
		return Left, nil
	case "right":
		return Right, nil
	}
	return Left, fmt.Errorf("ot: invalid side %q", s)
}

// Op and Snapshot are values owned by one Type; other code passes them
// through opaquely and turns them into JSON only with that Type.
type (
	Op       any
	Snapshot any
)

// Type is one OT data type, e.g. "text-unicode". Implementations must be pure
// and safe for concurrent use, and must never mutate their arguments.
type Type interface {
	// Name is the short name, e.g. "text-unicode".
	Name() string
	// URI is the identifier stored with snapshots and sent on the wire.
	URI() string
	// Create returns the snapshot for create data; data is nil when the
	// create message carried none.
	Create(data json.RawMessage) (Snapshot, error)
	// DecodeOp parses and validates an op; it is the only way client input
	// becomes an Op. Errors wrap ErrInvalidOp.
	DecodeOp(raw json.RawMessage) (Op, error)
	EncodeOp(op Op) (json.RawMessage, error)
	// DecodeSnapshot parses stored or wire snapshot data.
	DecodeSnapshot(raw json.RawMessage) (Snapshot, error)
	// EncodeSnapshot gives the wire/storage form of a snapshot.
	EncodeSnapshot(s Snapshot) (json.RawMessage, error)
	// Apply returns the new snapshot; on error nothing has changed.
	Apply(s Snapshot, op Op) (Snapshot, error)
	// Transform returns op rewritten to apply after other, which was made
	// concurrently on the same document.
	Transform(op, other Op, side Side) (Op, error)
	// Compose returns one op with the effect of a followed by b.
	Compose(a, b Op) (Op, error)
	// IsNoop reports whether op changes nothing.
	IsNoop(op Op) bool
}

// Normalizer is implemented by types whose reference has normalize. The
// input need not be a valid op (it may hold empty or mergeable components).
type Normalizer interface {
	Normalize(raw json.RawMessage) (Op, error)
}

// Inverter is implemented by types that can invert an op without the
// document (text-unicode only when deletes carry their text; json0).
type Inverter interface {
	Invert(op Op) (Op, error)
}

// DocInverter is implemented by types that can invert an op given the
// document it was applied to.
type DocInverter interface {
	InvertWithDoc(op Op, s Snapshot) (Op, error)
}

// PresenceTransformer is implemented by types that can move a presence value
// (a cursor or selection) through an op, as sharedb's transformPresence.
// own reports whether the op came from the presence's own client.
type PresenceTransformer interface {
	TransformPresence(presence json.RawMessage, op Op, own bool) (json.RawMessage, error)
}

// Differ is implemented by types that can compute the op turning one
// snapshot into another (rich-text).
type Differ interface {
	Diff(from, to Snapshot) (Op, error)
}

var (
	// ErrInvalidOp wraps every error about the shape of an op.
	ErrInvalidOp = errors.New("ot: invalid op")
	// ErrApply wraps every error about an op that does not fit the document.
	ErrApply = errors.New("ot: op does not apply")
	// ErrInvalidSnapshot wraps errors about snapshot data.
	ErrInvalidSnapshot = errors.New("ot: invalid snapshot")
	// ErrLoneSurrogate is returned for JSON holding an unpaired UTF-16
	// surrogate escape, or for an op that would cut a surrogate pair.
	ErrLoneSurrogate = errors.New("ot: lone UTF-16 surrogate")
)

// InvalidOpf returns an error wrapping ErrInvalidOp.
func InvalidOpf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOp, fmt.Sprintf(format, args...))
}

// Applyf returns an error wrapping ErrApply.
func Applyf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrApply, fmt.Sprintf(format, args...))
}

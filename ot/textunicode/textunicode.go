// Package textunicode is a stub awaiting the port of the reference type.
package textunicode

import (
	"encoding/json"
	"errors"

	"github.com/tandemhq/tandem/ot"
)

const (
	Name = "text-unicode"
	URI  = "http://sharejs.org/types/text-unicode"
)

var errTODO = errors.New("text-unicode: not implemented")

// Type is the text-unicode OT type.
type Type struct{}

var _ ot.Type = Type{}

func (Type) Name() string                                        { return Name }
func (Type) URI() string                                         { return URI }
func (Type) Create(json.RawMessage) (ot.Snapshot, error)         { return nil, errTODO }
func (Type) DecodeOp(json.RawMessage) (ot.Op, error)             { return nil, errTODO }
func (Type) EncodeOp(ot.Op) (json.RawMessage, error)             { return nil, errTODO }
func (Type) DecodeSnapshot(json.RawMessage) (ot.Snapshot, error) { return nil, errTODO }
func (Type) EncodeSnapshot(ot.Snapshot) (json.RawMessage, error) { return nil, errTODO }
func (Type) Apply(ot.Snapshot, ot.Op) (ot.Snapshot, error)       { return nil, errTODO }
func (Type) Transform(ot.Op, ot.Op, ot.Side) (ot.Op, error)      { return nil, errTODO }
func (Type) Compose(ot.Op, ot.Op) (ot.Op, error)                 { return nil, errTODO }
func (Type) IsNoop(ot.Op) bool                                   { return false }

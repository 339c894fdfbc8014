package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tandemhq/tandem/storage"
)

// valueFormat is the first byte of every stored value.
const valueFormat byte = 1

// Flags of an encoded op.
const (
	flagCreate byte = 1 << iota
	flagDel
)

// errCorrupt is wrapped by every decoding error.
var errCorrupt = errors.New("corrupt value")

// ---- keys ----

// collPrefix is uvarint(len(c)) followed by c. It starts every snapshot key
// of collection c; being self-delimiting, no other collection's keys start
// with it.
func collPrefix(c string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(c))
	b = binary.AppendUvarint(b, uint64(len(c)))
	return append(b, c...)
}

// snapKey is collPrefix(c) followed by the raw id, so that within a
// collection snapshot keys sort by id, byte-wise.
func snapKey(c, id string) []byte {
	return append(collPrefix(c), id...)
}

// opPrefix is uvarint(len(c)) c uvarint(len(id)) id: every op key of the
// document starts with it, and no other document's op keys do.
func opPrefix(c, id string) []byte {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+len(c)+len(id)+8)
	b = binary.AppendUvarint(b, uint64(len(c)))
	b = append(b, c...)
	b = binary.AppendUvarint(b, uint64(len(id)))
	return append(b, id...)
}

// opKey appends the big-endian version to a copy of prefix, so that a
// document's ops sort by version.
func opKey(prefix []byte, v int64) []byte {
	k := make([]byte, len(prefix), len(prefix)+8)
	copy(k, prefix)
	return binary.BigEndian.AppendUint64(k, uint64(v))
}

// ---- values ----

// encodeSnapshot lays a snapshot out as
//
//	format(1) varint(V) str(Type) varint(CTime) varint(MTime)
//	create(1: 0 or 1) [str(Src) varint(Seq) varint(V)] opt(Data)
//
// where str is uvarint(len) + bytes and opt is uvarint(0) for nil or
// uvarint(len+1) + bytes. The head (up to MTime) comes first so that List
// can read it without touching the data.
func encodeSnapshot(s storage.Snapshot) []byte {
	b := make([]byte, 0, 32+len(s.Type)+len(s.Data))
	b = append(b, valueFormat)
	b = binary.AppendVarint(b, s.V)
	b = appendStr(b, s.Type)
	b = binary.AppendVarint(b, s.Meta.CTime)
	b = binary.AppendVarint(b, s.Meta.MTime)
	if c := s.Meta.Create; c != nil {
		b = append(b, 1)
		b = appendStr(b, c.Src)
		b = binary.AppendVarint(b, c.Seq)
		b = binary.AppendVarint(b, c.V)
	} else {
		b = append(b, 0)
	}
	return appendOpt(b, s.Data)
}

// encodeOp lays an op out as
//
//	format(1) flags(1) str(Src) varint(Seq) varint(TS) opt(Op)
//	[str(Create.Type) opt(Create.Data) if flagCreate] opt(DelData)
//
// The version is not stored: it is the last 8 bytes of the key.
func encodeOp(op storage.Op) []byte {
	n := 32 + len(op.Src) + len(op.Op) + len(op.Meta.DelData)
	var flags byte
	if op.Create != nil {
		flags |= flagCreate
		n += len(op.Create.Type) + len(op.Create.Data)
	}
	if op.Del {
		flags |= flagDel
	}
	b := make([]byte, 0, n)
	b = append(b, valueFormat, flags)
	b = appendStr(b, op.Src)
	b = binary.AppendVarint(b, op.Seq)
	b = binary.AppendVarint(b, op.Meta.TS)
	b = appendOpt(b, op.Op)
	if op.Create != nil {
		b = appendStr(b, op.Create.Type)
		b = appendOpt(b, op.Create.Data)
	}
	return appendOpt(b, op.Meta.DelData)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendOpt(b, v []byte) []byte {
	if v == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(v))+1)
	return append(b, v...)
}

// decoder reads a value. The first error sticks; later reads return zero
// values. Byte slices it returns alias buf with capacity capped, so buf
// must be a private copy of the stored value (bbolt's memory is only
// valid during the transaction).
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errCorrupt, what)
	}
}

func (d *decoder) byte(what string) byte {
	if d.err != nil || len(d.buf) < 1 {
		d.fail(what)
		return 0
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil || n > uint64(len(d.buf)) {
		d.fail(what)
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) str(what string) string {
	return string(d.bytes(d.uvarint(what), what))
}

func (d *decoder) opt(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil || n == 0 {
		return nil
	}
	return d.bytes(n-1, what)
}

func (d *decoder) format() {
	if f := d.byte("format"); d.err == nil && f != valueFormat {
		d.err = fmt.Errorf("%w: unknown format %d", errCorrupt, f)
	}
}

func (d *decoder) end() error {
	if d.err == nil && len(d.buf) != 0 {
		d.fail("length")
	}
	return d.err
}

// snapHead is the part of a snapshot that List needs.
type snapHead struct {
	V     int64
	Type  string
	CTime int64
	MTime int64
}

func (d *decoder) snapHead() snapHead {
	d.format()
	var h snapHead
	h.V = d.varint("version")
	h.Type = d.str("type")
	h.CTime = d.varint("ctime")
	h.MTime = d.varint("mtime")
	return h
}

// decodeSnapHead decodes the head of a stored snapshot in place; it does
// not keep b.
func decodeSnapHead(b []byte) (snapHead, error) {
	d := decoder{buf: b}
	h := d.snapHead()
	return h, d.err
}

// decodeSnapshot decodes a private copy of a stored snapshot; the result
// aliases b.
func decodeSnapshot(b []byte) (storage.Snapshot, error) {
	d := decoder{buf: b}
	h := d.snapHead()
	s := storage.Snapshot{V: h.V, Type: h.Type, Meta: storage.SnapshotMeta{CTime: h.CTime, MTime: h.MTime}}
	switch d.byte("create flag") {
	case 0:
	case 1:
		c := storage.OpID{Src: d.str("create src")}
		c.Seq = d.varint("create seq")
		c.V = d.varint("create version")
		s.Meta.Create = &c
	default:
		d.fail("create flag")
	}
	s.Data = d.opt("data")
	if err := d.end(); err != nil {
		return storage.Snapshot{}, err
	}
	return s, nil
}

// decodeOp decodes a private copy of a stored op at version v; the result
// aliases b.
func decodeOp(b []byte, v int64) (storage.Op, error) {
	d := decoder{buf: b}
	d.format()
	flags := d.byte("flags")
	if flags&^(flagCreate|flagDel) != 0 {
		d.fail("flags")
	}
	op := storage.Op{V: v, Del: flags&flagDel != 0}
	op.Src = d.str("src")
	op.Seq = d.varint("seq")
	op.Meta.TS = d.varint("ts")
	op.Op = d.opt("op")
	if flags&flagCreate != 0 {
		c := storage.Create{Type: d.str("create type")}
		c.Data = d.opt("create data")
		op.Create = &c
	}
	op.Meta.DelData = d.opt("del data")
	if err := d.end(); err != nil {
		return storage.Op{}, err
	}
	return op, nil
}

package mongo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/tandemhq/tandem/internal/jsonenc"
)

// This file converts between JSON (what Tandem's sessions hold) and BSON
// (what sharedb-mongo stores), the way Node does it: JSON.parse, then the
// Node driver's serializer, and back with the driver's deserializer and
// JSON.stringify.

// maxExactInt is 2^53: every integer up to it in magnitude is exact as a
// double, so Node reads it back as the same number.
const maxExactInt = 1 << 53

// fromJSON parses one JSON value into the BSON value the Node driver
// writes for it: objects as bson.D in key order (a repeated key keeps its
// first place and its last value, as JSON.parse does), arrays as bson.A,
// numbers as int32 when they are integers that fit, else as double.
func fromJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeJSON(dec)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := bson.D{}
			var index map[string]int // key -> position, once the object is large
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", kt)
				}
				if strings.IndexByte(key, 0) >= 0 {
					return nil, fmt.Errorf("object key %q holds a NUL character, which BSON cannot store", key)
				}
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				d, index = setKey(d, index, key, v)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return d, nil
		case '[':
			a := bson.A{}
			for dec.More() {
				v, err := decodeJSON(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return a, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return jsonNumber(string(t))
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// setKey sets key in d: appended if new, replaced in place if repeated.
// Small objects are searched linearly; index is built for larger ones.
func setKey(d bson.D, index map[string]int, key string, v any) (bson.D, map[string]int) {
	const linear = 16
	if index == nil && len(d) < linear {
		for i := range d {
			if d[i].Key == key {
				d[i].Value = v
				return d, nil
			}
		}
		return append(d, bson.E{Key: key, Value: v}), nil
	}
	if index == nil {
		index = make(map[string]int, 2*len(d))
		for i, e := range d {
			index[e.Key] = i
		}
	}
	if i, ok := index[key]; ok {
		d[i].Value = v
		return d, index
	}
	index[key] = len(d)
	return append(d, bson.E{Key: key, Value: v}), index
}

// jsonNumber is the BSON value of a JSON number, as JavaScript reads it
// (the nearest double) and the Node driver writes it: int32 when it is an
// integer in int32 range (not -0), otherwise a double. Numbers beyond the
// double range are refused rather than stored as infinity.
func jsonNumber(s string) (any, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s is out of range", s)
	}
	if f == math.Trunc(f) && f >= math.MinInt32 && f <= math.MaxInt32 && !(f == 0 && math.Signbit(f)) {
		return int32(f), nil
	}
	return f, nil
}

// intValue is how an integer field (version, seq, timestamp) is written:
// int32 when it fits and a double up to 2^53, as Node writes them; beyond
// that an int64, so that the value stays exact.
func intValue(n int64) any {
	switch {
	case n >= math.MinInt32 && n <= math.MaxInt32:
		return int32(n)
	case n >= -maxExactInt && n <= maxExactInt:
		return float64(n)
	}
	return n
}

// asInt64 reads an integer field written as any BSON number.
func asInt64(v bson.RawValue) (int64, bool) {
	switch v.Type {
	case bson.TypeInt32:
		return int64(v.Int32()), true
	case bson.TypeInt64:
		return v.Int64(), true
	case bson.TypeDouble:
		return floatInt(v.Double())
	case bson.TypeDecimal128:
		f, err := strconv.ParseFloat(v.Decimal128().String(), 64)
		if err != nil {
			return 0, false
		}
		return floatInt(f)
	}
	return 0, false
}

func floatInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// toJSON encodes a BSON value as JSON.
func toJSON(v bson.RawValue) (json.RawMessage, error) {
	return appendJSON(make([]byte, 0, len(v.Value)+8), v)
}

// appendJSON appends the JSON encoding of v: what JSON.stringify makes of
// what the Node driver reads. Numbers of any BSON type become JSON numbers
// (NaN and infinities become null, as in JavaScript), ObjectIds their hex
// string and dates their ISO string (their toJSON); types that JSON data
// never turns into are refused.
func appendJSON(b []byte, v bson.RawValue) ([]byte, error) {
	switch v.Type {
	case bson.TypeString:
		return appendString(b, v.StringValue()), nil
	case bson.TypeInt32:
		return strconv.AppendInt(b, int64(v.Int32()), 10), nil
	case bson.TypeInt64:
		return strconv.AppendInt(b, v.Int64(), 10), nil
	case bson.TypeDouble:
		return appendFloat(b, v.Double()), nil
	case bson.TypeBoolean:
		return strconv.AppendBool(b, v.Boolean()), nil
	case bson.TypeNull, bson.TypeUndefined:
		return append(b, "null"...), nil
	case bson.TypeEmbeddedDocument:
		elems, err := v.Document().Elements()
		if err != nil {
			return nil, err
		}
		return appendObject(b, elems)
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return nil, err
		}
		b = append(b, '[')
		for i, e := range vals {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case bson.TypeDecimal128:
		d := v.Decimal128()
		if d.IsNaN() || d.IsInf() != 0 {
			return append(b, "null"...), nil
		}
		return append(b, d.String()...), nil
	case bson.TypeObjectID:
		return appendString(b, v.ObjectID().Hex()), nil
	case bson.TypeDateTime:
		return appendString(b, time.UnixMilli(v.DateTime()).UTC().Format("2006-01-02T15:04:05.000Z")), nil
	}
	return nil, fmt.Errorf("BSON type %v cannot be read as JSON", v.Type)
}

// appendObject appends the elements as a JSON object, in order.
func appendObject(b []byte, elems []bson.RawElement) ([]byte, error) {
	b = append(b, '{')
	for i, e := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.Key())
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, e.Value()); err != nil {
			return nil, fmt.Errorf("%q: %w", e.Key(), err)
		}
	}
	return append(b, '}'), nil
}

// appendFloat formats f as JavaScript does (shortest round-trip digits,
// exponent form below 1e-6 and from 1e21 on), which is also what
// encoding/json does. -0 stays -0 so the value survives a round trip.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7, as JavaScript writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

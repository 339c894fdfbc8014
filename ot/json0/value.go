package json0

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/tandemhq/tandem/internal/jsonenc"
	"github.com/tandemhq/tandem/ot"
)

// Documents and the values inside ops are plain Go JSON values, as
// encoding/json decodes them into an any: map[string]any, []any, float64,
// string, bool and nil. They are never mutated once built, so an applied
// document shares every untouched subtree with its input.

// decodeValue parses one JSON value after the lone-surrogate check.
func decodeValue(raw []byte) (any, error) {
	if err := ot.CheckSurrogates(raw); err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsStrictEqValue is JavaScript's === on two JSON values that the reference
// has just cloned: primitives compare by value, objects and arrays are never
// identical.
func jsStrictEqValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	return false
}

// jsNumberString is JavaScript's Number::toString for the numbers JSON can
// carry (and NaN/Infinity for completeness).
func jsNumberString(f float64) string {
	return string(appendNumber(nil, f))
}

// appendNumber writes f as JSON.stringify does (NaN and ±Infinity become
// null, -0 becomes 0), using the same shortest round-trip digits.
func appendNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7, as JavaScript writes it.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendValue writes a JSON value. Object keys are sorted so the output is
// deterministic (key order carries no meaning in json0).
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case float64:
		return appendNumber(b, x), nil
	case string:
		if !utf8.ValidString(x) {
			return b, fmt.Errorf("json0: string value is not valid UTF-8")
		}
		return appendString(b, x), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, x[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return b, fmt.Errorf("json0: bad number %q", string(x))
		}
		return appendNumber(b, f), nil
	}
	return b, fmt.Errorf("json0: unsupported value of type %T", v)
}

func isLoneSurrogate(err error) bool { return errors.Is(err, ot.ErrLoneSurrogate) }

func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

package richtext

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// transformPresence is the reference's
//
//	start = transformCursor(range.index, op, own)
//	end   = transformCursor(range.index + range.length, op, own)
//	return Object.assign({}, range, {index: start, length: end - start})
//
// The other members of range are copied through unchanged, in their order.
func transformPresence(raw json.RawMessage, ops []op, own bool) (json.RawMessage, error) {
	r := &reader{b: raw}
	switch r.peek() {
	case 'n':
		if err := r.literal(jsonNull); err != nil {
			return nil, fmt.Errorf("rich-text: invalid presence: %w", err)
		}
		if r.peek() != 0 {
			return nil, fmt.Errorf("rich-text: invalid presence: trailing data")
		}
		return json.RawMessage(jsonNull), nil
	case '{':
	default:
		return nil, fmt.Errorf("rich-text: invalid presence: want null or an object {index, length}")
	}
	type field struct {
		k string
		v []byte
	}
	var fields []field
	pos := map[string]int{}
	var index, length float64
	var hasIndex, hasLength bool
	err := r.members(func(k string) error {
		r.ws()
		start := r.i
		var num float64
		isNum := false
		if c := r.peek(); c == '-' || (c >= '0' && c <= '9') {
			f, err := r.number()
			if err != nil {
				return err
			}
			num, isNum = f, true
		} else if err := r.scan(); err != nil {
			return err
		}
		v := r.b[start:r.i]
		switch k {
		case "index":
			index, hasIndex = num, isNum
		case "length":
			length, hasLength = num, isNum
		}
		// A later duplicate replaces the value, keeping the first place.
		if i, ok := pos[k]; ok {
			fields[i].v = v
		} else {
			pos[k] = len(fields)
			fields = append(fields, field{k, v})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rich-text: invalid presence: %w", err)
	}
	if r.peek() != 0 {
		return nil, fmt.Errorf("rich-text: invalid presence: trailing data")
	}
	if !hasIndex || !hasLength || !isSafeInt(index) || !isSafeInt(length) || !isSafeInt(index+length) {
		return nil, fmt.Errorf("rich-text: invalid presence: index and length must be integers")
	}
	start := transformPosition(ops, int(index), !own)
	end := transformPosition(ops, int(index)+int(length), !own)
	out := make([]byte, 0, len(raw)+16)
	out = append(out, '{')
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, f.k)
		out = append(out, ':')
		switch f.k {
		case "index":
			out = strconv.AppendInt(out, int64(start), 10)
		case "length":
			out = strconv.AppendInt(out, int64(end-start), 10)
		default:
			out = append(out, f.v...)
		}
	}
	return append(out, '}'), nil
}

func isSafeInt(f float64) bool {
	return f == math.Trunc(f) && math.Abs(f) <= maxLen
}

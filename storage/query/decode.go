package query

import (
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeJSON decodes one JSON value (RFC 8259; surrounding white space
// allowed) into the value model of value.go, keeping object key order. It
// is a hand-written parser because documents are decoded on every query
// run; strings decode as encoding/json decodes them (invalid UTF-8 and
// lone surrogates become U+FFFD).
func decodeJSON(data []byte) (any, error) {
	d := decoder{data: data}
	d.skipSpace()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.errorf("unexpected data after the JSON value")
	}
	return v, nil
}

type decoder struct {
	data []byte
	pos  int
	// pairs is a scratch stack of the key/value pairs of the objects being
	// decoded; each object is built from its part once complete, so its
	// slices are allocated at their final size.
	pairs []pair
}

type pair struct {
	k string
	v any
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end of JSON input")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		return d.object(depth)
	case c == '[':
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		return d.array(depth)
	case c == '"':
		return d.string()
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.errorf("invalid character %q looking for a value", c)
	}
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return d.errorf("invalid literal, want %s", lit)
	}
	d.pos += len(lit)
	return nil
}

func (d *decoder) object(depth int) (any, error) {
	d.pos++ // {
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return &object{}, nil
	}
	base := len(d.pairs)
	defer func() { d.pairs = d.pairs[:base] }()
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf("expected a string object key")
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("expected ':' after object key")
		}
		d.pos++
		d.skipSpace()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.pairs = append(d.pairs, pair{k.(string), v})
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of JSON input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return newObject(d.pairs[base:]), nil
		default:
			return nil, d.errorf("expected ',' or '}' in object")
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	d.pos++ // [
	a := []any{}
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return a, nil
	}
	for {
		d.skipSpace()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of JSON input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return a, nil
		default:
			return nil, d.errorf("expected ',' or ']' in array")
		}
	}
}

func (d *decoder) number() (any, error) {
	start := d.pos
	p := d.pos
	n := len(d.data)
	if p < n && d.data[p] == '-' {
		p++
	}
	switch {
	case p < n && d.data[p] == '0':
		p++
	case p < n && d.data[p] >= '1' && d.data[p] <= '9':
		for p < n && d.data[p] >= '0' && d.data[p] <= '9' {
			p++
		}
	default:
		d.pos = p
		return nil, d.errorf("invalid number")
	}
	if p < n && d.data[p] == '.' {
		p++
		if p >= n || d.data[p] < '0' || d.data[p] > '9' {
			d.pos = p
			return nil, d.errorf("invalid number")
		}
		for p < n && d.data[p] >= '0' && d.data[p] <= '9' {
			p++
		}
	}
	if p < n && (d.data[p] == 'e' || d.data[p] == 'E') {
		p++
		if p < n && (d.data[p] == '+' || d.data[p] == '-') {
			p++
		}
		if p >= n || d.data[p] < '0' || d.data[p] > '9' {
			d.pos = p
			return nil, d.errorf("invalid number")
		}
		for p < n && d.data[p] >= '0' && d.data[p] <= '9' {
			p++
		}
	}
	d.pos = p
	f, err := strconv.ParseFloat(string(d.data[start:p]), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil // ±Inf or 0, as JavaScript's JSON.parse
		}
		return nil, err
	}
	return f, nil
}

// string decodes the string starting at d.pos ('"').
func (d *decoder) string() (any, error) {
	d.pos++ // opening quote
	start := d.pos
	// Fast path: no escapes, no control characters, valid UTF-8.
	for p := start; p < len(d.data); {
		c := d.data[p]
		switch {
		case c == '"':
			d.pos = p + 1
			return string(d.data[start:p]), nil
		case c == '\\' || c < 0x20:
			return d.slowString(start)
		case c < utf8.RuneSelf:
			p++
		default:
			r, size := utf8.DecodeRune(d.data[p:])
			if r == utf8.RuneError && size == 1 {
				return d.slowString(start)
			}
			p += size
		}
	}
	d.pos = len(d.data)
	return nil, d.errorf("unterminated string")
}

func (d *decoder) slowString(start int) (any, error) {
	b := make([]byte, 0, 32)
	p := start
	for p < len(d.data) {
		c := d.data[p]
		switch {
		case c == '"':
			d.pos = p + 1
			return string(b), nil
		case c < 0x20:
			d.pos = p
			return nil, d.errorf("invalid control character in string")
		case c == '\\':
			if p+1 >= len(d.data) {
				d.pos = p
				return nil, d.errorf("unterminated string")
			}
			switch e := d.data[p+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				p += 2
			case 'b':
				b = append(b, '\b')
				p += 2
			case 'f':
				b = append(b, '\f')
				p += 2
			case 'n':
				b = append(b, '\n')
				p += 2
			case 'r':
				b = append(b, '\r')
				p += 2
			case 't':
				b = append(b, '\t')
				p += 2
			case 'u':
				r := getu4(d.data[p:])
				if r < 0 {
					d.pos = p
					return nil, d.errorf("invalid \\u escape")
				}
				p += 6
				if utf16.IsSurrogate(r) {
					r2 := getu4(d.data[p:])
					if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
						p += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos = p
				return nil, d.errorf("invalid escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			p++
		default:
			r, size := utf8.DecodeRune(d.data[p:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, unicode.ReplacementChar)
			} else {
				b = append(b, d.data[p:p+size]...)
			}
			p += size
		}
	}
	d.pos = len(d.data)
	return nil, d.errorf("unterminated string")
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// newObject builds an object from its decoded pairs: a repeated key keeps
// its first position and its last value (as JSON.parse), then keys take
// JavaScript order.
func newObject(ps []pair) *object {
	o := &object{keys: make([]string, 0, len(ps)), vals: make([]any, 0, len(ps))}
	if len(ps) > indexThreshold {
		o.idx = make(map[string]int, len(ps))
	}
	for _, p := range ps {
		o.set(p.k, p.v)
	}
	o.jsOrder()
	return o
}

package richtext

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tandemhq/tandem/internal/jsonenc"
	"github.com/tandemhq/tandem/ot"
)

// A small JSON reader made for Delta ops: it validates the component shapes
// while it reads, turns attribute values and embeds into canonical JSON (so
// that deep equality is byte equality) and reads strings straight into Go
// strings. The input has already passed ot.CheckSurrogates, so it is valid
// UTF-8 without unpaired surrogate escapes.

const maxDepth = 10000

// maxLen bounds retain and delete counts: JavaScript's largest exact
// integer (Number.MAX_SAFE_INTEGER).
const maxLen = 1<<53 - 1

type reader struct {
	b     []byte
	i     int
	depth int
	// attrs interns attribute sets by their raw JSON so equal sets read
	// from one input share one *attrSet.
	attrs map[string]*attrSet
}

func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf("%s (at byte %d)", fmt.Sprintf(format, args...), r.i)
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *reader) expect(c byte) error {
	if r.peek() != c {
		if r.i >= len(r.b) {
			return r.errorf("unexpected end of JSON, want %q", c)
		}
		return r.errorf("unexpected %q, want %q", r.b[r.i], c)
	}
	r.i++
	return nil
}

func (r *reader) literal(lit string) error {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		return r.errorf("invalid JSON literal")
	}
	r.i += len(lit)
	return nil
}

// rawString returns the bytes between the quotes of a string without
// escapes (no copy), or ok=false if it holds an escape.
func (r *reader) rawString() (raw []byte, ok bool, err error) {
	if r.peek() != '"' {
		return nil, false, r.errorf("want a string")
	}
	start := r.i + 1
	for j := start; j < len(r.b); j++ {
		c := r.b[j]
		switch {
		case c == '"':
			r.i = j + 1
			return r.b[start:j], true, nil
		case c == '\\':
			return nil, false, nil
		case c < 0x20:
			return nil, false, r.errorf("control character in string")
		}
	}
	return nil, false, r.errorf("unterminated string")
}

// str reads a JSON string.
func (r *reader) str() (string, error) {
	raw, ok, err := r.rawString()
	if err != nil {
		return "", err
	}
	if ok {
		return string(raw), nil
	}
	// Slow path: escapes.
	j := r.i + 1
	buf := make([]byte, 0, 32)
	for {
		if j >= len(r.b) {
			return "", r.errorf("unterminated string")
		}
		c := r.b[j]
		switch {
		case c == '"':
			r.i = j + 1
			return string(buf), nil
		case c < 0x20:
			r.i = j
			return "", r.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(r.b) {
			return "", r.errorf("unterminated string")
		}
		e := r.b[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			u, ok := hex4(r.b, j)
			if !ok {
				r.i = j
				return "", r.errorf("invalid \\u escape")
			}
			j += 4
			cp := rune(u)
			if utf16.IsSurrogate(cp) {
				var lo rune = -1
				if cp < 0xDC00 && j+6 <= len(r.b) && r.b[j] == '\\' && r.b[j+1] == 'u' {
					if l, ok := hex4(r.b, j+2); ok && l >= 0xDC00 && l < 0xE000 {
						lo = rune(l)
					}
				}
				if lo < 0 {
					r.i = j
					return "", fmt.Errorf("%w: unpaired surrogate escape at byte %d", ot.ErrLoneSurrogate, j-6)
				}
				j += 6
				cp = utf16.DecodeRune(cp, lo)
			}
			buf = utf8.AppendRune(buf, cp)
		default:
			r.i = j
			return "", r.errorf("invalid escape \\%c", e)
		}
	}
}

func hex4(b []byte, at int) (uint16, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var v uint16
	for _, c := range b[at : at+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint16(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v |= uint16(c-'A') + 10
		default:
			return 0, false
		}
	}
	return v, true
}

// number reads a JSON number (strict grammar) as a float64, as
// JSON.parse does.
func (r *reader) number() (float64, error) {
	r.ws()
	start := r.i
	j := r.i
	if j < len(r.b) && r.b[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(r.b) && r.b[j] >= '0' && r.b[j] <= '9' {
			j++
		}
		return j - k
	}
	switch {
	case j < len(r.b) && r.b[j] == '0':
		j++
	case digits() == 0:
		return 0, r.errorf("invalid number")
	}
	simple := true
	if j < len(r.b) && r.b[j] == '.' {
		j++
		simple = false
		if digits() == 0 {
			return 0, r.errorf("invalid number")
		}
	}
	if j < len(r.b) && (r.b[j] == 'e' || r.b[j] == 'E') {
		j++
		simple = false
		if j < len(r.b) && (r.b[j] == '+' || r.b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return 0, r.errorf("invalid number")
		}
	}
	r.i = j
	lit := r.b[start:j]
	if simple && len(lit) <= 15 {
		var v int64
		neg := false
		for _, c := range lit {
			if c == '-' {
				neg = true
				continue
			}
			v = v*10 + int64(c-'0')
		}
		if neg {
			return -float64(v), nil
		}
		return float64(v), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return 0, r.errorf("number %s out of range", lit)
	}
	return f, nil
}

// count reads a retain or delete length: a positive integer.
func (r *reader) count(field string) (int, error) {
	if c := r.peek(); c != '-' && (c < '0' || c > '9') {
		return 0, r.errorf("%s must be a number", field)
	}
	f, err := r.number()
	if err != nil {
		return 0, err
	}
	if !(f > 0) || f != math.Trunc(f) || f > maxLen {
		return 0, r.errorf("%s must be a positive integer, not %v", field, f)
	}
	return int(f), nil
}

// value appends the canonical JSON of the next value to dst.
func (r *reader) value(dst []byte) ([]byte, error) {
	switch c := r.peek(); c {
	case '{':
		return r.object(dst)
	case '[':
		r.depth++
		if r.depth > maxDepth {
			return nil, r.errorf("JSON nested too deeply")
		}
		r.i++
		dst = append(dst, '[')
		if r.peek() == ']' {
			r.i++
			r.depth--
			return append(dst, ']'), nil
		}
		for n := 0; ; n++ {
			if n > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = r.value(dst); err != nil {
				return nil, err
			}
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				r.depth--
				return append(dst, ']'), nil
			default:
				return nil, r.errorf("want ',' or ']' in array")
			}
		}
	case '"':
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return appendString(dst, s), nil
	case 't':
		return append(dst, "true"...), r.literal("true")
	case 'f':
		return append(dst, "false"...), r.literal("false")
	case 'n':
		return append(dst, jsonNull...), r.literal(jsonNull)
	case 0:
		return nil, r.errorf("unexpected end of JSON")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			f, err := r.number()
			if err != nil {
				return nil, err
			}
			return appendNumber(dst, f), nil
		}
		return nil, r.errorf("unexpected %q", c)
	}
}

type member struct {
	k    string
	v    []byte
	rank int
}

// members reads an object's members, calling fn for each key; fn reads the
// value.
func (r *reader) members(fn func(key string) error) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	r.depth++
	if r.depth > maxDepth {
		return r.errorf("JSON nested too deeply")
	}
	if r.peek() == '}' {
		r.i++
		r.depth--
		return nil
	}
	for {
		k, err := r.str()
		if err != nil {
			return err
		}
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			r.depth--
			return nil
		default:
			return r.errorf("want ',' or '}' in object")
		}
	}
}

// objectMembers reads an object into members sorted by key, a later
// duplicate key replacing an earlier one (as JSON.parse).
func (r *reader) objectMembers() ([]member, error) {
	var ms []member
	err := r.members(func(k string) error {
		v, err := r.value(nil)
		if err != nil {
			return err
		}
		ms = append(ms, member{k: k, v: v, rank: len(ms)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ms) > 1 {
		sort.Slice(ms, func(i, j int) bool {
			if ms[i].k != ms[j].k {
				return ms[i].k < ms[j].k
			}
			return ms[i].rank < ms[j].rank
		})
		out := ms[:0]
		for i, m := range ms {
			if i+1 < len(ms) && ms[i+1].k == m.k {
				continue // a later duplicate wins
			}
			out = append(out, m)
		}
		ms = out
	}
	return ms, nil
}

func (r *reader) object(dst []byte) ([]byte, error) {
	ms, err := r.objectMembers()
	if err != nil {
		return nil, err
	}
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, m.k)
		dst = append(dst, ':')
		dst = append(dst, m.v...)
	}
	return append(dst, '}'), nil
}

// attributes reads an "attributes" object.
func (r *reader) attributes() (*attrSet, error) {
	if r.peek() != '{' {
		return nil, r.errorf("attributes must be an object")
	}
	start := r.i
	// Equal raw JSON gives an equal set: reuse it. Scanning is cheap next
	// to building the set.
	if err := r.scan(); err != nil {
		return nil, err
	}
	end := r.i
	raw := r.b[start:end]
	if a, ok := r.attrs[string(raw)]; ok {
		return a, nil
	}
	r.i = start
	ms, err := r.objectMembers()
	if err != nil {
		return nil, err
	}
	a := &attrSet{kv: make([]attr, len(ms))}
	for i, m := range ms {
		a.kv[i] = attr{m.k, string(m.v)}
	}
	if r.attrs == nil {
		r.attrs = make(map[string]*attrSet)
	}
	if len(r.attrs) < 4096 {
		r.attrs[string(raw)] = a
	}
	return a, nil
}

// component reads one Delta op.
func (r *reader) component() (op, error) {
	var (
		o     op
		have  int // how many of insert/retain/delete
		attrs *attrSet
		hasA  bool
	)
	if r.peek() != '{' {
		return o, r.errorf("component must be an object")
	}
	var seenIns, seenRet, seenDel bool
	err := r.members(func(k string) error {
		switch k {
		case "insert":
			switch r.peek() {
			case '"':
				s, err := r.str()
				if err != nil {
					return err
				}
				if s == "" {
					return r.errorf("insert must not be an empty string")
				}
				o.kind, o.s, o.n = kText, s, utf16Len(s)
			case '{':
				v, err := r.object(nil)
				if err != nil {
					return err
				}
				o.kind, o.s, o.n = kEmbed, string(v), 1
			default:
				return r.errorf("insert must be a string or an object")
			}
			seenIns = true
		case "retain":
			n, err := r.count("retain")
			if err != nil {
				return err
			}
			o.kind, o.s, o.n = kRetain, "", n
			seenRet = true
		case "delete":
			n, err := r.count("delete")
			if err != nil {
				return err
			}
			o.kind, o.s, o.n = kDelete, "", n
			seenDel = true
		case "attributes":
			a, err := r.attributes()
			if err != nil {
				return err
			}
			attrs, hasA = a, true
		default:
			return r.errorf("unknown field %q in component", k)
		}
		return nil
	})
	if err != nil {
		return o, err
	}
	for _, b := range []bool{seenIns, seenRet, seenDel} {
		if b {
			have++
		}
	}
	switch {
	case have == 0:
		return o, r.errorf("component needs insert, retain or delete")
	case have > 1:
		return o, r.errorf("component must have only one of insert, retain and delete")
	case o.kind == kDelete && hasA:
		return o, r.errorf("delete cannot have attributes")
	}
	o.attrs = attrs
	return o, nil
}

// array reads an array of components.
func (r *reader) array() ([]op, error) {
	if err := r.expect('['); err != nil {
		return nil, err
	}
	var ops []op
	if r.peek() == ']' {
		r.i++
		return []op{}, nil
	}
	for {
		o, err := r.component()
		if err != nil {
			return nil, fmt.Errorf("component %d: %w", len(ops), err)
		}
		ops = append(ops, o)
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return ops, nil
		default:
			return nil, r.errorf("want ',' or ']' after component %d", len(ops)-1)
		}
	}
}

// scan moves past the next value, checking its syntax without building
// anything.
func (r *reader) scan() error {
	switch c := r.peek(); c {
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		r.depth++
		if r.depth > maxDepth {
			return r.errorf("JSON nested too deeply")
		}
		r.i++
		if r.peek() == closer {
			r.i++
			r.depth--
			return nil
		}
		for {
			if c == '{' {
				if _, ok, err := r.rawString(); err != nil {
					return err
				} else if !ok {
					if _, err := r.str(); err != nil {
						return err
					}
				}
				if err := r.expect(':'); err != nil {
					return err
				}
			}
			if err := r.scan(); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
			case closer:
				r.i++
				r.depth--
				return nil
			default:
				return r.errorf("want ',' or %q", closer)
			}
		}
	case '"':
		if _, ok, err := r.rawString(); err != nil {
			return err
		} else if !ok {
			_, err := r.str()
			return err
		}
		return nil
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal(jsonNull)
	case 0:
		return r.errorf("unexpected end of JSON")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			_, err := r.number()
			return err
		}
		return r.errorf("unexpected %q", c)
	}
}

// skip reads and discards a value.
func (r *reader) skip() error {
	return r.scan()
}

var errNoOps = errors.New(`want an array of ops or {"ops": [...]}`)

// readDelta reads a bare ops array or an object holding one under "ops"
// (other members are ignored, as new Delta(obj) does).
func readDelta(raw []byte) ([]op, error) {
	r := &reader{b: raw}
	var ops []op
	switch r.peek() {
	case '[':
		var err error
		if ops, err = r.array(); err != nil {
			return nil, err
		}
	case '{':
		found := false
		err := r.members(func(k string) error {
			if k != "ops" {
				return r.skip()
			}
			if r.peek() != '[' {
				return r.errorf(`"ops" must be an array`)
			}
			var err error
			ops, err = r.array()
			found = true
			return err
		})
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, errNoOps
		}
	default:
		return nil, errNoOps
	}
	if r.peek() != 0 {
		return nil, r.errorf("trailing data after JSON value")
	}
	return ops, nil
}

// Encoding.

// appendNumber appends f as JavaScript's JSON.stringify writes it (-0 is 0).
func appendNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		if math.Abs(f) <= maxLen {
			return strconv.AppendInt(dst, int64(f), 10)
		}
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	n := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as JavaScript writes it
		m := len(dst) - n
		if m >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

// appendOps appends ops as a JSON array.
func appendOps(dst []byte, ops []op) []byte {
	dst = append(dst, '[')
	dst = appendElems(dst, ops)
	return append(dst, ']')
}

// appendElems appends ops as comma-separated JSON objects.
func appendElems(dst []byte, ops []op) []byte {
	for i := range ops {
		o := &ops[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		switch o.kind {
		case kText:
			dst = append(dst, `{"insert":`...)
			dst = appendString(dst, o.s)
		case kEmbed:
			dst = append(dst, `{"insert":`...)
			dst = append(dst, o.s...)
		case kRetain:
			dst = append(dst, `{"retain":`...)
			dst = strconv.AppendInt(dst, int64(o.n), 10)
		case kDelete:
			dst = append(dst, `{"delete":`...)
			dst = strconv.AppendInt(dst, int64(o.n), 10)
		}
		if o.attrs != nil {
			dst = append(dst, `,"attributes":{`...)
			for j, a := range o.attrs.kv {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, a.k)
				dst = append(dst, ':')
				dst = append(dst, a.v...)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	return dst
}

// encodedSize estimates the JSON size of ops, to size the buffer once.
func encodedSize(ops []op) int {
	n := 2
	for i := range ops {
		n += 24 + len(ops[i].s) + len(ops[i].s)/16
		if a := ops[i].attrs; a != nil {
			for _, e := range a.kv {
				n += len(e.k) + len(e.v) + 4
			}
		}
	}
	return n
}

func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

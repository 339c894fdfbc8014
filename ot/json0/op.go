package json0

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/tandemhq/tandem/ot"
)

// Op is a decoded json0 op: its components, applied in order.
type Op []Component

// Component is one op component {p: path, ...instruction}. Its fields are
// unexported; ops come from DecodeOp, Normalize or the type's operations,
// and are never mutated once built.
type Component struct {
	p   []seg
	o   []tcomp // with hT; t is always "text0"
	ins any     // li or oi (they never come together)
	del any     // ld or od
	s   string  // si or sd
	num float64 // na or lm
	has uint16  // which instruction fields are present (h* bits)
}

// lm is the lm value as the JavaScript number the transform works with.
func (c *Component) lm() seg { return numSeg(c.num) }

// setLm stores a new lm value (the transform only ever computes numbers).
func (c *Component) setLm(s seg) { c.num = toNumber(s) }

const (
	hNa uint16 = 1 << iota
	hLi
	hLd
	hLm
	hOi
	hOd
	hSi
	hSd
	hT
)

func (c *Component) is(bits uint16) bool { return c.has&bits != 0 }

// isStr reports c.s != null || c.s != null.
func (c *Component) isStr() bool { return c.has&(hSi|hSd) != 0 }

// lastOffset is the text0 position a si/sd component carries at the end of
// its path (convertFromText's c.p.pop()), checked as text0 checks it.
func (c *Component) lastOffset() (int, error) {
	if len(c.p) == 0 {
		return 0, ot.InvalidOpf("component missing position field")
	}
	s := c.p[len(c.p)-1]
	if s.k != segNum {
		return 0, ot.InvalidOpf("component missing position field")
	}
	if s.n < 0 {
		return 0, ot.InvalidOpf("position cannot be negative")
	}
	i, ok := segIndex(s)
	if !ok {
		return 0, ot.InvalidOpf("string offset %v is not an integer", s.n)
	}
	return i, nil
}

// asText is convertFromText: the text0 component a si/sd component stands
// for (the string it edits is at c.p without its last segment).
func (c *Component) asText() (tcomp, error) {
	off, err := c.lastOffset()
	if err != nil {
		return tcomp{}, err
	}
	return newTcomp(off, c.s, c.is(hSd)), nil
}

// fromText is convertToText: a si/sd component at path base+[t.p].
func fromText(base []seg, t tcomp) Component {
	p := make([]seg, len(base)+1)
	copy(p, base)
	p[len(base)] = intSeg(t.p)
	if t.del {
		return Component{p: p, has: hSd, s: t.s}
	}
	return Component{p: p, has: hSi, s: t.s}
}

// protoNames are the Object.prototype property names sharedb 7.0 refuses
// as json0 path segments.
var protoNames = map[string]bool{
	"__proto__": true, "constructor": true, "toString": true, "valueOf": true,
	"hasOwnProperty": true, "isPrototypeOf": true, "propertyIsEnumerable": true,
	"toLocaleString": true, "__defineGetter__": true, "__defineSetter__": true,
	"__lookupGetter__": true, "__lookupSetter__": true,
}

// decodeOpValue turns a parsed JSON value into an Op, validating it.
func decodeOpValue(v any) (Op, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, ot.InvalidOpf("json0 op must be an array")
	}
	op := make(Op, 0, len(arr))
	for i, cv := range arr {
		m, ok := cv.(map[string]any)
		if !ok {
			return nil, ot.InvalidOpf("component %d: Missing path (component is not an object)", i)
		}
		c, err := decodeComponent(m, false)
		if err != nil {
			return nil, fmt.Errorf("%w (component %d)", err, i)
		}
		op = append(op, c)
	}
	return op, nil
}

var knownFields = map[string]bool{
	"p": true, "na": true, "li": true, "ld": true, "lm": true, "oi": true, "od": true,
	"si": true, "sd": true, "t": true, "o": true,
}

// decodeComponent validates one component. With fillPath a missing or null
// p becomes [] (normalize).
func decodeComponent(m map[string]any, fillPath bool) (Component, error) {
	var c Component
	pv, ok := m["p"]
	switch {
	case (!ok || pv == nil) && fillPath:
		c.p = []seg{}
	case !ok:
		return c, ot.InvalidOpf("Missing path")
	default:
		pa, ok := pv.([]any)
		if !ok {
			return c, ot.InvalidOpf("Missing path (p is not an array)")
		}
		c.p = make([]seg, len(pa))
		for j, sv := range pa {
			switch x := sv.(type) {
			case string:
				if protoNames[x] {
					return c, ot.InvalidOpf("Invalid path segment %q", x)
				}
				c.p[j] = strSeg(x)
			case float64:
				if x < 0 || x != math.Trunc(x) || x > maxSafe {
					return c, ot.InvalidOpf("Invalid path segment %v: a number must be a non-negative integer", x)
				}
				c.p[j] = numSeg(x + 0) // -0 becomes 0
			default:
				return c, ot.InvalidOpf("Invalid path segment %s: must be a string or a number", describe(sv))
			}
		}
	}
	for k := range m {
		if !knownFields[k] {
			return c, ot.InvalidOpf("unknown field %q in component", firstUnknown(m))
		}
	}
	if v, ok := m["na"]; ok {
		f, ok := v.(float64)
		if !ok {
			return c, ot.InvalidOpf("na must be a number, not %s", describe(v))
		}
		c.num, c.has = f, c.has|hNa
	}
	if v, ok := m["li"]; ok {
		c.ins, c.has = v, c.has|hLi
	}
	if v, ok := m["ld"]; ok {
		c.del, c.has = v, c.has|hLd
	}
	if v, ok := m["lm"]; ok {
		f, ok := v.(float64)
		if !ok || f < 0 || f != math.Trunc(f) || f > maxSafe {
			return c, ot.InvalidOpf("lm must be a non-negative integer, not %s", describe(v))
		}
		c.setLm(numSeg(f + 0))
		c.has |= hLm
	}
	if v, ok := m["oi"]; ok {
		c.ins, c.has = v, c.has|hOi
	}
	if v, ok := m["od"]; ok {
		c.del, c.has = v, c.has|hOd
	}
	if v, ok := m["si"]; ok {
		s, ok := v.(string)
		if !ok {
			return c, ot.InvalidOpf("si must be a string, not %s", describe(v))
		}
		c.s, c.has = s, c.has|hSi
	}
	if v, ok := m["sd"]; ok {
		s, ok := v.(string)
		if !ok {
			return c, ot.InvalidOpf("sd must be a string, not %s", describe(v))
		}
		c.s, c.has = s, c.has|hSd
	}
	tv, hasT := m["t"]
	ov, hasO := m["o"]
	if hasT != hasO {
		return c, ot.InvalidOpf("invalid / missing instruction in op (t and o go together)")
	}
	if hasT {
		if t, ok := tv.(string); !ok || t != "text0" {
			return c, ot.InvalidOpf("invalid / missing instruction in op (unknown subtype %s)", describe(tv))
		}
		o, err := decodeText0(ov)
		if err != nil {
			return c, err
		}
		c.o, c.has = o, c.has|hT
	}
	switch c.has {
	case hNa, hLi, hLd, hLi | hLd, hLm, hOi, hOd, hOi | hOd, hSi, hSd, hT:
	case 0:
		return c, ot.InvalidOpf("invalid / missing instruction in op")
	default:
		return c, ot.InvalidOpf("component mixes instructions (%s)", c.instrNames())
	}
	if c.is(hSi | hSd) {
		if _, err := c.lastOffset(); err != nil {
			return c, err
		}
	}
	if c.is(hLi | hLd | hLm) {
		if _, ok := segIndex(segAt(c.p, len(c.p)-1)); !ok {
			return c, ot.InvalidOpf("Referenced element not a list: a list op's path must end with an index")
		}
	}
	return c, nil
}

func firstUnknown(m map[string]any) string {
	var ks []string
	for k := range m {
		if !knownFields[k] {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks[0]
}

func (c *Component) instrNames() string {
	names := []string{"na", "li", "ld", "lm", "oi", "od", "si", "sd", "t"}
	out := ""
	for i, n := range names {
		if c.has&(1<<i) != 0 {
			if out != "" {
				out += "+"
			}
			out += n
		}
	}
	return out
}

// decodeText0 validates a text0 op as text0's checkValidOp does (and also
// requires integer offsets and no stray fields).
func decodeText0(v any) ([]tcomp, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, ot.InvalidOpf("text0 op must be an array, not %s", describe(v))
	}
	o := make([]tcomp, len(arr))
	for i, cv := range arr {
		m, ok := cv.(map[string]any)
		if !ok {
			return nil, ot.InvalidOpf("text0 component %d: component missing position field", i)
		}
		pf, ok := m["p"].(float64)
		if !ok {
			return nil, ot.InvalidOpf("text0 component %d: component missing position field", i)
		}
		is, iok := m["i"].(string)
		ds, dok := m["d"].(string)
		if iok == dok {
			return nil, ot.InvalidOpf("text0 component %d: component needs an i or d field", i)
		}
		if pf < 0 {
			return nil, ot.InvalidOpf("text0 component %d: position cannot be negative", i)
		}
		if pf != math.Trunc(pf) || pf > maxSafe {
			return nil, ot.InvalidOpf("text0 component %d: position %v is not an integer", i, pf)
		}
		for k := range m {
			if k != "p" && k != "i" && k != "d" {
				return nil, ot.InvalidOpf("text0 component %d: unknown field %q", i, k)
			}
		}
		if _, ok := m["i"]; ok && !iok {
			return nil, ot.InvalidOpf("text0 component %d: i must be a string", i)
		}
		if _, ok := m["d"]; ok && !dok {
			return nil, ot.InvalidOpf("text0 component %d: d must be a string", i)
		}
		if iok {
			o[i] = newTcomp(int(pf), is, false)
		} else {
			o[i] = newTcomp(int(pf), ds, true)
		}
	}
	return o, nil
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// appendOp writes an op as JSON.
func appendOp(b []byte, op Op) ([]byte, error) {
	b = append(b, '[')
	for i := range op {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendComponent(b, &op[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func appendSeg(b []byte, s seg) []byte {
	switch s.k {
	case segStr:
		return appendString(b, s.s)
	case segNum:
		return appendNumber(b, s.n)
	}
	return append(b, "null"...) // an array hole: JSON.stringify writes null
}

func appendComponent(b []byte, c *Component) ([]byte, error) {
	b = append(b, `{"p":[`...)
	for j, s := range c.p {
		if j > 0 {
			b = append(b, ',')
		}
		b = appendSeg(b, s)
	}
	b = append(b, ']')
	var err error
	field := func(name string, v any) {
		if err != nil {
			return
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b, err = appendValue(b, v)
	}
	if c.is(hT) {
		b = append(b, `,"t":"text0","o":[`...)
		for j, t := range c.o {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"p":`...)
			b = appendNumber(b, float64(t.p))
			if t.del {
				b = append(b, `,"d":`...)
			} else {
				b = append(b, `,"i":`...)
			}
			b = appendString(b, t.s)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if c.is(hNa) {
		b = append(b, `,"na":`...)
		b = appendNumber(b, c.num)
	}
	if c.is(hLd) {
		field("ld", c.del)
	}
	if c.is(hLi) {
		field("li", c.ins)
	}
	if c.is(hLm) {
		b = append(b, `,"lm":`...)
		b = appendSeg(b, c.lm())
	}
	if c.is(hOd) {
		field("od", c.del)
	}
	if c.is(hOi) {
		field("oi", c.ins)
	}
	if c.is(hSi) {
		b = append(b, `,"si":`...)
		b = appendString(b, c.s)
	}
	if c.is(hSd) {
		b = append(b, `,"sd":`...)
		b = appendString(b, c.s)
	}
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// asOp accepts the forms an ot.Op for json0 may take.
func asOp(v ot.Op) (Op, error) {
	switch x := v.(type) {
	case Op:
		return x, nil
	case []Component:
		return Op(x), nil
	case nil:
		return nil, ot.InvalidOpf("json0 op must be an array")
	case json.RawMessage:
		return Type{}.decode(x)
	}
	return nil, ot.InvalidOpf("json0: not a json0 op (%T)", v)
}

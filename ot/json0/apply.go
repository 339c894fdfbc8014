package json0

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"unsafe"

	"github.com/tandemhq/tandem/ot"
)

// applyOp applies the components in order. The input document is never
// modified: each component copies only the containers on its path, so the
// result shares every untouched subtree with the input, and on error the
// caller still holds the unchanged input.
func applyOp(doc any, op Op) (any, error) {
	var err error
	var own *owner
	if len(op) > 1 {
		own = &owner{}
	}
	for i := range op {
		if doc, err = applyComponent(doc, &op[i], own); err != nil {
			if len(op) > 1 {
				return nil, fmt.Errorf("component %d: %w", i, err)
			}
			return nil, err
		}
	}
	return doc, nil
}

// edit is a component reduced to what apply does, after the reference's
// convertFromText and its choice among the instruction fields.
type edit struct {
	c    *Component
	kind uint16  // the instruction apply carries out (one h* bit)
	text []tcomp // for hT
	path []seg   // path to the target (for si/sd without the offset)
	own  *owner  // containers this Apply made (nil: copy every container)
}

// owner records the containers one Apply call has made. A later component
// of the same op may change them in place: nothing else refers to them yet,
// so the input document and the op's values stay untouched.
type owner struct{ ptrs []unsafe.Pointer }

func (o *owner) has(p unsafe.Pointer) bool {
	if o == nil || p == nil {
		return false
	}
	for _, q := range o.ptrs {
		if q == p {
			return true
		}
	}
	return false
}

func (o *owner) add(p unsafe.Pointer) {
	if o != nil && p != nil {
		o.ptrs = append(o.ptrs, p)
	}
}

func mapID(m map[string]any) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&m)) }

func listID(l []any) unsafe.Pointer {
	if cap(l) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(l))
}

// writableMap returns m itself if this Apply made it, else a copy.
func (e *edit) writableMap(m map[string]any) map[string]any {
	if e.own.has(mapID(m)) {
		return m
	}
	out := maps.Clone(m)
	e.own.add(mapID(out))
	return out
}

// writableList returns l itself if this Apply made it, else a copy.
func (e *edit) writableList(l []any) []any {
	if e.own.has(listID(l)) {
		return l
	}
	out := make([]any, len(l))
	copy(out, l)
	e.own.add(listID(out))
	return out
}

func (e *edit) ownsList(l []any) bool { return e.own.has(listID(l)) }

func applyComponent(doc any, c *Component, own *owner) (any, error) {
	e := edit{c: c, path: c.p, own: own}
	switch {
	case c.isStr():
		t, err := c.asText()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ot.ErrApply, err)
		}
		e.kind, e.text, e.path = hT, []tcomp{t}, c.p[:len(c.p)-1]
	case c.is(hT):
		e.kind, e.text = hT, c.o
	case c.is(hNa):
		e.kind = hNa
	case c.is(hLi) && c.is(hLd):
		e.kind = hLi | hLd
	case c.is(hLi):
		e.kind = hLi
	case c.is(hLd):
		e.kind = hLd
	case c.is(hLm):
		e.kind = hLm
	case c.is(hOi):
		e.kind = hOi
	case c.is(hOd):
		e.kind = hOd
	default:
		return nil, ot.Applyf("invalid / missing instruction in op")
	}
	if len(e.path) == 0 {
		return e.applyRoot(doc)
	}
	return e.applyIn(doc, e.path)
}

// applyRoot handles an empty path: the reference's container {data: doc},
// a plain object, with key "data".
func (e *edit) applyRoot(doc any) (any, error) {
	switch e.kind {
	case hT:
		return e.applyText(doc, true)
	case hNa:
		return e.addNumber(doc, true)
	case hOi, hOi | hOd:
		return e.c.ins, nil
	case hOd:
		// The reference leaves undefined, which is no JSON document.
		return nil, ot.Applyf("cannot delete the document root with od (use oi to replace it)")
	}
	return nil, ot.Applyf("Referenced element not a list (the document root has no parent list)")
}

// applyIn walks to the container of the last path segment and rebuilds the
// containers on the way back up.
func (e *edit) applyIn(node any, path []seg) (any, error) {
	if len(path) == 1 {
		return e.applyFinal(node, path[0])
	}
	key := path[0]
	switch n := node.(type) {
	case map[string]any:
		k := segKey(key)
		child, ok := n[k]
		if !ok || child == nil {
			return nil, ot.Applyf("Path invalid: no value at key %q", k)
		}
		nc, err := e.applyIn(child, path[1:])
		if err != nil {
			return nil, err
		}
		out := e.writableMap(n)
		out[k] = nc
		return out, nil
	case []any:
		i, err := listIndex(key)
		if err != nil {
			return nil, err
		}
		if i >= len(n) || n[i] == nil {
			return nil, ot.Applyf("Path invalid: no value at index %d", i)
		}
		nc, err := e.applyIn(n[i], path[1:])
		if err != nil {
			return nil, err
		}
		out := e.writableList(n)
		out[i] = nc
		return out, nil
	case nil:
		return nil, ot.Applyf("Path invalid: path goes through null")
	}
	return nil, ot.Applyf("Path invalid: path goes through %s", jsType(node))
}

func listIndex(key seg) (int, error) {
	i, ok := segIndex(key)
	if !ok {
		if key.k == segStr {
			return 0, ot.Applyf("list index %q is a string", key.s)
		}
		return 0, ot.Applyf("invalid list index %s", jsNumberString(key.n))
	}
	return i, nil
}

// isObject is the reference's isObject: obj.constructor === Object. A JSON
// object that holds its own "constructor" key fails it, so oi/od on such
// an object throw in every browser; we refuse them too.
func isObject(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	if _, has := m["constructor"]; has {
		return nil, false
	}
	return m, true
}

func notObject(v any) error {
	return ot.Applyf("Referenced element not an object (it was %s)", jsType(v))
}

func (e *edit) applyFinal(node any, key seg) (any, error) {
	switch e.kind {
	case hOi, hOi | hOd, hOd:
		m, ok := isObject(node)
		if !ok {
			return nil, notObject(node)
		}
		k := segKey(key)
		if e.kind == hOd {
			if _, has := m[k]; !has {
				return node, nil
			}
			out := e.writableMap(m)
			delete(out, k)
			return out, nil
		}
		out := e.writableMap(m)
		out[k] = e.c.ins
		return out, nil
	case hT, hNa:
		switch n := node.(type) {
		case map[string]any:
			k := segKey(key)
			v, ok := n[k]
			nv, err := e.editLeaf(v, ok)
			if err != nil || (!ok && nv == nil) {
				return node, err
			}
			out := e.writableMap(n)
			out[k] = nv
			return out, nil
		case []any:
			i, err := listIndex(key)
			if err != nil {
				return nil, err
			}
			if i >= len(n) {
				if _, err := e.editLeaf(nil, false); err != nil {
					return nil, err
				}
				// An empty text0 op past the end: the reference would
				// extend the array with holes.
				return nil, ot.Applyf("index %d is past the end of the list", i)
			}
			nv, err := e.editLeaf(n[i], true)
			if err != nil {
				return nil, err
			}
			out := e.writableList(n)
			out[i] = nv
			return out, nil
		case nil:
			return nil, ot.Applyf("Path invalid: path goes through null")
		}
		return nil, ot.Applyf("Path invalid: path goes through %s", jsType(node))
	}
	// List operations.
	list, ok := node.([]any)
	if !ok {
		return nil, ot.Applyf("Referenced element not a list (it was %s)", jsType(node))
	}
	i, err := listIndex(key)
	if err != nil {
		return nil, err
	}
	switch e.kind {
	case hLi | hLd:
		if i >= len(list) {
			return nil, ot.Applyf("list replace at index %d past the end of the list (length %d)", i, len(list))
		}
		out := e.writableList(list)
		out[i] = e.c.ins
		return out, nil
	case hLi:
		i = min(i, len(list)) // splice appends past the end
		if e.ownsList(list) && cap(list) > len(list) {
			list = list[:len(list)+1]
			copy(list[i+1:], list[i:])
			list[i] = e.c.ins
			return list, nil
		}
		out := make([]any, len(list)+1)
		copy(out, list[:i])
		out[i] = e.c.ins
		copy(out[i+1:], list[i:])
		e.own.add(listID(out))
		return out, nil
	case hLd:
		if i >= len(list) {
			return node, nil // splice removes nothing
		}
		if e.ownsList(list) {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			return list[:len(list)-1], nil
		}
		out := make([]any, len(list)-1)
		copy(out, list[:i])
		copy(out[i:], list[i+1:])
		e.own.add(listID(out))
		return out, nil
	case hLm:
		if looseEq(e.c.lm(), key) {
			return node, nil
		}
		if i >= len(list) {
			return nil, ot.Applyf("lm from index %d past the end of the list (length %d)", i, len(list))
		}
		to, ok := segIndex(e.c.lm())
		if !ok {
			return nil, ot.Applyf("invalid lm target %s", jsNumberString(toNumber(e.c.lm())))
		}
		to = min(to, len(list)-1)
		v := list[i]
		out := e.writableList(list)
		if to > i {
			copy(out[i:to], out[i+1:to+1])
		} else {
			copy(out[to+1:i+1], out[to:i])
		}
		out[to] = v
		return out, nil
	}
	return nil, ot.Applyf("invalid / missing instruction in op")
}

// editLeaf computes the new value of a text0 or na target. With ok false
// the target is missing; an empty text0 op on it is a no-op and returns
// (nil, nil).
func (e *edit) editLeaf(v any, ok bool) (any, error) {
	if e.kind == hNa {
		return e.addNumber(v, ok)
	}
	return e.applyText(v, ok)
}

func (e *edit) addNumber(v any, ok bool) (any, error) {
	f, isNum := v.(float64)
	if !ok || !isNum {
		return nil, ot.Applyf("Referenced element not a number (it was %s)", jsTypeOK(v, ok))
	}
	sum := f + e.c.num
	if math.IsInf(sum, 0) || math.IsNaN(sum) {
		return nil, ot.Applyf("na result %v is not a finite number", sum)
	}
	return sum, nil
}

func (e *edit) applyText(v any, ok bool) (any, error) {
	if len(e.text) == 0 {
		// text0.apply with an empty op returns its input unchanged.
		if !ok {
			return nil, nil
		}
		return v, nil
	}
	s, isStr := v.(string)
	if !ok || !isStr {
		return nil, ot.Applyf("string op on a non-string (it was %s)", jsTypeOK(v, ok))
	}
	out, err := text0Apply(s, e.text)
	if err != nil {
		if errors.Is(err, ot.ErrApply) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ot.ErrApply, err)
	}
	return out, nil
}

func jsTypeOK(v any, ok bool) string {
	if !ok {
		return "undefined"
	}
	return jsType(v)
}

func jsType(v any) string {
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
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

package richtext

// attr is one attribute: its key and its value as canonical JSON (object
// keys sorted, numbers in JavaScript form), so that comparing two values as
// bytes is lodash.isEqual on the values. A null value is "null".
type attr struct {
	k, v string
}

// attrSet is an attribute map, sorted by key with unique keys. It is
// immutable once built and shared freely between ops.
//
// A nil *attrSet is an absent "attributes" field; a non-nil empty set is
// "attributes": {}, which quill-delta treats differently from an absent one
// in a few places (it is truthy, and not lodash.isEqual to undefined).
type attrSet struct {
	kv []attr
}

const jsonNull = "null"

func (a *attrSet) size() int {
	if a == nil {
		return 0
	}
	return len(a.kv)
}

func (a *attrSet) hasNull() bool {
	if a == nil {
		return false
	}
	for _, e := range a.kv {
		if e.v == jsonNull {
			return true
		}
	}
	return false
}

// attrsEqual is lodash.isEqual on two attribute fields (undefined included).
func attrsEqual(a, b *attrSet) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || len(a.kv) != len(b.kv) {
		return false
	}
	for i := range a.kv {
		if a.kv[i] != b.kv[i] {
			return false
		}
	}
	return true
}

// nonEmpty returns a, or nil when a has no keys: the reference's
// "Object.keys(attributes).length > 0 ? attributes : undefined".
func nonEmpty(a *attrSet) *attrSet {
	if a.size() == 0 {
		return nil
	}
	return a
}

// composeAttrs is AttributeMap.compose(a, b, keepNull): b's attributes (its
// nulls dropped unless keepNull) plus a's for keys b does not mention.
func composeAttrs(a, b *attrSet, keepNull bool) *attrSet {
	if b.size() == 0 {
		return nonEmpty(a)
	}
	if a.size() == 0 && (keepNull || !b.hasNull()) {
		return b
	}
	out := make([]attr, 0, a.size()+b.size())
	var ak []attr
	if a != nil {
		ak = a.kv
	}
	bk := b.kv
	i, j := 0, 0
	for i < len(ak) || j < len(bk) {
		switch {
		case j >= len(bk) || (i < len(ak) && ak[i].k < bk[j].k):
			out = append(out, ak[i]) // only in a: kept, even a null
			i++
		case i >= len(ak) || bk[j].k < ak[i].k:
			if keepNull || bk[j].v != jsonNull {
				out = append(out, bk[j])
			}
			j++
		default: // in both: b wins; b's null removes the key
			if keepNull || bk[j].v != jsonNull {
				out = append(out, bk[j])
			}
			i++
			j++
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &attrSet{kv: out}
}

// diffAttrs is AttributeMap.diff(a, b): for every key whose values differ,
// b's value, or null where b lacks the key.
func diffAttrs(a, b *attrSet) *attrSet {
	if attrsEqual(a, b) {
		return nil
	}
	var ak, bk []attr
	if a != nil {
		ak = a.kv
	}
	if b != nil {
		bk = b.kv
	}
	var out []attr
	i, j := 0, 0
	for i < len(ak) || j < len(bk) {
		switch {
		case j >= len(bk) || (i < len(ak) && ak[i].k < bk[j].k):
			out = append(out, attr{ak[i].k, jsonNull})
			i++
		case i >= len(ak) || bk[j].k < ak[i].k:
			out = append(out, bk[j])
			j++
		default:
			if ak[i].v != bk[j].v {
				out = append(out, bk[j])
			}
			i++
			j++
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &attrSet{kv: out}
}

// transformAttrs is AttributeMap.transform(a, b, priority).
func transformAttrs(a, b *attrSet, priority bool) *attrSet {
	if a == nil {
		return b
	}
	if b == nil {
		return nil
	}
	if !priority {
		return b // b simply overwrites us without priority
	}
	var out []attr
	i := 0
	for _, e := range b.kv {
		for i < len(a.kv) && a.kv[i].k < e.k {
			i++
		}
		if i < len(a.kv) && a.kv[i].k == e.k {
			continue
		}
		out = append(out, e) // null is a valid value
	}
	if len(out) == 0 {
		return nil
	}
	if len(out) == len(b.kv) {
		return b
	}
	return &attrSet{kv: out}
}

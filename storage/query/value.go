package query

import (
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Values are decoded from JSON into:
//
//	nil        JSON null
//	bool
//	float64    every JSON number (as in JavaScript; out-of-range numbers
//	           become ±Inf, as JSON.parse makes them)
//	string
//	*object    a JSON object, keys in JavaScript property order
//	[]any      a JSON array
//	undefinedT only as a sort key (an empty array sorts below null)
//
// A missing field is not a value: the path iterator reports it with
// present == false (MongoDB's EOO element).

// object is a JSON object that keeps its keys in order. MongoDB compares
// embedded documents field by field in stored order, so {a:1,b:2} and
// {b:2,a:1} differ; the order is the one a JavaScript object has after
// JSON.parse (sharedb runs on Node): array-index keys ("0", "1", ...) first
// in ascending numeric order, then the other keys in insertion order, a
// repeated key keeping its first position and its last value.
type object struct {
	keys []string
	vals []any
	idx  map[string]int // built for larger objects only
}

// indexThreshold is the size from which an object gets a lookup map.
const indexThreshold = 12

func (o *object) get(k string) (any, bool) {
	if o.idx != nil {
		i, ok := o.idx[k]
		if !ok {
			return nil, false
		}
		return o.vals[i], true
	}
	for i, kk := range o.keys {
		if kk == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

// has reports whether o has key k.
func (o *object) has(k string) bool {
	_, ok := o.get(k)
	return ok
}

// set replaces the value of an existing key in place or appends a new one.
func (o *object) set(k string, v any) {
	if o.idx != nil {
		if i, ok := o.idx[k]; ok {
			o.vals[i] = v
			return
		}
		o.idx[k] = len(o.keys)
	} else {
		for i, kk := range o.keys {
			if kk == k {
				o.vals[i] = v
				return
			}
		}
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
	if o.idx == nil && len(o.keys) > indexThreshold {
		o.reindex()
	}
}

func (o *object) reindex() {
	o.idx = make(map[string]int, len(o.keys))
	for i, k := range o.keys {
		o.idx[k] = i
	}
}

// jsOrder moves array-index keys to the front in ascending numeric order,
// as JavaScript orders an object's own properties.
func (o *object) jsOrder() {
	n := 0
	for _, k := range o.keys {
		if _, ok := arrayIndex(k); ok {
			n++
		}
	}
	if n == 0 {
		return
	}
	type kv struct {
		k   string
		v   any
		idx uint32
		num bool
	}
	kvs := make([]kv, len(o.keys))
	for i, k := range o.keys {
		x, ok := arrayIndex(k)
		kvs[i] = kv{k, o.vals[i], x, ok}
	}
	sort.SliceStable(kvs, func(i, j int) bool {
		a, b := kvs[i], kvs[j]
		if a.num != b.num {
			return a.num
		}
		if a.num {
			return a.idx < b.idx
		}
		return false
	})
	for i, e := range kvs {
		o.keys[i], o.vals[i] = e.k, e.v
	}
	if o.idx != nil {
		o.reindex()
	}
}

// arrayIndex reports whether k is a JavaScript array index: the canonical
// decimal form of an integer in [0, 2^32-2].
func arrayIndex(k string) (uint32, bool) {
	if k == "" || len(k) > 10 || (k[0] == '0' && len(k) > 1) {
		return 0, false
	}
	var x uint64
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		x = x*10 + uint64(c-'0')
	}
	if x > math.MaxUint32-1 {
		return 0, false
	}
	return uint32(x), true
}

// undefinedT is BSON undefined; it appears only as the sort key of an
// empty array, which MongoDB sorts before null.
type undefinedT struct{}

// maxDepth bounds the nesting of decoded JSON (encoding/json's own limit is
// 10000); it keeps the recursive decoder's and matcher's stacks small on
// hostile input.
const maxDepth = 1000

var errTooDeep = errors.New("JSON nested too deeply")

// Canonical type ranks (MongoDB's canonicalizeBSONType), which order
// values of different types in comparisons and sorts.
const (
	rankUndefined = 0 // also a missing field
	rankNull      = 5
	rankNumber    = 10
	rankString    = 15
	rankObject    = 20
	rankArray     = 25
	rankBool      = 40
)

func rank(v any) int {
	switch v.(type) {
	case nil:
		return rankNull
	case float64:
		return rankNumber
	case string:
		return rankString
	case *object:
		return rankObject
	case []any:
		return rankArray
	case bool:
		return rankBool
	}
	return rankUndefined
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareDoubles orders numbers as MongoDB does: NaN below every number
// and equal to itself; -0 equals 0.
func compareDoubles(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	if math.IsNaN(a) {
		if math.IsNaN(b) {
			return 0
		}
		return -1
	}
	return 1
}

// compare orders two values as MongoDB's BSON comparison does: first by
// canonical type (null < numbers < strings < objects < arrays < booleans),
// then by value; strings compare byte-wise (no collation); objects compare
// field by field (type, then name, then value) in stored order; arrays
// element by element; a shorter prefix sorts first.
func compare(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmpInt(ra, rb)
	}
	switch x := a.(type) {
	case float64:
		return compareDoubles(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case *object:
		y := b.(*object)
		for i := 0; ; i++ {
			if i == len(x.keys) {
				if i == len(y.keys) {
					return 0
				}
				return -1
			}
			if i == len(y.keys) {
				return 1
			}
			if c := cmpInt(rank(x.vals[i]), rank(y.vals[i])); c != 0 {
				return c
			}
			if c := strings.Compare(x.keys[i], y.keys[i]); c != 0 {
				return c
			}
			if c := compare(x.vals[i], y.vals[i]); c != 0 {
				return c
			}
		}
	case []any:
		y := b.([]any)
		for i := 0; ; i++ {
			if i == len(x) {
				if i == len(y) {
					return 0
				}
				return -1
			}
			if i == len(y) {
				return 1
			}
			if c := compare(x[i], y[i]); c != 0 {
				return c
			}
		}
	}
	return 0 // null == null, undefined == undefined
}

// BSON type codes, as $type takes them.
const (
	typeDouble    = 1
	typeString    = 2
	typeObject    = 3
	typeArray     = 4
	typeUndefined = 6
	typeBool      = 8
	typeNull      = 10
	typeInt       = 16
)

// bsonType is the BSON type the Node.js driver stores a value as: a number
// that is an integer in int32 range (and not -0) becomes int32, any other
// number a double.
func bsonType(v any) int {
	switch x := v.(type) {
	case nil:
		return typeNull
	case bool:
		return typeBool
	case float64:
		if isInt32(x) {
			return typeInt
		}
		return typeDouble
	case string:
		return typeString
	case *object:
		return typeObject
	case []any:
		return typeArray
	}
	return typeUndefined
}

func isInt32(x float64) bool {
	return x == math.Trunc(x) && x >= math.MinInt32 && x <= math.MaxInt32 &&
		!(x == 0 && math.Signbit(x))
}

// truthy is JavaScript truthiness (sharedb-mongo's checks use it).
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	}
	return true
}

// bsonTrue is BSONElement::trueValue, which $exists uses: false for false,
// 0 and null, true for everything else (including "").
func bsonTrue(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	}
	return true
}

// appendJSON encodes v as JSON, keeping object key order. Non-finite
// numbers become null, as JSON.stringify makes them.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil, undefinedT:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(b, "null"...)
		}
		enc, _ := json.Marshal(x) // ES number formatting
		return append(b, enc...)
	case string:
		enc, _ := json.Marshal(x)
		return append(b, enc...)
	case *object:
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ',')
			}
			enc, _ := json.Marshal(k)
			b = append(b, enc...)
			b = append(b, ':')
			b = appendJSON(b, x.vals[i])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

// describe renders a value for an error message (JSON, shortened).
func describe(v any) string {
	s := string(appendJSON(nil, v))
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

package query

import (
	"strconv"
	"strings"
)

// leafMode says what the path iterator does with an array found at the end
// of the path (MongoDB's ElementPath::LeafArrayBehavior).
type leafMode uint8

const (
	// leafTraverse yields each element of a leaf array, then the array
	// itself: {a: 1} matches {a: [1, 2]} and {a: [1, 2]} matches it too.
	// Comparisons, $in, $exists, $type and $regex use it.
	leafTraverse leafMode = iota
	// leafNoTraversal yields the leaf array only; $size, $elemMatch and
	// $all's $elemMatch form use it.
	leafNoTraversal
)

// visitFunc receives one element the path resolves to. present is false
// for a missing field (MongoDB's EOO element). whole is true when v is a
// leaf array yielded after its elements (leafTraverse). Returning true stops
// the walk.
type visitFunc func(v any, present, whole bool) bool

// splitPath splits a dotted field path ("a.b.0.c") into its parts.
func splitPath(p string) []string { return strings.Split(p, ".") }

// getField looks key up in a document: an object, or an array treated as
// a document whose field names are "0", "1", ... (as BSON stores arrays).
func getField(doc any, key string) (any, bool) {
	switch d := doc.(type) {
	case *object:
		return d.get(key)
	case []any:
		i, ok := arrayIndex(key)
		if !ok || int64(i) >= int64(len(d)) {
			return nil, false
		}
		return d[i], true
	}
	return nil, false
}

// getFieldDottedOrArray follows parts through nested objects from doc and
// stops at the first array or at the end of the path. It returns the value
// found (present false if the path is missing or runs into a scalar before
// its end) and the index of the part that produced it.
func getFieldDottedOrArray(doc any, parts []string) (v any, present bool, idx int) {
	cur := doc
	for i := 0; i < len(parts); i++ {
		res, ok := getField(cur, parts[i])
		if !ok {
			return nil, false, i
		}
		switch res.(type) {
		case *object:
			if i == len(parts)-1 {
				return res, true, i
			}
			cur = res
		case []any:
			return res, true, i
		default:
			if i < len(parts)-1 {
				return nil, false, i
			}
			return res, true, i
		}
	}
	// Only reached for an empty path, which splitPath never produces.
	return nil, false, 0
}

// isAllDigits is MongoDB's str::isAllDigits on a path part: a non-empty
// string of ASCII digits.
func isAllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// walk yields every element path resolves to in doc, exactly as MongoDB's
// BSONElementIterator (src/mongo/db/matcher/path.cpp) does:
//
//   - objects along the path are descended into;
//   - an array met before the end of the path is traversed: each object
//     element is searched for the rest of the path (a missing field there
//     yields a missing element); when the next part is a number n, element n
//     is also taken positionally (itself if the path ends there, without
//     expanding it; else the rest of the path inside it if it is an object
//     or an array); scalar elements are skipped;
//   - an array at the end of the path yields its elements and then itself
//     (leafTraverse) or only itself (leafNoTraversal); nested arrays are
//     not expanded further;
//   - a missing path, or one that runs into a scalar, yields one missing
//     element; one that runs into an array of scalars yields nothing.
func walk(doc any, path []string, leaf leafMode, fn visitFunc) bool {
	v, ok, idx := getFieldDottedOrArray(doc, path)
	arr, isArr := v.([]any)
	if !ok || !isArr {
		return fn(v, ok, false)
	}
	rest := path[idx+1:]
	if len(rest) == 0 && leaf == leafNoTraversal {
		return fn(arr, true, false)
	}
	return walkArray(arr, rest, leaf, fn)
}

// walkArray is the IN_ARRAY state of the iterator: arr was found and rest
// is the path after it.
func walkArray(arr []any, rest []string, leaf leafMode, fn visitFunc) bool {
	if len(rest) == 0 {
		for _, e := range arr {
			if fn(e, true, false) {
				return true
			}
		}
		return fn(arr, true, true)
	}
	next := rest[0]
	nextIsNum := isAllDigits(next)
	offset := -1
	if nextIsNum {
		if n, err := strconv.Atoi(next); err == nil && strconv.Itoa(n) == next {
			offset = n // "01" names no array element
		}
	}
	for i, e := range arr {
		switch el := e.(type) {
		case *object:
			if walk(el, rest, leaf, fn) {
				return true
			}
			if i == offset {
				if len(rest) == 1 {
					if fn(el, true, false) {
						return true
					}
				} else if walk(el, rest[1:], leaf, fn) {
					return true
				}
			}
		default:
			if i != offset {
				continue
			}
			if len(rest) == 1 {
				if fn(e, true, false) {
					return true
				}
				continue
			}
			if sub, ok := e.([]any); ok {
				if walkArray(sub, rest[1:], leaf, fn) {
					return true
				}
			}
		}
	}
	return false
}

package query

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// node is a compiled filter expression (a MongoDB MatchExpression).
type node interface {
	// matchDoc evaluates the expression against a document (an object, or
	// an array when $elemMatch treats an array element as a document).
	matchDoc(doc any) bool
	// matchElem is matchesSingleElement: the expression applied to one
	// value directly, without following a path ($elemMatch's value form).
	matchElem(v any, present bool) bool
}

type andNode []node

func (n andNode) matchDoc(doc any) bool {
	for _, c := range n {
		if !c.matchDoc(doc) {
			return false
		}
	}
	return true
}

func (n andNode) matchElem(v any, present bool) bool {
	for _, c := range n {
		if !c.matchElem(v, present) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) matchDoc(doc any) bool {
	for _, c := range n {
		if c.matchDoc(doc) {
			return true
		}
	}
	return false
}

func (n orNode) matchElem(v any, present bool) bool {
	for _, c := range n {
		if c.matchElem(v, present) {
			return true
		}
	}
	return false
}

type norNode []node

func (n norNode) matchDoc(doc any) bool              { return !orNode(n).matchDoc(doc) }
func (n norNode) matchElem(v any, present bool) bool { return !orNode(n).matchElem(v, present) }

type notNode struct{ n node }

func (n notNode) matchDoc(doc any) bool              { return !n.n.matchDoc(doc) }
func (n notNode) matchElem(v any, present bool) bool { return !n.n.matchElem(v, present) }

// falseNode is $all: [], which matches nothing.
type falseNode struct{}

func (falseNode) matchDoc(any) bool        { return false }
func (falseNode) matchElem(any, bool) bool { return false }

// pathNode applies a predicate to every element a field path resolves to
// and matches if any element satisfies it (PathMatchExpression).
type pathNode struct {
	path []string
	leaf leafMode
	pred predicate
}

func (n *pathNode) matchDoc(doc any) bool {
	return walk(doc, n.path, n.leaf, func(v any, present, _ bool) bool {
		return n.pred.test(v, present)
	})
}

func (n *pathNode) matchElem(v any, present bool) bool { return n.pred.test(v, present) }

// predicate is a leaf's matchesSingleElement.
type predicate interface {
	test(v any, present bool) bool
}

type cmpOp uint8

const (
	opEQ cmpOp = iota
	opLT
	opLTE
	opGT
	opGTE
)

// cmpPred is $eq/$lt/$lte/$gt/$gte (ComparisonMatchExpression): values of
// different canonical types never compare, except that null also matches
// a missing field for $eq, $lte and $gte.
type cmpPred struct {
	op  cmpOp
	rhs any
}

func (p *cmpPred) test(v any, present bool) bool {
	lr := rankUndefined
	if present {
		lr = rank(v)
	}
	rr := rank(p.rhs)
	if lr != rr {
		if lr+rr == rankNull { // missing vs null
			return p.op == opEQ || p.op == opLTE || p.op == opGTE
		}
		return false
	}
	if p.op != opEQ {
		if a, ok := v.(float64); ok {
			b := p.rhs.(float64)
			if math.IsNaN(a) || math.IsNaN(b) {
				both := math.IsNaN(a) && math.IsNaN(b)
				return (p.op == opLTE || p.op == opGTE) && both
			}
		}
	}
	c := compare(v, p.rhs)
	switch p.op {
	case opEQ:
		return c == 0
	case opLT:
		return c < 0
	case opLTE:
		return c <= 0
	case opGT:
		return c > 0
	}
	return c >= 0
}

// inPred is $in: equality with any listed value; a null in the list also
// matches a missing field.
type inPred struct {
	vals    []any
	hasNull bool
}

func (p *inPred) test(v any, present bool) bool {
	if !present {
		return p.hasNull
	}
	for _, x := range p.vals {
		if rank(x) == rank(v) && compare(x, v) == 0 {
			return true
		}
	}
	return false
}

type existsPred struct{}

func (existsPred) test(_ any, present bool) bool { return present }

// typePred is $type: the value's BSON type is in the set (number: any
// numeric type).
type typePred struct {
	types  map[int]bool
	number bool
}

func (p *typePred) test(v any, present bool) bool {
	if !present {
		return false
	}
	if _, ok := v.(float64); ok && p.number {
		return true
	}
	return p.types[bsonType(v)]
}

type regexPred struct{ re *regexp.Regexp }

func (p *regexPred) test(v any, present bool) bool {
	s, ok := v.(string)
	return ok && p.re.MatchString(s)
}

type sizePred struct{ n int }

func (p *sizePred) test(v any, _ bool) bool {
	a, ok := v.([]any)
	return ok && len(a) == p.n
}

// modPred is $mod: [divisor, remainder] on numbers truncated to int64.
type modPred struct{ div, rem int64 }

func (p *modPred) test(v any, _ bool) bool {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return false
	}
	t := math.Trunc(f)
	if t >= 9223372036854775808.0 || t < -9223372036854775808.0 {
		return false
	}
	x := int64(t)
	if p.div == -1 {
		return p.rem == 0 // avoids MinInt64 % -1 overflow; x % -1 is 0
	}
	return x%p.div == p.rem
}

// elemMatchObj is $elemMatch with a query document: some element that is
// an object (or an array, seen as a document) matches it.
type elemMatchObj struct{ sub node }

func (p *elemMatchObj) test(v any, _ bool) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range a {
		switch e.(type) {
		case *object, []any:
			if p.sub.matchDoc(e) {
				return true
			}
		}
	}
	return false
}

// elemMatchVal is $elemMatch with operators: some element satisfies all.
type elemMatchVal struct{ subs []node }

func (p *elemMatchVal) test(v any, _ bool) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range a {
		all := true
		for _, s := range p.subs {
			if !s.matchElem(e, true) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// ---- parsing ----

func badValue(format string, args ...any) error {
	return &Error{Code: CodeBadValue, Message: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return &Error{Code: CodeUnsupported, Message: fmt.Sprintf(format, args...)}
}

// pathlessOps are MongoDB's top-level ("pathless") operators.
var pathlessOps = map[string]bool{
	"$and": true, "$or": true, "$nor": true, "$comment": true, "$where": true,
	"$expr": true, "$text": true, "$jsonSchema": true, "$alwaysTrue": true,
	"$alwaysFalse": true, "$id": true, "$ref": true, "$db": true,
	"$sampleRate": true,
}

// fieldOps are the operators MongoDB accepts on a field; those without a
// parser below are valid MongoDB that this package does not evaluate.
var fieldOps = map[string]bool{
	"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true,
	"$in": true, "$nin": true, "$exists": true, "$type": true, "$regex": true,
	"$options": true, "$size": true, "$all": true, "$elemMatch": true, "$not": true,
	"$mod":        true,
	"$bitsAllSet": true, "$bitsAllClear": true, "$bitsAnySet": true, "$bitsAnyClear": true,
	"$geoWithin": true, "$geoIntersects": true, "$near": true, "$nearSphere": true,
	"$within": true, "$geoNear": true, "$maxDistance": true, "$minDistance": true,
}

// isExpressionDoc is MongoDB's isExpressionDocument: a non-empty object
// whose first key starts with "$" and that is not a DBRef ({$ref, $id},
// or with allowIncompleteDBRef any of $ref/$id/$db).
func isExpressionDoc(v any, allowIncompleteDBRef bool) bool {
	o, ok := v.(*object)
	if !ok || len(o.keys) == 0 || !strings.HasPrefix(o.keys[0], "$") {
		return false
	}
	hasRef, hasID, hasDB := o.has("$ref"), o.has("$id"), o.has("$db")
	if allowIncompleteDBRef {
		return !(hasRef || hasID || hasDB)
	}
	return !(hasRef && hasID)
}

// parseFilter compiles a query document.
func parseFilter(o *object) (node, error) {
	var and andNode
	for i, k := range o.keys {
		v := o.vals[i]
		if strings.HasPrefix(k, "$") {
			n, err := parsePathless(k, v)
			if err != nil {
				return nil, err
			}
			if n != nil {
				and = append(and, n)
			}
			continue
		}
		if isExpressionDoc(v, false) {
			nodes, err := parseSub(k, v.(*object))
			if err != nil {
				return nil, err
			}
			and = append(and, nodes...)
			continue
		}
		and = append(and, &pathNode{path: splitPath(k), pred: &cmpPred{op: opEQ, rhs: v}})
	}
	if len(and) == 1 {
		return and[0], nil
	}
	return and, nil
}

func parsePathless(k string, v any) (node, error) {
	switch k {
	case "$and", "$or", "$nor":
		arr, ok := v.([]any)
		if !ok {
			return nil, badValue("%s must be an array", k)
		}
		if len(arr) == 0 {
			return nil, badValue("$and/$or/$nor must be a nonempty array")
		}
		subs := make([]node, 0, len(arr))
		for _, e := range arr {
			o, ok := e.(*object)
			if !ok {
				return nil, badValue("$or/$and/$nor entries need to be full objects")
			}
			n, err := parseFilter(o)
			if err != nil {
				return nil, err
			}
			subs = append(subs, n)
		}
		switch k {
		case "$and":
			return andNode(subs), nil
		case "$or":
			return orNode(subs), nil
		}
		return norNode(subs), nil
	case "$comment":
		return nil, nil
	case "$id", "$ref", "$db":
		// A DBRef field: plain equality on the field of that name.
		return &pathNode{path: []string{k}, pred: &cmpPred{op: opEQ, rhs: v}}, nil
	case "$where":
		return nil, &Error{Code: CodeWhereDisabled, Message: "$where queries disabled"}
	}
	if pathlessOps[k] {
		return nil, unsupported("top level operator %s is not supported by Tandem's in-memory query engine", k)
	}
	return nil, badValue("unknown top level operator: %s", k)
}

// parseSub compiles the operator document of field name ({$gt: 1, $lt: 5}).
// Each operator becomes its own node, ANDed by the caller.
func parseSub(name string, sub *object) ([]node, error) {
	var out []node
	for i, k := range sub.keys {
		n, err := parseSubField(sub, name, k, sub.vals[i])
		if err != nil {
			return nil, err
		}
		if n != nil {
			out = append(out, n)
		}
	}
	return out, nil
}

func leafNode(name string, p predicate) *pathNode {
	return &pathNode{path: splitPath(name), pred: p}
}

func arrayNode(name string, p predicate) *pathNode {
	return &pathNode{path: splitPath(name), leaf: leafNoTraversal, pred: p}
}

func parseSubField(ctx *object, name, op string, v any) (node, error) {
	switch op {
	case "$eq":
		return leafNode(name, &cmpPred{op: opEQ, rhs: v}), nil
	case "$lt":
		return leafNode(name, &cmpPred{op: opLT, rhs: v}), nil
	case "$lte":
		return leafNode(name, &cmpPred{op: opLTE, rhs: v}), nil
	case "$gt":
		return leafNode(name, &cmpPred{op: opGT, rhs: v}), nil
	case "$gte":
		return leafNode(name, &cmpPred{op: opGTE, rhs: v}), nil
	case "$ne":
		return notNode{leafNode(name, &cmpPred{op: opEQ, rhs: v})}, nil
	case "$in", "$nin":
		arr, ok := v.([]any)
		if !ok {
			return nil, badValue("%s needs an array", op)
		}
		p := &inPred{}
		for _, e := range arr {
			if isExpressionDoc(e, false) {
				return nil, badValue("cannot nest $ under %s", op)
			}
			if e == nil {
				p.hasNull = true
			}
			p.vals = append(p.vals, e)
		}
		if op == "$nin" {
			return notNode{leafNode(name, p)}, nil
		}
		return leafNode(name, p), nil
	case "$exists":
		n := leafNode(name, existsPred{})
		if bsonTrue(v) {
			return n, nil
		}
		return notNode{n}, nil
	case "$type":
		p, err := parseType(v)
		if err != nil {
			return nil, err
		}
		return leafNode(name, p), nil
	case "$size":
		f, ok := v.(float64)
		if !ok {
			return nil, badValue("$size needs a number")
		}
		if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return nil, badValue("$size must be a whole number")
		}
		if f < 0 {
			return nil, badValue("$size may not be negative")
		}
		return arrayNode(name, &sizePred{n: int(f)}), nil
	case "$mod":
		return parseMod(name, v)
	case "$regex":
		return parseRegex(name, ctx)
	case "$options":
		if ctx.has("$regex") {
			return nil, nil // read by $regex
		}
		return nil, badValue("$options needs a $regex")
	case "$not":
		o, ok := v.(*object)
		if !ok {
			return nil, badValue("$not needs a regex or a document")
		}
		if len(o.keys) == 0 {
			return nil, badValue("$not cannot be empty")
		}
		nodes, err := parseSub(name, o)
		if err != nil {
			return nil, err
		}
		return notNode{andNode(nodes)}, nil
	case "$elemMatch":
		return parseElemMatch(name, v)
	case "$all":
		return parseAll(name, v)
	case "$where":
		return nil, badValue("$where cannot be applied to a field")
	}
	if fieldOps[op] {
		return nil, unsupported("operator %s is not supported by Tandem's in-memory query engine", op)
	}
	return nil, badValue("unknown operator: %s", op)
}

func parseRegex(name string, ctx *object) (node, error) {
	var pattern, options string
	rv, _ := ctx.get("$regex")
	s, ok := rv.(string)
	if !ok {
		return nil, badValue("$regex has to be a string")
	}
	pattern = s
	if ov, has := ctx.get("$options"); has {
		s, ok := ov.(string)
		if !ok {
			return nil, badValue("$options has to be a string")
		}
		options = s
	}
	re, err := compileRegex(pattern, options)
	if err != nil {
		return nil, err
	}
	return leafNode(name, &regexPred{re: re}), nil
}

func parseMod(name string, v any) (node, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badValue("malformed mod, needs to be an array")
	}
	if len(arr) < 2 {
		return nil, badValue("malformed mod, not enough elements")
	}
	if len(arr) > 2 {
		return nil, badValue("malformed mod, too many elements")
	}
	var ints [2]int64
	for i, what := range []string{"divisor", "remainder"} {
		f, ok := arr[i].(float64)
		if !ok {
			return nil, badValue("malformed mod, %s not a number", what)
		}
		t := math.Trunc(f)
		if math.IsNaN(f) || math.IsInf(f, 0) || t >= 9223372036854775808.0 || t < -9223372036854775808.0 {
			return nil, badValue("malformed mod, %s value is invalid", what)
		}
		ints[i] = int64(t)
	}
	if ints[0] == 0 {
		return nil, badValue("divisor cannot be 0")
	}
	return leafNode(name, &modPred{div: ints[0], rem: ints[1]}), nil
}

func parseElemMatch(name string, v any) (node, error) {
	o, ok := v.(*object)
	if !ok {
		return nil, badValue("$elemMatch needs an Object")
	}
	if isExpressionDoc(o, true) && !pathlessOps[o.keys[0]] {
		// Value form: {$elemMatch: {$gte: 80, $lt: 85}}.
		nodes, err := parseSub("", o)
		if err != nil {
			return nil, err
		}
		return arrayNode(name, &elemMatchVal{subs: nodes}), nil
	}
	sub, err := parseFilter(o)
	if err != nil {
		return nil, err
	}
	return arrayNode(name, &elemMatchObj{sub: sub}), nil
}

func parseAll(name string, v any) (node, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, badValue("$all needs an array")
	}
	if len(arr) == 0 {
		return falseNode{}, nil
	}
	var and andNode
	if first, ok := arr[0].(*object); ok && len(first.keys) > 0 && first.keys[0] == "$elemMatch" {
		for _, e := range arr {
			o, ok := e.(*object)
			if !ok || len(o.keys) == 0 || o.keys[0] != "$elemMatch" {
				return nil, badValue("$all/$elemMatch has to be consistent")
			}
			n, err := parseElemMatch(name, o.vals[0])
			if err != nil {
				return nil, err
			}
			and = append(and, n)
		}
		return and, nil
	}
	for _, e := range arr {
		if o, ok := e.(*object); ok && len(o.keys) > 0 && fieldOps[o.keys[0]] {
			return nil, badValue("no $ expressions in $all")
		}
		and = append(and, leafNode(name, &cmpPred{op: opEQ, rhs: e}))
	}
	if len(and) == 1 {
		return and[0], nil
	}
	return and, nil
}

// typeAliases are $type's names for BSON types.
var typeAliases = map[string]int{
	"double": 1, "string": 2, "object": 3, "array": 4, "binData": 5, "undefined": 6,
	"objectId": 7, "bool": 8, "date": 9, "null": 10, "regex": 11, "dbPointer": 12,
	"javascript": 13, "symbol": 14, "javascriptWithScope": 15, "int": 16,
	"timestamp": 17, "long": 18, "decimal": 19, "minKey": -1, "maxKey": 127,
}

func validTypeCode(n int) bool {
	return n == -1 || n == 127 || (n >= 1 && n <= 19)
}

func parseType(v any) (*typePred, error) {
	p := &typePred{types: map[int]bool{}}
	add := func(e any) error {
		switch x := e.(type) {
		case string:
			if x == "number" {
				p.number = true
				return nil
			}
			code, ok := typeAliases[x]
			if !ok {
				return badValue("Unknown type name alias: %s", x)
			}
			p.types[code] = true
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
				return badValue("Invalid numerical type code: %s", describe(x))
			}
			if !validTypeCode(int(x)) {
				return badValue("Invalid numerical type code: %d", int(x))
			}
			p.types[int(x)] = true
		default:
			return badValue("type must be represented as a number or a string")
		}
		return nil
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if err := add(e); err != nil {
				return nil, err
			}
		}
	} else if err := add(v); err != nil {
		return nil, err
	}
	if len(p.types) == 0 && !p.number {
		return nil, badValue("$type must match at least one type")
	}
	return p, nil
}

package query

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Doc is one document of a collection as a store holds it (the fields of
// storage.Snapshot, which this package does not import).
type Doc struct {
	ID string
	// V is the version; Type the OT type URI, "" for a deleted document
	// (V > 0) or one never created (V == 0).
	V    int64
	Type string
	// Data is the type's JSON encoding of the document.
	Data json.RawMessage
	// CTime and MTime are sharedb's _m.ctime and _m.mtime (Unix ms; 0 =
	// absent); Create is _m._create.
	CTime, MTime int64
	Create       *CreateMeta
}

// CreateMeta is sharedb's _m._create: the create op's src, seq and version.
type CreateMeta struct {
	Src string
	Seq int64
	V   int64
}

// Result is the outcome of Run.
type Result struct {
	// IDs are the matching documents in result order; Indexes are their
	// positions in the docs given to Run. Both are empty for $count and
	// $distinct, whose answer is in Extra (as sharedb-mongo returns no
	// snapshots for them).
	IDs     []string
	Indexes []int
	// Extra is the query's extra result: the count for $count, the array
	// of distinct values for $distinct, else nil.
	Extra json.RawMessage
}

// mongoDoc builds the document sharedb-mongo stores for d: the fields of
// an object snapshot at the top level (anything else under _data), then
// _id, _type (null when deleted), _v and _m {ctime, mtime, _create}. The
// op link _o is not represented.
func mongoDoc(d *Doc) (*object, error) {
	doc := &object{}
	if d.Type != "" {
		var data any
		if len(d.Data) > 0 {
			v, err := decodeJSON(d.Data)
			if err != nil {
				return nil, fmt.Errorf("data is not valid JSON: %w", err)
			}
			data = v
		}
		if o, ok := data.(*object); ok {
			doc = o
		} else {
			doc.set("_data", data)
		}
	}
	doc.set("_id", d.ID)
	if d.Type == "" {
		doc.set("_type", nil)
	} else {
		doc.set("_type", d.Type)
	}
	doc.set("_v", float64(d.V))
	if d.CTime == 0 && d.MTime == 0 && d.Create == nil {
		doc.set("_m", nil)
	} else {
		m := &object{}
		if d.CTime != 0 {
			m.set("ctime", float64(d.CTime))
		}
		if d.MTime != 0 {
			m.set("mtime", float64(d.MTime))
		}
		if c := d.Create; c != nil {
			co := &object{}
			co.set("src", c.Src)
			co.set("seq", float64(c.Seq))
			co.set("v", float64(c.V))
			m.set("_create", co)
		}
		doc.set("_m", m)
	}
	return doc, nil
}

// eligible applies sharedb-mongo's treatment of documents that do not
// exist: one never created has no MongoDB document at all; a deleted one
// ({_type: null}) is excluded unless the filter has a top-level _type key
// (makeQuerySafe then adds no {_type: {$type: 2}} guard; when it does add
// it, the filter could not have matched the deleted document anyway, or
// the guard removes it).
func (q *Query) eligible(d *Doc) bool {
	if d.Type != "" {
		return true
	}
	return d.V > 0 && q.keepDeleted
}

// Matches reports whether doc satisfies the filter, ignoring $sort,
// $skip, $limit, $count and $distinct. It is sharedb-mongo's queryPollDoc,
// valid on its own only when CanPollDoc is true. A document whose data is
// not valid JSON never matches.
func (q *Query) Matches(doc Doc) bool {
	if !q.eligible(&doc) {
		return false
	}
	m, err := mongoDoc(&doc)
	if err != nil {
		return false
	}
	return q.filter.matchDoc(m)
}

type hit struct {
	i    int
	doc  *object
	keys []any
}

// Run evaluates the query over a collection's documents: filter, then
// $sort (ties, and every result without $sort, ordered by id), $skip and
// $limit; or the count ($count, after $skip and $limit) or distinct values
// ($distinct) in Extra. It fails only if a document's data is not JSON.
func (q *Query) Run(docs []Doc) (Result, error) {
	var hits []hit
	for i := range docs {
		d := &docs[i]
		if !q.eligible(d) {
			continue
		}
		m, err := mongoDoc(d)
		if err != nil {
			return Result{}, fmt.Errorf("query: document %q: %w", d.ID, err)
		}
		if q.filter.matchDoc(m) {
			hits = append(hits, hit{i: i, doc: m})
		}
	}

	if q.distinct != nil {
		return Result{Extra: appendJSON(nil, q.distinctValues(hits))}, nil
	}
	if q.count {
		n := int64(len(hits)) - q.skip
		if n < 0 {
			n = 0
		}
		if q.limit > 0 && n > q.limit {
			n = q.limit
		}
		return Result{Extra: json.RawMessage(strconv.FormatInt(n, 10))}, nil
	}

	if len(q.sort) > 0 {
		for h := range hits {
			hits[h].keys = make([]any, len(q.sort))
			for k, sk := range q.sort {
				hits[h].keys[k] = sortValue(hits[h].doc, sk)
			}
		}
	}
	sort.SliceStable(hits, func(a, b int) bool {
		ha, hb := &hits[a], &hits[b]
		for k, sk := range q.sort {
			c := compare(ha.keys[k], hb.keys[k])
			if sk.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return docs[ha.i].ID < docs[hb.i].ID
	})

	start := int64(len(hits))
	if q.skip < start {
		start = q.skip
	}
	end := int64(len(hits))
	if q.limit > 0 && end-start > q.limit {
		end = start + q.limit
	}
	res := Result{IDs: make([]string, 0, end-start), Indexes: make([]int, 0, end-start)}
	for _, h := range hits[start:end] {
		res.IDs = append(res.IDs, docs[h.i].ID)
		res.Indexes = append(res.Indexes, h.i)
	}
	return res, nil
}

// keyKind classifies what keyWalk reports.
type keyKind uint8

const (
	keyValue   keyKind = iota // a value (an element of a leaf array, or the leaf itself)
	keyMissing                // nothing there (a missing field, a scalar in the way)
	keyEmpty                  // an empty array at the end of the path
)

// keyWalk resolves path in v the way MongoDB's sort keys (index key
// generation) and distinct see it, which differs from the matcher's walk:
// a numeric part on an array is only positional, other parts traverse
// the array's elements (non-objects count as missing), and an array at
// the end of the path gives its elements (not itself; nested arrays are
// not expanded).
func keyWalk(v any, present bool, path []string, fn func(v any, kind keyKind)) {
	if !present {
		fn(nil, keyMissing)
		return
	}
	if len(path) == 0 {
		arr, ok := v.([]any)
		switch {
		case !ok:
			fn(v, keyValue)
		case len(arr) == 0:
			fn(nil, keyEmpty)
		default:
			for _, e := range arr {
				fn(e, keyValue)
			}
		}
		return
	}
	switch x := v.(type) {
	case *object:
		c, ok := x.get(path[0])
		keyWalk(c, ok, path[1:], fn)
	case []any:
		if n, ok := arrayIndex(path[0]); ok {
			if int64(n) < int64(len(x)) {
				keyWalk(x[n], true, path[1:], fn)
			} else {
				fn(nil, keyMissing)
			}
			return
		}
		if len(x) == 0 {
			fn(nil, keyMissing)
		}
		for _, e := range x {
			if o, ok := e.(*object); ok {
				c, ok := o.get(path[0])
				keyWalk(c, ok, path[1:], fn)
			} else {
				fn(nil, keyMissing)
			}
		}
	default:
		fn(nil, keyMissing)
	}
}

// sortValue is a document's sort key for one $sort field: of all values
// the path gives (see keyWalk; a missing field is null, an empty array
// sorts below null), the smallest for an ascending sort and the largest
// for a descending one, as MongoDB documents for arrays.
func sortValue(doc *object, sk sortKey) any {
	var best any
	found := false
	keyWalk(doc, true, sk.path, func(v any, kind keyKind) {
		switch kind {
		case keyMissing:
			v = nil
		case keyEmpty:
			v = undefinedT{}
		}
		c := 0
		if found {
			c = compare(v, best)
			if sk.desc {
				c = -c
			}
		}
		if !found || c < 0 {
			best, found = v, true
		}
	})
	return best
}

// distinctValues collects the distinct values of the $distinct field over
// the hits (see keyWalk: leaf arrays contribute their elements, missing
// fields nothing), in BSON order, as MongoDB's distinct returns them from
// a collection scan.
func (q *Query) distinctValues(hits []hit) []any {
	vals := []any{}
	for _, h := range hits {
		keyWalk(h.doc, true, q.distinct, func(v any, kind keyKind) {
			if kind == keyValue {
				vals = append(vals, v)
			}
		})
	}
	sort.SliceStable(vals, func(a, b int) bool { return compare(vals[a], vals[b]) < 0 })
	out := vals[:0]
	for i, v := range vals {
		if i == 0 || compare(out[len(out)-1], v) != 0 {
			out = append(out, v)
		}
	}
	return out
}

// ResultsInExtra reports whether the query answers in Result.Extra only
// ($count or $distinct): sharedb then sends no snapshots, just extra.
func (q *Query) ResultsInExtra() bool { return q.count || q.distinct != nil }

// HasSort reports whether the query orders its results ($sort/$orderby).
// Without it MongoDB returns documents in no particular order; Run orders
// them by id.
func (q *Query) HasSort() bool { return len(q.sort) > 0 }

// CanPollDoc is sharedb-mongo's canPollDoc: whether a changed document can
// be re-checked on its own with Matches (true) or the whole query must be
// re-run (false: $sort, $orderby, $limit, $skip, $max, $min, $returnKey,
// $count, $distinct and the other collection and cursor operations).
func (q *Query) CanPollDoc() bool {
	for k := range q.meta {
		if collectionOps[k] || cursorOps[k] {
			return false
		}
		switch k {
		case "$sort", "$orderby", "$limit", "$skip", "$max", "$min", "$returnKey":
			return false
		}
	}
	return true
}

// SkipPoll is sharedb-mongo's skipPoll: whether an op on a document cannot
// change the query's results, so no re-poll is needed. create and del say
// whether the op is a create or a delete; op is its json0 op (the
// components, nil for none). A create or delete always polls; an op with
// no components never does; a query with $count, $distinct (or another
// collection/cursor operation) always polls; otherwise the op polls iff a
// component's path is empty or starts with a top-level field the filter or
// the sort mentions. An error is what sharedb-mongo would throw (a
// component without a p path, as in text or rich-text ops): sharedb then
// logs it and does not poll.
func (q *Query) SkipPoll(create, del bool, op json.RawMessage) (bool, error) {
	if create || del {
		return false, nil
	}
	if len(op) == 0 {
		return true, nil
	}
	v, err := decodeJSON(op)
	if err != nil {
		return false, fmt.Errorf("skipPoll: op is not valid JSON: %w", err)
	}
	if !truthy(v) {
		return true, nil
	}
	for k := range q.meta {
		if collectionOps[k] || cursorOps[k] {
			return false, nil
		}
	}
	var comps []any
	switch x := v.(type) {
	case []any:
		comps = x
	case string:
		return false, fmt.Errorf("skipPoll: op component %q has no path", x[:1])
	default:
		return true, nil // op.length is undefined: no components looked at
	}
	for _, c := range comps {
		o, ok := c.(*object)
		var p any
		if ok {
			p, ok = o.get("p")
		}
		var first any
		switch x := p.(type) {
		case []any:
			if len(x) == 0 {
				return false, nil
			}
			first = x[0]
		case string:
			if x == "" {
				return false, nil
			}
			first = x[:1]
		default:
			return false, fmt.Errorf("skipPoll: op component %s has no p path", describe(c))
		}
		if q.fields[jsString(first)] {
			return false, nil
		}
	}
	return true, nil
}

// jsString is JavaScript's String(v) for the values a path holds.
func jsString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case float64:
		switch {
		case math.IsNaN(x):
			return "NaN"
		case math.IsInf(x, 1):
			return "Infinity"
		case math.IsInf(x, -1):
			return "-Infinity"
		}
		return string(appendJSON(nil, x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return "[object Object]"
}

package query

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Error is a query the evaluator refuses. Code follows what a ShareDB
// client would see from sharedb-mongo for the same query: sharedb-mongo's
// own 41xx codes for its meta operators, MongoDB's codes (2 BadValue,
// 51091/51108 for regexes) for an invalid filter, and CodeUnsupported for
// valid sharedb-mongo queries this package does not evaluate.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	// CodeBadValue is MongoDB's BadValue: the filter is not valid MongoDB
	// (unknown operator, wrong argument type, ...).
	CodeBadValue = 2
	// CodeUnsupported: sharedb-mongo would accept the query but this
	// package does not evaluate it ($explain, $text, geo operators, ...).
	CodeUnsupported = 4100
	// sharedb-mongo's codes.
	CodeWhereDisabled         = 4103
	CodeMapReduceDisabled     = 4104
	CodeAggregateDisabled     = 4105
	CodeQueryDeprecated       = 4106
	CodeMalformedOperator     = 4107
	CodeOneCollectionOp       = 4108
	CodeOneCursorOp           = 4109
	CodeCursorAfterCollection = 4110
	CodeParse                 = 5104
)

// sharedb-mongo's three kinds of $-prefixed query keys (index.js
// collectionOperationsMap, cursorOperationsMap, cursorTransformsMap).
var (
	collectionOps = map[string]bool{"$distinct": true, "$aggregate": true, "$mapReduce": true}
	cursorOps     = map[string]bool{"$count": true, "$explain": true, "$map": true}
	transforms    = map[string]bool{
		"$batchSize": true, "$comment": true, "$hint": true, "$max": true, "$maxScan": true,
		"$maxTimeMS": true, "$min": true, "$noCursorTimeout": true, "$orderby": true,
		"$readConcern": true, "$readPref": true, "$returnKey": true, "$snapshot": true,
		"$sort": true, "$skip": true, "$limit": true, "$showDiskLoc": true, "$showRecordId": true,
	}
)

// Query is a parsed sharedb-mongo query: a MongoDB filter plus the meta
// operators that shape the result. It is immutable and safe for concurrent
// use.
type Query struct {
	filter node
	// keepDeleted is set when the filter has a top-level _type key:
	// sharedb-mongo then does not add its {_type: {$type: 2}} guard.
	keepDeleted bool
	sort        []sortKey
	skip        int64
	limit       int64 // 0: none
	count       bool
	distinct    []string // $distinct field path, nil if none
	// meta holds the $-keys that make sharedb-mongo's canPollDoc false.
	meta map[string]bool
	// fields are the top-level field names the filter and sort mention
	// (sharedb-mongo getFields), for SkipPoll.
	fields map[string]bool
}

type sortKey struct {
	path []string
	desc bool
}

func metaErr(code int, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func malformed(op string) error {
	return &Error{Code: CodeMalformedOperator, Message: "Malformed query operator: " + op}
}

// Parse parses a query as a ShareDB client sends it to sharedb-mongo (the
// q of a "qf"/"qs" message), rejecting what sharedb-mongo rejects by default
// and what this package cannot evaluate. Errors are *Error.
func Parse(raw json.RawMessage) (*Query, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, &Error{Code: CodeParse, Message: "query is not valid JSON: " + err.Error()}
	}
	o, ok := v.(*object)
	if !ok {
		return nil, badValue("query must be a JSON object, not %s", describe(v))
	}

	// sharedb-mongo checkQuery, in its order.
	if qv, ok := o.get("$query"); ok && truthy(qv) {
		return nil, metaErr(CodeQueryDeprecated, "$query property deprecated in queries")
	}
	var collOp, cursorOp string
	cursorMethod := false
	for _, k := range o.keys {
		switch {
		case !strings.HasPrefix(k, "$"):
		case collectionOps[k]:
			if collOp != "" {
				return nil, metaErr(CodeOneCollectionOp, "Only one collection operation allowed. Found %s and %s", collOp, k)
			}
			collOp = k
		case cursorOps[k]:
			if cursorOp != "" {
				return nil, metaErr(CodeOneCursorOp, "Only one cursor operation allowed. Found %s and %s", cursorOp, k)
			}
			cursorOp = k
			cursorMethod = true
		case transforms[k]:
			cursorMethod = true
		}
	}
	if collOp != "" && cursorMethod {
		return nil, metaErr(CodeCursorAfterCollection, "Cursor methods can't run after collection method %s", collOp)
	}
	if w, ok := o.get("$where"); ok && w != nil {
		return nil, metaErr(CodeWhereDisabled, "$where queries disabled")
	}
	if m, ok := o.get("$mapReduce"); ok && m != nil {
		return nil, metaErr(CodeMapReduceDisabled, "$mapReduce queries disabled")
	}
	if _, ok := o.get("$aggregate"); ok {
		return nil, metaErr(CodeAggregateDisabled, "$aggregate queries disabled")
	}
	if _, ok := o.get("$mapReduce"); ok {
		return nil, metaErr(CodeMapReduceDisabled, "$mapReduce queries disabled")
	}

	// sharedb-mongo parseQuery: split off the meta keys, then apply the
	// cursor transforms in key order.
	q := &Query{meta: map[string]bool{}, fields: map[string]bool{}}
	filter := &object{}
	for i, k := range o.keys {
		val := o.vals[i]
		if !collectionOps[k] && !cursorOps[k] && !transforms[k] {
			filter.set(k, val)
			continue
		}
		q.meta[k] = true
		if err := q.applyMeta(k, val); err != nil {
			return nil, err
		}
	}

	q.filter, err = parseFilter(filter)
	if err != nil {
		return nil, err
	}
	q.keepDeleted = filter.has("_type")
	collectFields(filter, q.fields)
	return q, nil
}

// applyMeta records one sharedb-mongo meta operator.
func (q *Query) applyMeta(k string, v any) error {
	switch k {
	case "$sort", "$orderby":
		keys, err := parseSort(v)
		if err != nil {
			return err
		}
		q.sort = keys
		for _, sk := range keys {
			q.fields[sk.path[0]] = true
		}
	case "$skip":
		n, ok := integer(v)
		if !ok || n < 0 {
			return metaErr(CodeMalformedOperator, "Malformed query operator: $skip (needs a non-negative integer, got %s)", describe(v))
		}
		q.skip = n
	case "$limit":
		n, ok := integer(v)
		if !ok {
			return metaErr(CodeMalformedOperator, "Malformed query operator: $limit (needs an integer, got %s)", describe(v))
		}
		if n < 0 {
			n = -n // MongoDB: a negative limit returns that many in one batch
		}
		q.limit = n
	case "$count":
		q.count = true // the value is ignored, as sharedb-mongo calls cursor.count()
	case "$distinct":
		o, ok := v.(*object)
		if !ok {
			return malformed(k)
		}
		f, _ := o.get("field")
		s, ok := f.(string)
		if !ok || s == "" {
			return metaErr(CodeMalformedOperator, "Malformed query operator: $distinct (needs {field: \"name\"})")
		}
		q.distinct = splitPath(s)
	case "$readPref":
		if o, ok := v.(*object); !ok || o == nil {
			return malformed(k)
		}
	case "$batchSize", "$comment", "$hint", "$maxTimeMS", "$noCursorTimeout", "$readConcern":
		// They change how MongoDB runs the query, not its result.
	case "$explain", "$map":
		return unsupported("%s is not supported by Tandem's in-memory query engine", k)
	default: // $max $min $maxScan $snapshot $returnKey $showDiskLoc $showRecordId
		return unsupported("%s is not supported by Tandem's in-memory query engine", k)
	}
	return nil
}

// integer accepts a JSON number with an integral value.
func integer(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.IsInf(f, 0) || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return 0, false
	}
	return int64(f), true
}

// parseSort accepts what the Node.js driver's cursor.sort does: an object
// {field: direction, ...}, a field name, [field, direction], a list of
// those pairs, or a list of field names; null means no sort. Directions are
// 1, -1, "asc", "desc", "ascending", "descending" (any case), or "1"/"-1".
func parseSort(v any) ([]sortKey, error) {
	var keys []sortKey
	add := func(field string, dir any) error {
		desc, err := sortDirection(dir)
		if err != nil {
			return err
		}
		if field == "" || (strings.HasPrefix(field, "$") && field != "$natural") {
			return badValue("bad sort field name %q", field)
		}
		if field == "$natural" {
			return unsupported("$natural sort is not supported by Tandem's in-memory query engine")
		}
		keys = append(keys, sortKey{path: splitPath(field), desc: desc})
		return nil
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return keys, add(x, 1.0)
	case *object:
		for i, k := range x.keys {
			if err := add(k, x.vals[i]); err != nil {
				return nil, err
			}
		}
		return keys, nil
	case []any:
		if isSortPair(x) {
			return keys, add(x[0].(string), x[1])
		}
		for _, e := range x {
			switch y := e.(type) {
			case string:
				if err := add(y, 1.0); err != nil {
					return nil, err
				}
			case []any:
				if !isSortPair(y) {
					return nil, metaErr(CodeMalformedOperator, "Invalid sort format: %s", describe(v))
				}
				if err := add(y[0].(string), y[1]); err != nil {
					return nil, err
				}
			default:
				return nil, metaErr(CodeMalformedOperator, "Invalid sort format: %s", describe(v))
			}
		}
		return keys, nil
	}
	return nil, metaErr(CodeMalformedOperator, "Invalid sort format: %s Sort must be a valid object", describe(v))
}

func isSortPair(a []any) bool {
	if len(a) != 2 {
		return false
	}
	if _, ok := a[0].(string); !ok {
		return false
	}
	_, err := sortDirection(a[1])
	return err == nil
}

func sortDirection(v any) (desc bool, err error) {
	var s string
	switch x := v.(type) {
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		s = strings.ToLower(x)
	case *object:
		if x.has("$meta") {
			return false, unsupported("{$meta: ...} sort is not supported by Tandem's in-memory query engine")
		}
	}
	switch s {
	case "1", "asc", "ascending":
		return false, nil
	case "-1", "desc", "descending":
		return true, nil
	}
	return false, metaErr(CodeMalformedOperator, "Invalid sort direction: %s", describe(v))
}

// collectFields records the top-level field names a filter mentions, as
// sharedb-mongo's getInnerFields does: keys not starting with "$" (their
// part before the first dot), recursing through $and/$or/$nor and $not.
func collectFields(v any, fields map[string]bool) {
	o, ok := v.(*object)
	if !ok {
		return
	}
	for i, k := range o.keys {
		val := o.vals[i]
		switch {
		case k == "$not":
			collectFields(val, fields)
		case k == "$or" || k == "$and" || k == "$nor":
			if arr, ok := val.([]any); ok {
				for _, e := range arr {
					collectFields(e, fields)
				}
			}
		case !strings.HasPrefix(k, "$"):
			fields[strings.SplitN(k, ".", 2)[0]] = true
		}
	}
}

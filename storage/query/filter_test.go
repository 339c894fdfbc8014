package query

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const json0 = "http://sharejs.org/types/JSONv0"

// doc makes a live json0 document with the given data.
func doc(id, data string) Doc {
	return Doc{ID: id, V: 1, Type: json0, Data: json.RawMessage(data), CTime: 1000, MTime: 2000}
}

type matchCase struct {
	filter string
	data   string
	want   bool
}

// runMatchCases checks each filter against a json0 document with data.
func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		q, err := Parse(json.RawMessage(c.filter))
		if err != nil {
			t.Errorf("Parse(%s): %v", c.filter, err)
			continue
		}
		if got := q.Matches(doc("d", c.data)); got != c.want {
			t.Errorf("%s on %s: got %v, want %v", c.filter, c.data, got, c.want)
		}
	}
}

// Cases follow MongoDB's documented semantics (Query and Projection
// Operators, Query on Arrays / Embedded Documents / Null or Missing
// Fields, Comparison/Sort Order) and its matcher source.

func TestEquality(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":1}`, `{"a":1}`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":1}`, `{"a":1.0}`, true},
		{`{"a":1}`, `{"b":1}`, false},
		// Type brackets: no conversion between types.
		{`{"a":1}`, `{"a":"1"}`, false},
		{`{"a":1}`, `{"a":true}`, false},
		{`{"a":"x"}`, `{"a":"x"}`, true},
		{`{"a":"x"}`, `{"a":"X"}`, false},
		{`{"a":false}`, `{"a":0}`, false},
		// An array matches if it has an equal element, or equals as a whole.
		{`{"a":1}`, `{"a":[1,2]}`, true},
		{`{"a":1}`, `{"a":[[1],2]}`, false},
		{`{"a":[1,2]}`, `{"a":[1,2]}`, true},
		{`{"a":[1,2]}`, `{"a":[2,1]}`, false},
		{`{"a":[1,2]}`, `{"a":[1,2,3]}`, false},
		{`{"a":[1,2]}`, `{"a":[[1,2],3]}`, true},
		{`{"a":[]}`, `{"a":[]}`, true},
		{`{"a":[]}`, `{"a":[[]]}`, true},
		{`{"a":[]}`, `{}`, false},
		// Null matches null and missing, not empty arrays or falsy values.
		{`{"a":null}`, `{}`, true},
		{`{"a":null}`, `{"a":null}`, true},
		{`{"a":null}`, `{"a":[]}`, false},
		{`{"a":null}`, `{"a":[null]}`, true},
		{`{"a":null}`, `{"a":[1]}`, false},
		{`{"a":null}`, `{"a":0}`, false},
		{`{"a":null}`, `{"a":false}`, false},
		{`{"a":{"$eq":null}}`, `{}`, true},
		// Embedded documents: exact match, field order included.
		{`{"a":{"b":1,"c":2}}`, `{"a":{"b":1,"c":2}}`, true},
		{`{"a":{"b":1,"c":2}}`, `{"a":{"c":2,"b":1}}`, false},
		{`{"a":{"b":1,"c":2}}`, `{"a":{"b":1,"c":2,"d":3}}`, false},
		{`{"a":{"b":1}}`, `{"a":[{"b":1},2]}`, true},
		{`{"a":{}}`, `{"a":{}}`, true},
		{`{"a":{}}`, `{"a":{"b":1}}`, false},
		// JavaScript key order: array-index keys come first on both sides.
		{`{"a":{"b":2,"1":1}}`, `{"a":{"1":1,"b":2}}`, true},
		{`{"a":{"1":1,"b":2}}`, `{"a":{"b":2,"1":1}}`, true},
		// A later duplicate key wins, as in JSON.parse.
		{`{"a":1,"a":2}`, `{"a":2}`, true},
		// A first key without $ makes the object a literal, even with $ keys after.
		{`{"a":{"b":1,"$c":2}}`, `{"a":{"b":1,"$c":2}}`, true},
		// DBRef-shaped objects are literals too.
		{`{"a":{"$ref":"c","$id":1}}`, `{"a":{"$ref":"c","$id":1}}`, true},
		{`{"$id":5}`, `{"$id":5}`, true},
		// Empty filter matches everything.
		{`{}`, `{"x":1}`, true},
		{`{"":1}`, `{"":1}`, true},
	})
}

func TestDottedPaths(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a.b":1}`, `{"a":{"b":1}}`, true},
		{`{"a.b":1}`, `{"a":{"b":2}}`, false},
		{`{"a.b":1}`, `{"a":[{"b":1}]}`, true},
		{`{"a.b":1}`, `{"a":[{"b":2},{"b":1}]}`, true},
		{`{"a.b":1}`, `{"a":[{"b":[0,1]}]}`, true},
		// Only one level of arrays is traversed implicitly per path step.
		{`{"a.b":1}`, `{"a":[[{"b":1}]]}`, false},
		{`{"a.b.c":1}`, `{"a":[{"b":[{"c":1}]}]}`, true},
		{`{"a.b":1}`, `{"a":5}`, false},
		// Null along a path: a missing field inside an array element
		// matches, an array of scalars yields nothing.
		{`{"a.b":null}`, `{"a":[{"c":1}]}`, true},
		{`{"a.b":null}`, `{"a":[{"b":1}]}`, false},
		{`{"a.b":null}`, `{"a":[1,2]}`, false},
		{`{"a.b":null}`, `{"a":5}`, true},
		{`{"a.b":null}`, `{}`, true},
		{`{"field.0":null}`, `{"field":[]}`, false},
		// Numeric parts index arrays and also name object fields.
		{`{"a.0":1}`, `{"a":[1,2]}`, true},
		{`{"a.0":1}`, `{"a":[2,1]}`, false},
		{`{"a.1":1}`, `{"a":[2,1]}`, true},
		{`{"a.0":1}`, `{"a":{"0":1}}`, true},
		{`{"a.0":1}`, `{"a":[{"0":1}]}`, true},
		{`{"a.00":1}`, `{"a":[1]}`, false},
		{`{"a.0":{"0":7}}`, `{"a":[{"0":7}]}`, true},
		{`{"a.1.b":2}`, `{"a":[{"b":1},{"b":2}]}`, true},
		{`{"a.0.b":2}`, `{"a":[{"b":1},{"b":2}]}`, false},
		// A positional element is not expanded when the path ends there.
		{`{"a.0":1}`, `{"a":[[1]]}`, false},
		{`{"a.0":[1]}`, `{"a":[[1]]}`, true},
		{`{"a.0.0":1}`, `{"a":[[1]]}`, true},
		{`{"a.0.b":1}`, `{"a":[[{"b":1}]]}`, true},
		{`{"a.5":1}`, `{"a":[1]}`, false},
		{`{"a.5":null}`, `{"a":[1]}`, false},
		// An array of arrays at the leaf: the inner arrays are elements.
		{`{"a":[1]}`, `{"a":[[1],[2]]}`, true},
		{`{"a.b":[1,2]}`, `{"a":[{"b":[1,2]}]}`, true},
	})
}

func TestNe(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$ne":1}}`, `{"a":2}`, true},
		{`{"a":{"$ne":1}}`, `{"a":1}`, false},
		{`{"a":{"$ne":1}}`, `{"a":[1,2]}`, false},
		{`{"a":{"$ne":1}}`, `{"a":[2,3]}`, true},
		{`{"a":{"$ne":1}}`, `{}`, true},
		{`{"a":{"$ne":1}}`, `{"a":"1"}`, true},
		{`{"a":{"$ne":null}}`, `{}`, false},
		{`{"a":{"$ne":null}}`, `{"a":null}`, false},
		{`{"a":{"$ne":null}}`, `{"a":0}`, true},
		{`{"a":{"$ne":null}}`, `{"a":[null,1]}`, false},
		{`{"a":{"$ne":null}}`, `{"a":[]}`, true},
		{`{"a.b":{"$ne":1}}`, `{"a":[{"b":1},{"b":2}]}`, false},
		{`{"a":{"$ne":[1,2]}}`, `{"a":[1,2]}`, false},
	})
}

func TestComparison(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$gt":1}}`, `{"a":2}`, true},
		{`{"a":{"$gt":1}}`, `{"a":1}`, false},
		{`{"a":{"$gte":1}}`, `{"a":1}`, true},
		{`{"a":{"$lt":1}}`, `{"a":0.5}`, true},
		{`{"a":{"$lte":1}}`, `{"a":1}`, true},
		{`{"a":{"$lt":1}}`, `{"a":-1e400}`, true},
		{`{"a":{"$gt":1}}`, `{"a":1e400}`, true},
		// Type bracketing: numbers with numbers, strings with strings.
		{`{"a":{"$gt":1}}`, `{"a":"2"}`, false},
		{`{"a":{"$lt":"b"}}`, `{"a":1}`, false},
		{`{"a":{"$gt":"a"}}`, `{"a":"b"}`, true},
		{`{"a":{"$gt":"a"}}`, `{"a":"B"}`, false},
		{`{"a":{"$gt":"a"}}`, `{"a":"aa"}`, true},
		{`{"a":{"$lt":"é"}}`, `{"a":"z"}`, true},
		{`{"a":{"$gt":1}}`, `{"a":true}`, false},
		{`{"a":{"$lt":true}}`, `{"a":false}`, true},
		{`{"a":{"$lt":true}}`, `{"a":0}`, false},
		{`{"a":{"$gt":1}}`, `{"a":null}`, false},
		{`{"a":{"$gt":1}}`, `{}`, false},
		{`{"a":{"$lt":1}}`, `{}`, false},
		// Null: $gte/$lte null match null and missing; $gt/$lt null nothing.
		{`{"a":{"$gte":null}}`, `{}`, true},
		{`{"a":{"$gte":null}}`, `{"a":null}`, true},
		{`{"a":{"$lte":null}}`, `{}`, true},
		{`{"a":{"$gte":null}}`, `{"a":1}`, false},
		{`{"a":{"$gt":null}}`, `{"a":1}`, false},
		{`{"a":{"$gt":null}}`, `{}`, false},
		{`{"a":{"$lt":null}}`, `{}`, false},
		// Arrays: any element, or the array as a whole.
		{`{"a":{"$gt":1}}`, `{"a":[0,5]}`, true},
		{`{"a":{"$gt":1}}`, `{"a":[0]}`, false},
		{`{"a":{"$gt":1}}`, `{"a":[[5]]}`, false},
		// Each operator is matched on its own: 10 > 1 and 0 < 5.
		{`{"a":{"$gt":1,"$lt":5}}`, `{"a":[0,10]}`, true},
		{`{"a":{"$gt":1,"$lt":5}}`, `{"a":[3]}`, true},
		{`{"a":{"$gt":1,"$lt":5}}`, `{"a":0}`, false},
		{`{"a":{"$gt":[1]}}`, `{"a":[2]}`, true},
		{`{"a":{"$gt":[1]}}`, `{"a":[1,0]}`, true},
		{`{"a":{"$gt":[1]}}`, `{"a":[1]}`, false},
		{`{"a":{"$gt":[1]}}`, `{"a":2}`, false},
		// Objects compare field by field: type, name, then value.
		{`{"a":{"$gt":{"x":1}}}`, `{"a":{"x":2}}`, true},
		{`{"a":{"$gt":{"x":1}}}`, `{"a":{"y":0}}`, true},
		{`{"a":{"$gt":{"x":1}}}`, `{"a":{"x":1}}`, false},
		{`{"a":{"$gt":{"x":1}}}`, `{"a":{"x":1,"y":0}}`, true},
		{`{"a":{"$gt":{"x":1}}}`, `{"a":{"x":"1"}}`, true},
		{`{"a":{"$lt":{}}}`, `{"a":{"x":1}}`, false},
		{`{"a.b":{"$gte":2}}`, `{"a":[{"b":1},{"b":3}]}`, true},
		{`{"a":{"$eq":-0}}`, `{"a":0}`, true},
	})
}

func TestIn(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$in":[1,3]}}`, `{"a":3}`, true},
		{`{"a":{"$in":[1,3]}}`, `{"a":[0,3]}`, true},
		{`{"a":{"$in":[1,3]}}`, `{"a":2}`, false},
		{`{"a":{"$in":[1,3]}}`, `{}`, false},
		{`{"a":{"$in":["1"]}}`, `{"a":1}`, false},
		{`{"a":{"$in":[null]}}`, `{}`, true},
		{`{"a":{"$in":[null]}}`, `{"a":null}`, true},
		{`{"a":{"$in":[null]}}`, `{"a":[]}`, false},
		{`{"a":{"$in":[[1,2]]}}`, `{"a":[1,2]}`, true},
		{`{"a":{"$in":[[1,2]]}}`, `{"a":[[1,2],3]}`, true},
		{`{"a":{"$in":[[1,2]]}}`, `{"a":1}`, false},
		{`{"a":{"$in":[{"b":1}]}}`, `{"a":{"b":1}}`, true},
		{`{"a":{"$in":[{"b":1}]}}`, `{"a":{"c":1}}`, false},
		{`{"a":{"$in":[]}}`, `{"a":1}`, false},
		{`{"a":{"$nin":[1]}}`, `{}`, true},
		{`{"a":{"$nin":[1]}}`, `{"a":[1,2]}`, false},
		{`{"a":{"$nin":[1]}}`, `{"a":2}`, true},
		{`{"a":{"$nin":[]}}`, `{"a":2}`, true},
		{`{"a":{"$nin":[null]}}`, `{}`, false},
		{`{"a":{"$nin":[null]}}`, `{"a":1}`, true},
		{`{"a.b":{"$in":[2]}}`, `{"a":[{"b":1},{"b":2}]}`, true},
	})
}

func TestExists(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$exists":true}}`, `{"a":null}`, true},
		{`{"a":{"$exists":true}}`, `{"a":[]}`, true},
		{`{"a":{"$exists":true}}`, `{}`, false},
		{`{"a":{"$exists":false}}`, `{}`, true},
		{`{"a":{"$exists":false}}`, `{"a":0}`, false},
		{`{"a":{"$exists":1}}`, `{"a":0}`, true},
		{`{"a":{"$exists":0}}`, `{"a":0}`, false},
		{`{"a":{"$exists":null}}`, `{}`, true},
		{`{"a":{"$exists":""}}`, `{"a":1}`, true}, // BSON truthiness: "" is true
		{`{"a.b":{"$exists":true}}`, `{"a":[{"b":1}]}`, true},
		{`{"a.b":{"$exists":true}}`, `{"a":[{"c":1}]}`, false},
		{`{"a.b":{"$exists":true}}`, `{"a":[1]}`, false},
		{`{"a.b":{"$exists":false}}`, `{"a":[{"c":1},{"b":1}]}`, false},
		{`{"a.b":{"$exists":false}}`, `{"a":[1]}`, true},
		{`{"a.1":{"$exists":true}}`, `{"a":[5]}`, false},
		{`{"a.1":{"$exists":true}}`, `{"a":[5,6]}`, true},
	})
}

func TestType(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$type":"string"}}`, `{"a":"x"}`, true},
		{`{"a":{"$type":"string"}}`, `{"a":1}`, false},
		{`{"a":{"$type":"string"}}`, `{"a":["x"]}`, true},
		{`{"a":{"$type":2}}`, `{"a":"x"}`, true},
		{`{"a":{"$type":"int"}}`, `{"a":1}`, true},
		{`{"a":{"$type":"int"}}`, `{"a":1.5}`, false},
		{`{"a":{"$type":"int"}}`, `{"a":3000000000}`, false},
		{`{"a":{"$type":"double"}}`, `{"a":1.5}`, true},
		{`{"a":{"$type":"double"}}`, `{"a":3000000000}`, true},
		{`{"a":{"$type":"double"}}`, `{"a":1}`, false},
		{`{"a":{"$type":"double"}}`, `{"a":-0}`, true},
		{`{"a":{"$type":"long"}}`, `{"a":3000000000}`, false},
		{`{"a":{"$type":"number"}}`, `{"a":1}`, true},
		{`{"a":{"$type":"number"}}`, `{"a":1.5}`, true},
		{`{"a":{"$type":"number"}}`, `{"a":"1"}`, false},
		{`{"a":{"$type":[2,"null"]}}`, `{"a":null}`, true},
		{`{"a":{"$type":"null"}}`, `{}`, false},
		{`{"a":{"$type":"array"}}`, `{"a":[]}`, true},
		{`{"a":{"$type":"array"}}`, `{"a":[1]}`, true},
		{`{"a":{"$type":"array"}}`, `{"a":1}`, false},
		{`{"a":{"$type":4}}`, `{"a":[[1]]}`, true},
		{`{"a":{"$type":"object"}}`, `{"a":{}}`, true},
		{`{"a":{"$type":"bool"}}`, `{"a":false}`, true},
		{`{"a":{"$type":8}}`, `{"a":0}`, false},
		{`{"a":{"$type":"date"}}`, `{"a":"2020-01-01"}`, false},
		{`{"a":{"$type":"objectId"}}`, `{"a":"5f0c0c0c0c0c0c0c0c0c0c0c"}`, false},
	})
}

func TestRegex(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$regex":"^ab"}}`, `{"a":"abc"}`, true},
		{`{"a":{"$regex":"^ab"}}`, `{"a":"cab"}`, false},
		{`{"a":{"$regex":"ab"}}`, `{"a":"cab"}`, true},
		{`{"a":{"$regex":"^ab"}}`, `{"a":["x","abd"]}`, true},
		{`{"a":{"$regex":"1"}}`, `{"a":1}`, false},
		{`{"a":{"$regex":"."}}`, `{}`, false},
		{`{"a":{"$regex":"AB","$options":"i"}}`, `{"a":"xab"}`, true},
		{`{"a":{"$options":"i","$regex":"AB"}}`, `{"a":"xab"}`, true},
		{`{"a":{"$regex":"AB"}}`, `{"a":"xab"}`, false},
		{`{"a":{"$regex":"é","$options":"i"}}`, `{"a":"É"}`, true},
		{`{"a":{"$regex":"^b"}}`, `{"a":"a\nb"}`, false},
		{`{"a":{"$regex":"^b","$options":"m"}}`, `{"a":"a\nb"}`, true},
		{`{"a":{"$regex":"a$","$options":"m"}}`, `{"a":"a\nb"}`, true},
		{`{"a":{"$regex":"a.c"}}`, `{"a":"a\nc"}`, false},
		{`{"a":{"$regex":"a.c","$options":"s"}}`, `{"a":"a\nc"}`, true},
		// PCRE's $ also matches before a final newline; \Z too; \z not.
		{`{"a":{"$regex":"a$"}}`, `{"a":"a\n"}`, true},
		{`{"a":{"$regex":"a$"}}`, `{"a":"a\nb"}`, false},
		{`{"a":{"$regex":"a\\Z"}}`, `{"a":"a\n"}`, true},
		{`{"a":{"$regex":"a\\z"}}`, `{"a":"a\n"}`, false},
		{`{"a":{"$regex":"[$]"}}`, `{"a":"x$"}`, true},
		{`{"a":{"$regex":"\\$"}}`, `{"a":"x$"}`, true},
		// Extended mode drops white space and comments outside classes.
		{`{"a":{"$regex":"a b c # comment","$options":"x"}}`, `{"a":"abc"}`, true},
		{`{"a":{"$regex":"a[ ]b","$options":"x"}}`, `{"a":"a b"}`, true},
		{`{"a":{"$regex":"a\\ b","$options":"x"}}`, `{"a":"a b"}`, true},
		{`{"a":{"$regex":"a b"}}`, `{"a":"ab"}`, false},
		// \s includes vertical tab in PCRE.
		{`{"a":{"$regex":"a\\sb"}}`, `{"a":"a\u000bb"}`, true},
		{`{"a":{"$regex":"a[\\s]b"}}`, `{"a":"a\u000bb"}`, true},
		{`{"a":{"$regex":"a\\Sb"}}`, `{"a":"a\u000bb"}`, false},
		{`{"a":{"$regex":"a[\\S]b"}}`, `{"a":"axb"}`, true},
		{`{"a":{"$regex":"a\\hb"}}`, `{"a":"a\u00a0b"}`, true},
		{`{"a":{"$regex":"a\\vb"}}`, `{"a":"a\nb"}`, true},
		{`{"a":{"$regex":"a\\Rb"}}`, `{"a":"a\r\nb"}`, true},
		{`{"a":{"$regex":"[\\d-z]"}}`, `{"a":"-"}`, true},
		{`{"a":{"$regex":"\\x41\\x{42}\\0101"}}`, `{"a":"AB\b1"}`, true},
		{`{"a":{"$regex":"[\\101]"}}`, `{"a":"A"}`, true},
		{`{"a":{"$regex":"\\x41\\x{42}"}}`, `{"a":"AB"}`, true},
		{`{"a":{"$regex":"\\Qa.b\\E"}}`, `{"a":"a.b"}`, true},
		{`{"a":{"$regex":"\\Qa.b\\E"}}`, `{"a":"axb"}`, false},
		{`{"a":{"$regex":"a(?#comment)b"}}`, `{"a":"ab"}`, true},
		{`{"a":{"$regex":"[]a]"}}`, `{"a":"]"}`, true},
		{`{"a":{"$regex":"[^]a]"}}`, `{"a":"]"}`, false},
		{`{"a":{"$regex":"[[:digit:]]"}}`, `{"a":"5"}`, true},
		{`{"a":{"$regex":"(?i)ab"}}`, `{"a":"AB"}`, true},
		{`{"a":{"$regex":"\\bfoo\\b"}}`, `{"a":"a foo b"}`, true},
		{`{"a":{"$regex":"a{2}"}}`, `{"a":"aa"}`, true},
		{`{"a":{"$regex":"a{"}}`, `{"a":"a{"}`, true},
		{`{"a":{"$regex":"\\cJ"}}`, `{"a":"\n"}`, true},
		{`{"a":{"$regex":"\\e"}}`, `{"a":"\u001b"}`, true},
		{`{"_id":{"$regex":"^d"}}`, `{}`, true},
		{`{"a":{"$not":{"$regex":"^a"}}}`, `{"a":"b"}`, true},
		{`{"a":{"$not":{"$regex":"^a"}}}`, `{"a":"abc"}`, false},
		{`{"a":{"$not":{"$regex":"^a"}}}`, `{}`, true},
		{`{"a":{"$regex":"^a","$ne":"abc"}}`, `{"a":"abd"}`, true},
		{`{"a":{"$regex":"^a","$ne":"abc"}}`, `{"a":"abc"}`, false},
	})
}

func TestSize(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$size":2}}`, `{"a":[1,2]}`, true},
		{`{"a":{"$size":2}}`, `{"a":[1]}`, false},
		{`{"a":{"$size":2}}`, `{"a":[[1,2]]}`, false},
		{`{"a":{"$size":1}}`, `{"a":[[1,2]]}`, true},
		{`{"a":{"$size":2}}`, `{"a":"ab"}`, false},
		{`{"a":{"$size":0}}`, `{"a":[]}`, true},
		{`{"a":{"$size":0}}`, `{}`, false},
		{`{"a":{"$size":2.0}}`, `{"a":[1,2]}`, true},
		{`{"a.b":{"$size":2}}`, `{"a":[{"b":[1,2]}]}`, true},
		{`{"a.b":{"$size":2}}`, `{"a":{"b":[1,2]}}`, true},
		{`{"a":{"$not":{"$size":2}}}`, `{"a":[1]}`, true},
	})
}

func TestAll(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$all":[1,2]}}`, `{"a":[1,2,3]}`, true},
		{`{"a":{"$all":[1,2]}}`, `{"a":[2,1]}`, true},
		{`{"a":{"$all":[1,2]}}`, `{"a":[1]}`, false},
		{`{"a":{"$all":[1]}}`, `{"a":1}`, true},
		{`{"a":{"$all":[1,2]}}`, `{"a":1}`, false},
		{`{"a":{"$all":[[1,2]]}}`, `{"a":[1,2]}`, true},
		{`{"a":{"$all":[[1,2]]}}`, `{"a":[[1,2],3]}`, true},
		{`{"a":{"$all":[]}}`, `{"a":[]}`, false},
		{`{"a":{"$all":[]}}`, `{"a":[1]}`, false},
		{`{"a":{"$all":[null]}}`, `{}`, true},
		{`{"a.b":{"$all":[1,2]}}`, `{"a":[{"b":1},{"b":2}]}`, true},
		{`{"a":{"$all":[{"$elemMatch":{"b":1}},{"$elemMatch":{"c":2}}]}}`, `{"a":[{"b":1},{"c":2}]}`, true},
		{`{"a":{"$all":[{"$elemMatch":{"b":1}},{"$elemMatch":{"c":2}}]}}`, `{"a":[{"b":1}]}`, false},
		{`{"a":{"$all":[{"b":1}]}}`, `{"a":[{"b":1},{"c":1}]}`, true},
	})
}

func TestElemMatch(t *testing.T) {
	runMatchCases(t, []matchCase{
		// Value form: one element must satisfy all conditions.
		{`{"a":{"$elemMatch":{"$gte":80,"$lt":85}}}`, `{"a":[82]}`, true},
		{`{"a":{"$elemMatch":{"$gte":80,"$lt":85}}}`, `{"a":[75,88]}`, false},
		{`{"a":{"$gte":80,"$lt":85}}`, `{"a":[75,88]}`, true},
		{`{"a":{"$elemMatch":{"$eq":1}}}`, `{"a":1}`, false},
		{`{"a":{"$elemMatch":{"$eq":1}}}`, `{"a":[1]}`, true},
		{`{"a":{"$elemMatch":{"$eq":1}}}`, `{"a":[[1]]}`, false},
		{`{"a":{"$elemMatch":{"$ne":1}}}`, `{"a":[1,2]}`, true},
		{`{"a":{"$elemMatch":{"$ne":1}}}`, `{"a":[1]}`, false},
		{`{"a":{"$elemMatch":{"$in":[3]}}}`, `{"a":[1,3]}`, true},
		{`{"a":{"$elemMatch":{"$exists":true}}}`, `{"a":[]}`, false},
		{`{"a":{"$elemMatch":{"$size":1}}}`, `{"a":[[1]]}`, true},
		{`{"a":{"$elemMatch":{"$not":{"$gt":5}}}}`, `{"a":[9,3]}`, true},
		{`{"a":{"$elemMatch":{"$elemMatch":{"$eq":1}}}}`, `{"a":[[1]]}`, true},
		{`{"a":{"$elemMatch":{"$regex":"^x"}}}`, `{"a":["y","xz"]}`, true},
		// Document form: one element must match the whole sub-query.
		{`{"a":{"$elemMatch":{"b":1,"c":2}}}`, `{"a":[{"b":1,"c":2}]}`, true},
		{`{"a":{"$elemMatch":{"b":1,"c":2}}}`, `{"a":[{"b":1},{"c":2}]}`, false},
		{`{"a.b":1,"a.c":2}`, `{"a":[{"b":1},{"c":2}]}`, true},
		{`{"a":{"$elemMatch":{"b":{"$gt":1}}}}`, `{"a":[{"b":2}]}`, true},
		{`{"a":{"$elemMatch":{"b":{"$gt":1}}}}`, `{"a":{"b":2}}`, false},
		{`{"a":{"$elemMatch":{"0":1}}}`, `{"a":[[1]]}`, true},
		{`{"a":{"$elemMatch":{}}}`, `{"a":[{}]}`, true},
		{`{"a":{"$elemMatch":{}}}`, `{"a":[1]}`, false},
		{`{"a":{"$elemMatch":{"$or":[{"b":1},{"c":1}]}}}`, `{"a":[{"c":1}]}`, true},
		{`{"a":{"$elemMatch":{"$or":[{"b":1},{"c":1}]}}}`, `{"a":[{"d":1}]}`, false},
		{`{"a":{"$elemMatch":{"b.c":1}}}`, `{"a":[{"b":[{"c":1}]}]}`, true},
		{`{"a":{"$elemMatch":{"b":null}}}`, `{"a":[{"c":1}]}`, true},
		{`{"a.b":{"$elemMatch":{"$gt":1}}}`, `{"a":[{"b":[0,2]}]}`, true},
		{`{"a.b":{"$elemMatch":{"$gt":1}}}`, `{"a":[{"b":[0]},{"b":[3]}]}`, true},
		{`{"a":{"$not":{"$elemMatch":{"b":1}}}}`, `{"a":[{"b":2}]}`, true},
	})
}

func TestModNotLogical(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`{"a":{"$mod":[4,0]}}`, `{"a":8}`, true},
		{`{"a":{"$mod":[4,0]}}`, `{"a":8.9}`, true},
		{`{"a":{"$mod":[4,0]}}`, `{"a":-8}`, true},
		{`{"a":{"$mod":[4,0]}}`, `{"a":-7}`, false},
		{`{"a":{"$mod":[4,-3]}}`, `{"a":-7}`, true},
		{`{"a":{"$mod":[4,1]}}`, `{"a":[2,5]}`, true},
		{`{"a":{"$mod":[4,0]}}`, `{"a":"8"}`, false},
		{`{"a":{"$mod":[-1,0]}}`, `{"a":-9223372036854775808}`, true},
		{`{"a":{"$not":{"$gt":1}}}`, `{"a":0}`, true},
		{`{"a":{"$not":{"$gt":1}}}`, `{}`, true},
		{`{"a":{"$not":{"$gt":1}}}`, `{"a":2}`, false},
		{`{"a":{"$not":{"$gt":1}}}`, `{"a":[0,2]}`, false},
		{`{"a":{"$not":{"$gt":1,"$lt":5}}}`, `{"a":7}`, true},
		{`{"$and":[{"a":1},{"b":2}]}`, `{"a":1,"b":2}`, true},
		{`{"$and":[{"a":1},{"b":2}]}`, `{"a":1}`, false},
		{`{"$or":[{"a":1},{"b":2}]}`, `{"b":2}`, true},
		{`{"$or":[{"a":1},{"b":2}]}`, `{"a":0,"b":0}`, false},
		{`{"$nor":[{"a":1},{"b":2}]}`, `{}`, true},
		{`{"$nor":[{"a":1},{"b":2}]}`, `{"a":1}`, false},
		{`{"$and":[{"$or":[{"a":1},{"a":2}]},{"b":1}]}`, `{"a":2,"b":1}`, true},
		{`{"$and":[{"$or":[{"a":1},{"a":2}]},{"b":1}]}`, `{"a":3,"b":1}`, false},
		{`{"$or":[{"a":1}],"b":1}`, `{"a":1,"b":2}`, false},
		{`{"$comment":"hi","a":1}`, `{"a":1}`, true},
		{`{"$or":[{"$comment":"x"}]}`, `{}`, true},
	})
}

// TestMongoShape checks the sharedb-mongo document shape: data fields at
// the top level, _id, _type, _v and _m.
func TestMongoShape(t *testing.T) {
	text := Doc{ID: "t1", V: 3, Type: "http://sharejs.org/types/text-unicode", Data: json.RawMessage(`"hello"`), MTime: 5}
	rich := Doc{ID: "r1", V: 2, Type: "http://sharejs.org/types/rich-text/v1", Data: json.RawMessage(`{"ops":[{"insert":"hi\n"}]}`)}
	j := doc("j1", `{"title":"x","_id":"spoof"}`)
	j.Create = &CreateMeta{Src: "src1", Seq: 4, V: 0}
	deleted := Doc{ID: "gone", V: 5, MTime: 9}
	never := Doc{ID: "never"}
	docs := []Doc{text, rich, j, deleted, never}
	cases := []struct {
		filter string
		want   string
	}{
		{`{}`, "j1 r1 t1"},
		{`{"_id":"t1"}`, "t1"},
		{`{"_id":{"$in":["t1","j1","gone"]}}`, "j1 t1"},
		{`{"_data":"hello"}`, "t1"},
		{`{"_data":{"$regex":"ell"}}`, "t1"},
		{`{"_data":{"$exists":false}}`, "j1 r1"},
		{`{"ops.insert":"hi\n"}`, "r1"},
		{`{"title":"x"}`, "j1"},
		{`{"_id":"spoof"}`, ""},
		{`{"_type":"` + json0 + `"}`, "j1"},
		{`{"_type":{"$ne":null}}`, "j1 r1 t1"},
		{`{"_type":null}`, "gone"},
		{`{"_type":{"$exists":true}}`, "gone j1 r1 t1"},
		{`{"_type":{"$type":"string"}}`, "j1 r1 t1"},
		{`{"_v":{"$gte":3}}`, "t1"},
		{`{"_v":5}`, ""},
		{`{"_m.mtime":{"$gt":1}}`, "j1 t1"},
		{`{"_m.ctime":1000}`, "j1"},
		{`{"_m._create.src":"src1"}`, "j1"},
		{`{"_m":null}`, "r1"},
		{`{"$or":[{"_type":null},{"_id":"t1"}]}`, "t1"},
		{`{"$and":[{"_type":null}]}`, ""}, // only a top-level _type keeps deleted docs
		{`{"_type":{"$in":[null,"x"]}}`, "gone"},
		{`{"_type":{"$exists":true},"_id":{"$in":["gone","never"]}}`, "gone"},
	}
	for _, c := range cases {
		q, err := Parse(json.RawMessage(c.filter))
		if err != nil {
			t.Fatalf("Parse(%s): %v", c.filter, err)
		}
		res, err := q.Run(docs)
		if err != nil {
			t.Fatalf("Run(%s): %v", c.filter, err)
		}
		if got := strings.Join(res.IDs, " "); got != c.want {
			t.Errorf("%s: got %q, want %q", c.filter, got, c.want)
		}
		for i, d := range docs {
			in := false
			for _, k := range res.Indexes {
				in = in || k == i
			}
			if m := q.Matches(d); m != in {
				t.Errorf("%s: Matches(%s) = %v, Run has it: %v", c.filter, d.ID, m, in)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		query string
		code  int
		msg   string // substring
	}{
		{`[]`, CodeBadValue, "must be a JSON object"},
		{`null`, CodeBadValue, "must be a JSON object"},
		{`{"a":`, CodeParse, "not valid JSON"},
		{`{"a":1} x`, CodeParse, "not valid JSON"},
		{`{"$query":{}}`, CodeQueryDeprecated, "$query"},
		{`{"$distinct":{"field":"y"},"$aggregate":{}}`, CodeOneCollectionOp, "Only one collection operation"},
		{`{"$count":true,"$explain":true}`, CodeOneCursorOp, "Only one cursor operation"},
		{`{"$distinct":{"field":"y"},"$sort":{"y":1}}`, CodeCursorAfterCollection, "$distinct"},
		{`{"$distinct":{"field":"y"},"$count":true}`, CodeCursorAfterCollection, "$distinct"},
		{`{"$where":"true"}`, CodeWhereDisabled, "$where"},
		{`{"$where":null}`, CodeWhereDisabled, "$where"},
		{`{"$or":[{"$where":"true"}]}`, CodeWhereDisabled, "$where"},
		{`{"$mapReduce":{}}`, CodeMapReduceDisabled, "$mapReduce"},
		{`{"$aggregate":[{"$match":{}}]}`, CodeAggregateDisabled, "$aggregate"},
		{`{"$readPref":true}`, CodeMalformedOperator, "$readPref"},
		{`{"$skip":-1}`, CodeMalformedOperator, "$skip"},
		{`{"$skip":1.5}`, CodeMalformedOperator, "$skip"},
		{`{"$limit":"5"}`, CodeMalformedOperator, "$limit"},
		{`{"$sort":{"a":2}}`, CodeMalformedOperator, "sort direction"},
		{`{"$sort":{"a":true}}`, CodeMalformedOperator, "sort direction"},
		{`{"$sort":5}`, CodeMalformedOperator, "sort"},
		{`{"$sort":{"$natural":1}}`, CodeUnsupported, "$natural"},
		{`{"$sort":{"score":{"$meta":"textScore"}}}`, CodeUnsupported, "$meta"},
		{`{"$distinct":{"y":1}}`, CodeMalformedOperator, "$distinct"},
		{`{"$explain":true}`, CodeUnsupported, "$explain"},
		{`{"$max":{"a":1}}`, CodeUnsupported, "$max"},
		{`{"$showRecordId":true}`, CodeUnsupported, "$showRecordId"},
		{`{"$foo":1}`, CodeBadValue, "unknown top level operator: $foo"},
		{`{"a":{"$foo":1}}`, CodeBadValue, "unknown operator: $foo"},
		{`{"a":{"$gt":1,"b":1}}`, CodeBadValue, "unknown operator: b"},
		{`{"a":{"$and":[{"b":1}]}}`, CodeBadValue, "unknown operator: $and"},
		{`{"a":{"$where":"x"}}`, CodeBadValue, "$where"},
		{`{"$expr":{"$eq":["$a",1]}}`, CodeUnsupported, "$expr"},
		{`{"$text":{"$search":"x"}}`, CodeUnsupported, "$text"},
		{`{"a":{"$bitsAllSet":1}}`, CodeUnsupported, "$bitsAllSet"},
		{`{"a":{"$near":[0,0]}}`, CodeUnsupported, "$near"},
		{`{"$and":[]}`, CodeBadValue, "nonempty array"},
		{`{"$or":{"a":1}}`, CodeBadValue, "must be an array"},
		{`{"$nor":[1]}`, CodeBadValue, "full objects"},
		{`{"a":{"$in":1}}`, CodeBadValue, "$in needs an array"},
		{`{"a":{"$nin":{"b":1}}}`, CodeBadValue, "$nin needs an array"},
		{`{"a":{"$in":[{"$gt":1}]}}`, CodeBadValue, "cannot nest $ under $in"},
		{`{"a":{"$size":-1}}`, CodeBadValue, "$size may not be negative"},
		{`{"a":{"$size":1.5}}`, CodeBadValue, "whole number"},
		{`{"a":{"$size":"1"}}`, CodeBadValue, "$size needs a number"},
		{`{"a":{"$type":"foo"}}`, CodeBadValue, "Unknown type name alias: foo"},
		{`{"a":{"$type":99}}`, CodeBadValue, "Invalid numerical type code"},
		{`{"a":{"$type":[]}}`, CodeBadValue, "at least one type"},
		{`{"a":{"$type":true}}`, CodeBadValue, "type must be"},
		{`{"a":{"$all":1}}`, CodeBadValue, "$all needs an array"},
		{`{"a":{"$all":[{"$gt":1}]}}`, CodeBadValue, "no $ expressions in $all"},
		{`{"a":{"$all":[{"$elemMatch":{"b":1}},1]}}`, CodeBadValue, "consistent"},
		{`{"a":{"$elemMatch":1}}`, CodeBadValue, "$elemMatch needs an Object"},
		{`{"a":{"$elemMatch":{"$gt":1,"b":1}}}`, CodeBadValue, "unknown operator: b"},
		{`{"a":{"$not":{}}}`, CodeBadValue, "$not cannot be empty"},
		{`{"a":{"$not":1}}`, CodeBadValue, "$not needs"},
		{`{"a":{"$not":{"b":1}}}`, CodeBadValue, "unknown operator: b"},
		{`{"a":{"$mod":[0,1]}}`, CodeBadValue, "divisor cannot be 0"},
		{`{"a":{"$mod":[4]}}`, CodeBadValue, "not enough elements"},
		{`{"a":{"$mod":[4,1,2]}}`, CodeBadValue, "too many elements"},
		{`{"a":{"$mod":"4"}}`, CodeBadValue, "needs to be an array"},
		{`{"a":{"$options":"i"}}`, CodeBadValue, "$options needs a $regex"},
		{`{"a":{"$regex":1}}`, CodeBadValue, "$regex has to be a string"},
		{`{"a":{"$regex":"a","$options":1}}`, CodeBadValue, "$options has to be a string"},
		{`{"a":{"$regex":"a","$options":"z"}}`, codeRegexFlag, "invalid flag in regex options: z"},
		{`{"a":{"$regex":"(a)\\1"}}`, codeInvalidRegex, "backreferences"},
		{`{"a":{"$regex":"a(?=b)"}}`, codeInvalidRegex, "not supported"},
		{`{"a":{"$regex":"a(?<!b)"}}`, codeInvalidRegex, "not supported"},
		{`{"a":{"$regex":"a++"}}`, codeInvalidRegex, "not supported"},
		{`{"a":{"$regex":"(?>a)"}}`, codeInvalidRegex, "not supported"},
		{`{"a":{"$regex":"(?x)a b"}}`, codeInvalidRegex, "not supported"},
		{`{"a":{"$regex":"\\K"}}`, codeInvalidRegex, "not supported"},
		{`{"a":{"$regex":"[a"}}`, codeInvalidRegex, "missing terminating ]"},
		{`{"a":{"$regex":"a\\"}}`, codeInvalidRegex, "end of pattern"},
		{`{"a":{"$regex":"a\u0000"}}`, CodeBadValue, "null byte"},
		{`{"a":{"$regex":"[[:foo:]]"}}`, codeInvalidRegex, "POSIX"},
	}
	for _, c := range cases {
		_, err := Parse(json.RawMessage(c.query))
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("Parse(%s): error %v, want *Error", c.query, err)
			continue
		}
		if qe.Code != c.code || !strings.Contains(qe.Message, c.msg) {
			t.Errorf("Parse(%s): got %d %q, want %d containing %q", c.query, qe.Code, qe.Message, c.code, c.msg)
		}
	}
}

// TestAccepted lists queries sharedb-mongo accepts that must parse.
func TestAccepted(t *testing.T) {
	for _, s := range []string{
		`{}`,
		`{"$count":true}`,
		`{"$count":false,"a":1}`,
		`{"$sort":{"a":1,"b":-1},"$skip":0,"$limit":10}`,
		`{"$orderby":{"a":1}}`,
		`{"$sort":null}`,
		`{"$sort":"a"}`,
		`{"$sort":["a",-1]}`,
		`{"$sort":[["a",-1],["b","asc"]]}`,
		`{"$sort":["a","b"]}`,
		`{"$sort":{"a":"DESC","b":"ascending","c":"-1"}}`,
		`{"$limit":-5}`,
		`{"$distinct":{"field":"a.b"},"x":1}`,
		`{"$comment":"x","$batchSize":5,"$hint":{"a":1},"$maxTimeMS":100,"$noCursorTimeout":true,"$readConcern":"local","$readPref":{"mode":"primary"}}`,
	} {
		if _, err := Parse(json.RawMessage(s)); err != nil {
			t.Errorf("Parse(%s): %v", s, err)
		}
	}
	// A falsy $query passes sharedb-mongo's check and reaches MongoDB,
	// which rejects the unknown top-level operator.
	if _, err := Parse(json.RawMessage(`{"$query":0}`)); err == nil {
		t.Errorf(`Parse({"$query":0}) accepted`)
	}
}

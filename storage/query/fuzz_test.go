package query

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
)

// FuzzParseRun feeds arbitrary query JSON and document data through
// Parse, Run, Matches and SkipPoll. Nothing may panic; errors must be
// *Error from Parse; and when a single document can be re-polled, Matches
// must agree with Run on every document.
func FuzzParseRun(f *testing.F) {
	seeds := [][2]string{
		{`{}`, `{"a":1}`},
		{`{"a":1}`, `{"a":[1,2]}`},
		{`{"a.b":null}`, `{"a":[{"c":1},2]}`},
		{`{"a.0.b":{"$gt":1}}`, `{"a":[{"b":2},[{"b":3}]]}`},
		{`{"a":{"$elemMatch":{"$gte":1,"$lt":3}}}`, `{"a":[0,2]}`},
		{`{"a":{"$elemMatch":{"b":1}}}`, `{"a":[{"b":1}]}`},
		{`{"a":{"$all":[1,2]},"b":{"$size":2}}`, `{"a":[1,2],"b":[[],{}]}`},
		{`{"$or":[{"a":{"$regex":"^x","$options":"imsx"}},{"b":{"$type":["int","array"]}}]}`, `{"a":"X\ny","b":[1.5]}`},
		{`{"$nor":[{"a":{"$exists":false}}],"a":{"$not":{"$in":[null,[1]]}}}`, `{"a":[[1],null]}`},
		{`{"a":{"$mod":[3,1]},"$sort":{"a":-1},"$skip":1,"$limit":2}`, `{"a":[4,7]}`},
		{`{"$count":true,"_type":null}`, `"text"`},
		{`{"$distinct":{"field":"a.b"}}`, `{"a":[{"b":[1,[2]]},{"b":"x"}]}`},
		{`{"_id":{"$gt":"a"},"_v":{"$gte":1},"_m.mtime":{"$lt":5}}`, `[1,2,3]`},
		{`{"a":{"$gt":{"b":[1,{"c":null}]}}}`, `{"a":{"b":[1,{"c":true}]}}`},
		{`{"a":{"$regex":"a$\\Z\\s\\h[\\S\\d-x]\\Q.\\E(?#c)"}}`, `a(?=b)\1[[:alpha:]`},
		{`{"$where":"1"}`, `null`},
		{`{"$sort":[["a",1],["b","desc"]]}`, `{"b":{"1":2,"a":1}}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, query, data []byte) {
		// Arbitrary bytes as a regex pattern and as options.
		if !json.Valid(data) && len(data) < 200 {
			_, _ = compileRegex(string(data), "imsxu")
			_, _ = compileRegex(string(data), "")
		}

		q, err := Parse(query)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse error %v is not *Error", err)
			}
			return
		}
		docs := []Doc{
			{ID: "d1", V: 1, Type: json0, Data: data, CTime: 1, MTime: 2},
			{ID: "d2", V: 2, Type: "http://sharejs.org/types/text-unicode", Data: json.RawMessage(`"x"`)},
			{ID: "d3", V: 3}, // deleted
			{ID: "d4"},       // never created
		}
		if json.Valid(data) {
			docs = append(docs,
				Doc{ID: "d5", V: 1, Type: json0, Data: append(append([]byte(`{"a":`), data...), '}')},
				Doc{ID: "d6", V: 1, Type: json0, Data: append(append([]byte(`{"a":[`), data...), `,{"b":1}]}`...)},
			)
		}
		res, err := q.Run(docs)
		_, _ = q.SkipPoll(false, false, data)
		if err != nil {
			if json.Valid(data) {
				t.Fatalf("Run failed on valid data: %v", err)
			}
			return
		}
		if q.ResultsInExtra() {
			if len(res.IDs) != 0 || !json.Valid(res.Extra) {
				t.Fatalf("extra result: ids %v extra %q", res.IDs, res.Extra)
			}
			return
		}
		if res.Extra != nil || len(res.IDs) != len(res.Indexes) {
			t.Fatalf("result shape: %+v", res)
		}
		seen := map[int]bool{}
		for i, k := range res.Indexes {
			if docs[k].ID != res.IDs[i] || seen[k] {
				t.Fatalf("bad result %+v", res)
			}
			seen[k] = true
		}
		if !q.HasSort() && !sort.StringsAreSorted(res.IDs) {
			t.Fatalf("unsorted ids %v", res.IDs)
		}
		if q.CanPollDoc() {
			for i, d := range docs {
				if m := q.Matches(d); m != seen[i] {
					t.Fatalf("Matches(%s) = %v but Run says %v (query %s, data %s)", d.ID, m, seen[i], query, data)
				}
			}
		}
	})
}

// FuzzDecode checks the hand-written JSON decoder against encoding/json:
// the same inputs are valid, and they decode to the same values.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `null`, `true`, ` 1.5e3 `, `-0`, `1e400`, `"a\u00e9\ud83d\ude00\ud800x\"\\\/\b\f\n\r\t"`,
		`{"a":[1,{"b":null}],"a":2,"10":3,"2":4}`, "\"\xff\"", `[1,]`, `{"a" 1}`, `01`, `1.`, `"\u12"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, err := decodeJSON(data)
		var theirs any
		jerr := json.Unmarshal(data, &theirs)
		if (err == nil) != (jerr == nil) {
			if errors.Is(err, errTooDeep) || (jerr != nil && strings.Contains(jerr.Error(), "exceeded max depth")) {
				return
			}
			var se *json.UnmarshalTypeError
			if errors.As(jerr, &se) && err == nil {
				return // a number out of float64 range: JavaScript makes it ±Inf
			}
			t.Fatalf("decodeJSON error %v, encoding/json error %v, input %q", err, jerr, data)
		}
		if err != nil {
			return
		}
		if !sameValue(ours, theirs) {
			t.Fatalf("decodeJSON %s, encoding/json %#v, input %q", appendJSON(nil, ours), theirs, data)
		}
	})
}

// sameValue compares our value with encoding/json's (maps ignore order).
func sameValue(ours, theirs any) bool {
	switch x := ours.(type) {
	case *object:
		m, ok := theirs.(map[string]any)
		if !ok || len(m) != len(x.keys) {
			return false
		}
		for i, k := range x.keys {
			if !sameValue(x.vals[i], m[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := theirs.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return ours == theirs
}

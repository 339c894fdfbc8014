package query

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) *Query {
	t.Helper()
	q, err := Parse(json.RawMessage(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return q
}

func run(t *testing.T, q string, docs []Doc) Result {
	t.Helper()
	res, err := mustParse(t, q).Run(docs)
	if err != nil {
		t.Fatalf("Run(%s): %v", q, err)
	}
	return res
}

// The cases of sharedb-mongo's own query tests (test/test_mongo.js).
func TestSharedbMongoCases(t *testing.T) {
	docs := []Doc{doc("test1", `{"x":1,"y":1}`), doc("test2", `{"x":2,"y":2}`), doc("test3", `{"x":3,"y":2}`)}
	res := run(t, `{"$count":true,"y":2}`, docs)
	if len(res.IDs) != 0 || string(res.Extra) != "2" {
		t.Errorf("$count: ids %v extra %s", res.IDs, res.Extra)
	}
	sorted := []Doc{doc("test1", `{"x":1}`), doc("test2", `{"x":3}`), doc("test3", `{"x":2}`)}
	res = run(t, `{"$sort":{"x":1},"$skip":1,"$limit":1}`, sorted)
	if strings.Join(res.IDs, ",") != "test3" || res.Extra != nil {
		t.Errorf("$sort/$skip/$limit: %v %s", res.IDs, res.Extra)
	}
	res = run(t, `{"$distinct":{"field":"y"}}`, docs)
	if len(res.IDs) != 0 || string(res.Extra) != "[1,2]" {
		t.Errorf("$distinct: ids %v extra %s", res.IDs, res.Extra)
	}
}

func TestSortOrder(t *testing.T) {
	// One document per type, plus missing, empty array and arrays.
	docs := []Doc{
		doc("bool", `{"a":true}`),
		doc("false", `{"a":false}`),
		doc("arr", `{"a":[[1]]}`),
		doc("obj", `{"a":{"b":1}}`),
		doc("str", `{"a":"x"}`),
		doc("num", `{"a":2}`),
		doc("neg", `{"a":-1.5}`),
		doc("null", `{"a":null}`),
		doc("missing", `{}`),
		doc("empty", `{"a":[]}`),
		doc("multi", `{"a":[10,0.5]}`),
	}
	res := run(t, `{"$sort":{"a":1}}`, docs)
	want := "empty missing null neg multi num str obj arr false bool"
	if got := strings.Join(res.IDs, " "); got != want {
		t.Errorf("ascending:\n got %s\nwant %s", got, want)
	}
	res = run(t, `{"$sort":{"a":-1}}`, docs)
	want = "bool false arr obj str multi num neg missing null empty"
	if got := strings.Join(res.IDs, " "); got != want {
		t.Errorf("descending:\n got %s\nwant %s", got, want)
	}
}

func TestSortKeys(t *testing.T) {
	docs := []Doc{
		doc("a", `{"g":1,"n":3,"s":"b"}`),
		doc("b", `{"g":2,"n":1,"s":"a"}`),
		doc("c", `{"g":1,"n":2,"s":"c"}`),
		doc("d", `{"g":2,"n":1,"s":"b"}`),
		doc("e", `{"g":1,"n":2,"s":"a"}`),
	}
	for _, c := range []struct{ q, want string }{
		{`{"$sort":{"g":1,"n":-1}}`, "a c e b d"},
		{`{"$sort":{"g":-1,"n":1,"s":-1}}`, "d b c e a"},
		{`{"$sort":{"n":1}}`, "b d c e a"}, // ties by id
		{`{"$sort":[["g",-1],["s","asc"]]}`, "b d e a c"},
		{`{"$sort":"s"}`, "b e a d c"},
		{`{"$orderby":{"s":-1}}`, "c a d b e"},
		{`{"$sort":{"n":1},"$orderby":{"s":1}}`, "b e a d c"}, // the later one wins
		{`{"$sort":{"s":1},"$skip":1,"$limit":2}`, "e a"},
		{`{"$sort":{"s":1},"$skip":4,"$limit":2}`, "c"},
		{`{"$sort":{"s":1},"$skip":9}`, ""},
		{`{"$sort":{"s":1},"$limit":-2}`, "b e"},
		{`{"$sort":{"s":1},"$limit":0}`, "b e a d c"},
		{`{"$sort":{}}`, "a b c d e"},
		{`{"g":1,"$sort":{"s":1}}`, "e a c"},
		{`{"$limit":2}`, "a b"},
		{`{"$sort":{"_id":-1}}`, "e d c b a"},
	} {
		res := run(t, c.q, docs)
		if got := strings.Join(res.IDs, " "); got != c.want {
			t.Errorf("%s: got %q, want %q", c.q, got, c.want)
		}
		for i, id := range res.IDs {
			if docs[res.Indexes[i]].ID != id {
				t.Errorf("%s: Indexes do not match IDs", c.q)
			}
		}
	}
}

func TestSortArraysAndPaths(t *testing.T) {
	docs := []Doc{
		doc("p", `{"a":[{"b":5},{"b":1}]}`),
		doc("q", `{"a":[{"b":3}]}`),
		doc("r", `{"a":{"b":2}}`),
		doc("s", `{"a":[{"b":4},{"c":9}]}`), // one element lacks b: null
	}
	for _, c := range []struct{ q, want string }{
		{`{"$sort":{"a.b":1}}`, "s p r q"},
		{`{"$sort":{"a.b":-1}}`, "p s q r"},
		{`{"$sort":{"a.0.b":1}}`, "r q s p"},
	} {
		res := run(t, c.q, docs)
		if got := strings.Join(res.IDs, " "); got != c.want {
			t.Errorf("%s: got %q, want %q", c.q, got, c.want)
		}
	}
}

func TestCountAndDistinct(t *testing.T) {
	docs := []Doc{
		doc("a", `{"t":["x","y"],"n":1,"o":{"k":1}}`),
		doc("b", `{"t":"y","n":1.0,"o":{"k":1}}`),
		doc("c", `{"t":[["x"]],"n":"1"}`),
		doc("d", `{"n":null}`),
		{ID: "del", V: 3},
	}
	for _, c := range []struct{ q, extra string }{
		{`{"$count":true}`, "4"},
		{`{"$count":1,"n":1}`, "2"},
		{`{"$count":true,"$skip":1}`, "3"},
		{`{"$count":true,"$skip":9}`, "0"},
		{`{"$count":true,"$limit":2}`, "2"},
		{`{"$count":true,"$limit":-3,"$skip":2}`, "2"},
		{`{"$count":true,"$sort":{"n":1}}`, "4"},
		{`{"$count":true,"_type":null}`, "1"},
		{`{"$distinct":{"field":"t"}}`, `["x","y",["x"]]`},
		{`{"$distinct":{"field":"n"}}`, `[null,1,"1"]`},
		{`{"$distinct":{"field":"o"}}`, `[{"k":1}]`},
		{`{"$distinct":{"field":"o.k"},"n":1}`, `[1]`},
		{`{"$distinct":{"field":"zz"}}`, `[]`},
	} {
		res := run(t, c.q, docs)
		if len(res.IDs) != 0 || string(res.Extra) != c.extra {
			t.Errorf("%s: ids %v extra %s, want extra %s", c.q, res.IDs, res.Extra, c.extra)
		}
		if !mustParse(t, c.q).ResultsInExtra() {
			t.Errorf("%s: ResultsInExtra false", c.q)
		}
	}
}

func TestRunBadData(t *testing.T) {
	q := mustParse(t, `{}`)
	bad := Doc{ID: "bad", V: 1, Type: json0, Data: json.RawMessage(`{"a":`)}
	if _, err := q.Run([]Doc{bad}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("Run on bad data: %v", err)
	}
	if q.Matches(bad) {
		t.Errorf("Matches on bad data")
	}
	// A live document without data is {_data: null}.
	nodata := Doc{ID: "n", V: 1, Type: json0}
	if !mustParse(t, `{"_data":null,"_data":{"$exists":true}}`).Matches(nodata) {
		t.Errorf("document without data should have _data: null")
	}
}

func TestCanPollDoc(t *testing.T) {
	for q, want := range map[string]bool{
		`{}`:                                true,
		`{"a":1,"$comment":"x"}`:            true,
		`{"a":1,"$hint":{"a":1}}`:           true,
		`{"$sort":{"a":1}}`:                 false,
		`{"$orderby":{"a":1}}`:              false,
		`{"$limit":1}`:                      false,
		`{"$skip":0}`:                       false,
		`{"$count":true}`:                   false,
		`{"$distinct":{"field":"a"}}`:       false,
		`{"$sort":null}`:                    false,
		`{"$or":[{"a":1},{"b":{"$gt":1}}]}`: true,
	} {
		if got := mustParse(t, q).CanPollDoc(); got != want {
			t.Errorf("CanPollDoc(%s) = %v, want %v", q, got, want)
		}
	}
}

func TestSkipPoll(t *testing.T) {
	q := mustParse(t, `{"a.b":1,"$or":[{"c":1},{"d":{"$not":{"$gt":1}}}],"$nor":[{"e":1}],"f":{"$elemMatch":{"g":1}},"$sort":{"h.i":1}}`)
	cases := []struct {
		create, del bool
		op          string
		skip        bool
		err         bool
	}{
		{create: true, skip: false},
		{del: true, skip: false},
		{op: ``, skip: true},
		{op: `null`, skip: true},
		{op: `[]`, skip: true},
		{op: `[{"p":["x"],"oi":1}]`, skip: true},
		{op: `[{"p":["x","a"],"oi":1}]`, skip: true},
		{op: `[{"p":["a","z"],"oi":1}]`, skip: false},
		{op: `[{"p":["x"],"oi":1},{"p":["c"],"oi":1}]`, skip: false},
		{op: `[{"p":["d"],"na":1}]`, skip: false},
		{op: `[{"p":["e"],"od":1}]`, skip: false},
		{op: `[{"p":["f",0,"g"],"oi":1}]`, skip: false},
		{op: `[{"p":["g"],"oi":1}]`, skip: true},
		{op: `[{"p":["h"],"oi":1}]`, skip: false},
		{op: `[{"p":[],"oi":{}}]`, skip: false},
		{op: `[3,"abc"]`, err: true},        // text ops have no p
		{op: `[{"insert":"x"}]`, err: true}, // nor do rich-text ops
		{op: `{"ops":[{"insert":"x"}]}`, skip: true},
	}
	for _, c := range cases {
		skip, err := q.SkipPoll(c.create, c.del, json.RawMessage(c.op))
		if (err != nil) != c.err || (err == nil && skip != c.skip) {
			t.Errorf("SkipPoll(%v, %v, %s) = %v, %v; want %v, err %v", c.create, c.del, c.op, skip, err, c.skip, c.err)
		}
	}
	// A query with $count always polls.
	cq := mustParse(t, `{"a":1,"$count":true}`)
	if skip, _ := cq.SkipPoll(false, false, json.RawMessage(`[{"p":["x"],"oi":1}]`)); skip {
		t.Errorf("$count query skipped a poll")
	}
}

func TestRegexTranslation(t *testing.T) {
	for _, c := range []struct {
		in, out string
		x       bool
	}{
		{`abc`, `abc`, false},
		{`a$`, `a(?:\n?\z)`, false},
		{`a\$`, `a\$`, false},
		{`(?m)a$`, `(?m)a$`, false},
		{`[$]`, `[$]`, false},
		{`\s`, `[\t\n\v\f\r ]`, false},
		{`[^\s]`, `[^\t\n\v\f\r ]`, false},
		{`a b # c` + "\n" + `d`, `abd`, true},
		{`[ ]`, `[ ]`, true},
		{`\Qa+b\E+`, `a\+b+`, false},
		{`[\Q]\E]`, `[\]]`, false},
		{`\x4`, `\x{4}`, false},
		{`\x{1F600}`, `\x{1F600}`, false},
		{`[\b]`, `[\x08]`, false},
		{`\G`, `\A`, false},
		{`[a[b]`, `[a\[b]`, false},
		{`[\w-.]`, `[\w\-.]`, false},
	} {
		got, err := translateRegex(c.in, c.x, false)
		if err != nil || got != c.out {
			t.Errorf("translateRegex(%q) = %q, %v; want %q", c.in, got, err, c.out)
		}
	}
}

func TestDecodeJSOrder(t *testing.T) {
	v, err := decodeJSON([]byte(`{"b":1,"10":2,"a":3,"2":4,"01":5,"4294967295":6,"4294967294":7,"b":8}`))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*object)
	if got := strings.Join(o.keys, ","); got != "2,10,4294967294,b,a,01,4294967295" {
		t.Errorf("key order %s", got)
	}
	if b, _ := o.get("b"); b != 8.0 {
		t.Errorf("duplicate key: b = %v", b)
	}
	if got := string(appendJSON(nil, v)); got != `{"2":4,"10":2,"4294967294":7,"b":8,"a":3,"01":5,"4294967295":6}` {
		t.Errorf("re-encoded %s", got)
	}
	// Large objects get a lookup map; order and lookups still hold.
	var sb strings.Builder
	sb.WriteString("{")
	for i := 30; i >= 0; i-- {
		fmt.Fprintf(&sb, `"k%d":%d,`, i, i)
	}
	sb.WriteString(`"k7":"last"}`)
	v, err = decodeJSON([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	o = v.(*object)
	if x, _ := o.get("k7"); x != "last" || len(o.keys) != 31 || o.keys[0] != "k30" {
		t.Errorf("large object: k7=%v len=%d first=%s", x, len(o.keys), o.keys[0])
	}
}

package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMingoOracle compares Matches with mingo, the in-memory MongoDB
// matcher sharedb-mingo-memory uses, on random filters and documents. It
// needs Node.js and `npm install` in testdata/oracle, and runs only with
// QUERY_ORACLE=1. mingo is not MongoDB: the divergences listed in
// mingoKnown are where MongoDB's documented behaviour (which this package
// follows) and mingo's differ; anything else is reported.
func TestMingoOracle(t *testing.T) {
	if os.Getenv("QUERY_ORACLE") == "" {
		t.Skip("set QUERY_ORACLE=1 (after npm install in testdata/oracle) to compare with mingo")
	}
	dir, _ := filepath.Abs("testdata/oracle")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mingo")); err != nil {
		t.Skipf("mingo not installed: run npm install in %s", dir)
	}
	seed := int64(1)
	if s, err := strconv.ParseInt(os.Getenv("QUERY_ORACLE_SEED"), 10, 64); err == nil {
		seed = s
	}
	rng := rand.New(rand.NewSource(seed))
	type tcase struct {
		Filter json.RawMessage   `json:"filter"`
		Docs   []json.RawMessage `json:"docs"`
	}
	var docs []json.RawMessage
	for i := 0; i < 40; i++ {
		docs = append(docs, json.RawMessage(fmt.Sprintf(`{"a":%s,"b":%s}`, genValue(rng, 2), genValue(rng, 2))))
		docs = append(docs, json.RawMessage(fmt.Sprintf(`{"a":%s}`, genValue(rng, 3))))
	}
	docs = append(docs, json.RawMessage(`{}`))
	var cases []tcase
	for i := 0; i < 3000; i++ {
		cases = append(cases, tcase{Filter: json.RawMessage(genFilter(rng, 2)), Docs: docs})
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command("node", filepath.Join(dir, "oracle.js"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var verdicts []json.RawMessage
	if err := json.Unmarshal(out, &verdicts); err != nil {
		t.Fatal(err)
	}
	diffs := 0
	for i, c := range cases {
		q, perr := Parse(c.Filter)
		var got []any
		if json.Unmarshal(verdicts[i], &got) != nil {
			if perr == nil {
				t.Logf("mingo rejects %s: %s", c.Filter, verdicts[i])
			}
			continue
		}
		if perr != nil {
			t.Logf("we reject %s (%v), mingo accepts", c.Filter, perr)
			continue
		}
		for j, d := range c.Docs {
			m, ok := got[j].(bool)
			if !ok {
				continue
			}
			ours := q.Matches(Doc{ID: "x", V: 1, Type: json0, Data: d})
			if ours != m && !mingoKnown(string(c.Filter), string(d)) {
				diffs++
				if diffs <= 60 {
					t.Errorf("%s on %s: ours %v, mingo %v", c.Filter, d, ours, m)
				}
			}
		}
	}
	t.Logf("%d differences", diffs)
}

// mingoKnown recognises documented divergences between mingo and MongoDB.
func mingoKnown(filter, doc string) bool {
	dotted := strings.Contains(filter, `"a.`)
	nested := nestedArray.MatchString(doc)
	switch {
	case strings.Contains(filter, `"$type"`):
		return true // MongoDB matches $type on array elements too; mingo does not
	case strings.Contains(filter, `"$all"`):
		return true // MongoDB: {$all: [x]} on a non-array field x matches
	case dotted && (nested || strings.Contains(filter, `"$size"`) || strings.Contains(filter, `"$elemMatch"`) ||
		strings.Contains(filter, `:[`)):
		return true // mingo descends nested arrays / collects a dotted path into an array
	case strings.Contains(filter, `"$mod"`):
		return true // mingo applies JavaScript's % to non-numbers (true % 2 == 1)
	case crossTypeCmp.MatchString(filter):
		return true // mingo compares null, objects and arrays across type brackets
	case nested:
		return true // mingo also matches inside nested arrays
	case strings.Contains(filter, "[]"):
		return true // mingo: [] does not equal a stored [] in $in/$nin/$ne; a.b over [] is []
	case inWithArray.MatchString(filter):
		return true // mingo: an array in $in/$nin does not match a stored equal array
	case elemMatchDoc.MatchString(filter):
		return true // mingo lets $elemMatch with a query document match non-object elements
	case dotted && strings.Contains(filter, "null"):
		return true // MongoDB < 9.0: a dotted path over an array of scalars yields nothing
	}
	return false
}

// crossTypeCmp finds a range comparison with a null, object or array operand.
var crossTypeCmp = regexp.MustCompile(`"\$(gt|gte|lt|lte)":[\[{n]`)

// inWithArray finds $in/$nin with an array among the values.
var inWithArray = regexp.MustCompile(`"\$n?in":\[[^\]]*\[`)

// elemMatchDoc finds $elemMatch with a query document (not operators).
var elemMatchDoc = regexp.MustCompile(`"\$elemMatch":\{"(\$and|\$or|\$nor|[^$])`)

// nestedArray finds an array inside an array.
var nestedArray = regexp.MustCompile(`\[[^\]]*\[`)

var oracleScalars = []string{`null`, `0`, `1`, `2`, `-1`, `1.5`, `"a"`, `"b"`, `""`, `true`, `false`}

func genValue(rng *rand.Rand, depth int) string {
	if depth <= 0 || rng.Intn(3) > 0 {
		return oracleScalars[rng.Intn(len(oracleScalars))]
	}
	n := rng.Intn(3)
	parts := make([]string, n)
	if rng.Intn(2) == 0 {
		for i := range parts {
			parts[i] = genValue(rng, depth-1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	keys := []string{"b", "c", "0"}
	for i := range parts {
		parts[i] = fmt.Sprintf(`"%s":%s`, keys[i], genValue(rng, depth-1))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func genFilter(rng *rand.Rand, depth int) string {
	paths := []string{"a", "b", "a.b", "a.0", "a.c", "a.b.c", "a.0.b"}
	if depth > 0 && rng.Intn(5) == 0 {
		op := []string{"$and", "$or", "$nor"}[rng.Intn(3)]
		n := 1 + rng.Intn(2)
		subs := make([]string, n)
		for i := range subs {
			subs[i] = genFilter(rng, depth-1)
		}
		return fmt.Sprintf(`{"%s":[%s]}`, op, strings.Join(subs, ","))
	}
	return fmt.Sprintf(`{"%s":%s}`, paths[rng.Intn(len(paths))], genCond(rng, depth))
}

func genCond(rng *rand.Rand, depth int) string {
	v := func() string { return genValue(rng, 2) }
	switch rng.Intn(17) {
	case 0:
		return v()
	case 1:
		return `{"$eq":` + v() + `}`
	case 2:
		return `{"$ne":` + v() + `}`
	case 3:
		return `{"$gt":` + v() + `}`
	case 4:
		return `{"$gte":` + v() + `}`
	case 5:
		return `{"$lt":` + v() + `}`
	case 6:
		return `{"$lte":` + v() + `}`
	case 7:
		return `{"$in":[` + v() + `,` + v() + `]}`
	case 8:
		return `{"$nin":[` + v() + `]}`
	case 9:
		return fmt.Sprintf(`{"$exists":%v}`, rng.Intn(2) == 0)
	case 10:
		return fmt.Sprintf(`{"$type":%q}`, []string{"string", "number", "array", "object", "null", "bool", "int", "double"}[rng.Intn(8)])
	case 11:
		return fmt.Sprintf(`{"$size":%d}`, rng.Intn(3))
	case 12:
		return `{"$all":[` + v() + `]}`
	case 13:
		if depth > 0 && rng.Intn(2) == 0 {
			return `{"$elemMatch":` + genFilter(rng, depth-1) + `}`
		}
		return `{"$elemMatch":{"$gt":` + v() + `}}`
	case 14:
		return `{"$not":{"$gt":` + v() + `}}`
	case 15:
		return fmt.Sprintf(`{"$regex":%q}`, []string{"^a", "b", "^$", "A"}[rng.Intn(4)])
	}
	return fmt.Sprintf(`{"$mod":[2,%d]}`, rng.Intn(2))
}

package query

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkRun evaluates a filtered, sorted, limited query over 10,000
// small json0 documents (what a live query re-poll costs an embedded store).
func BenchmarkRun(b *testing.B) {
	docs := make([]Doc, 10000)
	for i := range docs {
		docs[i] = doc(fmt.Sprintf("doc%05d", i),
			fmt.Sprintf(`{"title":"note %d","n":%d,"tags":["t%d","all"],"owner":{"name":"u%d","age":%d},"body":"lorem ipsum dolor sit amet"}`, i, i%97, i%7, i%13, i%50))
	}
	q, err := Parse(json.RawMessage(`{"tags":"t3","owner.age":{"$gte":10},"$sort":{"n":-1,"title":1},"$limit":20}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Run(docs); err != nil {
			b.Fatal(err)
		}
	}
}

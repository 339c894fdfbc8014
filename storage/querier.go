package storage

import (
	"context"
	"encoding/json"
)

// Querier is implemented by stores that can run ShareDB queries: a
// MongoDB filter in the dialect sharedb-mongo accepts by default, with
// $sort, $skip, $limit and $count. Deleted documents are left out unless
// the filter names _type at its top level, as sharedb-mongo does.
type Querier interface {
	Query(ctx context.Context, collection string, q json.RawMessage) (QueryResult, error)
}

// QueryResult holds the matching documents in result order, and the extra
// value of meta queries such as $count (nil when there is none).
type QueryResult struct {
	Docs  []QueryDoc
	Extra json.RawMessage
}

// QueryDoc is one matching document.
type QueryDoc struct {
	ID       string
	Snapshot Snapshot
}

package mongo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/query"
)

var _ storage.Querier = (*Store)(nil)

// Query implements storage.Querier the way sharedb-mongo 6.0.0 runs a
// query: the filter goes to MongoDB as it is (its fields are the
// snapshot's top-level data fields, _id, _v, _type and _m), with
// {_type: {$type: 2}} added unless the filter has a top-level _type key,
// so that deleted documents are left out (makeQuerySafe); $sort/$orderby,
// $skip and $limit shape the find; $count runs MongoDB's count command
// with the same filter, skip and limit, and $distinct its distinct command,
// their result going to Extra. $batchSize, $comment, $hint, $maxTimeMS,
// $noCursorTimeout, $readConcern and $readPref are dropped.
//
// The query is first checked with package query's Parse, so the Mongo
// store accepts and refuses exactly what the other stores do (errors are
// *query.Error with sharedb-mongo's codes). Unlike sharedb-mongo, results
// are ordered by _id after the $sort keys (or entirely, without $sort), as
// the other stores order them, instead of in MongoDB's natural order.
func (s *Store) Query(ctx context.Context, collection string, q json.RawMessage) (storage.QueryResult, error) {
	if _, err := query.Parse(q); err != nil {
		return storage.QueryResult{}, err
	}
	if err := s.check(ctx, collection); err != nil {
		return storage.QueryResult{}, err
	}
	v, err := fromJSON(q)
	if err != nil {
		return storage.QueryResult{}, fmt.Errorf("mongo: query: %w", err)
	}
	top, _ := v.(bson.D)
	var (
		filter      = bson.D{}
		sortSpec    any
		skip, limit int64
		count       bool
		distinct    string
		hasType     bool
	)
	for _, e := range top {
		switch e.Key {
		case "$sort", "$orderby":
			sortSpec = e.Value
		case "$skip":
			skip, _ = bsonInt(e.Value)
		case "$limit":
			limit, _ = bsonInt(e.Value)
			limit = max(limit, -limit) // a negative limit: that many, in one batch
		case "$count":
			count = true
		case "$distinct":
			if d, ok := e.Value.(bson.D); ok {
				for _, f := range d {
					if f.Key == "field" {
						distinct, _ = f.Value.(string)
					}
				}
			}
		case "$batchSize", "$comment", "$hint", "$maxTimeMS", "$noCursorTimeout", "$readConcern", "$readPref":
		default:
			filter = append(filter, e)
			hasType = hasType || e.Key == fType
		}
	}
	if !hasType {
		filter = append(filter, bson.E{Key: fType, Value: bson.D{{Key: "$type", Value: int32(2)}}})
	}
	coll := s.db.Collection(collection)

	switch {
	case count:
		cmd := bson.D{{Key: "count", Value: collection}, {Key: "query", Value: filter}}
		if skip > 0 {
			cmd = append(cmd, bson.E{Key: "skip", Value: skip})
		}
		if limit > 0 {
			cmd = append(cmd, bson.E{Key: "limit", Value: limit})
		}
		raw, err := s.db.RunCommand(ctx, cmd).Raw()
		if err != nil {
			return storage.QueryResult{}, wrap(ctx, err, "query %q: count", collection)
		}
		n, ok := asInt64(raw.Lookup("n"))
		if !ok {
			return storage.QueryResult{}, fmt.Errorf("mongo: query %q: count replied %s", collection, raw)
		}
		return storage.QueryResult{Extra: json.RawMessage(strconv.FormatInt(n, 10))}, nil
	case distinct != "":
		res := coll.Distinct(ctx, distinct, filter)
		if err := res.Err(); err != nil {
			return storage.QueryResult{}, wrap(ctx, err, "query %q: distinct", collection)
		}
		raw, err := res.Raw()
		if err != nil {
			return storage.QueryResult{}, wrap(ctx, err, "query %q: distinct", collection)
		}
		extra, err := toJSON(bson.RawValue{Type: bson.TypeArray, Value: raw})
		if err != nil {
			return storage.QueryResult{}, fmt.Errorf("mongo: query %q: distinct: %w", collection, err)
		}
		return storage.QueryResult{Extra: extra}, nil
	}

	opts := options.Find().SetSort(mongoSort(sortSpec)).SetProjection(snapProjection)
	if skip > 0 {
		opts.SetSkip(skip)
	}
	if limit > 0 {
		opts.SetLimit(limit)
	}
	c, err := coll.Find(ctx, filter, opts)
	if err != nil {
		return storage.QueryResult{}, wrap(ctx, err, "query %q", collection)
	}
	defer c.Close(context.WithoutCancel(ctx))
	var res storage.QueryResult
	for c.Next(ctx) {
		id, ok := c.Current.Lookup(fID).StringValueOK()
		if !ok {
			continue // not a ShareDB document
		}
		snap, err := decodeSnapshot(c.Current)
		if err != nil {
			return storage.QueryResult{}, fmt.Errorf("mongo: query %q: %q: %w", collection, id, err)
		}
		res.Docs = append(res.Docs, storage.QueryDoc{ID: id, Snapshot: snap})
	}
	if err := c.Err(); err != nil {
		return storage.QueryResult{}, wrap(ctx, err, "query %q", collection)
	}
	return res, nil
}

// bsonInt reads an integer that fromJSON produced.
func bsonInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case float64:
		return floatInt(n)
	}
	return 0, false
}

// mongoSort turns a $sort value, in any form the Node driver's
// cursor.sort accepts (and query.Parse checked), into a sort document,
// with _id last as the tie-break.
func mongoSort(spec any) bson.D {
	var out bson.D
	add := func(field string, dir any) {
		out = append(out, bson.E{Key: field, Value: sortDir(dir)})
	}
	switch x := spec.(type) {
	case string:
		add(x, int32(1))
	case bson.D:
		for _, e := range x {
			add(e.Key, e.Value)
		}
	case bson.A:
		if len(x) == 2 {
			if f, ok := x[0].(string); ok && sortDir(x[1]) != 0 {
				add(f, x[1])
				break
			}
		}
		for _, e := range x {
			switch y := e.(type) {
			case string:
				add(y, int32(1))
			case bson.A:
				if len(y) == 2 {
					if f, ok := y[0].(string); ok {
						add(f, y[1])
					}
				}
			}
		}
	}
	for _, e := range out {
		if e.Key == fID {
			return out
		}
	}
	return append(out, bson.E{Key: fID, Value: int32(1)})
}

// sortDir is 1 or -1 for a sort direction (1, -1, "asc", "desc",
// "ascending", "descending", "1", "-1"), 0 for anything else.
func sortDir(v any) int32 {
	var s string
	switch d := v.(type) {
	case int32:
		s = strconv.Itoa(int(d))
	case float64:
		s = strconv.FormatFloat(d, 'f', -1, 64)
	case string:
		s = strings.ToLower(d)
	}
	switch s {
	case "1", "asc", "ascending":
		return 1
	case "-1", "desc", "descending":
		return -1
	}
	return 0
}

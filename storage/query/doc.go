// Package query evaluates sharedb-mongo queries in memory, for the stores
// that have no MongoDB behind them (storage.Memory and storage/bolt).
//
// A ShareDB client's query (connection.createFetchQuery / createSubscribeQuery)
// is a MongoDB filter in the dialect sharedb-mongo 6.0.0 accepts by
// default, with $-prefixed meta operators mixed in. Parse splits the two
// and compiles them; Run evaluates the query over a collection's documents;
// Matches re-checks one document (for live queries). The package is pure:
// standard library only, no I/O, no goroutines, and it does not import
// package storage (Doc carries a snapshot's fields).
//
// # Documents
//
// Each document is seen as sharedb-mongo stores it in MongoDB: when the
// snapshot data is a JSON object its fields are at the top level, otherwise
// the data is under _data; then _id (the doc id), _type (the type URI, null
// when deleted), _v (the version) and _m {ctime, mtime, _create {src, seq,
// v}} (null without metadata). So {_id: "x"}, {_type: ...}, {_v: {$gt: 3}}
// and {"_m.mtime": {$gte: t}} behave as on MongoDB. The op link _o is not
// represented. Numbers are IEEE doubles, as in JavaScript; for $type an
// integer in int32 range is an "int" and any other number a "double", as
// the Node.js driver stores them. Object keys are in JavaScript order
// (array-index keys first), which matters where MongoDB compares embedded
// documents field by field.
//
// Documents that were never created are never returned (MongoDB has no
// document for them). Deleted documents are returned only when the filter
// has a top-level _type key, mirroring sharedb-mongo's makeQuerySafe (which
// otherwise adds {_type: {$type: 2}}).
//
// # Filter operators
//
// Supported, with MongoDB's semantics (from MongoDB's matcher, the
// BSONElementIterator path walk and BSON comparison):
//
//	{field: value}     implicit equality, same as $eq
//	$eq $ne            equality; against an array it also matches an equal
//	                   element; null matches null and missing fields;
//	                   embedded documents must be equal field by field in order
//	$gt $gte $lt $lte  comparison within one type bracket only: numbers
//	                   with numbers, strings with strings (byte-wise, no
//	                   collation), objects with objects, arrays with
//	                   arrays, booleans with booleans; $gte/$lte null also
//	                   match missing fields
//	$in $nin           any / none of a list (null in the list matches missing)
//	$exists            true/false (BSON truthiness of the argument)
//	$type              a type name (double string object array binData
//	                   undefined objectId bool date null regex dbPointer
//	                   javascript symbol javascriptWithScope int timestamp
//	                   long decimal minKey maxKey number), a type number, or
//	                   an array of them; only double, int, string, object,
//	                   array, bool, null and number can match JSON data
//	$regex $options    PCRE syntax translated to Go's RE2 (see regex.go);
//	                   options i, m, s, x, u; anything RE2 cannot do
//	                   (backreferences, lookaround, ...) is an error
//	$size              array length
//	$all               all listed values (or all listed $elemMatch)
//	$elemMatch         an element matching a query document, or, with
//	                   operators only, an element satisfying all of them
//	$mod               [divisor, remainder]
//	$not               negation of an operator document
//	$and $or $nor      lists of filters
//	$comment           ignored
//	$id $ref $db       (top level) equality on those field names (DBRef)
//
// Field paths are dotted ("a.b.c") and resolve as MongoDB's do: arrays
// along the path are traversed (each object element searched for the rest
// of the path), a numeric part also indexes an array ("a.0.b"), an array
// at the end of the path is matched as a whole and element by element (not
// recursively), and a predicate matches if any resolved element satisfies
// it. $ne, $nin, $not and $exists:false negate the whole path match.
//
// # Meta operators
//
// The top-level keys sharedb-mongo treats as collection or cursor methods:
//
//	$sort, $orderby  {field: 1|-1, ...} (also "asc"/"desc", a field name,
//	                 or [field, dir] pairs, as the Node.js driver accepts);
//	                 MongoDB's cross-type order null < numbers < strings <
//	                 objects < arrays < booleans, a missing field as null,
//	                 an array by its smallest (ascending) or largest
//	                 (descending) element, an empty array below null;
//	                 ties, and all results without $sort, are ordered by id
//	$skip            a non-negative integer
//	$limit           an integer; 0 is no limit, a negative one counts as
//	                 its absolute value (MongoDB's single-batch limit)
//	$count           any value: Extra is the number of matches after $skip
//	                 and $limit; no documents are returned
//	$distinct        {field: "path"}: Extra is the sorted array of distinct
//	                 values (array elements counted singly); no documents
//	$batchSize $comment $hint $maxTimeMS $noCursorTimeout $readConcern
//	$readPref        accepted and ignored ($readPref must be an object)
//
// Refused, with sharedb-mongo's error codes where it has one: $query
// (4106), $where (4103), $mapReduce (4104), $aggregate (4105, it is opt-in
// in sharedb-mongo), two collection operations (4108), two cursor
// operations (4109), a cursor method with a collection operation (4110),
// malformed meta operator values (4107). Valid for sharedb-mongo but not
// evaluated here (CodeUnsupported, 4100): $explain, $map, $max, $min,
// $maxScan, $snapshot, $returnKey, $showDiskLoc, $showRecordId, $natural
// and $meta sorts, $expr, $text, $jsonSchema, $alwaysTrue, $alwaysFalse,
// $sampleRate, $bitsAllSet, $bitsAllClear, $bitsAnySet, $bitsAnyClear and
// the geo operators. Any other unknown $-operator is a BadValue (2) error
// naming it, as MongoDB reports it.
//
// # Known differences from sharedb-mongo on MongoDB
//
//   - Documents without $sort come back in id order (MongoDB: natural
//     order); $sort ties are broken by id.
//   - MongoDB 9.0 (SERVER-36681) made {"a.b": null} also match when a is an
//     array holding no objects ([], [1, 2]); this package keeps the
//     behaviour of MongoDB 4.x to 8.x, where it does not.
//   - Sort keys through arrays follow MongoDB's documented rules (smallest
//     or largest element, a numeric part positional, [] below null); index
//     key generation corner cases (ambiguous numeric fields, parallel
//     arrays) are not errors here.
//   - $regex runs on Go's RE2 after translation (see regex.go): PCRE-only
//     constructs are refused, an unknown option letter is an error (older
//     MongoDB ignored it), and m-mode ^ also matches after a final newline.
//   - $where anywhere is refused with 4103 (sharedb-mongo checks only the
//     top level and MongoDB would run a nested one).
//   - The op link _o is not in the document, so filters on it see nothing.
//
// The optional TestMingoOracle (QUERY_ORACLE=1, after npm install in
// testdata/oracle) compares Matches with mingo on random filters; the
// differences it tolerates are where mingo departs from MongoDB.
//
// # Live queries
//
// CanPollDoc and SkipPoll mirror sharedb-mongo's canPollDoc and skipPoll,
// which sharedb's QueryEmitter consults on every op: skip the poll, re-check
// the one document (Matches; a newly matching document is appended at the
// end of the results), or re-run the whole query (Run).
package query

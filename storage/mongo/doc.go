// Package mongo is the storage.Store on MongoDB, in exactly the schema and
// with exactly the commit rules of sharedb-mongo 6.0.0, so that a Node
// ShareDB server with sharedb-mongo on the same database reads Tandem's
// documents and history as its own, and Tandem reads theirs. It also
// implements storage.Lister and storage.Pinger.
//
// # Schema
//
// A collection C holds one snapshot document per ShareDB document:
//
//	{_id: "fido", <data fields>, _type: "http://sharejs.org/types/JSONv0", _v: 3,
//	 _m: {ctime: 1.7e12, mtime: 1.7e12, _create: {src, seq, v}}, _o: ObjectId(last op)}
//
// Data that is a JSON object is stored as top-level fields; any other
// value (a string, number, array or null) as _data; a deleted document has
// no data and _type null. Data with a top-level field named _id, _type,
// _v, _m, _o or _data, or starting with '$', cannot be stored (sharedb-mongo
// would silently corrupt it) and fails the Commit. _m.ctime and mtime are
// Unix milliseconds; _create identifies the create op so that a resubmitted
// create is recognised.
//
// The collection o_C holds one op document per committed op:
//
//	{_id: ObjectId, src, seq, v, op | create: {type, data?} | del: true,
//	 c: null, d: "fido", m: {ts, data?}, o: ObjectId(previous op) | null}
//
// m.data is the document's data before a del. Ops are linked backwards
// through o, and the snapshot's _o links to the last one. o_C has the
// indexes {d:1, v:1} and {src:1, seq:1, v:1}, created the first time a
// Store uses the collection. Collection names "system" and "o_..." are
// refused (ErrInvalidCollection), as sharedb-mongo refuses them, and so
// are names MongoDB refuses (empty, ".x", "system.x", '$', NUL).
//
// JSON is converted as Node does it (JSON.parse, then the Node driver):
// key order is kept, numbers are int32 when they are integers that fit and
// doubles otherwise (integer fields such as versions and timestamps too;
// beyond 2^53 they are int64, to stay exact). Reads accept any numeric BSON
// type and write numbers back as JavaScript spells them (6E+20 comes back
// as 600000000000000000000). A JSON number is a double, so integers beyond
// 2^53 lose precision exactly as they do in every JavaScript client.
//
// # Commit
//
// Commit reads the snapshot's _v and _o, then inserts the op documents
// (insertMany, chained, for a group commit of several ops) and then writes
// the snapshot conditionally: insertOne when the previous version is 0, else
// replaceOne({_id, _v: previous}). A duplicate _id or nothing replaced means
// another writer won: the op documents are deleted (best effort) and Commit
// returns storage.ErrVersionConflict. The conditional write on one document
// is the only synchronisation, so any number of Tandem and Node servers can
// share a database. All writes use the configured write concern (default
// "majority"), so a nil Commit is durable on a majority before it returns.
//
// Any other Commit error leaves the outcome unknown (the reply of the
// snapshot write may be lost after the write happened): the op documents
// are then kept, since deleting them could break the chain of a commit that
// did happen, and the caller must re-read the document. Server and network
// failures are returned wrapping storage.ErrUnavailable.
//
// # Reads
//
// Ops follows sharedb-mongo's strict linking: it reads the snapshot's _v
// and _o, fetches the document's ops from the requested version up, and
// walks back from _o along the o links. Op documents not on that chain,
// left by commits that lost or by a crash between a commit's two writes,
// are never returned; a chain that does not reach the requested range is
// storage.ErrMissingOps. Snapshot and Snapshots read _m too; List lists
// documents whose _type is a string, sorted by _id.
//
// # Caveats
//
// Nothing is ever compacted, as in sharedb-mongo. Reads use the default
// read concern ("local", like sharedb-mongo); with a majority write concern
// an acknowledged commit is never rolled back, but a read on a primary may
// see another server's commit that a failover later rolls back. Fields of
// _m other than ctime, mtime and _create (which sharedb middleware could
// add) and op metadata other than ts and data (m.fixup) are not kept: a
// commit writes the snapshot's _m from storage.SnapshotMeta.
package mongo

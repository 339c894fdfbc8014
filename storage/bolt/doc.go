// Package bolt is the embedded, persistent storage.Store: one bbolt file
// holding the current snapshot and the whole op log of every document. It
// is Tandem's default store when no MongoDB URL is configured.
//
// # Durability
//
// Commit is one bbolt read-write transaction, and bbolt fsyncs every
// transaction before it returns (NoSync stays false). So a Commit that
// returned nil survives a crash of the process or the machine, and a crash
// at any moment leaves either all of a Commit (its ops and its snapshot) or
// none of it: bbolt's copy-on-write pages and double meta page make a torn
// transaction invisible on the next Open. The cost is one fsync per
// Commit; see docs/bench/storage.md.
//
// The file is locked (flock) while open. A second Open of the same file,
// from another process or this one, waits Options.Timeout and then fails
// with ErrLocked; only one server process can use a file.
//
// # Layout
//
// Three top-level buckets:
//
//	meta       "format" -> "tandem-bolt-1" (Open refuses other files)
//	snapshots  uvarint(len(c)) c id                        -> snapshot value
//	ops        uvarint(len(c)) c uvarint(len(id)) id be64(v) -> op value
//
// c is the collection and id the document id, both as raw bytes, so any
// string works (dots, spaces, NUL, any Unicode, even ""); the length
// prefixes keep ("a", "b.c") apart from ("a.b", "c") and "x" from "x1".
// A snapshot key ends with the raw id, so a collection's snapshots sort by
// id (byte-wise, like Go's string comparison) and List is a cursor scan.
// An op key ends with the big-endian version, so a document's ops sort by
// version and Ops is a cursor range scan. bbolt limits keys to 32 KiB, so
// a collection and id that together exceed about 32 KiB are refused by
// Commit with an error (reads of such names find nothing).
//
// # Values
//
// Values are a compact binary encoding that keeps JSON byte for byte: a
// format byte (1), then fields as varints (signed, zigzag), strings as
// uvarint length + bytes, and optional JSON as uvarint 0 for nil or
// uvarint(len+1) + bytes, so nil and empty stay apart.
//
//	snapshot: 1 varint(V) str(Type) varint(CTime) varint(MTime)
//	          byte(has Create) [str(Src) varint(Seq) varint(V)] opt(Data)
//	op:       1 byte(flags: 1 create, 2 del) str(Src) varint(Seq)
//	          varint(TS) opt(Op) [str(Create.Type) opt(Create.Data)] opt(DelData)
//
// An op's version is the last 8 bytes of its key. A snapshot's head (up to
// MTime) comes first, so List reads it without decoding the data.
//
// # Caveats
//
// The op log is never compacted: the file grows with every op, which is
// what sharedb does too (stale clients need old ops to transform against).
// bbolt does not shrink a file after deletes. Writers are serialised, and
// each Commit pays an fsync; there is no group commit yet.
package bolt

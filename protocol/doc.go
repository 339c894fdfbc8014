// Package protocol decodes, validates and encodes the messages of the
// ShareDB wire protocol (sharedb@7.0.0): one JSON object per frame in each
// direction.
//
// Decoding is exact where the reference is strict: keys are case-sensitive
// and the last of duplicate keys wins, as with JSON.parse; names and
// versions are validated as sharedb 7.0's Agent._checkRequest does. Every
// error sent to a client echoes the whole request with an added
// error:{code, message}, so the client can route it.
//
// The package performs no I/O and is safe for concurrent use.
package protocol

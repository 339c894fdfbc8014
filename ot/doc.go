// Package ot defines operational-transformation types and a registry that
// finds them by name or URI.
//
// The types themselves live in subpackages (ot/textunicode, ot/json0,
// ot/richtext); ot/builtin wires them into a Registry. Every type is a port
// of the JavaScript reference that browsers run, and must give the same
// answer for every input: the conformance test in this folder checks that
// against vectors computed by the reference implementations.
//
// The package performs no I/O, starts no goroutines and reads no clock. All
// types are safe for concurrent use; an Apply, Transform or Compose never
// mutates its arguments.
//
// # Lone UTF-16 surrogates
//
// A JavaScript string may hold an unpaired UTF-16 surrogate, and
// JSON.stringify writes it as an escape such as "\ud800". Go strings hold
// UTF-8, and encoding/json silently turns such an escape into U+FFFD. If we
// accepted it, the browser that sent the op would hold one character and
// every other replica another, a silent divergence. So every decoder in this
// package tree rejects JSON that holds an unpaired surrogate escape
// (ErrLoneSurrogate), and the UTF-16 based types (json0, rich-text) reject an
// op whose offset would cut a surrogate pair in two, because applying it
// would create one. The client receives an error and rolls back, so its
// document never diverges from the server's.
package ot

package richtext

import "sync/atomic"

// chunkOps is the number of ops a Document chunk is cut to. A chunk holds
// at most 2*chunkOps ops.
const chunkOps = 256

// chunk is a run of a document's ops. It is immutable: its slice is never
// written and has no spare capacity (so an append copies).
type chunk struct {
	ops []op
	n   int // UTF-16 length
	// enc caches the chunk's JSON (its ops, comma-separated), made on
	// first use. Chunks an edit does not touch are shared between
	// versions of a document, so encoding a new version only encodes the
	// chunks the edit rebuilt: the server encodes the snapshot on every
	// commit.
	enc *chunkEnc
}

type chunkEnc struct{ b atomic.Pointer[[]byte] }

func makeChunk(ops []op) chunk {
	n := 0
	for i := range ops {
		n = addLen(n, ops[i].n)
	}
	return chunk{ops: ops[:len(ops):len(ops)], n: n, enc: &chunkEnc{}}
}

// encoded returns the chunk's ops as JSON array elements, without brackets.
func (c chunk) encoded() []byte {
	if c.enc == nil {
		return appendElems(nil, c.ops)
	}
	if b := c.enc.b.Load(); b != nil {
		return *b
	}
	b := appendElems(make([]byte, 0, encodedSize(c.ops)), c.ops)
	c.enc.b.Store(&b)
	return b
}

// Document is a decoded rich-text snapshot: a Delta holding only inserts.
// It is immutable. Its ops are kept in chunks, so that Apply shares the
// chunks an op does not reach with the document it came from and rebuilds
// only the chunks around the edit. The chunking is invisible: the ops are
// the concatenation of the chunks, exactly as the reference holds them.
type Document struct {
	chunks []chunk
}

// newDocument makes a document of ops (sharing the slice).
func newDocument(ops []op) Document {
	if len(ops) == 0 {
		return Document{}
	}
	chunks := make([]chunk, 0, (len(ops)+chunkOps-1)/chunkOps)
	chunks = appendChunks(chunks, ops)
	return Document{chunks: chunks}
}

// appendChunks cuts ops into chunks (sharing the slice) and appends them.
func appendChunks(dst []chunk, ops []op) []chunk {
	m := len(ops)
	if m == 0 {
		return dst
	}
	if m <= 2*chunkOps {
		return append(dst, makeChunk(ops))
	}
	pieces := (m + chunkOps - 1) / chunkOps
	for p := 0; p < pieces; p++ {
		i, j := p*m/pieces, (p+1)*m/pieces
		dst = append(dst, makeChunk(ops[i:j]))
	}
	return dst
}

// Len returns the number of components.
func (d Document) Len() int {
	n := 0
	for _, c := range d.chunks {
		n += len(c.ops)
	}
	return n
}

// Length returns the document length in UTF-16 code units.
func (d Document) Length() int {
	n := 0
	for _, c := range d.chunks {
		n = addLen(n, c.n)
	}
	return n
}

// flat returns the ops in one slice (shared when there is one chunk; never
// to be written).
func (d Document) flat() []op {
	switch len(d.chunks) {
	case 0:
		return nil
	case 1:
		return d.chunks[0].ops
	}
	out := make([]op, 0, d.Len())
	for _, c := range d.chunks {
		out = append(out, c.ops...)
	}
	return out
}

// applyDoc is Delta.compose(doc, b), step for step, on a chunked document:
// the chunks before the leading retain's end and after the point where the
// reference copies the rest verbatim are shared, the chunks between are
// rebuilt. It reports how many retain and delete ops the result holds.
func applyDoc(d Document, b []op) (Document, int, error) {
	chunks := d.chunks
	// The leading retain copies the inserts it covers. Whole chunks first.
	first := leadingRetain(b)
	firstLeft := first
	c := 0
	for c < len(chunks) && chunks[c].n <= firstLeft {
		firstLeft -= chunks[c].n
		c++
	}
	k := 0
	if c < len(chunks) {
		ops := chunks[c].ops
		for k < len(ops) && ops[k].isInsert() && ops[k].n <= firstLeft {
			firstLeft -= ops[k].n
			k++
		}
	}
	// The writer starts with the copied ops of the chunk where the retain
	// ends (or the chunk before, if it ends at a chunk start), so push can
	// merge into the last of them as the reference's does.
	prefixEnd := c
	var seed []op
	if k > 0 {
		seed = chunks[c].ops[:k]
	} else if c > 0 {
		prefixEnd = c - 1
		seed = chunks[c-1].ops
	}
	capacity := len(seed) + 2*len(b) + 4
	if c < len(chunks) {
		capacity += len(chunks[c].ops) - k // the usual tail
	}
	w := newWriter(capacity)
	w.ops = append(w.ops, seed...)
	thisIter := iter{}
	if c < len(chunks) {
		thisIter = iter{ops: chunks[c].ops, i: k, more: chunks[c+1:]}
	}
	otherIter := iter{ops: b}
	if first-firstLeft > 0 {
		otherIter.next(first - firstLeft)
	}
	shortcut, err := composeLoop(&w, &thisIter, &otherIter)
	if err != nil {
		return Document{}, 0, err
	}
	var head chunk // the shared tail of the rest's first chunk, if any
	var rest []chunk
	if shortcut {
		first, hasFirst, tail, more := thisIter.rest()
		if hasFirst {
			w.push(first)
		} else if len(tail) > 0 {
			w.push(tail[0])
			tail = tail[1:]
		}
		w.flush()
		rest = more
		// The rest of the document is copied verbatim: a short tail into
		// the rebuilt region, a long one shared as a chunk of its own.
		if len(tail) <= cap(w.ops)-len(w.ops) || len(tail) < chunkOps/4 {
			w.ops = append(w.ops, tail...)
		} else {
			head = makeChunk(tail)
		}
	}
	if len(head.ops) == 0 && len(rest) == 0 {
		w.chop()
	}
	region := w.finish()
	if len(region) < chunkOps/4 {
		// Keep chunks from getting small: take in the next one.
		if len(head.ops) > 0 {
			region = append(region, head.ops...)
			head = chunk{}
		} else if len(rest) > 0 {
			region = append(region, rest[0].ops...)
			rest = rest[1:]
		}
	}
	out := make([]chunk, 0, prefixEnd+len(region)/chunkOps+2+len(rest))
	out = append(out, chunks[:prefixEnd]...)
	out = appendChunks(out, region)
	if len(head.ops) > 0 {
		out = append(out, head)
	}
	out = append(out, rest...)
	return Document{chunks: out}, w.nonIns, nil
}

package richtext

import (
	"math/rand/v2"
)

// A random document and op generator for the fuzz targets and the
// reference check. It is driven either by a PRNG or by fuzzer bytes, so the
// fuzzer can steer it.

type source interface {
	intn(n int) int // in [0, n), n > 0
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }

// byteSource reads choices from bytes, then zeros.
type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	var v int
	for range 2 {
		v <<= 8
		if s.i < len(s.b) {
			v |= int(s.b[s.i])
			s.i++
		}
	}
	return v % n
}

type gen struct {
	src source
	// big makes longer documents.
	big bool
	// raw makes ops without the Delta builder's merging, in any order
	// (non-canonical but valid input).
	raw bool
}

var genPieces = []string{
	"a", "b", "c", "xy", " ", "\n", "é", "中", "😀", "👍🏽", "\x00", "\"", "\\",
	"e\u0301", "𝄞", "\u2028", "🇺🇸", "\t", "😁", "🎉", "ab", "abc",
}

var genEmbeds = []string{
	`{"image":"x"}`, `{"image":"y"}`, `{"formula":{"k":[1,2]}}`, `{}`,
}

var genKeys = []string{"bold", "color", "data", "header", "italic"} // sorted
var genValues = []string{"true", `"red"`, `"blue"`, "1", "2", `{"a":[1,2]}`, `{"a":[1,3]}`}

func (g *gen) chance(pct int) bool { return g.src.intn(100) < pct }

func (g *gen) text() string {
	n := 1 + g.src.intn(6)
	if g.big {
		n = 1 + g.src.intn(20)
	}
	s := ""
	for range n {
		s += genPieces[g.src.intn(len(genPieces))]
	}
	return s
}

// attrs returns nil or a set of up to 3 keys; nulls only if allowNull.
func (g *gen) attrs(pct int, allowNull bool) *attrSet {
	if !g.chance(pct) {
		return nil
	}
	if g.raw && g.chance(5) {
		return &attrSet{} // "attributes": {}
	}
	n := 1 + g.src.intn(3)
	m := map[string]string{}
	for range n {
		v := genValues[g.src.intn(len(genValues))]
		if allowNull && g.chance(30) {
			v = jsonNull
		}
		m[genKeys[g.src.intn(len(genKeys))]] = v
	}
	a := &attrSet{}
	for _, k := range genKeys {
		if v, ok := m[k]; ok {
			a.kv = append(a.kv, attr{k, v})
		}
	}
	return a
}

func (g *gen) insert(allowNullAttrs bool) op {
	if g.chance(15) {
		return op{kind: kEmbed, s: genEmbeds[g.src.intn(len(genEmbeds))], n: 1, attrs: g.attrs(40, allowNullAttrs)}
	}
	s := g.text()
	return op{kind: kText, s: s, n: utf16Len(s), attrs: g.attrs(40, allowNullAttrs)}
}

// doc returns a random document; canonical unless g.raw.
func (g *gen) doc() []op {
	n := g.src.intn(8)
	if g.big {
		n = g.src.intn(30)
	}
	w := newWriter(n)
	for range n {
		o := g.insert(false)
		if g.raw {
			w.ops = append(w.ops, o)
		} else {
			w.push(o)
		}
	}
	return w.finish()
}

// boundaries returns, for a document, which UTF-16 offsets are not inside
// a surrogate pair.
func boundaries(doc []op) []bool {
	u := docUnits(doc)
	ok := make([]bool, len(u)+1)
	for i := range ok {
		ok[i] = i == 0 || i == len(u) || !isHighSurrogate(u[i-1])
	}
	return ok
}

// step picks a length from pos that ends on a boundary, at most max.
func step(g *gen, ok []bool, pos, max int) int {
	if max <= 0 {
		return 0
	}
	k := 1 + g.src.intn(max)
	for pos+k < len(ok) && !ok[pos+k] {
		k++
	}
	return k
}

// op returns a random op on doc. pastEnd allows ops that reach past the
// end; split allows offsets inside surrogate pairs.
func (g *gen) op(doc []op, pastEnd, split bool) []op {
	ok := boundaries(doc)
	if split {
		for i := range ok {
			ok[i] = true
		}
	}
	length := len(ok) - 1
	pos := 0
	w := newWriter(8)
	var raw []op
	add := func(o op) {
		if g.raw {
			raw = append(raw, o)
		} else {
			w.push(o)
		}
	}
	for n := g.src.intn(6); n >= 0; n-- {
		rem := length - pos
		limit := rem
		if pastEnd && g.chance(10) {
			limit = rem + 3
		}
		switch c := g.src.intn(10); {
		case c < 3:
			add(g.insert(g.raw && g.chance(5)))
		case c < 7:
			k := step(g, ok, pos, min(limit, 8))
			if k == 0 {
				continue
			}
			add(op{kind: kRetain, n: k, attrs: g.attrs(35, true)})
			pos += k
		default:
			k := step(g, ok, pos, min(limit, 5))
			if k == 0 {
				continue
			}
			add(op{kind: kDelete, n: k})
			pos += k
		}
	}
	if g.raw {
		return raw
	}
	return w.finish()
}

// chunked returns doc cut into chunks of 1 to 3 ops (any cut is a valid
// Document), to exercise the chunk boundaries of Apply on small documents.
func (g *gen) chunked(doc []op) Document {
	var chunks []chunk
	for i := 0; i < len(doc); {
		j := min(len(doc), i+1+g.src.intn(3))
		chunks = append(chunks, makeChunk(doc[i:j]))
		i = j
	}
	return Document{chunks: chunks}
}

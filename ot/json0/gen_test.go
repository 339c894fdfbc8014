package json0

import (
	"encoding/json"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"unicode/utf8"
)

// This file holds a generator of valid json0 ops for the fuzz targets: the
// fuzz input drives every choice, so the fuzzer can steer it.

// rng takes its choices from the fuzz input; when that runs out it goes on
// with a splitmix64 stream seeded from the input.
type rng struct {
	data []byte
	x    uint64
}

func newRng(data []byte) *rng {
	h := fnv.New64a()
	h.Write(data)
	return &rng{data: data, x: h.Sum64()}
}

func (r *rng) next() uint64 {
	if len(r.data) > 0 {
		b := r.data[0]
		r.data = r.data[1:]
		return uint64(b)
	}
	r.x += 0x9E3779B97F4A7C15
	z := r.x
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int(r.next() % uint64(n))
}

var (
	genStrings = []string{"a", "b", "xy", "😀", "é", "a😀b", "𠮷", "e\u0301", "👍🏽", "", "hello", "\u2028", "\"\\", "\x00"}
	genKeys    = []string{"a", "b", "c", "0", "1", "k😀", "", "with space"}
)

func (r *rng) str() string {
	s := ""
	for n := r.intn(4); n > 0; n-- {
		s += genStrings[r.intn(len(genStrings))]
	}
	return s
}

func (r *rng) value(depth int) any {
	k := r.intn(8)
	if depth > 2 {
		k = r.intn(4)
	}
	switch k {
	case 0:
		return float64(r.intn(41) - 20)
	case 1, 2:
		return r.str()
	case 3:
		return []any{nil, true, false, 1.125}[r.intn(4)]
	case 4, 5:
		l := make([]any, r.intn(4))
		for i := range l {
			l[i] = r.value(depth + 1)
		}
		return l
	}
	m := map[string]any{}
	for n := r.intn(4); n > 0; n-- {
		m[genKeys[r.intn(len(genKeys))]] = r.value(depth + 1)
	}
	return m
}

type genPath struct {
	p []any // JSON path (string keys and float64 indices)
	v any
}

func allPaths(v any, p []any, out []genPath) []genPath {
	out = append(out, genPath{p: p, v: v})
	if len(out) > 400 {
		return out
	}
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			out = allPaths(e, append(slices.Clip(p), float64(i)), out)
		}
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			if protoNames[k] {
				continue
			}
			out = allPaths(x[k], append(slices.Clip(p), k), out)
		}
	}
	return out
}

// boundaries are the UTF-16 offsets of s that do not cut a surrogate pair,
// with their byte offsets.
func boundaries(s string) (units, bytes []int) {
	u := 0
	for i, r := range s {
		units, bytes = append(units, u), append(bytes, i)
		u++
		if r >= 0x10000 {
			u++
		}
	}
	return append(units, u), append(bytes, len(s))
}

func with(p []any, last any) []any { return append(slices.Clip(p), last) }

// component picks one valid component for doc (as JSON-ready map), or nil.
func (r *rng) component(doc any, textForm int) map[string]any {
	paths := allPaths(doc, []any{}, nil)
	for try := 0; try < 30; try++ {
		gp := paths[r.intn(len(paths))]
		p, v := gp.p, gp.v
		var parent any
		if len(p) > 0 {
			parent = getPath(doc, p[:len(p)-1])
		}
		k := r.intn(12)
		switch x := v.(type) {
		case string:
			if k >= 5 {
				break
			}
			us, bs := boundaries(x)
			form := textForm
			if form == 0 {
				form = 1 + r.intn(2)
			}
			if form == 1 { // si/sd
				i := r.intn(len(us))
				if k < 3 || i == len(us)-1 {
					return map[string]any{"p": with(p, float64(us[i])), "si": r.str() + "w"}
				}
				j := i + 1 + r.intn(len(us)-i-1)
				return map[string]any{"p": with(p, float64(us[i])), "sd": x[bs[i]:bs[j]]}
			}
			var o []any
			s := x
			for n := 1 + r.intn(2); n > 0; n-- {
				us, bs := boundaries(s)
				i := r.intn(len(us))
				if r.intn(2) == 0 || i == len(us)-1 {
					ins := r.str() + "v"
					o = append(o, map[string]any{"p": float64(us[i]), "i": ins})
					s = s[:bs[i]] + ins + s[bs[i]:]
				} else {
					j := i + 1 + r.intn(len(us)-i-1)
					o = append(o, map[string]any{"p": float64(us[i]), "d": s[bs[i]:bs[j]]})
					s = s[:bs[i]] + s[bs[j]:]
				}
			}
			return map[string]any{"p": p, "t": "text0", "o": o}
		case float64:
			if k < 6 && math.Abs(x) < 1e15 {
				return map[string]any{"p": p, "na": float64(r.intn(21) - 7)}
			}
		case []any:
			if k < 7 {
				return map[string]any{"p": with(p, float64(r.intn(len(x)+1))), "li": r.value(1)}
			}
		case map[string]any:
			if k < 7 && !hasConstructor(x) {
				key := genKeys[r.intn(len(genKeys))]
				if old, ok := x[key]; ok {
					return map[string]any{"p": with(p, key), "od": old, "oi": r.value(1)}
				}
				return map[string]any{"p": with(p, key), "oi": r.value(1)}
			}
		}
		switch pl := parent.(type) {
		case []any:
			switch {
			case k < 9:
				return map[string]any{"p": p, "ld": v}
			case k < 10:
				return map[string]any{"p": p, "ld": v, "li": r.value(1)}
			}
			return map[string]any{"p": p, "lm": float64(r.intn(len(pl)))}
		case map[string]any:
			if hasConstructor(pl) {
				continue
			}
			if k < 9 {
				return map[string]any{"p": p, "od": v}
			}
			return map[string]any{"p": p, "od": v, "oi": r.value(1)}
		}
		if len(p) == 0 && k == 11 {
			return map[string]any{"p": []any{}, "od": v, "oi": r.value(0)}
		}
	}
	return nil
}

func hasConstructor(m map[string]any) bool { _, ok := m["constructor"]; return ok }

func getPath(v any, p []any) any {
	for _, s := range p {
		switch x := v.(type) {
		case []any:
			v = x[int(s.(float64))]
		case map[string]any:
			v = x[s.(string)]
		}
	}
	return v
}

// genResult is a generated op with the identities of the strings it edits
// in each form (si/sd or t:text0).
type genResult struct {
	op        Op
	json      []byte
	strForm   map[int]bool
	textForm  map[int]bool
	finalDoc  any
	nComp     int
	decodeErr error
}

// shadow replaces every string leaf by an identity marker so the strings a
// generated op edits can be named across the op's own moves.
const sidKey = "\x00sid"

type shadower struct{ next int }

func (s *shadower) shadow(v any) any {
	switch x := v.(type) {
	case string:
		s.next++
		return map[string]any{sidKey: float64(s.next)}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.shadow(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = s.shadow(e)
		}
		return out
	}
	return v
}

func shadowID(shadow any, p []seg) int {
	v := shadow
	for _, s := range p {
		switch x := v.(type) {
		case []any:
			i, _ := segIndex(s)
			if i >= len(x) {
				return -1
			}
			v = x[i]
		case map[string]any:
			v = x[segKey(s)]
		default:
			return -1
		}
	}
	if m, ok := v.(map[string]any); ok {
		if id, ok := m[sidKey].(float64); ok {
			return int(id)
		}
	}
	return -1
}

// genOp builds a valid op of up to n components on doc. textForm 0 lets
// each string edit pick its form; 1 forces si/sd, 2 forces t:text0.
func genOp(t Type, doc any, r *rng, n, textForm int, sh *shadower, shadow any) (genResult, error) {
	res := genResult{strForm: map[int]bool{}, textForm: map[int]bool{}}
	var comps []any
	cur := doc
	for i := 0; i < n; i++ {
		cm := r.component(cur, textForm)
		if cm == nil {
			break
		}
		raw, err := json.Marshal([]any{cm})
		if err != nil {
			return res, err
		}
		one, err := t.DecodeOp(raw)
		if err != nil {
			return res, err
		}
		c := one.(Op)[0]
		next, err := applyOp(cur, Op{c})
		if err != nil {
			return res, err
		}
		switch {
		case c.isStr():
			res.strForm[shadowID(shadow, c.p[:len(c.p)-1])] = true
		case c.is(hT):
			res.textForm[shadowID(shadow, c.p)] = true
		default:
			sc := c
			if c.is(hLi | hOi) {
				sc.ins = sh.shadow(c.ins)
			}
			if shadow, err = applyOp(shadow, Op{sc}); err != nil {
				return res, err
			}
		}
		comps = append(comps, cm)
		res.op = append(res.op, c)
		cur = next
	}
	res.finalDoc = cur
	res.nComp = len(comps)
	if comps == nil {
		comps = []any{}
	}
	raw, err := json.Marshal(comps)
	res.json = raw
	return res, err
}

// mixedForms reports whether one op edits a string with si/sd that the
// other edits with t:text0: the one pattern the reference does not
// transform (see the vectors README).
func mixedForms(a, b genResult) bool {
	for id := range a.strForm {
		if id >= 0 && b.textForm[id] {
			return true
		}
	}
	for id := range a.textForm {
		if id >= 0 && b.strForm[id] {
			return true
		}
	}
	return false
}

// validUTF8Doc reports whether every string in v is valid UTF-8 (fuzzed docs
// come through the decoder, so this always holds; kept as a guard).
func validUTF8Doc(v any) bool {
	switch x := v.(type) {
	case string:
		return utf8.ValidString(x)
	case []any:
		for _, e := range x {
			if !validUTF8Doc(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) || !validUTF8Doc(e) {
				return false
			}
		}
	}
	return true
}

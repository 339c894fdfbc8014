package json0

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// segKind tells what JavaScript value a path segment holds.
type segKind uint8

const (
	// segUndef is JavaScript's undefined: what the reference reads from
	// c.p[i] when i is outside the path. It is the zero value.
	segUndef segKind = iota
	segNum
	segStr
)

// seg is one path segment, modelled as the JavaScript value the reference
// works with: a number (list index, or object key written as a number), a
// string (object key), or undefined. The transform code compares and
// increments segments with JavaScript's rules, so even odd inputs come out
// as the reference computes them.
type seg struct {
	k segKind
	n float64
	s string
}

func numSeg(n float64) seg { return seg{k: segNum, n: n} }
func intSeg(n int) seg     { return seg{k: segNum, n: float64(n)} }
func strSeg(s string) seg  { return seg{k: segStr, s: s} }

// segAt is JavaScript's p[i]: undefined outside the array.
func segAt(p []seg, i int) seg {
	if i < 0 || i >= len(p) {
		return seg{}
	}
	return p[i]
}

// strictEq is JavaScript's ===.
func strictEq(a, b seg) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case segNum:
		return a.n == b.n
	case segStr:
		return a.s == b.s
	}
	return true
}

// looseEq is JavaScript's == on the values a segment can hold.
func looseEq(a, b seg) bool {
	if a.k == b.k {
		return strictEq(a, b)
	}
	if a.k == segUndef || b.k == segUndef {
		return false
	}
	return toNumber(a) == toNumber(b)
}

// less is JavaScript's a < b.
func less(a, b seg) bool {
	if a.k == segStr && b.k == segStr {
		return compareUTF16(a.s, b.s) < 0
	}
	x, y := toNumber(a), toNumber(b)
	return x < y // false when either is NaN
}

// lessEq is JavaScript's a <= b.
func lessEq(a, b seg) bool {
	if a.k == segStr && b.k == segStr {
		return compareUTF16(a.s, b.s) <= 0
	}
	x, y := toNumber(a), toNumber(b)
	return x <= y
}

func greater(a, b seg) bool { return less(b, a) }

// inc and dec are JavaScript's ++ and -- (the result is always a number).
func inc(a seg) seg { return numSeg(toNumber(a) + 1) }
func dec(a seg) seg { return numSeg(toNumber(a) - 1) }

// toNumber is JavaScript's ToNumber on a segment value.
func toNumber(a seg) float64 {
	switch a.k {
	case segNum:
		return a.n
	case segStr:
		return stringToNumber(a.s)
	}
	return math.NaN()
}

// stringToNumber is JavaScript's StringToNumber. Only odd inputs (an object
// key compared with a list index) ever reach it.
func stringToNumber(s string) float64 {
	s = strings.TrimFunc(s, isJSSpace)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			var z big.Int
			if _, ok := z.SetString(s[2:], base); !ok || strings.ContainsAny(s[2:], "_+-") {
				return math.NaN()
			}
			f, _ := new(big.Float).SetInt(&z).Float64()
			return f
		}
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if body == "Infinity" {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !isDecimalLiteral(body) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Only range errors are possible here; ParseFloat then returns
		// ±Inf or ±0 as JavaScript does.
		return f
	}
	return f
}

// isDecimalLiteral matches StrUnsignedDecimalLiteral without Infinity:
// digits [. digits] [e[+-]digits], or . digits [exponent].
func isDecimalLiteral(s string) bool {
	i, n := 0, len(s)
	digits := func() int {
		st := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - st
	}
	d1 := digits()
	d2 := 0
	if i < n && s[i] == '.' {
		i++
		d2 = digits()
	}
	if d1 == 0 && d2 == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A || unicode.Is(unicode.Zs, r)
}

// compareUTF16 orders strings by UTF-16 code units, as JavaScript's < does.
// UTF-8 byte order equals code point order, which differs from code unit
// order only between astral characters and U+E000..U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ka, kb := utf16Key(ra), utf16Key(rb)
			if ka < kb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// utf16Key maps a rune to a key that orders like its first UTF-16 code unit
// (ties between astral runes broken by the rune itself).
func utf16Key(r rune) int64 {
	if r >= 0x10000 {
		hi := 0xD800 + (r-0x10000)>>10
		return int64(hi)<<21 | int64(r)
	}
	return int64(r) << 21
}

// segKey is the property name JavaScript uses for a segment on an object.
func segKey(s seg) string {
	switch s.k {
	case segStr:
		return s.s
	case segNum:
		return jsNumberString(s.n)
	}
	return "undefined"
}

// segIndex returns the list index a segment denotes, if it is a
// non-negative integer number.
func segIndex(s seg) (int, bool) {
	if s.k != segNum || s.n < 0 || s.n != math.Trunc(s.n) || s.n > maxSafe {
		return 0, false
	}
	return int(s.n), true
}

const maxSafe = 1<<53 - 1

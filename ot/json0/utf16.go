package json0

import (
	"fmt"
	"math/bits"

	"github.com/tandemhq/tandem/ot"
)

// Strings are held as UTF-8; every offset and length in a json0 op counts
// UTF-16 code units. A code point of 1 to 3 UTF-8 bytes is one unit, a 4-byte
// one (astral plane) is two.

const asciiMask = 0x8080808080808080

// utf16Len returns the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n, i := 0, 0
	for ; i+8 <= len(s); i += 8 {
		n += wordUnits(load64(s, i))
	}
	for ; i < len(s); i++ {
		n += unitsOfByte(s[i])
	}
	return n
}

// wordUnits counts the UTF-16 units of 8 bytes of UTF-8, each byte counted
// as unitsOfByte does: continuation bytes (10xxxxxx) count 0, leading bytes
// of 4-byte sequences (11110xxx) count 2, every other byte 1.
func wordUnits(w uint64) int {
	hi := w & asciiMask
	if hi == 0 {
		return 8
	}
	b6 := (w << 1) & asciiMask // bit 6 of each byte, moved to bit 7
	cont := hi &^ b6
	lead4 := hi & b6 & (w << 2) & (w << 3)
	return 8 - bits.OnesCount64(cont) + bits.OnesCount64(lead4&asciiMask)
}

// unitsOfByte counts a byte's share of UTF-16 units: a leading byte counts
// one, plus one more for a 4-byte sequence; continuation bytes count zero.
func unitsOfByte(c byte) int {
	switch {
	case c < 0x80:
		return 1
	case c < 0xC0:
		return 0
	case c < 0xF0:
		return 1
	}
	return 2
}

var errSplit = fmt.Errorf("%w: offset falls inside a surrogate pair", ot.ErrLoneSurrogate)

// byteOffset converts a UTF-16 offset into a byte offset in s. An offset
// past the end is clamped to len(s) (as String.prototype.slice does) and
// reported with past=true. An offset that cuts a surrogate pair in two is an
// error wrapping ot.ErrLoneSurrogate.
func byteOffset(s string, units int) (b int, past bool, err error) {
	if units <= 0 {
		return 0, false, nil
	}
	i, k := 0, 0
	for k < units && i < len(s) {
		// Eight bytes at a time while they end on a character boundary
		// before the offset.
		if i+8 <= len(s) {
			if u := wordUnits(load64(s, i)); k+u <= units && (i+8 == len(s) || s[i+8]&0xC0 != 0x80) {
				i += 8
				k += u
				continue
			}
		}
		c := s[i]
		switch {
		case c < 0x80:
			i++
			k++
		case c < 0xE0:
			i += 2
			k++
		case c < 0xF0:
			i += 3
			k++
		default:
			if k+1 == units {
				return 0, false, errSplit
			}
			i += 4
			k += 2
		}
	}
	if k < units {
		return len(s), true, nil
	}
	return i, false, nil
}

// slice16 is JavaScript's s.slice(from, to) for from, to >= 0 (to < 0 means
// to the end), measured in UTF-16 code units.
func slice16(s string, from, to int) (string, error) {
	if to >= 0 && to <= from {
		return "", nil
	}
	bf, past, err := byteOffset(s, from)
	if err != nil {
		return "", err
	}
	if past {
		return "", nil
	}
	if to < 0 {
		return s[bf:], nil
	}
	bt, _, err := byteOffset(s[bf:], to-from)
	if err != nil {
		return "", err
	}
	return s[bf : bf+bt], nil
}

// load64 reads 8 bytes of s at i as one little-endian word (the compiler
// merges the byte loads into a single load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

package textunicode

import "math/bits"

// Strings are held as UTF-8 (Go strings) while every length and offset of
// the type counts Unicode code points. A code point starts at every byte
// that is not a UTF-8 continuation byte (10xxxxxx), so counting code points
// is counting such bytes. Every string these helpers see is valid UTF-8:
// the decoders only produce such strings.

const (
	highBits = 0x8080808080808080 // bit 7 of every byte
)

// load64 reads eight bytes of s from i (the compiler merges the loads).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// contBytes returns how many of the eight bytes packed in w are UTF-8
// continuation bytes (bit 7 set, bit 6 clear).
func contBytes(w uint64) int {
	if w&highBits == 0 {
		return 0 // all ASCII
	}
	return bits.OnesCount64(w &^ (w << 1) & highBits)
}

// contLanes returns, in each byte of the result, 1 if the matching byte of
// w is a UTF-8 continuation byte, else 0.
func contLanes(w uint64) uint64 {
	return (w &^ (w << 1) & highBits) >> 7
}

// blockCont returns the number of continuation bytes in the block of
// blockSize bytes of s at i. The per-byte counters cannot overflow: each
// gets at most blockSize/8 = 16, and their sum at most 128.
func blockCont(s string, i int) int {
	s = s[i : i+blockSize]
	var acc0, acc1 uint64
	for j := 0; j < blockSize; j += 16 {
		acc0 += contLanes(load64(s, j))
		acc1 += contLanes(load64(s, j+8))
	}
	return int(((acc0 + acc1) * 0x0101010101010101) >> 56)
}

const blockSize = 128

// cpCount returns the number of code points in s.
func cpCount(s string) int {
	n := len(s)
	i := 0
	for ; i+blockSize <= len(s); i += blockSize {
		n -= blockCont(s, i)
	}
	for ; i+8 <= len(s); i += 8 {
		n -= contBytes(load64(s, i))
	}
	for ; i < len(s); i++ {
		if s[i]&0xC0 == 0x80 {
			n--
		}
	}
	return n
}

// advance moves n code points forward from byte offset i of s, which must
// be at the start of a code point (or inside one already counted). It
// returns the byte offset reached, always the start of a code point or
// len(s), and how many of the n code points were missing because s ended.
func advance(s string, i, n int) (int, int) {
	// A block of blockSize bytes holds at most blockSize code points, so
	// while n >= blockSize a whole block can be consumed without
	// overshooting.
	for n >= blockSize && i+blockSize <= len(s) {
		n -= blockSize - blockCont(s, i)
		i += blockSize
	}
	for n >= 8 && i+8 <= len(s) {
		n -= 8 - contBytes(load64(s, i))
		i += 8
	}
	for ; i < len(s); i++ {
		if s[i]&0xC0 != 0x80 {
			if n == 0 {
				return i, 0
			}
			n--
		}
	}
	return i, n
}

package richtext

import "unicode/utf8"

// Strings are held as UTF-8 (Go strings) while every length and offset of
// the type counts UTF-16 code units, as JavaScript does. These helpers map
// between the two. Every string they see is valid UTF-8: the decoder only
// produces such strings.

const asciiMask = 0x8080808080808080

// utf16Len returns the number of UTF-16 code units of s: one per code point,
// two for code points beyond U+FFFF (four-byte UTF-8 sequences).
func utf16Len(s string) int {
	n := 0
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if w&asciiMask == 0 {
			n += 8
			continue
		}
		for j := i; j < i+8; j++ {
			n += unitsOfByte(s[j])
		}
	}
	for ; i < len(s); i++ {
		n += unitsOfByte(s[i])
	}
	return n
}

// load64 reads eight bytes of s from i (the compiler merges the loads).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// unitsOfByte is how many UTF-16 units the byte c starts: continuation
// bytes start none, the lead byte of a four-byte sequence starts two.
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

// advance returns the byte offset reached by walking units UTF-16 code units
// forward from byte offset b of s. ok is false when the walk would end in
// the middle of a surrogate pair (a four-byte sequence); the offset returned
// then stops before that code point. The walk never passes the end of s.
func advance(s string, b, units int) (end int, ok bool) {
	for units > 0 && b < len(s) {
		// ASCII fast path, eight bytes at a time.
		for units >= 8 && b+8 <= len(s) {
			w := load64(s, b)
			if w&asciiMask != 0 {
				break
			}
			b += 8
			units -= 8
		}
		if units == 0 || b >= len(s) {
			break
		}
		c := s[b]
		switch {
		case c < 0x80:
			b++
			units--
		case c < 0xE0:
			b += 2
			units--
		case c < 0xF0:
			b += 3
			units--
		default:
			if units == 1 {
				return b, false
			}
			b += 4
			units -= 2
		}
	}
	if b > len(s) {
		b = len(s)
	}
	return b, true
}

// appendUTF16 appends the UTF-16 code units of s to dst.
func appendUTF16(dst []uint16, s string) []uint16 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			dst = append(dst, uint16(c))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			dst = append(dst, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
		} else {
			dst = append(dst, uint16(r))
		}
	}
	return dst
}

func isHighSurrogate(u uint16) bool { return u >= 0xD800 && u <= 0xDBFF }
func isLowSurrogate(u uint16) bool  { return u >= 0xDC00 && u <= 0xDFFF }

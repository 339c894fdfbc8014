package ot

import (
	"fmt"
	"unicode/utf8"
)

// CheckSurrogates reports ErrLoneSurrogate if raw JSON holds a \uXXXX escape
// of a UTF-16 surrogate that is not part of a high+low pair. encoding/json
// would turn such an escape into U+FFFD, silently diverging from the browser
// that sent it. It also rejects bytes that are not valid UTF-8, which
// encoding/json would likewise replace.
func CheckSurrogates(raw []byte) error {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c >= 0x80 {
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n <= 1 {
				return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrLoneSurrogate, i)
			}
			i += n - 1
			continue
		}
		if c != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // skip the escaped character (it may be a backslash)
			continue
		}
		u, ok := hex4(raw, i+2)
		if !ok {
			i++
			continue
		}
		switch {
		case u >= 0xD800 && u < 0xDC00:
			if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if l, ok := hex4(raw, i+8); ok && l >= 0xDC00 && l < 0xE000 {
					i += 11
					continue
				}
			}
			return fmt.Errorf("%w: unpaired high surrogate \\u%04x at byte %d", ErrLoneSurrogate, u, i)
		case u >= 0xDC00 && u < 0xE000:
			return fmt.Errorf("%w: unpaired low surrogate \\u%04x at byte %d", ErrLoneSurrogate, u, i)
		}
		i += 5
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

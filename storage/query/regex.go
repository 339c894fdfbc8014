package query

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MongoDB matches $regex with PCRE (UTF mode, no UCP); Go has RE2. The
// translation below keeps PCRE's meaning where the two differ in syntax
// RE2 accepts, and refuses what RE2 cannot do:
//
//   - `$` (without m) and `\Z` match at the end or before a final "\n" in
//     PCRE but only at the very end in RE2: they become `(?:\n?\z)`.
//   - `\s` includes \v (VT) in PCRE, not in RE2: it is spelled out.
//   - PCRE's `\h \H \v \V \R \N \e \a \cX \o{..} \0oo \xh \G` and `(?#...)`
//     comments are rewritten; `\b` inside a class is a backspace.
//   - The x flag (extended) is applied here: unescaped white space and
//     #-comments outside classes are dropped.
//   - Backreferences, lookaround, atomic groups, possessive quantifiers,
//     recursion, conditionals, \K \X \C, inline (?x) and other PCRE-only
//     syntax are errors (RE2 rejects them, or the translation does).
//
// Known remaining differences: in m mode PCRE's `^` does not match after a
// newline that ends the subject and RE2's does; a `$` followed by a pattern
// that consumes the final newline (`a$\n`) does not match in RE2; RE2
// limits counted repetition to 1000.

// Regex errors carry MongoDB's codes: 51091 invalid regex, 51108 bad flag.
const (
	codeInvalidRegex = 51091
	codeRegexFlag    = 51108
)

// compileRegex compiles a $regex pattern with its $options.
func compileRegex(pattern, options string) (*regexp.Regexp, error) {
	if strings.IndexByte(pattern, 0) >= 0 {
		return nil, &Error{Code: CodeBadValue, Message: "Regular expression cannot contain an embedded null byte"}
	}
	var flags string
	extended, multiline := false, false
	for _, c := range options {
		switch c {
		case 'i':
			flags += "i"
		case 'm':
			flags += "m"
			multiline = true
		case 's':
			flags += "s"
		case 'x':
			extended = true
		case 'u':
			// PCRE's UTF mode is always on.
		default:
			return nil, &Error{Code: codeRegexFlag, Message: fmt.Sprintf("invalid flag in regex options: %c", c)}
		}
	}
	body, err := translateRegex(pattern, extended, multiline)
	if err != nil {
		return nil, &Error{Code: codeInvalidRegex, Message: fmt.Sprintf("Regular expression is invalid: %v (pattern %q)", err, pattern)}
	}
	if flags != "" {
		body = "(?" + flags + ")" + body
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, &Error{Code: codeInvalidRegex, Message: fmt.Sprintf("Regular expression %q is not supported (Go RE2 syntax, no backreferences or lookaround): %v", pattern, err)}
	}
	return re, nil
}

// inlineM finds an inline flag group that turns on m, e.g. "(?m)" or
// "(?im:"; then `$` keeps RE2's multiline meaning, which is PCRE's.
var inlineM = regexp.MustCompile(`\(\?[a-zA-Z]*m[a-zA-Z]*(-[a-zA-Z]*)?[:)]`)

const (
	// endAnchor is PCRE's `$` (non-multiline) and `\Z`.
	endAnchor = `(?:\n?\z)`
	// PCRE's \s: HT LF VT FF CR and space.
	spaceSet = `\t\n\v\f\r `
	// Everything but spaceSet.
	nonSpaceSet = `\x00-\x08\x0E-\x1F\x21-\x{10FFFF}`
	// PCRE's \h (horizontal white space) and its complement.
	hSpaceSet    = `\t \x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}`
	nonHSpaceSet = `\x00-\x08\x0A-\x1F\x21-\x{9F}\x{A1}-\x{167F}\x{1681}-\x{180D}\x{180F}-\x{1FFF}\x{200B}-\x{202E}\x{2030}-\x{205E}\x{2060}-\x{2FFF}\x{3001}-\x{10FFFF}`
	// PCRE's \v (vertical white space) and its complement.
	vSpaceSet    = `\n\x0B\f\r\x{85}\x{2028}\x{2029}`
	nonVSpaceSet = `\x00-\x09\x0E-\x{84}\x{86}-\x{2027}\x{202A}-\x{10FFFF}`
)

// translateRegex rewrites a PCRE pattern into RE2 syntax with the same
// meaning, or fails.
func translateRegex(p string, extended, multiline bool) (string, error) {
	dollarIsEnd := !multiline && !inlineM.MatchString(p)
	var b strings.Builder
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\\':
			n, s, err := translateEscape(p, i, false)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			i += n
		case c == '[':
			n, s, err := translateClass(p, i)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			i += n
		case c == '$' && dollarIsEnd:
			b.WriteString(endAnchor)
			i++
		case c == '(' && strings.HasPrefix(p[i:], "(?#"):
			j := strings.IndexByte(p[i:], ')')
			if j < 0 {
				return "", fmt.Errorf("missing ) after (?# comment")
			}
			i += j + 1
		case c == '(' && strings.HasPrefix(p[i:], "(*"):
			return "", fmt.Errorf("PCRE verbs like (*...) are not supported")
		case extended && c == '#':
			j := strings.IndexByte(p[i:], '\n')
			if j < 0 {
				i = len(p)
			} else {
				i += j + 1
			}
		default:
			r, size := utf8.DecodeRuneInString(p[i:])
			if extended && isPatternSpace(r) {
				i += size
				continue
			}
			b.WriteString(p[i : i+size])
			i += size
		}
	}
	return b.String(), nil
}

// isPatternSpace is the white space PCRE's extended mode ignores.
func isPatternSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x85, 0x200E, 0x200F, 0x2028, 0x2029:
		return true
	}
	return false
}

// hexRune spells a code point for RE2.
func hexRune(r rune) string { return fmt.Sprintf(`\x{%X}`, r) }

// translateEscape translates the escape at p[i] ('\\'), outside a class
// or inside one (inClass). It returns the bytes consumed and the RE2 text.
func translateEscape(p string, i int, inClass bool) (int, string, error) {
	if i+1 >= len(p) {
		return 0, "", fmt.Errorf(`\ at end of pattern`)
	}
	d := p[i+1]
	switch d {
	case 'Q':
		end := strings.Index(p[i+2:], `\E`)
		lit := p[i+2:]
		n := len(p) - i
		if end >= 0 {
			lit = p[i+2 : i+2+end]
			n = 2 + end + 2
		}
		if inClass {
			return n, quoteClass(lit), nil
		}
		return n, regexp.QuoteMeta(lit), nil
	case 'E':
		return 2, "", nil
	case 'd', 'D', 'w', 'W', 'n', 'r', 't', 'f':
		return 2, p[i : i+2], nil
	case 'p', 'P':
		if i+2 < len(p) && p[i+2] == '{' {
			end := strings.IndexByte(p[i+2:], '}')
			if end < 0 {
				return 0, "", fmt.Errorf(`malformed \%c{...}`, d)
			}
			return 2 + end + 1, p[i : i+2+end+1], nil
		}
		if i+2 >= len(p) {
			return 0, "", fmt.Errorf(`malformed \%c`, d)
		}
		_, size := utf8.DecodeRuneInString(p[i+2:])
		return 2 + size, p[i : i+2+size], nil
	case 's':
		if inClass {
			return 2, spaceSet, nil
		}
		return 2, "[" + spaceSet + "]", nil
	case 'S':
		if inClass {
			return 2, nonSpaceSet, nil
		}
		return 2, "[" + nonSpaceSet + "]", nil
	case 'h':
		if inClass {
			return 2, hSpaceSet, nil
		}
		return 2, "[" + hSpaceSet + "]", nil
	case 'H':
		if inClass {
			return 2, nonHSpaceSet, nil
		}
		return 2, "[" + nonHSpaceSet + "]", nil
	case 'v':
		if inClass {
			return 2, vSpaceSet, nil
		}
		return 2, "[" + vSpaceSet + "]", nil
	case 'V':
		if inClass {
			return 2, nonVSpaceSet, nil
		}
		return 2, "[" + nonVSpaceSet + "]", nil
	case 'e':
		return 2, `\x1B`, nil
	case 'a':
		return 2, `\x07`, nil
	case 'x':
		j := i + 2
		if j < len(p) && p[j] == '{' {
			end := strings.IndexByte(p[j:], '}')
			if end < 0 {
				return 0, "", fmt.Errorf(`malformed \x{...}`)
			}
			v, err := strconv.ParseUint(p[j+1:j+end], 16, 32)
			if err != nil || v > utf8.MaxRune {
				return 0, "", fmt.Errorf(`bad \x{...} escape`)
			}
			return j + end + 1 - i, hexRune(rune(v)), nil
		}
		var v rune
		for k := 0; k < 2 && j < len(p) && isHex(p[j]); k++ {
			v = v*16 + rune(hexVal(p[j]))
			j++
		}
		return j - i, hexRune(v), nil
	case 'o':
		j := i + 2
		if j >= len(p) || p[j] != '{' {
			return 0, "", fmt.Errorf(`malformed \o{...}`)
		}
		end := strings.IndexByte(p[j:], '}')
		if end < 0 {
			return 0, "", fmt.Errorf(`malformed \o{...}`)
		}
		v, err := strconv.ParseUint(p[j+1:j+end], 8, 32)
		if err != nil || v > utf8.MaxRune {
			return 0, "", fmt.Errorf(`bad \o{...} escape`)
		}
		return j + end + 1 - i, hexRune(rune(v)), nil
	case 'c':
		if i+2 >= len(p) || p[i+2] < 0x20 || p[i+2] > 0x7E {
			return 0, "", fmt.Errorf(`\c must be followed by a printable ASCII character`)
		}
		ch := p[i+2]
		if ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		return 3, hexRune(rune(ch ^ 0x40)), nil
	case '0':
		j := i + 2
		var v rune
		for k := 0; k < 2 && j < len(p) && p[j] >= '0' && p[j] <= '7'; k++ {
			v = v*8 + rune(p[j]-'0')
			j++
		}
		return j - i, hexRune(v), nil
	}
	if inClass {
		switch d {
		case 'b':
			return 2, `\x08`, nil
		case '1', '2', '3', '4', '5', '6', '7':
			j := i + 1
			var v rune
			for k := 0; k < 3 && j < len(p) && p[j] >= '0' && p[j] <= '7'; k++ {
				v = v*8 + rune(p[j]-'0')
				j++
			}
			return j - i, hexRune(v), nil
		}
	} else {
		switch d {
		case 'A', 'z', 'b', 'B':
			return 2, p[i : i+2], nil
		case 'Z':
			return 2, endAnchor, nil
		case 'G':
			// \G is the start offset of the match call, which is 0.
			return 2, `\A`, nil
		case 'N':
			return 2, `[^\n]`, nil
		case 'R':
			return 2, `(?:\r\n|[` + vSpaceSet + `])`, nil
		case '1', '2', '3', '4', '5', '6', '7', '8', '9', 'g', 'k':
			return 0, "", fmt.Errorf(`backreferences (\%c) are not supported`, d)
		}
	}
	switch {
	case d < utf8.RuneSelf && (d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9'):
		where := ""
		if inClass {
			where = " in a character class"
		}
		return 0, "", fmt.Errorf(`escape \%c is not supported%s`, d, where)
	case d < utf8.RuneSelf:
		return 2, p[i : i+2], nil // escaped ASCII punctuation or space
	}
	r, size := utf8.DecodeRuneInString(p[i+1:])
	if inClass {
		return 1 + size, quoteClass(string(r)), nil
	}
	return 1 + size, regexp.QuoteMeta(string(r)), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// quoteClass escapes text for use inside an RE2 character class.
func quoteClass(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', ']', '[', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// posixClasses are the [:name:] classes PCRE and RE2 both have (ASCII).
var posixClasses = map[string]bool{
	"alnum": true, "alpha": true, "ascii": true, "blank": true, "cntrl": true, "digit": true,
	"graph": true, "lower": true, "print": true, "punct": true, "space": true, "upper": true,
	"word": true, "xdigit": true,
}

// translateClass translates the character class starting at p[i] ('[').
func translateClass(p string, i int) (int, string, error) {
	var b strings.Builder
	b.WriteByte('[')
	j := i + 1
	if j < len(p) && p[j] == '^' {
		b.WriteByte('^')
		j++
	}
	first := true
	for {
		if j >= len(p) {
			return 0, "", fmt.Errorf("missing terminating ] for character class")
		}
		c := p[j]
		switch {
		case c == ']' && !first:
			b.WriteByte(']')
			return j + 1 - i, b.String(), nil
		case c == ']':
			b.WriteString(`\]`)
			j++
		case c == '[':
			if strings.HasPrefix(p[j:], "[:") {
				end := strings.Index(p[j+2:], ":]")
				if end >= 0 {
					name := p[j+2 : j+2+end]
					if !posixClasses[strings.TrimPrefix(name, "^")] {
						return 0, "", fmt.Errorf("unknown POSIX class name [:%s:]", name)
					}
					b.WriteString(p[j : j+2+end+2])
					j += 2 + end + 2
					break
				}
			}
			if strings.HasPrefix(p[j:], "[=") || strings.HasPrefix(p[j:], "[.") {
				return 0, "", fmt.Errorf("POSIX collating elements are not supported")
			}
			b.WriteString(`\[`)
			j++
		case c == '\\':
			n, s, err := translateEscape(p, j, true)
			if err != nil {
				return 0, "", err
			}
			b.WriteString(s)
			j += n
			// After a class escape like \d or \s, PCRE takes "-" literally
			// ([\d-z] is digits, "-" and "z"); RE2 would reject the range.
			if isSetEscape(p[j-n+1]) && j+1 < len(p) && p[j] == '-' && p[j+1] != ']' {
				b.WriteString(`\-`)
				j++
			}
		case c == '^':
			b.WriteString(`\^`)
			j++
		default:
			_, size := utf8.DecodeRuneInString(p[j:])
			b.WriteString(p[j : j+size])
			j += size
		}
		first = false
	}
}

// isSetEscape reports whether \d (d the byte after the backslash) stands
// for a set of characters rather than one.
func isSetEscape(d byte) bool {
	switch d {
	case 'd', 'D', 'w', 'W', 's', 'S', 'h', 'H', 'v', 'V', 'p', 'P':
		return true
	}
	return false
}

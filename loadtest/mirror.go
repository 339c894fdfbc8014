package loadtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A rich-text editor keeps the plain text of its copy next to it (its
// mirror), to pick edit positions without encoding the document each time.

// embedChar stands for an embed in a rich-text plain-text mirror: one
// UTF-16 unit, as an embed counts one.
const embedChar = "\uFFFC"

type deltaComp struct {
	Insert json.RawMessage `json:"insert"`
	Retain json.RawMessage `json:"retain"`
	Delete *int            `json:"delete"`
}

func decodeDelta(raw []byte) ([]deltaComp, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var w struct {
			Ops []deltaComp `json:"ops"`
		}
		err := json.Unmarshal(raw, &w)
		return w.Ops, err
	}
	var ops []deltaComp
	err := json.Unmarshal(raw, &ops)
	return ops, err
}

// richPlain returns the text of a rich-text document ({"ops":[...]} or a
// bare array) or of the inserts of an op (embeds become embedChar).
func richPlain(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if inner, ok := bytes.CutPrefix(raw, []byte(`{"ops":`)); ok && bytes.HasSuffix(inner, []byte("}")) {
		raw = inner[:len(inner)-1]
	}
	var sb strings.Builder
	err := forEachComp(raw, func(kind byte, _ int, ins string) error {
		switch kind {
		case 'i':
			sb.WriteString(ins)
		case 'e':
			sb.WriteString(embedChar)
		}
		return nil
	})
	return sb.String(), err
}

// applyRichPlain applies a rich-text op (JSON) to a plain-text mirror.
// ascii says text is pure ASCII (then units are bytes); the result says
// whether the new text still is.
func applyRichPlain(text string, ascii bool, raw []byte) (string, bool, error) {
	var sb strings.Builder
	sb.Grow(len(text) + 32)
	pos := 0
	advance := func(n int, lenient bool) (int, error) {
		if ascii {
			if pos+n > len(text) {
				if lenient {
					return len(text) - pos, nil
				}
				return 0, errors.New("past the end of the text")
			}
			return n, nil
		}
		adv, err := advanceUTF16(text[pos:], n)
		if err != nil && lenient {
			return len(text) - pos, nil // a plain retain past the end changes nothing
		}
		return adv, err
	}
	err := forEachComp(raw, func(kind byte, n int, ins string) error {
		switch kind {
		case 'i':
			sb.WriteString(ins)
			if ascii && !isASCII(ins) {
				ascii = false
			}
		case 'e':
			sb.WriteString(embedChar)
			ascii = false
		case 'r':
			adv, err := advance(n, true)
			if err != nil {
				return err
			}
			sb.WriteString(text[pos : pos+adv])
			pos += adv
		case 'd':
			adv, err := advance(n, false)
			if err != nil {
				return fmt.Errorf("delete %d: %w", n, err)
			}
			pos += adv
		}
		return nil
	})
	if err != nil {
		return "", false, err
	}
	sb.WriteString(text[pos:])
	return sb.String(), ascii, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// forEachComp calls fn for each component of a Delta in JSON: kind 'i'
// (text insert, ins set), 'e' (embed insert), 'r' (retain n; an object
// retain counts 1) or 'd' (delete n). It scans the bytes itself, as
// encoding/json costs more than the rest of the mirror update; anything
// it does not expect goes through encoding/json instead.
func forEachComp(raw []byte, fn func(kind byte, n int, ins string) error) error {
	if err := scanComps(raw, fn); err != errFallback {
		return err
	}
	ops, err := decodeDelta(raw)
	if err != nil {
		return err
	}
	for _, c := range ops {
		var err error
		switch {
		case c.Insert != nil && c.Insert[0] == '"':
			var str string
			if err = json.Unmarshal(c.Insert, &str); err == nil {
				err = fn('i', 0, str)
			}
		case c.Insert != nil:
			err = fn('e', 1, "")
		case c.Retain != nil && c.Retain[0] == '{':
			err = fn('r', 1, "")
		case c.Retain != nil:
			var n int
			if n, err = strconv.Atoi(string(c.Retain)); err == nil {
				err = fn('r', n, "")
			}
		case c.Delete != nil:
			err = fn('d', *c.Delete, "")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var errFallback = errors.New("fall back to encoding/json")

// scanComps is forEachComp's fast path for a bare array of components. It
// returns errFallback, without calling fn, for input it does not handle.
func scanComps(raw []byte, fn func(kind byte, n int, ins string) error) error {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return errFallback
	}
	// First pass: validate the shape so fn is never called on input we
	// then hand to the slow path.
	type comp struct {
		kind byte
		n    int
		ins  string
	}
	var comps []comp
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return nil
	}
	for {
		if i >= len(raw) || raw[i] != '{' {
			return errFallback
		}
		var c comp
		i = skipWS(raw, i+1)
		for {
			if i >= len(raw) || raw[i] != '"' {
				return errFallback
			}
			end := bytes.IndexByte(raw[i+1:], '"')
			if end < 0 {
				return errFallback
			}
			key := string(raw[i+1 : i+1+end])
			i = skipWS(raw, i+end+2)
			if i >= len(raw) || raw[i] != ':' {
				return errFallback
			}
			i = skipWS(raw, i+1)
			if i >= len(raw) {
				return errFallback
			}
			switch key {
			case "insert":
				if raw[i] == '"' {
					j, ok := stringEnd(raw, i)
					if !ok {
						return errFallback
					}
					tok := raw[i:j]
					if bytes.IndexByte(tok, '\\') >= 0 {
						if json.Unmarshal(tok, &c.ins) != nil {
							return errFallback
						}
					} else {
						c.ins = string(tok[1 : len(tok)-1])
					}
					c.kind, i = 'i', j
				} else {
					j, ok := skipValue(raw, i)
					if !ok {
						return errFallback
					}
					c.kind, c.n, i = 'e', 1, j
				}
			case "retain", "delete":
				kind := key[0]
				if raw[i] == '{' {
					j, ok := skipValue(raw, i)
					if !ok || kind == 'd' {
						return errFallback
					}
					c.kind, c.n, i = 'r', 1, j
					break
				}
				j := i
				for j < len(raw) && raw[j] >= '0' && raw[j] <= '9' {
					j++
				}
				n, err := strconv.Atoi(string(raw[i:j]))
				if err != nil {
					return errFallback
				}
				c.kind, c.n, i = kind, n, j
			default:
				j, ok := skipValue(raw, i)
				if !ok {
					return errFallback
				}
				i = j
			}
			i = skipWS(raw, i)
			if i < len(raw) && raw[i] == ',' {
				i = skipWS(raw, i+1)
				continue
			}
			if i < len(raw) && raw[i] == '}' {
				break
			}
			return errFallback
		}
		if c.kind == 0 {
			return errFallback
		}
		comps = append(comps, c)
		i = skipWS(raw, i+1)
		if i < len(raw) && raw[i] == ',' {
			i = skipWS(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == ']' {
			break
		}
		return errFallback
	}
	for _, c := range comps {
		if err := fn(c.kind, c.n, c.ins); err != nil {
			return err
		}
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, ok := stringEnd(b, j)
			if !ok {
				return 0, false
			}
			j = end - 1
			if depth == 0 {
				return end, true
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j, true
			}
			depth--
			if depth == 0 {
				return j + 1, true
			}
		case ',':
			if depth == 0 {
				return j, true
			}
		}
	}
	if depth == 0 {
		return len(b), true
	}
	return 0, false
}

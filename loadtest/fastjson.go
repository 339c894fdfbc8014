package loadtest

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// decodeMsg decodes a server message into m. The messages that arrive by
// the thousand (ops, acks) are flat objects of short strings, numbers and
// one nested op; they are scanned directly, which costs a fraction of
// encoding/json's reflection. Anything else (errors, snapshots, escaped
// strings) goes through encoding/json.
func decodeMsg(data []byte, m *inMsg) error {
	if fastDecodeMsg(data, m) {
		return nil
	}
	*m = inMsg{}
	return json.Unmarshal(data, m)
}

// fastDecodeMsg fills m from a flat JSON object, or reports false (m then
// holds garbage) for anything it does not handle.
func fastDecodeMsg(b []byte, m *inMsg) bool {
	*m = inMsg{}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		kEnd, ok := stringEnd(b, i)
		if !ok {
			return false
		}
		key := b[i+1 : kEnd-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		i = skipWS(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		end, ok := skipValue(b, i)
		if !ok || end <= i {
			return false
		}
		val := bytes.TrimRight(b[i:end], " \t\r\n")
		switch string(key) {
		case "a":
			if m.A, ok = plainString(val); !ok {
				return false
			}
		case "c":
			if m.C, ok = plainString(val); !ok {
				return false
			}
		case "d":
			if m.D, ok = plainString(val); !ok {
				return false
			}
		case "src":
			if m.Src, ok = plainString(val); !ok {
				return false
			}
		case "v":
			if string(val) != "null" {
				n, err := strconv.ParseInt(string(val), 10, 64)
				if err != nil {
					return false
				}
				m.V = &n
			}
		case "seq":
			if string(val) != "null" {
				n, err := strconv.ParseUint(string(val), 10, 64)
				if err != nil {
					return false
				}
				m.Seq = &n
			}
		case "op":
			m.Op = json.RawMessage(val)
		case "create":
			m.Create = json.RawMessage(val)
		case "del":
			m.Del = json.RawMessage(val)
		case "error", "data", "id":
			return false
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// plainString returns the contents of a JSON string without escapes.
func plainString(val []byte) (string, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' || bytes.IndexByte(val, '\\') >= 0 {
		return "", false
	}
	return string(val[1 : len(val)-1]), true
}

// decodeOpEvent decodes the data of an SSE op event.
func decodeOpEvent(data []byte, o *sseOp) error {
	var m inMsg
	if fastDecodeMsg(data, &m) && m.V != nil {
		*o = sseOp{V: *m.V, Src: m.Src, Op: m.Op, Create: m.Create}
		if m.Seq != nil {
			o.Seq = *m.Seq
		}
		if m.Del != nil {
			o.Del = string(m.Del) == "true"
		}
		return nil
	}
	*o = sseOp{}
	return json.Unmarshal(data, o)
}

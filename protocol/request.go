package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"

	"github.com/tandemhq/tandem/ot"
)

// Actions of the protocol (sharedb lib/message-actions.js).
const (
	ActionInit                = "init"
	ActionHandshake           = "hs"
	ActionQueryFetch          = "qf"
	ActionQuerySubscribe      = "qs"
	ActionQueryUnsubscribe    = "qu"
	ActionQueryUpdate         = "q"
	ActionBulkFetch           = "bf"
	ActionBulkSubscribe       = "bs"
	ActionBulkUnsubscribe     = "bu"
	ActionFetch               = "f"
	ActionSubscribe           = "s"
	ActionUnsubscribe         = "u"
	ActionOp                  = "op"
	ActionSnapshotFetch       = "nf"
	ActionSnapshotFetchByTime = "nt"
	ActionPing                = "pp"
	ActionPresence            = "p"
	ActionPresenceSubscribe   = "ps"
	ActionPresenceUnsubscribe = "pu"
	ActionPresenceRequest     = "pr"
)

// MaxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER.
const MaxSafeInteger = 1<<53 - 1

// ErrNotObject is returned by Decode for a frame that is not a JSON object;
// sharedb closes the connection for those.
var ErrNotObject = errors.New("protocol: message is not a JSON object")

// Request is one decoded client message. Raw is kept for error echoes;
// Fields gives access to every key exactly as sent.
type Request struct {
	Raw    []byte
	Fields map[string]json.RawMessage
	// Action is the a field.
	Action string
	// C and D are the collection and document id, when present.
	C, D string
	// V is the version; nil when absent or null.
	V *int64
	// Seq is the seq field; HasSeq is false when absent or null.
	Seq    int64
	HasSeq bool
	// Src is the src field when it is a non-empty string.
	Src string
	// Ch is the presence channel.
	Ch string
	// TS is the ts field of nt; nil when absent or null.
	TS *int64
}

// Has reports whether the key is present (even if null).
func (r *Request) Has(key string) bool {
	_, ok := r.Fields[key]
	return ok
}

// Get returns the raw value of key, or nil.
func (r *Request) Get(key string) json.RawMessage { return r.Fields[key] }

// DefaultMaxDepth is the nesting depth Decode accepts when no limit is
// given: enough for any real json0 document, far below what could hurt.
const DefaultMaxDepth = 100

// Depth returns the deepest nesting of arrays and objects in a JSON text
// (strings are skipped properly), without decoding it.
func Depth(b []byte) int {
	depth, deepest := 0, 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > deepest {
				deepest = depth
			}
		case ']', '}':
			depth--
		}
	}
	return deepest
}

// Decode parses and validates one frame. It returns ErrNotObject for frames
// that are not a JSON object (close the connection), a *Error with a nil
// Request for malformed JSON, and a *Error together with the Request when a
// field is invalid (echo the request with the error).
func Decode(frame []byte) (*Request, error) { return DecodeLimited(frame, DefaultMaxDepth) }

// DecodeLimited is Decode with a nesting limit; a deeper frame is refused
// with ERR_MESSAGE_BADLY_FORMED before it is parsed.
func DecodeLimited(frame []byte, maxDepth int) (*Request, error) {
	trimmed := bytes.TrimLeft(frame, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if json.Valid(frame) {
			return nil, ErrNotObject
		}
		return nil, BadlyFormed("Invalid JSON")
	}
	if d := Depth(frame); d > maxDepth {
		return nil, BadlyFormed("JSON nested too deeply: " + strconv.Itoa(d) + " levels, at most " + strconv.Itoa(maxDepth))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(frame, &fields); err != nil {
		return nil, BadlyFormed("Invalid JSON: " + err.Error())
	}
	r := &Request{Raw: frame, Fields: fields}
	if err := r.validate(); err != nil {
		return r, err
	}
	return r, nil
}

func isNull(raw json.RawMessage) bool { return raw == nil || string(raw) == "null" }

// stringValue returns the string value of raw, or ok=false when raw is not
// a JSON string.
func stringValue(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// NumberValue parses a JSON number; ok is false for anything else.
func NumberValue(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true
}

// intValue parses a JSON number that is an integer within JavaScript's safe
// range.
func intValue(raw json.RawMessage) (int64, bool) {
	f, ok := NumberValue(raw)
	if !ok || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > MaxSafeInteger {
		return 0, false
	}
	return int64(f), true
}

// dangerousNames are the own property names of Object.prototype, which
// sharedb 7.0 refuses as collection, id, channel and presence id names.
var dangerousNames = map[string]bool{
	"constructor": true, "__defineGetter__": true, "__defineSetter__": true,
	"hasOwnProperty": true, "__lookupGetter__": true, "__lookupSetter__": true,
	"isPrototypeOf": true, "propertyIsEnumerable": true, "toString": true,
	"valueOf": true, "__proto__": true, "toLocaleString": true,
}

// IsDangerousName reports whether s is an Object.prototype property name.
func IsDangerousName(s string) bool { return dangerousNames[s] }

// ValidName reports whether s may be used as a collection, document id,
// channel or presence id: non-empty, not an Object.prototype name.
func ValidName(s string) bool { return s != "" && !dangerousNames[s] }

// name decodes a required name field. A lone surrogate escape would decode
// to U+FFFD and no longer be the name the client uses, so it is refused.
func name(raw json.RawMessage) (string, bool) {
	if ot.CheckSurrogates(raw) != nil {
		return "", false
	}
	s, ok := stringValue(raw)
	if !ok || !ValidName(s) {
		return "", false
	}
	return s, true
}

// version decodes a version: null/absent, or an integer >= 0.
func version(raw json.RawMessage) (*int64, bool) {
	if isNull(raw) {
		return nil, true
	}
	n, ok := intValue(raw)
	if !ok || n < 0 {
		return nil, false
	}
	return &n, true
}

func (r *Request) validate() error {
	a, ok := stringValue(r.Fields["a"])
	if !ok {
		return BadlyFormed("Invalid or unknown message")
	}
	r.Action = a

	switch a {
	case ActionQueryFetch, ActionQuerySubscribe, ActionQueryUnsubscribe:
		if _, ok := intValue(r.Fields["id"]); !ok {
			return BadlyFormed("Missing query ID")
		}
		if raw := r.Fields["r"]; !isNull(raw) {
			if err := checkQueryResults(raw); err != nil {
				return err
			}
		}
	case ActionOp, ActionFetch, ActionSubscribe, ActionUnsubscribe,
		ActionSnapshotFetch, ActionSnapshotFetchByTime, ActionPresence:
		if raw, ok := r.Fields["d"]; ok && !isNull(raw) {
			if r.D, ok = name(raw); !ok {
				return BadlyFormed("Invalid id")
			}
		}
		if a != ActionPresence {
			// Every doc action needs both names (sharedb fails later,
			// less clearly, without them).
			if isNull(r.Fields["c"]) {
				return BadlyFormed("Invalid collection")
			}
			if isNull(r.Fields["d"]) {
				return BadlyFormed("Invalid id")
			}
		}
		v, ok := version(r.Fields["v"])
		if !ok {
			return BadlyFormed("Invalid version")
		}
		r.V = v
		if raw := r.Fields["ts"]; !isNull(raw) {
			ts, ok := intValue(raw)
			if !ok {
				return BadlyFormed("Invalid timestamp")
			}
			r.TS = &ts
		}
		if a == ActionPresence {
			if _, ok := name(r.Fields["id"]); !ok {
				return BadlyFormed("Invalid presence ID")
			}
			if _, ok := version(r.Fields["pv"]); !ok {
				return BadlyFormed("Invalid presence version")
			}
		}
	case ActionBulkFetch, ActionBulkSubscribe, ActionBulkUnsubscribe:
		if err := checkBulkData(r.Fields["b"]); err != nil {
			return err
		}
	case ActionHandshake:
		for _, k := range []string{"protocol", "protocolMinor"} {
			raw := r.Fields[k]
			if isNull(raw) {
				continue
			}
			if _, ok := NumberValue(raw); ok {
				continue
			}
			if _, ok := stringValue(raw); ok {
				continue
			}
			return BadlyFormed("Invalid protocol")
		}
	}
	if raw := r.Fields["c"]; !isNull(raw) {
		if r.C, ok = name(raw); !ok {
			return BadlyFormed("Invalid collection")
		}
	}
	if raw := r.Fields["ch"]; !isNull(raw) {
		if r.Ch, ok = name(raw); !ok {
			return BadlyFormed("Invalid presence channel")
		}
	}
	if raw := r.Fields["seq"]; !isNull(raw) {
		f, ok := NumberValue(raw)
		if !ok {
			return BadlyFormed("Invalid seq")
		}
		if f >= MaxSafeInteger {
			return Errorf(ErrConnectionSeqOverflow, "Connection seq has exceeded the max safe integer, maybe from being open for too long")
		}
		if f < 0 || f != math.Trunc(f) {
			return BadlyFormed("Invalid seq")
		}
		r.Seq, r.HasSeq = int64(f), true
	}
	if raw := r.Fields["src"]; !isNull(raw) {
		s, ok := stringValue(raw)
		if !ok {
			return Errorf(ErrOpBadlyFormed, "src must be a string")
		}
		r.Src = s
	}
	return nil
}

func checkBulkData(raw json.RawMessage) error {
	if isNull(raw) {
		return BadlyFormed("Invalid bulk subscribe data")
	}
	switch raw[0] {
	case '[':
		var ids []json.RawMessage
		if err := json.Unmarshal(raw, &ids); err != nil {
			return BadlyFormed("Invalid bulk subscribe data")
		}
		for _, id := range ids {
			if _, ok := name(id); !ok {
				return BadlyFormed("Invalid id")
			}
		}
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return BadlyFormed("Invalid bulk subscribe data")
		}
		for id, v := range m {
			if !ValidName(id) {
				return BadlyFormed("Invalid id")
			}
			if _, ok := version(v); !ok {
				return BadlyFormed("Invalid version")
			}
		}
	default:
		return BadlyFormed("Invalid bulk subscribe data")
	}
	return nil
}

// BulkIDs returns the ids of a bulk request and, for the map form, their
// versions (nil entries for null). Order follows the message for the array
// form and is sorted for the map form. Duplicates are removed, as sharedb
// 7.0 does.
func (r *Request) BulkIDs() (ids []string, versions map[string]*int64) {
	raw := r.Fields["b"]
	if len(raw) > 0 && raw[0] == '[' {
		var list []string
		_ = json.Unmarshal(raw, &list) // validated by Decode
		seen := make(map[string]bool, len(list))
		for _, id := range list {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		return ids, nil
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	versions = make(map[string]*int64, len(m))
	for id, v := range m {
		versions[id], _ = version(v)
		ids = append(ids, id)
	}
	sortStrings(ids)
	return ids, versions
}

func checkQueryResults(raw json.RawMessage) error {
	var results []json.RawMessage
	if err := json.Unmarshal(raw, &results); err != nil || raw[0] != '[' {
		return BadlyFormed("Invalid query results")
	}
	for _, res := range results {
		var pair []json.RawMessage
		if len(res) == 0 || res[0] != '[' || json.Unmarshal(res, &pair) != nil {
			return BadlyFormed("Invalid query results")
		}
		var id, v json.RawMessage
		if len(pair) > 0 {
			id = pair[0]
		}
		if len(pair) > 1 {
			v = pair[1]
		}
		if _, ok := name(id); !ok {
			return BadlyFormed("Invalid id")
		}
		if _, ok := version(v); !ok {
			return BadlyFormed("Invalid version")
		}
	}
	return nil
}

// Int returns the integer value of key (a safe integer), if it is one.
func (r *Request) Int(key string) (int64, bool) { return intValue(r.Fields[key]) }

// String returns the string value of key, if it is a string.
func (r *Request) String(key string) (string, bool) { return stringValue(r.Fields[key]) }

// Version returns key decoded as a version (nil for null/absent).
func (r *Request) Version(key string) (*int64, bool) { return version(r.Fields[key]) }

package protocol

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/tandemhq/tandem/internal/jsonenc"
)

func sortStrings(s []string) { slices.Sort(s) }

// Obj builds a JSON object by appending fields in order.
type Obj struct{ b []byte }

// NewObj starts an object with room for n bytes.
func NewObj(n int) *Obj {
	o := &Obj{b: make([]byte, 0, n)}
	o.b = append(o.b, '{')
	return o
}

func (o *Obj) key(k string) {
	if len(o.b) > 1 {
		o.b = append(o.b, ',')
	}
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

// Str adds a string field.
func (o *Obj) Str(k, v string) *Obj { o.key(k); o.b = jsonenc.AppendString(o.b, v); return o }

// Int adds an integer field.
func (o *Obj) Int(k string, v int64) *Obj { o.key(k); o.b = strconv.AppendInt(o.b, v, 10); return o }

// Raw adds a field holding already-encoded JSON.
func (o *Obj) Raw(k string, v []byte) *Obj { o.key(k); o.b = append(o.b, v...); return o }

// Null adds a null field.
func (o *Obj) Null(k string) *Obj { o.key(k); o.b = append(o.b, "null"...); return o }

// Bool adds a boolean field.
func (o *Obj) Bool(k string, v bool) *Obj {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
	return o
}

// Bytes closes the object and returns it.
func (o *Obj) Bytes() []byte { return append(o.b, '}') }

// ErrorReply echoes the request with error:{code,message} added, as sharedb
// does: the client routes the reply by the fields of the echo.
func ErrorReply(req *Request, e *Error) []byte {
	errJSON := NewObj(64).Str("code", e.Code).Str("message", e.Message).Bytes()
	if req == nil || req.Fields == nil {
		return NewObj(96).Raw("error", errJSON).Bytes()
	}
	fields := make(map[string]json.RawMessage, len(req.Fields)+1)
	for k, v := range req.Fields {
		fields[k] = v
	}
	fields["error"] = errJSON
	b, err := marshalNoEscape(fields)
	if err != nil {
		return NewObj(96).Raw("error", errJSON).Bytes()
	}
	return b
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// AppendString appends s as a JSON string (see jsonenc.AppendString).
func AppendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

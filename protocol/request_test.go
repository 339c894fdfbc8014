package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // "" = valid; "close" = ErrNotObject
		check   func(*Request) bool
	}{
		{"fetch", `{"a":"f","c":"dogs","d":"fido","v":null}`, "", func(r *Request) bool { return r.C == "dogs" && r.D == "fido" && r.V == nil }},
		{"version", `{"a":"s","c":"dogs","d":"fido","v":3}`, "", func(r *Request) bool { return r.V != nil && *r.V == 3 }},
		{"keys are case-sensitive", `{"a":"f","c":"x","d":"y","V":3}`, "", func(r *Request) bool { return r.V == nil }},
		{"last duplicate key wins", `{"a":"f","c":"x","d":"y","d":"z"}`, "", func(r *Request) bool { return r.D == "z" }},
		{"array frame", `[1]`, "close", nil},
		{"string frame", `"x"`, "close", nil},
		{"number frame", `5`, "close", nil},
		{"invalid json", `{"a":`, ErrMessageBadlyFormed, nil},
		{"garbage", `nope`, ErrMessageBadlyFormed, nil},
		{"fractional version", `{"a":"f","c":"x","d":"y","v":1.5}`, ErrMessageBadlyFormed, nil},
		{"huge version", `{"a":"f","c":"x","d":"y","v":1e300}`, ErrMessageBadlyFormed, nil},
		{"proto names", `{"a":"f","c":"valueOf","d":"y"}`, ErrMessageBadlyFormed, nil},
		{"empty id", `{"a":"f","c":"x","d":""}`, ErrMessageBadlyFormed, nil},
		{"channel type", `{"a":"ps","ch":1}`, ErrMessageBadlyFormed, nil},
		{"seq type", `{"a":"op","c":"x","d":"y","seq":"1","op":[]}`, ErrMessageBadlyFormed, nil},
		{"seq overflow", `{"a":"op","c":"x","d":"y","seq":9007199254740991,"op":[]}`, ErrConnectionSeqOverflow, nil},
		{"bulk map bad version", `{"a":"bs","c":"x","b":{"y":-1}}`, ErrMessageBadlyFormed, nil},
		{"bulk array bad id", `{"a":"bs","c":"x","b":["ok","__proto__"]}`, ErrMessageBadlyFormed, nil},
		{"query results", `{"a":"qs","id":1,"c":"x","q":{},"r":[["a",1],["b",null]]}`, "", nil},
		{"query results bad", `{"a":"qs","id":1,"c":"x","q":{},"r":[["a",-1]]}`, ErrMessageBadlyFormed, nil},
		{"query id not number", `{"a":"qf","id":"1","c":"x","q":{}}`, ErrMessageBadlyFormed, nil},
		{"nf needs names", `{"a":"nf","id":1,"c":"x","v":1}`, ErrMessageBadlyFormed, nil},
		{"lone surrogate in id", `{"a":"f","c":"x","d":"\ud800"}`, ErrMessageBadlyFormed, nil},
		{"paired surrogates in id", `{"a":"f","c":"x","d":"\ud83d\ude00"}`, "", func(r *Request) bool { return r.D == "😀" }},
		{"src not string", `{"a":"op","c":"x","d":"y","src":1,"seq":1,"op":[]}`, ErrOpBadlyFormed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode([]byte(tt.in))
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if tt.check != nil && !tt.check(r) {
					t.Fatalf("decoded %+v", r)
				}
			case "close":
				if err != ErrNotObject {
					t.Fatalf("err %v, want ErrNotObject", err)
				}
			default:
				pe, ok := err.(*Error)
				if !ok || pe.Code != tt.wantErr {
					t.Fatalf("err %v, want code %s", err, tt.wantErr)
				}
			}
		})
	}
}

func TestErrorReplyEchoesRequest(t *testing.T) {
	r, _ := Decode([]byte(`{"a":"op","c":"dogs","d":"rex","v":2,"seq":3,"x":{},"op":["\ud83d\ude00 <&>"]}`))
	out := ErrorReply(r, Errorf("ERR_X", "nope"))
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if m["a"] != "op" || m["c"] != "dogs" || m["seq"] != float64(3) || m["error"].(map[string]any)["code"] != "ERR_X" {
		t.Fatalf("echo %s", out)
	}
	if string(m["op"].([]any)[0].(string)) != "😀 <&>" {
		t.Fatalf("op not echoed intact: %s", out)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x1f\n\t\r", "emoji 😀", "\u2028\u2029", "<&>"} {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil || back != s {
			t.Errorf("AppendString(%q) = %s (%v)", s, AppendString(nil, s), err)
		}
	}
}

// FuzzDecode: no input panics the decoder, and every error reply is a
// JSON object carrying the error.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":"hs","id":null,"protocol":1,"protocolMinor":2}`,
		`{"a":"op","c":"dogs","d":"fido","v":1,"seq":2,"x":{},"op":[{"p":["age"],"na":1}]}`,
		`{"a":"bs","c":"x","b":{"a":1,"b":null}}`,
		`{"a":"qs","id":1,"c":"x","q":{"n":{"$gt":1}},"r":[["a",1]]}`,
		`{"a":"p","ch":"c.d","id":"p","p":{"index":1},"pv":0,"c":"c","d":"d","v":1,"t":"rich-text"}`,
		`[1]`, `{`, `{"a":"f","c":"\ud800","d":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err == ErrNotObject {
			return
		}
		if err != nil {
			pe, ok := err.(*Error)
			if !ok {
				t.Fatalf("non-protocol error %v", err)
			}
			out := ErrorReply(r, pe)
			var m map[string]json.RawMessage
			if json.Unmarshal(out, &m) != nil || m["error"] == nil {
				t.Fatalf("error reply %q is not an object with error", out)
			}
			return
		}
		var a string
		if json.Unmarshal(r.Fields["a"], &a) != nil || a != r.Action {
			t.Fatalf("action %q does not match the message %q", r.Action, b)
		}
		r.BulkIDs()
	})
}

func TestDepth(t *testing.T) {
	for in, want := range map[string]int{
		`{}`: 1, `{"a":[1,{"b":2}]}`: 3, `"[[[["`: 0, `["\"[[["]`: 1, `[[[]],[]]`: 3, `5`: 0,
	} {
		if got := Depth([]byte(in)); got != want {
			t.Errorf("Depth(%s) = %d, want %d", in, got, want)
		}
	}
	deep := `{"a":"op","op":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`
	if _, err := DecodeLimited([]byte(deep), 100); err == nil || err.(*Error).Code != ErrMessageBadlyFormed {
		t.Fatalf("deep message: %v", err)
	}
}

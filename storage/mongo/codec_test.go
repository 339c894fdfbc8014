package mongo

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// rawValue marshals v as the value of a one-field document and returns it.
func rawValue(t *testing.T, v any) bson.RawValue {
	t.Helper()
	b, err := bson.Marshal(bson.D{{Key: "v", Value: v}})
	if err != nil {
		t.Fatal(err)
	}
	return bson.Raw(b).Lookup("v")
}

// TestFromJSONTypes checks the BSON types JSON values become: those the
// Node driver writes for what JSON.parse returns.
func TestFromJSONTypes(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`0`, int32(0)},
		{`-1`, int32(-1)},
		{`2147483647`, int32(math.MaxInt32)},
		{`-2147483648`, int32(math.MinInt32)},
		{`2147483648`, float64(2147483648)},
		{`1.0`, int32(1)},
		{`1e2`, int32(100)},
		{`1.5`, 1.5},
		{`-0`, math.Copysign(0, -1)},
		{`6E+20`, 6e20},
		{`9007199254740993`, float64(9007199254740992)}, // as JSON.parse reads it
		{`1e-400`, int32(0)},                            // JSON.parse reads 0
		{`"a\u0000b\ud83d\ude00"`, "a\x00b😀"},
		{`"\ud800"`, "\ufffd"}, // a lone surrogate: replaced, as the Node driver writes it
		{`true`, true},
		{`null`, nil},
		{`[]`, bson.A{}},
		{`{}`, bson.D{}},
		{` [1, [2], {"a": [[]]}] `, bson.A{int32(1), bson.A{int32(2)}, bson.D{{Key: "a", Value: bson.A{bson.A{}}}}}},
		// A repeated key keeps its first place and takes the last value.
		{`{"a":1,"b":2,"a":3}`, bson.D{{Key: "a", Value: int32(3)}, {Key: "b", Value: int32(2)}}},
		{`{"z":1,"":2,"$x":3,"a.b":4}`, bson.D{{Key: "z", Value: int32(1)}, {Key: "", Value: int32(2)}, {Key: "$x", Value: int32(3)}, {Key: "a.b", Value: int32(4)}}},
	}
	for _, tc := range tests {
		got, err := fromJSON([]byte(tc.in))
		if err != nil {
			t.Errorf("fromJSON(%s): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) || (tc.in == `-0` && !math.Signbit(got.(float64))) {
			t.Errorf("fromJSON(%s) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	// Many repeated keys (the indexed path).
	var sb strings.Builder
	sb.WriteString("{")
	for i := range 40 {
		sb.WriteString(`"k` + string(rune('a'+i%20)) + `":` + string(rune('0'+i/20)) + ",")
	}
	sb.WriteString(`"end":true}`)
	got, err := fromJSON([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	d := got.(bson.D)
	if len(d) != 21 || d[0].Key != "ka" || d[0].Value != int32(1) || d[20].Key != "end" {
		t.Errorf("repeated keys: %v", d)
	}

	for _, bad := range []string{``, ` `, `{`, `[1,]`, `{"a":1}x`, `1 2`, `1e400`, `-1e400`, `{"a\u0000":1}`, `nul`, `'x'`} {
		if v, err := fromJSON([]byte(bad)); err == nil {
			t.Errorf("fromJSON(%q) = %#v, want an error", bad, v)
		}
	}
}

// TestToJSON checks the JSON of BSON values: what JSON.stringify makes of
// what the Node driver reads, with numbers of every BSON type.
func TestToJSON(t *testing.T) {
	oid, _ := bson.ObjectIDFromHex("65a1b2c3d4e5f60718293a4b")
	dec, _ := bson.ParseDecimal128("12.50")
	nan, _ := bson.ParseDecimal128("NaN")
	tests := []struct {
		in   any
		want string
	}{
		{int32(-5), `-5`},
		{int64(1) << 60, `1152921504606846976`},
		{2.5, `2.5`},
		{1e21, `1e+21`},
		{1e20, `100000000000000000000`},
		{1e-7, `1e-7`},
		{1.5e-10, `1.5e-10`},
		{0.000001, `0.000001`},
		{-4.5e-7, `-4.5e-7`},
		{123456789.125, `123456789.125`},
		{0.1, `0.1`},
		{math.Copysign(0, -1), `-0`},
		{math.NaN(), `null`},
		{math.Inf(-1), `null`},
		{dec, `12.50`},
		{nan, `null`},
		{"q\"b\\s/\n\r\t\x00\x1f<>&\u2028é😀", `"q\"b\\s/\n\r\t\u0000\u001f<>&\u2028é😀"`},
		{true, `true`},
		{nil, `null`},
		{bson.A{}, `[]`},
		{bson.D{}, `{}`},
		{bson.D{{Key: "b", Value: int32(1)}, {Key: "a", Value: bson.A{nil, "x"}}, {Key: "", Value: bson.D{}}}, `{"b":1,"a":[null,"x"],"":{}}`},
		{oid, `"65a1b2c3d4e5f60718293a4b"`},
		{bson.DateTime(1735689600123), `"2025-01-01T00:00:00.123Z"`},
	}
	for _, tc := range tests {
		got, err := toJSON(rawValue(t, tc.in))
		if err != nil {
			t.Errorf("toJSON(%#v): %v", tc.in, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("toJSON(%#v) = %s, want %s", tc.in, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("toJSON(%#v) = %s: not valid JSON", tc.in, got)
		}
	}
	if _, err := toJSON(rawValue(t, bson.Binary{Data: []byte{1}})); err == nil {
		t.Error("toJSON(binary) succeeded")
	}
	// Invalid UTF-8 in a stored string still reads as valid JSON.
	if got, err := toJSON(rawValue(t, "a\xffb")); err != nil || string(got) != `"a\ufffdb"` {
		t.Errorf("toJSON(invalid UTF-8) = %s, %v", got, err)
	}
}

// TestJSONRoundTrip checks that JSON survives BSON and back with its
// meaning: the same values, key order and strings; numbers in JavaScript's
// spelling.
func TestJSONRoundTrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":[1,-2,3.25,-4.5e-7,6E+20,0,true,false,null,"",[],{}],"a":{"k":[[["x"]]]}}`,
			`{"b":[1,-2,3.25,-4.5e-7,600000000000000000000,0,true,false,null,"",[],{}],"a":{"k":[[["x"]]]}}`},
		{`"h😀llo \ud83d\ude00 \u00e9 \u2028"`, `"h😀llo 😀 é \u2028"`},
		{`{"ctl":"nl\n tab\t nul\u0000 bel\u0007","quote":"say \"hi\"","slash":"a\/b"}`,
			`{"ctl":"nl\n tab\t nul\u0000 bel\u0007","quote":"say \"hi\"","slash":"a/b"}`},
		{"  {\"spaced\" :\t[ 1 , 2 ]\n}  ", `{"spaced":[1,2]}`},
		{`1.0`, `1`},
		{`123456789012345678901234567890`, `1.2345678901234568e+29`},
	}
	for _, tc := range tests {
		v, err := fromJSON([]byte(tc.in))
		if err != nil {
			t.Fatalf("fromJSON(%s): %v", tc.in, err)
		}
		got, err := toJSON(rawValue(t, v))
		if err != nil {
			t.Fatalf("toJSON: %v", err)
		}
		if string(got) != tc.want {
			t.Errorf("round trip of %s:\n got  %s\n want %s", tc.in, got, tc.want)
		}
	}
}

func TestIntValue(t *testing.T) {
	tests := []struct {
		in   int64
		want any
	}{
		{0, int32(0)},
		{math.MaxInt32, int32(math.MaxInt32)},
		{math.MinInt32, int32(math.MinInt32)},
		{math.MaxInt32 + 1, float64(math.MaxInt32 + 1)},
		{1_735_689_600_123, float64(1_735_689_600_123)},
		{1 << 53, float64(1 << 53)},
		{-(1 << 53), float64(-(1 << 53))},
		{1<<53 + 1, int64(1<<53 + 1)},
		{math.MinInt64, int64(math.MinInt64)},
	}
	for _, tc := range tests {
		got := intValue(tc.in)
		if got != tc.want {
			t.Errorf("intValue(%d) = %#v, want %#v", tc.in, got, tc.want)
		}
		back, ok := asInt64(rawValue(t, got))
		if !ok || back != tc.in {
			t.Errorf("asInt64(intValue(%d)) = %d, %v", tc.in, back, ok)
		}
	}
	dec, _ := bson.ParseDecimal128("42")
	for _, v := range []any{int32(42), int64(42), 42.0, dec} {
		if n, ok := asInt64(rawValue(t, v)); !ok || n != 42 {
			t.Errorf("asInt64(%#v) = %d, %v", v, n, ok)
		}
	}
	for _, v := range []any{42.5, math.NaN(), math.Inf(1), 1e19, "42", nil, true} {
		if n, ok := asInt64(rawValue(t, v)); ok {
			t.Errorf("asInt64(%#v) = %d, want not ok", v, n)
		}
	}
}

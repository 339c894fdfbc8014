package jsonenc

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x1f\n\t\r\b\f", "emoji 😀 é", "\u2028x\u2029", "<&>", "\xff\xfe"} {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", s, out, err)
		}
		want := s
		if s == "\xff\xfe" {
			want = "\ufffd\ufffd"
		}
		if back != want {
			t.Errorf("AppendString(%q) round-trips to %q", s, back)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"\\\n😀\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(AppendString(nil, s), &back); err != nil {
			t.Fatal(err)
		}
	})
}

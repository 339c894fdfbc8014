package ot

import (
	"errors"
	"testing"
)

func TestCheckSurrogates(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", `["abc"]`, true},
		{"pair escape", `["\ud83d\ude00"]`, true},
		{"pair upper hex", `["\uD83D\uDE00"]`, true},
		{"raw emoji", `["😀"]`, true},
		{"lone high", `["\ud83d"]`, false},
		{"lone high then text", `["\ud83dx"]`, false},
		{"high then high", `["\ud83d\ud83d"]`, false},
		{"lone low", `["\ude00"]`, false},
		{"escaped backslash then u", `["\\ud83d"]`, true},
		{"bmp escape", `["\u00e9\u2028"]`, true},
		{"invalid utf8", "[\"\xff\"]", false},
		{"cesu surrogate bytes", "[\"\xed\xa0\x80\"]", false},
		{"truncated escape", `"\ud8`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSurrogates([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("CheckSurrogates(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrLoneSurrogate) {
				t.Fatalf("error %v does not wrap ErrLoneSurrogate", err)
			}
		})
	}
}

func FuzzCheckSurrogates(f *testing.F) {
	f.Add([]byte(`["\ud83d\ude00"]`))
	f.Add([]byte(`["\ud83d"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = CheckSurrogates(b) // must not panic
	})
}

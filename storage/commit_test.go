package storage

import "testing"

func TestCheckCommit(t *testing.T) {
	op := func(v int64) Op { return Op{V: v} }
	tests := []struct {
		name string
		ops  []Op
		snap Snapshot
		ok   bool
	}{
		{"one op", []Op{op(0)}, Snapshot{V: 1}, true},
		{"batch", []Op{op(4), op(5), op(6)}, Snapshot{V: 7}, true},
		{"no ops", nil, Snapshot{V: 1}, false},
		{"negative", []Op{op(-1)}, Snapshot{V: 0}, false},
		{"gap", []Op{op(0), op(2)}, Snapshot{V: 3}, false},
		{"repeat", []Op{op(1), op(1)}, Snapshot{V: 2}, false},
		{"descending", []Op{op(2), op(1)}, Snapshot{V: 3}, false},
		{"snapshot behind", []Op{op(0), op(1)}, Snapshot{V: 1}, false},
		{"snapshot ahead", []Op{op(0)}, Snapshot{V: 2}, false},
	}
	for _, tc := range tests {
		err := CheckCommit(tc.ops, tc.snap)
		if (err == nil) != tc.ok {
			t.Errorf("%s: CheckCommit = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

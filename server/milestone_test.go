package server

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/tandemhq/tandem/sessions"
	"github.com/tandemhq/tandem/storage"
)

// opsFromStore records where history reads start replaying.
type opsFromStore struct {
	*storage.Memory
	lastFrom atomic.Int64
}

func (s *opsFromStore) Ops(ctx context.Context, c, d string, from, to int64) ([]storage.Op, error) {
	s.lastFrom.Store(from)
	return s.Memory.Ops(ctx, c, d, from, to)
}

// TestHistoryReplaysFromMilestones: with a milestone every 4 versions, a
// snapshot at an old version is rebuilt from the nearest milestone, and
// gives the same answer as replaying from version 0.
func TestHistoryReplaysFromMilestones(t *testing.T) {
	store := &opsFromStore{Memory: storage.NewMemory()}
	ts := startServer(t, testOpts{store: store, sessCfg: func(c *sessions.Config) { c.MilestoneInterval = 4 }})
	a := ts.connect("")
	a.roundTrip(M{"a": "op", "c": "t", "d": "h", "v": nil, "seq": 1, "create": M{"type": "text-unicode", "data": ""}})
	for i := 1; i <= 10; i++ {
		a.roundTrip(M{"a": "op", "c": "t", "d": "h", "v": i, "seq": i + 1, "op": insertAt(i-1, string(rune('a'+i-1)))})
	}
	for v := 0; v <= 11; v++ {
		r := a.roundTrip(M{"a": "nf", "id": v + 1, "c": "t", "d": "h", "v": v})
		want := ""
		if v > 0 {
			want = "abcdefghij"[:v-1]
		}
		if v > 0 && r["data"] != want {
			t.Fatalf("nf v=%d: %v, want %q", v, r, want)
		}
		if v >= 4 && v < 11 {
			if from := store.lastFrom.Load(); from != int64(v/4*4) {
				t.Errorf("nf v=%d replayed from %d, want the milestone at %d", v, from, v/4*4)
			}
		}
	}
}

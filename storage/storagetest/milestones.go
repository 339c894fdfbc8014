package storagetest

import (
	"context"
	"testing"

	"github.com/tandemhq/tandem/storage"
)

// testMilestones runs when the store implements storage.Milestones.
func testMilestones(t *testing.T, s storage.Store) {
	ms, ok := s.(storage.Milestones)
	if !ok {
		t.Skip("the store keeps no milestones")
	}
	ctx := context.Background()
	_, _ = seed(t, s, "m", "doc", 7)
	_, _ = seed(t, s, "m", "doc2", 3) // a neighbour whose milestones must not mix in
	created := &storage.OpID{Src: "seed", Seq: 1, V: 0}
	for _, v := range []int64{2, 4, 6} {
		if err := ms.SaveMilestone(ctx, "m", "doc", snapAt(v, created)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ms.SaveMilestone(ctx, "m", "doc2", snapAt(3, created)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v    int64
		want int64 // 0 = none
	}{{0, 0}, {1, 0}, {2, 2}, {3, 2}, {5, 4}, {6, 6}, {100, 6}} {
		got, ok, err := ms.Milestone(ctx, "m", "doc", tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if (tc.want == 0) != !ok || (ok && got.V != tc.want) {
			t.Errorf("Milestone(%d) = v%d ok=%v, want v%d", tc.v, got.V, ok, tc.want)
		}
		if ok && !jsonEqual(got.Data, snapAt(tc.want, created).Data) {
			t.Errorf("Milestone(%d) data %s", tc.v, got.Data)
		}
	}
	// snapAt(v) has MTime ts(v-1).
	for _, tc := range []struct {
		at   int64
		want int64
	}{{ts(0), 0}, {ts(1), 2}, {ts(4), 4}, {ts(99), 6}} {
		got, ok, err := ms.MilestoneAtTime(ctx, "m", "doc", tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if (tc.want == 0) != !ok || (ok && got.V != tc.want) {
			t.Errorf("MilestoneAtTime(%d) = v%d ok=%v, want v%d", tc.at, got.V, ok, tc.want)
		}
	}
	if _, ok, err := ms.Milestone(ctx, "m", "never", 10); ok || err != nil {
		t.Errorf("milestone of a missing document: ok=%v err=%v", ok, err)
	}
	if got, ok, _ := ms.Milestone(ctx, "m", "doc2", 10); !ok || got.V != 3 {
		t.Errorf("neighbour's milestone: v%d ok=%v", got.V, ok)
	}
}

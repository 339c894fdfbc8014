package storage

import (
	"context"
	"sort"
)

var _ Milestones = (*Memory)(nil)

// SaveMilestone implements Milestones.
func (m *Memory) SaveMilestone(ctx context.Context, collection, id string, snap Snapshot) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	d := m.docLocked(collection, id)
	if d == nil {
		return nil // milestones only for documents that have commits
	}
	i := sort.Search(len(d.milestones), func(i int) bool { return d.milestones[i].V >= snap.V })
	cp := copySnapshot(snap)
	if i < len(d.milestones) && d.milestones[i].V == snap.V {
		d.milestones[i] = cp
		return nil
	}
	d.milestones = append(d.milestones, Snapshot{})
	copy(d.milestones[i+1:], d.milestones[i:])
	d.milestones[i] = cp
	return nil
}

// Milestone implements Milestones.
func (m *Memory) Milestone(ctx context.Context, collection, id string, v int64) (Snapshot, bool, error) {
	return m.findMilestone(ctx, collection, id, func(s Snapshot) bool { return s.V <= v })
}

// MilestoneAtTime implements Milestones.
func (m *Memory) MilestoneAtTime(ctx context.Context, collection, id string, ts int64) (Snapshot, bool, error) {
	return m.findMilestone(ctx, collection, id, func(s Snapshot) bool { return s.Meta.MTime <= ts })
}

// findMilestone returns the newest milestone satisfying ok (which holds
// for a prefix of them, in version order).
func (m *Memory) findMilestone(ctx context.Context, collection, id string, ok func(Snapshot) bool) (Snapshot, bool, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Snapshot{}, false, ErrClosed
	}
	d := m.docLocked(collection, id)
	if d == nil {
		return Snapshot{}, false, nil
	}
	for i := len(d.milestones) - 1; i >= 0; i-- {
		if ok(d.milestones[i]) {
			return copySnapshot(d.milestones[i]), true, nil
		}
	}
	return Snapshot{}, false, nil
}

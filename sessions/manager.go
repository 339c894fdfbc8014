package sessions

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/storage"
)

// Config configures a Manager. Zero values mean the documented defaults.
type Config struct {
	Store  storage.Store
	Broker pubsub.Broker
	Types  *ot.Registry
	Logger *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics
	// IdleTimeout is how long a document with no subscribers and no
	// requests stays open, so quick re-opens hit a warm cache. Zero means
	// 30s.
	IdleTimeout time.Duration
	// OpWindow is how many recent ops a session keeps in memory for
	// transforming late submissions and catching clients up; older ones are
	// read from the store. Zero means 4096.
	OpWindow int
	// MaxBatch caps the submissions committed in one store call. Zero
	// means 128.
	MaxBatch int
	// MaxDocBytes caps a document's encoded size. Zero means 16 MiB.
	MaxDocBytes int
	// CommitRetryFor is how long a commit failing with a store error is
	// retried before the submitters are disconnected (their ops stay
	// pending at the client, which resends them on reconnect). Zero means
	// 10s.
	CommitRetryFor time.Duration
	// PresenceTTL is how long a remote editor's presence is trusted
	// without a refresh from its instance. Zero means 30s.
	PresenceTTL time.Duration
	// MilestoneInterval saves a milestone snapshot each time a document's
	// version passes a multiple of it (when the store keeps milestones),
	// so history reads replay from the nearest one instead of version 0.
	// Zero means 500; negative turns milestones off.
	MilestoneInterval int64
	// Shared says other instances commit to the same store. Then a fetch
	// or subscribe reads the stored version first and catches up if the
	// pub/sub feed lags, so a client that was acknowledged on one instance
	// reads its own write on any other (as sharedb, which reads the
	// database on every fetch). Off for a lone instance: its cache is
	// always current.
	Shared bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.OpWindow == 0 {
		c.OpWindow = 4096
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 128
	}
	if c.MaxDocBytes == 0 {
		c.MaxDocBytes = 16 << 20
	}
	if c.CommitRetryFor == 0 {
		c.CommitRetryFor = 10 * time.Second
	}
	if c.PresenceTTL == 0 {
		c.PresenceTTL = 30 * time.Second
	}
	if c.PresenceTTL < 60*time.Millisecond {
		c.PresenceTTL = 60 * time.Millisecond
	}
	if c.MilestoneInterval == 0 {
		c.MilestoneInterval = 500
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Manager owns the document sessions of this instance.
type Manager struct {
	cfg    Config
	store  storage.Store
	broker pubsub.Broker
	types  *ot.Registry
	log    *slog.Logger
	met    *Metrics

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // session goroutines

	mu       sync.Mutex // guards sessions and closing
	sessions map[docKey]*session
	closing  bool

	presence *presenceHub
	agents   atomic.Int64
	// instance names this process in roster messages.
	instance string
	roster   *rosterCache
}

type docKey struct{ c, d string }

func (k docKey) String() string { return k.c + "/" + k.d }

// ErrClosed is returned by a Manager that is shutting down.
var ErrClosed = errors.New("sessions: manager closed")

// NewManager creates a Manager.
func NewManager(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if cfg.Store == nil || cfg.Broker == nil || cfg.Types == nil {
		return nil, errors.New("sessions: Store, Broker and Types are required")
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg: cfg, store: cfg.Store, broker: cfg.Broker, types: cfg.Types,
		log: cfg.Logger, met: cfg.Metrics,
		ctx: ctx, cancel: cancel,
		sessions: make(map[docKey]*session),
		instance: newClientID(),
	}
	m.presence = newPresenceHub(m)
	m.roster = newRosterCache(m)
	return m, nil
}

// send delivers r to the session of key, opening it if needed. It blocks
// while the session's mailbox is full (back-pressure on the caller's
// connection only).
func (m *Manager) send(key docKey, r *request) error {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return ErrClosed
	}
	s := m.sessions[key]
	if s == nil {
		s = newSession(m, key)
		m.sessions[key] = s
		m.met.OpenDocs.Inc()
		m.wg.Add(1)
		go s.run()
	}
	// pending is raised under m.mu so the session cannot retire between
	// lookup and send (see tryRetire).
	s.pending.Add(1)
	m.mu.Unlock()
	defer s.pending.Add(-1)
	select {
	case s.mailbox <- r:
		return nil
	case <-s.done:
		return ErrClosed
	}
}

// tryRetire removes s if nothing is queued for it. Called by s itself.
func (m *Manager) tryRetire(s *session) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.pending.Load() != 0 || len(s.mailbox) != 0 {
		return false
	}
	if m.sessions[s.key] == s {
		delete(m.sessions, s.key)
		m.met.OpenDocs.Dec()
	}
	return true
}

// OpenDocuments returns the number of open document sessions.
func (m *Manager) OpenDocuments() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Connections returns the number of live agents.
func (m *Manager) Connections() int64 { return m.agents.Load() }

// Close stops accepting requests, lets every session finish the commit it
// is doing, and waits for all sessions to exit or ctx to end.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	m.cancel()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) now() time.Time { return m.cfg.Now() }

// Roster timing. An instance announces its editors every rosterEvery; the
// others check every rosterTick and trust an announcement for rosterTrust.
// An instance that dies right after announcing is noticed at the latest
// rosterTrust+rosterTick later, which is exactly PresenceTTL.
func (m *Manager) rosterEvery() time.Duration { return m.cfg.PresenceTTL / 3 }
func (m *Manager) rosterTick() time.Duration  { return m.cfg.PresenceTTL / 6 }
func (m *Manager) rosterTrust() time.Duration {
	return m.cfg.PresenceTTL - m.rosterTick()
}

func (m *Manager) countError(code string) { m.met.Errors.WithLabelValues(code).Inc() }

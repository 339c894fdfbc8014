package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/tandemhq/tandem/storage"
)

// DefaultDatabase is the database used when neither Config.Database nor
// the URL names one.
const DefaultDatabase = "tandem"

// Config configures New.
type Config struct {
	// URL is a MongoDB connection string (mongodb:// or mongodb+srv://).
	// Required.
	URL string
	// Database is the database holding the collections. Zero value means
	// the database in URL's path, else DefaultDatabase.
	Database string
	// WriteConcern is the w of every write: "majority", a number of nodes
	// ("1", "2", ...) or the name of a custom write concern. Zero value
	// means "majority", which on a single node means that node. "0"
	// (unacknowledged) is refused: a commit must know whether it won.
	WriteConcern string
	// Journal adds j:true, acknowledging writes only once they are in the
	// on-disk journal. With "majority" on a replica set MongoDB journals by
	// default (writeConcernMajorityJournalDefault).
	Journal bool
	// ServerSelectionTimeout bounds how long an operation waits for a
	// usable server before failing with storage.ErrUnavailable. Zero value
	// means 10s (the driver's own default is 30s).
	ServerSelectionTimeout time.Duration
	// ClientOptions, if set, is applied after URL and the fields above, for
	// anything else the driver offers (TLS, credentials, pool sizes).
	ClientOptions *options.ClientOptions
}

// Store is a storage.Store on MongoDB in sharedb-mongo 6.0.0's schema (see
// the package documentation). It is safe for concurrent use; any number of
// Stores, in one process or many, may share a database.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	// closed is set once by Close; methods check it first.
	closed atomic.Bool

	mu      sync.Mutex      // guards indexed
	indexed map[string]bool // op collections whose indexes exist
}

var (
	_ storage.Store  = (*Store)(nil)
	_ storage.Lister = (*Store)(nil)
	_ storage.Pinger = (*Store)(nil)
)

// New connects to MongoDB and pings it. An unreachable server yields an
// error wrapping storage.ErrUnavailable once ctx expires or the server
// selection timeout passes.
func New(ctx context.Context, c Config) (*Store, error) {
	if c.URL == "" {
		return nil, errors.New("mongo: no URL")
	}
	cs, err := connstring.ParseAndValidate(c.URL)
	if err != nil {
		return nil, fmt.Errorf("mongo: URL: %w", err)
	}
	dbName := c.Database
	if dbName == "" {
		dbName = cs.Database
	}
	if dbName == "" {
		dbName = DefaultDatabase
	}
	wc, err := parseWriteConcern(c.WriteConcern, c.Journal)
	if err != nil {
		return nil, err
	}
	sst := c.ServerSelectionTimeout
	if sst == 0 {
		sst = 10 * time.Second
	}
	opts := []*options.ClientOptions{
		options.Client().ApplyURI(c.URL).SetWriteConcern(wc).SetServerSelectionTimeout(sst),
	}
	if c.ClientOptions != nil {
		opts = append(opts, c.ClientOptions)
	}
	client, err := mongo.Connect(opts...)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	s := &Store{client: client, db: client.Database(dbName), indexed: make(map[string]bool)}
	if err := client.Ping(ctx, readpref.Primary()); err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return nil, wrap(ctx, err, "ping %s", cs.Hosts)
	}
	return s, nil
}

// parseWriteConcern turns Config.WriteConcern into the driver's value.
func parseWriteConcern(w string, journal bool) (*writeconcern.WriteConcern, error) {
	wc := &writeconcern.WriteConcern{}
	switch n, err := strconv.Atoi(w); {
	case w == "" || w == "majority":
		wc.W = writeconcern.WCMajority
	case err == nil && n >= 1:
		wc.W = n
	case err == nil:
		return nil, fmt.Errorf("mongo: write concern %q: need at least 1 (a commit must be acknowledged)", w)
	default:
		wc.W = w
	}
	if journal {
		j := true
		wc.Journal = &j
	}
	return wc, nil
}

// Database returns the database name the store uses.
func (s *Store) Database() string { return s.db.Name() }

// check returns the error a method fails with before doing anything.
func (s *Store) check(ctx context.Context, collection string) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	if err := checkCollection(collection); err != nil {
		return err
	}
	return ctx.Err()
}

// opIndexes are sharedb-mongo's indexes on an op collection: {d:1, v:1}
// for reading a document's ops and {src:1, seq:1, v:1} for finding a
// submission.
var opIndexes = []bson.D{
	{{Key: "d", Value: 1}, {Key: "v", Value: 1}},
	{{Key: "src", Value: 1}, {Key: "seq", Value: 1}, {Key: "v", Value: 1}},
}

// ensureIndexes creates opIndexes on an op collection, once per collection
// per Store. Creating an existing index is a no-op, so Stores and Node
// servers may race to it. Each index is its own createIndexes command, as
// sharedb-mongo sends them (FerretDB 1.24 panics on one command naming two
// indexes that both exist).
func (s *Store) ensureIndexes(ctx context.Context, opsColl string) error {
	s.mu.Lock()
	done := s.indexed[opsColl]
	s.mu.Unlock()
	if done {
		return nil
	}
	for _, keys := range opIndexes {
		if _, err := s.db.Collection(opsColl).Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys}); err != nil {
			return wrap(ctx, err, "create indexes on %q", opsColl)
		}
	}
	s.mu.Lock()
	s.indexed[opsColl] = true
	s.mu.Unlock()
	return nil
}

// Ping implements storage.Pinger: a ping to the primary.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return wrap(ctx, s.client.Ping(ctx, readpref.Primary()), "ping")
}

// Close disconnects; calling it again returns nil. Every other method then
// returns storage.ErrClosed.
func (s *Store) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if err := s.client.Disconnect(ctx); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		return fmt.Errorf("mongo: close: %w", err)
	}
	return nil
}

// Server error codes that mean "not now, try again": the server or its
// primary is going away or cannot be reached.
var unavailableCodes = []int{
	6,     // HostUnreachable
	7,     // HostNotFound
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	189,   // PrimarySteppedDown
	262,   // ExceededTimeLimit
	9001,  // SocketException
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
	64,    // WriteConcernFailed (wtimeout)
}

// unavailable reports whether err means the server could not be reached or
// could not serve the request now.
func unavailable(err error) bool {
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.As(err, &topology.ServerSelectionError{}) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		if se.HasErrorLabel("RetryableWriteError") || se.HasErrorLabel("TransientTransactionError") {
			return true
		}
		for _, c := range unavailableCodes {
			if se.HasErrorCode(c) {
				return true
			}
		}
	}
	return false
}

// wrap passes nil and the storage sentinels through, maps a disconnected
// client to storage.ErrClosed and an unreachable server to an error
// wrapping storage.ErrUnavailable, and adds context to anything else. A
// cancelled ctx is reported as such, not as unavailability.
func wrap(ctx context.Context, err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrVersionConflict), errors.Is(err, storage.ErrMissingOps),
		errors.Is(err, storage.ErrClosed), errors.Is(err, ErrInvalidCollection):
		return err
	case errors.Is(err, mongo.ErrClientDisconnected):
		return storage.ErrClosed
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("mongo: "+format+": %w", append(args, err)...)
	case unavailable(err):
		return fmt.Errorf("%w: mongo: "+format+": %w", append([]any{storage.ErrUnavailable}, append(args, err)...)...)
	}
	return fmt.Errorf("mongo: "+format+": %w", append(args, err)...)
}

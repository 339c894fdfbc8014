package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/tandemhq/tandem/storage"
)

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero.
const DefaultTimeout = time.Second

// formatID is stored under metaBucket/formatKey; Open refuses files that
// hold anything else.
const formatID = "tandem-bolt-1"

var (
	metaBucket = []byte("meta")
	snapBucket = []byte("snapshots")
	opsBucket  = []byte("ops")
	formatKey  = []byte("format")
)

// ErrLocked is returned by Open when another process, or another open
// Store in this process, holds the file and did not let go within
// Options.Timeout.
var ErrLocked = errors.New("bolt: database file is locked by another process")

// Options configures Open.
type Options struct {
	// Timeout is how long Open waits for the exclusive file lock. Zero
	// value means DefaultTimeout; a negative value means fail at once.
	Timeout time.Duration
	// Mode is the permission of a newly created file. Zero value means 0600.
	Mode os.FileMode
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	return o
}

// Store is a storage.Store in one bbolt file. It is safe for concurrent
// use; writers are serialised by bbolt, readers run in parallel with them.
type Store struct {
	db   *bbolt.DB
	path string
	// closed is set once by Close. Methods check it first; a call that
	// races with Close gets bbolt's "database not open", also mapped to
	// storage.ErrClosed.
	closed atomic.Bool
}

var (
	_ storage.Store  = (*Store)(nil)
	_ storage.Lister = (*Store)(nil)
	_ storage.Pinger = (*Store)(nil)
)

// Open opens the store at path, creating the file if it does not exist.
// The file is locked for the life of the Store: a second Open of the same
// file waits at most opts.Timeout and then fails with ErrLocked.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	db, err := bbolt.Open(path, opts.Mode, &bbolt.Options{
		Timeout: opts.Timeout,
		NoSync:  false, // every committed transaction is fsynced
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, opts.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := db.Update(initBuckets); err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &Store{db: db, path: path}, nil
}

// initBuckets creates the buckets in a new file and checks the format of
// an existing one.
func initBuckets(tx *bbolt.Tx) error {
	if meta := tx.Bucket(metaBucket); meta != nil {
		if f := meta.Get(formatKey); string(f) != formatID {
			return fmt.Errorf("unsupported format %q, want %q", f, formatID)
		}
		if tx.Bucket(snapBucket) == nil || tx.Bucket(opsBucket) == nil {
			return fmt.Errorf("missing buckets")
		}
		return nil
	}
	if k, _ := tx.Cursor().First(); k != nil {
		return fmt.Errorf("not a tandem store (it holds other buckets)")
	}
	meta, err := tx.CreateBucket(metaBucket)
	if err != nil {
		return err
	}
	if err := meta.Put(formatKey, []byte(formatID)); err != nil {
		return err
	}
	if _, err := tx.CreateBucket(snapBucket); err != nil {
		return err
	}
	_, err = tx.CreateBucket(opsBucket)
	return err
}

// Path returns the file the store was opened with.
func (s *Store) Path() string { return s.path }

// check returns the error a method should fail with before doing work.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return ctx.Err()
}

// wrap maps bbolt's closed-database error to storage.ErrClosed, passes the
// storage sentinels through, and adds context to anything else.
func wrap(err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return storage.ErrClosed
	case errors.Is(err, storage.ErrVersionConflict), errors.Is(err, storage.ErrMissingOps):
		return err
	}
	return fmt.Errorf("bolt: "+format+": %w", append(args, err)...)
}

// Snapshot implements storage.Store.
func (s *Store) Snapshot(ctx context.Context, collection, id string) (storage.Snapshot, error) {
	if err := s.check(ctx); err != nil {
		return storage.Snapshot{}, err
	}
	var snap storage.Snapshot
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		snap, err = getSnapshot(tx.Bucket(snapBucket), snapKey(collection, id))
		return err
	})
	return snap, wrap(err, "snapshot %q/%q", collection, id)
}

// getSnapshot reads and decodes one snapshot; a missing key is the zero
// snapshot.
func getSnapshot(b *bbolt.Bucket, key []byte) (storage.Snapshot, error) {
	v := b.Get(key)
	if v == nil {
		return storage.Snapshot{}, nil
	}
	return decodeSnapshot(bytes.Clone(v))
}

// Snapshots implements storage.Store. All ids are read in one transaction,
// so the result is one consistent view.
func (s *Store) Snapshots(ctx context.Context, collection string, ids []string) ([]storage.Snapshot, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]storage.Snapshot, len(ids))
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(snapBucket)
		prefix := collPrefix(collection)
		key := make([]byte, 0, len(prefix)+64)
		for i, id := range ids {
			key = append(append(key[:0], prefix...), id...)
			snap, err := getSnapshot(b, key)
			if err != nil {
				return fmt.Errorf("%q: %w", id, err)
			}
			out[i] = snap
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "snapshots in %q", collection)
	}
	return out, nil
}

// currentVersion reads the stored version without decoding the snapshot.
func currentVersion(b *bbolt.Bucket, key []byte) (int64, error) {
	v := b.Get(key)
	if v == nil {
		return 0, nil
	}
	h, err := decodeSnapHead(v)
	return h.V, err
}

// Ops implements storage.Store. It is one cursor scan over the document's
// op keys, in the same transaction as the version it checks against.
func (s *Store) Ops(ctx context.Context, collection, id string, from, to int64) ([]storage.Op, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []storage.Op
	err := s.db.View(func(tx *bbolt.Tx) error {
		cur, err := currentVersion(tx.Bucket(snapBucket), snapKey(collection, id))
		if err != nil {
			return err
		}
		if from < 0 || from > cur {
			return storage.ErrMissingOps
		}
		if to < 0 {
			to = cur
		}
		if to > cur {
			return storage.ErrMissingOps
		}
		if to <= from {
			return nil
		}
		out = make([]storage.Op, 0, to-from)
		prefix := opPrefix(collection, id)
		c := tx.Bucket(opsBucket).Cursor()
		for k, v := c.Seek(opKey(prefix, from)); k != nil; k, v = c.Next() {
			if !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
				break
			}
			ver := int64(binary.BigEndian.Uint64(k[len(prefix):]))
			if want := from + int64(len(out)); ver != want {
				return fmt.Errorf("%w: found version %d, want %d", storage.ErrMissingOps, ver, want)
			}
			op, err := decodeOp(bytes.Clone(v), ver)
			if err != nil {
				return fmt.Errorf("op %d: %w", ver, err)
			}
			out = append(out, op)
			if ver+1 == to {
				return nil
			}
		}
		return fmt.Errorf("%w: log ends at version %d, want up to %d", storage.ErrMissingOps, from+int64(len(out)), to)
	})
	if err != nil {
		return nil, wrap(err, "ops %q/%q", collection, id)
	}
	return out, nil
}

// Commit implements storage.Store: one read-write transaction checks the
// stored version, appends the ops and replaces the snapshot. bbolt fsyncs
// the transaction before Update returns, so a nil error means durable.
func (s *Store) Commit(ctx context.Context, collection, id string, ops []storage.Op, snap storage.Snapshot) error {
	if err := storage.CheckCommit(ops, snap); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	// Encode outside the transaction: bbolt has one writer at a time.
	sk := snapKey(collection, id)
	sv := encodeSnapshot(snap)
	prefix := opPrefix(collection, id)
	if n := len(prefix) + 8; n > bbolt.MaxKeySize || len(sk) > bbolt.MaxKeySize {
		return fmt.Errorf("bolt: commit %q/%q: collection and id too long (%d bytes of key, at most %d)",
			truncate(collection), truncate(id), n, bbolt.MaxKeySize)
	}
	keys := make([][]byte, len(ops))
	vals := make([][]byte, len(ops))
	for i, op := range ops {
		keys[i] = opKey(prefix, op.V)
		vals[i] = encodeOp(op)
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		sb := tx.Bucket(snapBucket)
		cur, err := currentVersion(sb, sk)
		if err != nil {
			return err
		}
		if cur != ops[0].V {
			return storage.ErrVersionConflict
		}
		ob := tx.Bucket(opsBucket)
		for i := range keys {
			if err := ob.Put(keys[i], vals[i]); err != nil {
				return err
			}
		}
		return sb.Put(sk, sv)
	})
	return wrap(err, "commit %q/%q", collection, id)
}

// truncate shortens a name for an error message.
func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}

// List implements storage.Lister: a cursor scan over the collection's
// snapshot keys, which sort by id byte-wise. Deleted documents are skipped;
// limit <= 0 means no limit.
func (s *Store) List(ctx context.Context, collection, after string, limit int) ([]storage.DocInfo, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []storage.DocInfo
	err := s.db.View(func(tx *bbolt.Tx) error {
		prefix := collPrefix(collection)
		start := append(collPrefix(collection), after...)
		c := tx.Bucket(snapBucket).Cursor()
		k, v := c.Seek(start)
		if k != nil && bytes.Equal(k, start) {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			h, err := decodeSnapHead(v)
			if err != nil {
				return fmt.Errorf("%q: %w", k[len(prefix):], err)
			}
			if h.Type == "" {
				continue
			}
			out = append(out, storage.DocInfo{ID: string(k[len(prefix):]), V: h.V, Type: h.Type, MTime: h.MTime})
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "list %q", collection)
	}
	return out, nil
}

// Ping implements storage.Pinger: it opens and closes a read transaction.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return wrap(s.db.View(func(*bbolt.Tx) error { return nil }), "ping")
}

// Close waits for running transactions and closes the file. Calling it
// again returns nil; every other method then returns storage.ErrClosed.
func (s *Store) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", s.path, err)
	}
	return nil
}

// Command mongoserver is Tandem's MongoDB-wire test server: FerretDB
// v1.24.2 with its SQLite backend, embedded, behind a small wire-protocol
// proxy that serializes writes.
//
// No mongod can be installed on the machines Tandem is built and tested
// on, so storage/mongo's tests run against this program (or against the
// server named by TANDEM_TEST_MONGO_URL). It differs from MongoDB 7 in ways
// that matter to those tests, and it is arranged to give the guarantees
// Tandem's code relies on:
//
//   - FerretDB's update, delete and findAndModify find the matching
//     documents and then write them, with nothing atomic in between, so two
//     concurrent replaceOne({_id, _v: N}) could both succeed. The proxy in
//     front (proxy.go) holds one global lock from forwarding a write command
//     until its reply is back, so writes run one at a time, as the
//     compare-and-set of a commit needs.
//   - FerretDB refuses field names that start with '$' or contain '.', and
//     arrays directly inside arrays, all of which MongoDB 7 stores (JSON
//     documents hold them). scripts/mongo-test-server.sh builds this program
//     against a copy of FerretDB with _ferretdb-patch/ copied over it, which accepts
//     them (a top-level '$' key stays refused).
//   - FerretDB only uses the _id index; other queries scan the collection.
//
// Usage:
//
//	mongoserver --listen 127.0.0.1:PORT --data-dir DIR [--addr-file FILE]
//	mongoserver --ping 127.0.0.1:PORT
//
// It logs to stderr and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

type config struct {
	listen  string
	dataDir string
	// serialize turns the write lock on; only a test turns it off.
	serialize bool
}

func main() {
	var (
		c        = config{serialize: true}
		addrFile = flag.String("addr-file", "", "write the listening address here once the server answers")
		ping     = flag.String("ping", "", "ping the server at this address and exit (0: it answered)")
		level    = flag.String("log-level", "warn", "debug, info, warn or error")
	)
	flag.StringVar(&c.listen, "listen", "127.0.0.1:27017", "TCP address to listen on (port 0 picks a free one)")
	flag.StringVar(&c.dataDir, "data-dir", "", "directory of the SQLite files (required)")
	flag.Parse()

	var l slog.Level
	if err := l.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintln(os.Stderr, "mongoserver:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))

	if *ping != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := pingServer(ctx, "mongodb://"+*ping+"/"); err != nil {
			fmt.Fprintln(os.Stderr, "mongoserver: ping:", err)
			os.Exit(1)
		}
		return
	}
	if c.dataDir == "" {
		fmt.Fprintln(os.Stderr, "mongoserver: --data-dir is required")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, c, log, func(addr string) {
		log.Info("listening", "addr", addr, "data_dir", c.dataDir)
		if *addrFile == "" {
			return
		}
		// Written whole under another name, then renamed: a reader never
		// sees a partial address.
		tmp := *addrFile + ".tmp"
		err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644)
		if err == nil {
			err = os.Rename(tmp, *addrFile)
		}
		if err != nil {
			log.Error("write address file", "err", err)
		}
	})
	if err != nil {
		log.Error("mongoserver", "err", err)
		os.Exit(1)
	}
}

// run starts FerretDB on a Unix socket and the proxy on c.listen, calls
// ready with the proxy's address once FerretDB answers, and serves until
// ctx is done.
func run(ctx context.Context, c config, log *slog.Logger, ready func(addr string)) error {
	if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
		return err
	}
	dataDir, err := filepath.Abs(c.dataDir)
	if err != nil {
		return err
	}
	// FerretDB listens on a Unix socket in the data directory; one left by
	// a killed server is removed first. Socket paths are limited to about
	// 100 bytes: a deeper data directory gets a private temporary one.
	sock := filepath.Join(dataDir, "ferretdb.sock")
	if len(sock) > 100 {
		sockDir, err := os.MkdirTemp("", "tandem-mongoserver-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(sockDir)
		sock = filepath.Join(sockDir, "ferretdb.sock")
	}
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	defer os.Remove(sock)
	fdb, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: sock},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dataDir + "/",
		Logger:    log.With("component", "ferretdb"),
	})
	if err != nil {
		return err
	}
	fctx, stopFerret := context.WithCancel(context.WithoutCancel(ctx))
	ferretDone := make(chan error, 1)
	go func() { ferretDone <- fdb.Run(fctx) }()
	defer func() {
		stopFerret()
		<-ferretDone
	}()

	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
	if err := waitBackend(ctx, dial, ferretDone); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	p := newProxy(dial, log, c.serialize)
	serveErr := make(chan error, 1)
	go func() { serveErr <- p.serve(ctx, ln) }()
	if err := pingServer(ctx, "mongodb://"+ln.Addr().String()+"/"); err != nil {
		ln.Close()
		<-serveErr
		return fmt.Errorf("self-ping: %w", err)
	}
	ready(ln.Addr().String())
	return <-serveErr
}

// waitBackend waits until FerretDB accepts connections on its socket.
func waitBackend(ctx context.Context, dial func(context.Context) (net.Conn, error), ferretDone <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := dial(ctx)
		if err == nil {
			return conn.Close()
		}
		select {
		case err := <-ferretDone:
			return fmt.Errorf("ferretdb stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("ferretdb did not start listening within 30s")
		}
	}
}

// pingServer sends a ping through a fresh client.
func pingServer(ctx context.Context, uri string) error {
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(2*time.Second).SetConnectTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.WithoutCancel(ctx))
	return client.Ping(ctx, nil)
}

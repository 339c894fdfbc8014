package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"

	"github.com/tandemhq/tandem/frontend"
	"github.com/tandemhq/tandem/ot/builtin"
	"github.com/tandemhq/tandem/pubsub"
	pubsubredis "github.com/tandemhq/tandem/pubsub/redis"
	"github.com/tandemhq/tandem/server"
	"github.com/tandemhq/tandem/sessions"
	"github.com/tandemhq/tandem/storage"
	"github.com/tandemhq/tandem/storage/bolt"
	"github.com/tandemhq/tandem/storage/mongo"
)

type serveConfig struct {
	addr            string
	store           string
	dataDir         string
	mongoURL        string
	mongoDB         string
	mongoWC         string
	authSecret      string
	allowedOrigins  string
	logLevel        string
	logFormat       string
	maxMessageBytes int
	maxDocBytes     int
	sendQueueBytes  int
	opsPerSecond    float64
	msgsPerSecond   float64
	presencePerSec  float64
	maxSubs         int
	maxConnsPerIP   int
	milestoneEvery  int
	maxJSONDepth    int
	idleTimeout     time.Duration
	shutdownTimeout time.Duration
	redisURL        string
	redisPrefix     string
	pprofAddr       string
}

func parseServe(args []string) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f := &envFlags{fs: fs}
	f.String(&c.addr, "addr", "TANDEM_ADDR", ":8080", "listen address")
	f.String(&c.store, "store", "TANDEM_STORE", "bolt", "document store: bolt (embedded, persistent), memory (lost on exit), mongo (MongoDB in sharedb-mongo's schema, see --mongo-url)")
	f.String(&c.dataDir, "data-dir", "TANDEM_DATA_DIR", "./data", "directory of the bolt store")
	f.String(&c.mongoURL, "mongo-url", "TANDEM_MONGO_URL", "", "MongoDB connection string of the mongo store (mongodb://host:port/db)")
	f.String(&c.mongoDB, "mongo-db", "TANDEM_MONGO_DB", "", "database of the mongo store (default: the database in --mongo-url, else tandem)")
	f.String(&c.mongoWC, "mongo-write-concern", "TANDEM_MONGO_WRITE_CONCERN", "majority", "write concern of the mongo store's commits: majority, a number of nodes, or a custom write concern name")
	f.String(&c.authSecret, "auth-secret", "TANDEM_AUTH_SECRET", "", "HS256 secret for JWT access control; empty runs open (anyone may edit)")
	f.String(&c.allowedOrigins, "allowed-origins", "TANDEM_ALLOWED_ORIGINS", "", "comma-separated extra Origins allowed to open WebSockets (the server's own host always is; * allows any)")
	f.String(&c.logLevel, "log-level", "TANDEM_LOG_LEVEL", "info", "debug, info, warn or error")
	f.String(&c.logFormat, "log-format", "TANDEM_LOG_FORMAT", "text", "text or json")
	f.Int(&c.maxMessageBytes, "max-message-bytes", "TANDEM_MAX_MESSAGE_BYTES", 1<<20, "largest client message")
	f.Int(&c.maxDocBytes, "max-doc-bytes", "TANDEM_MAX_DOC_BYTES", 16<<20, "largest document (encoded)")
	f.Int(&c.sendQueueBytes, "send-queue-bytes", "TANDEM_SEND_QUEUE_BYTES", 16<<20, "bytes queued for one client before it is dropped as slow")
	f.Float(&c.opsPerSecond, "ops-per-second", "TANDEM_OPS_PER_SECOND", 500, "op submissions per second per connection (excess is delayed)")
	f.Float(&c.msgsPerSecond, "messages-per-second", "TANDEM_MESSAGES_PER_SECOND", 1000, "messages per second per connection (excess is delayed)")
	f.Float(&c.presencePerSec, "presence-per-second", "TANDEM_PRESENCE_PER_SECOND", 50, "presence updates per second per connection (excess is refused)")
	f.Int(&c.maxSubs, "max-subscriptions", "TANDEM_MAX_SUBSCRIPTIONS", 5000, "documents one connection may subscribe to")
	f.Int(&c.milestoneEvery, "milestone-interval", "TANDEM_MILESTONE_INTERVAL", 500, "save a milestone snapshot every N versions of a document (history reads replay from the nearest); -1 turns them off")
	f.Int(&c.maxConnsPerIP, "max-connections-per-ip", "TANDEM_MAX_CONNECTIONS_PER_IP", 1000, "WebSockets and event streams open from one address; -1 for no limit")
	f.Int(&c.maxJSONDepth, "max-json-depth", "TANDEM_MAX_JSON_DEPTH", 100, "deepest nesting accepted in a client message")
	f.Duration(&c.idleTimeout, "doc-idle-timeout", "TANDEM_DOC_IDLE_TIMEOUT", 30*time.Second, "how long an unused document stays in memory")
	f.Duration(&c.shutdownTimeout, "shutdown-timeout", "TANDEM_SHUTDOWN_TIMEOUT", 10*time.Second, "how long SIGTERM waits for in-flight commits")
	f.String(&c.redisURL, "redis-url", "TANDEM_REDIS_URL", "", "Redis for pub/sub between instances (redis://[user:password@]host:port/db); empty uses the in-process broker (one instance)")
	f.String(&c.redisPrefix, "redis-prefix", "TANDEM_REDIS_PREFIX", "", "prefix of Redis channel names, as sharedb-redis-pubsub's prefix option (\"<prefix> <channel>\")")
	f.String(&c.pprofAddr, "pprof-addr", "TANDEM_PPROF_ADDR", "", "serve Go's pprof profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; empty: off")
	if f.err != nil {
		return c, f.err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

func openStore(c serveConfig) (storage.Store, error) {
	switch c.store {
	case "memory":
		return storage.NewMemory(), nil
	case "bolt":
		if err := os.MkdirAll(c.dataDir, 0o755); err != nil {
			return nil, err
		}
		return bolt.Open(filepath.Join(c.dataDir, "tandem.db"), bolt.Options{Timeout: 5 * time.Second})
	case "mongo":
		if c.mongoURL == "" {
			return nil, errors.New("--store mongo needs --mongo-url (or TANDEM_MONGO_URL)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return mongo.New(ctx, mongo.Config{URL: c.mongoURL, Database: c.mongoDB, WriteConcern: c.mongoWC})
	}
	return nil, fmt.Errorf("unknown store %q (want bolt, memory or mongo)", c.store)
}

// openBroker returns the Redis broker when a URL is set, else the
// in-process one, and a description for the log.
func openBroker(c serveConfig, log *slog.Logger) (pubsub.Broker, string, error) {
	if c.redisURL == "" {
		return pubsub.NewMemory(), "in-process", nil
	}
	// go-redis logs failed dials itself; send them through slog too.
	goredis.SetLogger(redisLog{log})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := pubsubredis.New(ctx, pubsubredis.Config{URL: c.redisURL, Prefix: c.redisPrefix, Logger: log})
	if err != nil {
		return nil, "", err
	}
	desc := "redis"
	if u, err := url.Parse(c.redisURL); err == nil {
		desc = "redis " + u.Redacted()
	}
	if c.redisPrefix != "" {
		desc += fmt.Sprintf(" (prefix %q)", c.redisPrefix)
	}
	return b, desc, nil
}

// redisLog adapts slog to go-redis's internal logger.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("go-redis: " + fmt.Sprintf(format, v...))
}

func runServe(args []string) error {
	c, err := parseServe(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := newLogger(c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	store, err := openStore(c)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close(context.Background())
	broker, pubsubDesc, err := openBroker(c, log)
	if err != nil {
		return fmt.Errorf("open pubsub: %w", err)
	}
	defer broker.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mgr, err := sessions.NewManager(sessions.Config{
		Store: store, Broker: broker, Types: builtin.Registry(), Logger: log,
		Metrics: sessions.NewMetrics(reg), IdleTimeout: c.idleTimeout, MaxDocBytes: c.maxDocBytes,
		// With Redis, other instances may commit to the same store.
		Shared:            c.redisURL != "",
		MilestoneInterval: int64(c.milestoneEvery),
	})
	if err != nil {
		return err
	}
	var origins []string
	for _, o := range strings.Split(c.allowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	srv, err := server.New(server.Config{
		Manager: mgr, Store: store, Logger: log, Registry: reg,
		AuthSecret: []byte(c.authSecret), AllowedOrigins: origins,
		Frontend:        frontend.Files(),
		MaxMessageBytes: int64(c.maxMessageBytes), SendQueueBytes: int64(c.sendQueueBytes),
		Agent: sessions.AgentConfig{
			MaxSubscriptions: c.maxSubs, MessagesPerSecond: c.msgsPerSecond,
			OpsPerSecond: c.opsPerSecond, PresencePerSecond: c.presencePerSec,
			MaxJSONDepth: c.maxJSONDepth,
		},
		MaxConnsPerIP: c.maxConnsPerIP,
	})
	if err != nil {
		return err
	}
	if c.pprofAddr != "" {
		pln, err := listenPprof(c.pprofAddr)
		if err != nil {
			return err
		}
		defer pln.Close()
		log.Info("pprof serving", "addr", pln.Addr().String())
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	authMode := "on (JWT HS256)"
	if c.authSecret == "" {
		authMode = "OFF: anyone who can reach this port may read and edit every document"
	}
	log.Info("tandem serving", "addr", ln.Addr().String(), "store", c.store, "data_dir", c.dataDir, "pubsub", pubsubDesc, "auth", authMode)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight commits, closing connections")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// listenPprof serves net/http/pprof's handlers on addr, which must be a
// loopback address: profiles show the process's internals.
func listenPprof(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--pprof-addr %q: want a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	return ln, nil
}

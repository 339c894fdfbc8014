package server

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/tandemhq/tandem/sessions"
	"github.com/tandemhq/tandem/storage"
)

// Config configures the server. Zero values mean the documented defaults.
type Config struct {
	Manager *sessions.Manager
	// Store is used for readiness (if it implements storage.Pinger).
	Store  storage.Store
	Logger *slog.Logger
	// Registry receives the server's metrics and is served at /metrics;
	// nil means a new registry.
	Registry *prometheus.Registry
	// AuthSecret turns on JWT access control (HS256) when non-empty.
	AuthSecret []byte
	// AllowedOrigins lists the Origins allowed to open WebSockets besides
	// the server's own host; "*" allows any. Requests without an Origin
	// header (non-browser clients) are allowed.
	AllowedOrigins []string
	// MaxMessageBytes caps one client message. Zero means 1 MiB.
	MaxMessageBytes int64
	// SendQueueBytes caps what may wait to be written to one client before
	// it is disconnected as slow. Zero means 16 MiB.
	SendQueueBytes int64
	// PingInterval is how often WebSockets are pinged; a peer silent for
	// 2.5 intervals is dropped. Zero means 20s.
	PingInterval time.Duration
	// Agent holds per-connection limits.
	Agent sessions.AgentConfig
	// Frontend is the browser app served at /; nil serves none.
	Frontend fs.FS
	// SSEHeartbeat is the interval of comment lines on event streams.
	// Zero means 5s.
	SSEHeartbeat time.Duration
	// MaxConnsPerIP caps WebSockets and event streams open from one
	// client address. Zero means 1000; negative means no limit.
	MaxConnsPerIP int
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.SendQueueBytes == 0 {
		c.SendQueueBytes = 16 << 20
	}
	if c.PingInterval == 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.SSEHeartbeat == 0 {
		c.SSEHeartbeat = 5 * time.Second
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = 1000
	}
	return c
}

// Server is Tandem's HTTP server.
type Server struct {
	cfg      Config
	app      *fiber.App
	log      *slog.Logger
	upgrader *websocket.Upgrader
	stopping atomic.Bool
	stopPing chan struct{}
	stopOnce sync.Once
	met      serverMetrics

	mu        sync.Mutex // guards conns, httpConns and perIP
	conns     map[*wsConn]struct{}
	httpConns map[string]*httpConn // HTTP fallback connections by id
	perIP     map[string]int
	wg        sync.WaitGroup // connection goroutines
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.Manager == nil {
		return nil, errors.New("server: Manager is required")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: make(map[*wsConn]struct{}), httpConns: make(map[string]*httpConn), perIP: make(map[string]int)}
	s.met = newServerMetrics(cfg.Registry)
	s.stopPing = make(chan struct{})
	s.upgrader = &websocket.Upgrader{
		// Small buffers and a pooled write buffer: an idle editor should
		// cost a few kilobytes. Larger messages still pass (gorilla
		// reassembles them).
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     s.checkOrigin,
	}
	s.app = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// Strings from requests (names, ids, queries) outlive requests:
		// they become document keys and editor names. Fiber's default
		// zero-copy strings point into buffers fasthttp reuses.
		Immutable:    true,
		WriteTimeout: 0, // streams and hijacked sockets must not be cut
		ReadTimeout:  30 * time.Second,
		IdleTimeout:  2 * time.Minute,
		BodyLimit:    int(cfg.MaxMessageBytes),
		ErrorHandler: s.errorHandler,
	})
	// Close() on a hijacked connection must really close it (see
	// docs: with the default, a blocked read outlives Close by seconds).
	s.app.Server().KeepHijackedConns = true
	s.routes()
	go s.pingAll()
	return s, nil
}

func (s *Server) routes() {
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	s.app.Get("/readyz", s.readyz)
	metrics := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	s.app.Get("/metrics", func(c *fiber.Ctx) error { metrics(c.Context()); return nil })
	s.app.Get("/ws", gorillaHandler(s.upgrader, s.authorize, s.serveWS))
	s.apiRoutes()
	s.fallbackRoutes()
	if s.cfg.Frontend != nil {
		s.app.Get("/*", s.serveFrontend(s.cfg.Frontend))
	}
}

// errorHandler answers errors as JSON {code, message}.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	var ae *apiErr
	if errors.As(err, &ae) {
		return c.Status(ae.status).JSON(fiber.Map{"error": fiber.Map{"code": ae.code, "message": ae.msg}})
	}
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code = fe.Code
	}
	return c.Status(code).JSON(fiber.Map{"error": fiber.Map{"code": httpCode(code), "message": err.Error()}})
}

func httpCode(status int) string {
	switch status {
	case fiber.StatusUnauthorized:
		return "ERR_UNAUTHORIZED"
	case fiber.StatusForbidden:
		return "ERR_FORBIDDEN"
	case fiber.StatusNotFound:
		return "ERR_NOT_FOUND"
	case fiber.StatusBadRequest:
		return "ERR_BAD_REQUEST"
	case fiber.StatusUpgradeRequired:
		return "ERR_UPGRADE_REQUIRED"
	case fiber.StatusServiceUnavailable:
		return "ERR_UNAVAILABLE"
	}
	return "ERR_INTERNAL"
}

func (s *Server) readyz(c *fiber.Ctx) error {
	if s.stopping.Load() {
		return c.Status(fiber.StatusServiceUnavailable).SendString("shutting down\n")
	}
	if p, ok := s.cfg.Store.(storage.Pinger); ok {
		ctx, cancel := context.WithTimeout(c.Context(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).SendString("store unreachable: " + err.Error() + "\n")
		}
	}
	return c.SendString("ready\n")
}

// checkOrigin allows same-host origins, the configured allow-list, and
// requests without Origin (non-browser clients). This stops other sites'
// pages from opening WebSockets with a user's cookies.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if slices.Contains(s.cfg.AllowedOrigins, "*") || slices.Contains(s.cfg.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// acquireIP counts a long-lived connection from ip; false when the
// address already holds MaxConnsPerIP. Call releaseIP when it ends.
func (s *Server) acquireIP(ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.MaxConnsPerIP > 0 && s.perIP[ip] >= s.cfg.MaxConnsPerIP {
		return false
	}
	s.perIP[ip]++
	return true
}

func (s *Server) releaseIP(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

func tooManyConns(ip string) error {
	return apiError(fiber.StatusTooManyRequests, "ERR_TOO_MANY_CONNECTIONS", "too many connections from "+ip)
}

// wsState is what the Fiber handler learned about a WebSocket request.
type wsState struct {
	claims *Claims
	user   sessions.User
	remote string
}

// authorize checks the token (when auth is on) before the upgrade, so a
// refused client gets a plain HTTP 401.
func (s *Server) authorize(c *fiber.Ctx) (any, error) {
	st := &wsState{remote: c.IP()}
	if err := s.authorizeToken(c, st); err != nil {
		return nil, err
	}
	if !s.acquireIP(st.remote) {
		return nil, tooManyConns(st.remote)
	}
	return st, nil
}

func (s *Server) authorizeToken(c *fiber.Ctx, st *wsState) error {
	if len(s.cfg.AuthSecret) == 0 {
		// Open mode: editors name themselves for presence lists.
		st.user = sessions.User{Name: truncate(c.Query("name"), 64), Color: truncate(c.Query("color"), 32)}
		return nil
	}
	if s.stopping.Load() {
		return fiber.NewError(fiber.StatusServiceUnavailable, "server shutting down")
	}
	token := c.Query("token")
	if token == "" {
		token = c.Cookies("tandem_token")
	}
	claims, err := verifyToken(s.cfg.AuthSecret, token)
	if err != nil {
		return fiber.NewError(fiber.StatusUnauthorized, err.Error())
	}
	st.claims = claims
	return nil
}

func (s *Server) serveWS(ws *websocket.Conn, bc *batchConn, state any) {
	st := state.(*wsState)
	defer s.releaseIP(st.remote)
	if ws == nil {
		return // the handshake failed after prepare
	}
	conn := newWSConn(ws, bc, s.cfg.SendQueueBytes)
	if !s.track(conn) {
		conn.Close("server shutting down")
		<-conn.finished
		return
	}
	defer s.untrack(conn)
	cfg := s.cfg.Agent
	cfg.RemoteAddr = st.remote
	cfg.User = st.user
	if st.claims != nil {
		cfg.Access = st.claims
		cfg.User = st.claims.User()
		if exp := st.claims.Expiry(); !exp.IsZero() {
			t := time.AfterFunc(time.Until(exp), func() { conn.Close("token expired") })
			defer t.Stop()
		}
	}
	agent := s.cfg.Manager.NewAgent(conn, cfg)
	agent.Start()
	conn.readLoop(agent, s.cfg.MaxMessageBytes, s.cfg.PingInterval)
	agent.Close()
	select {
	case <-conn.finished:
	case <-time.After(3 * time.Second):
	}
	s.log.Debug("connection closed", "remote", st.remote, "reason", conn.closeReason())
}

// pingAll pings every WebSocket each PingInterval: one goroutine for all
// connections instead of a timer each.
func (s *Server) pingAll() {
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	var conns []*wsConn
	for {
		select {
		case <-s.stopPing:
			return
		case <-t.C:
		}
		s.mu.Lock()
		conns = conns[:0]
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.ping()
		}
	}
}

func (s *Server) track(c *wsConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *wsConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.app.Listener(ln)
}

// Shutdown stops accepting connections, lets document sessions finish the
// commits they are doing (acks still reach their clients), then closes
// every WebSocket with 1012 (service restart) so clients reconnect
// elsewhere.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping.Store(true)
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stopPing) })
	errApp := s.app.ShutdownWithContext(ctx)
	errMgr := s.cfg.Manager.Close(ctx)
	s.mu.Lock()
	for c := range s.conns {
		c.Close("server shutting down")
	}
	for _, c := range s.httpConns {
		c.Close("server shutting down")
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return errors.Join(errApp, errMgr)
}

// App exposes the Fiber app so later features can add routes.
func (s *Server) App() *fiber.App { return s.app }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// serverMetrics are the collectors of the HTTP edge.
type serverMetrics struct {
	viewers prometheus.Gauge
}

func newServerMetrics(reg *prometheus.Registry) serverMetrics {
	m := serverMetrics{
		viewers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_sse_viewers", Help: "Open Server-Sent Events streams."}),
	}
	reg.MustRegister(m.viewers)
	return m
}

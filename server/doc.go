// Package server is Tandem's HTTP edge: one Fiber v2 app on one port
// serving the ShareDB protocol over WebSockets at /ws (gorilla/websocket
// behind a small hijack shim), health and readiness probes, Prometheus
// metrics and, when enabled, JWT access control. It holds no document
// state: every message goes to a sessions.Agent.
//
// Each WebSocket has one reader (the hijacked connection's goroutine, which
// feeds the agent) and one writer goroutine draining a bounded queue. A
// client whose queue fills up is disconnected as slow; nobody else waits for
// it. Hijacked connections are outside fasthttp's bookkeeping, so the server
// keeps its own registry and closes them on Shutdown.
package server

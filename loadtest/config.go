package loadtest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/ot/richtext"
	"github.com/tandemhq/tandem/ot/textunicode"
)

// Config describes one load run. Zero values mean the documented defaults.
type Config struct {
	// URLs are server base URLs such as http://127.0.0.1:8080 (https is
	// fine too). The WebSocket endpoint (ws://…/ws) and the read API are
	// derived from them. Editors and viewers are spread over them round
	// robin, so that every document has editors on several instances.
	// At least one is required; the first one also serves the setup and
	// the final checks (all instances must share one store).
	URLs []string
	// Editors is the number of simulated editors (WebSocket clients).
	Editors int
	// Viewers is the number of simulated read-only viewers (SSE clients,
	// or subscribed WebSocket clients with ViewerTransport "ws").
	Viewers int
	// ViewerTransport is how viewers follow their document: "sse" (the
	// document's event stream, GET …/events) or "ws" (a WebSocket that
	// subscribes with the ShareDB protocol and never writes, for servers
	// without Server-Sent Events such as ShareDB). Zero means "sse".
	ViewerTransport string
	// Docs is the number of documents; editors and viewers are spread over
	// them round robin. Zero means 1.
	Docs int
	// Rate is the average number of edits per second per editor, typed in
	// bursts with pauses. Zero means an editor types its next edit as soon
	// as the previous one is acknowledged.
	Rate float64
	// Duration is the length of the measured phase, which starts when the
	// ramp ends. Zero means 30s.
	Duration time.Duration
	// Ramp spreads the editors' and viewers' connecting over this long.
	// Zero connects them all at once (at most DialConcurrency at a time).
	// Editors start typing as soon as they have their document.
	Ramp time.Duration
	// Type is the OT type of the documents: "rich-text" or "text-unicode".
	// Zero means rich-text.
	Type string
	// Seed makes the run reproducible: document ids, editor PRNGs and the
	// assignment of editors to documents derive from it.
	Seed uint64
	// Token is a JWT for servers running with auth; it must grant the
	// editor role on the documents. Empty means the server runs open.
	Token string
	// Idle makes editors connect and subscribe but never type (to measure
	// memory per connection).
	Idle bool
	// Collection holds the documents. Zero means "load".
	Collection string
	// QuietTimeout bounds the quiet phase after the measured one, in which
	// editors stop typing and everyone catches up. Zero means 30s.
	QuietTimeout time.Duration
	// DialConcurrency caps connection attempts in progress at once. Zero
	// means 64.
	DialConcurrency int
}

func (c Config) withDefaults() Config {
	if c.Docs == 0 {
		c.Docs = 1
	}
	if c.Duration == 0 {
		c.Duration = 30 * time.Second
	}
	if c.Type == "" {
		c.Type = richtext.Name
	}
	if c.Collection == "" {
		c.Collection = "load"
	}
	if c.QuietTimeout == 0 {
		c.QuietTimeout = 30 * time.Second
	}
	if c.DialConcurrency == 0 {
		c.DialConcurrency = 64
	}
	if c.ViewerTransport == "" {
		c.ViewerTransport = ViewerSSE
	}
	return c
}

// Validate reports the first problem with the configuration.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.URLs) == 0 {
		return errors.New("loadtest: at least one server URL is required")
	}
	for _, u := range c.URLs {
		if _, err := parseBase(u); err != nil {
			return err
		}
	}
	switch {
	case c.Editors < 0 || c.Viewers < 0:
		return errors.New("loadtest: editors and viewers must not be negative")
	case c.Editors == 0 && c.Viewers == 0:
		return errors.New("loadtest: nothing to do: no editors and no viewers")
	case c.Docs < 0:
		return errors.New("loadtest: docs must be positive")
	case c.Rate < 0 || c.Rate > 1000:
		return errors.New("loadtest: rate must be between 0 and 1000 ops per second")
	case c.Duration < 0 || c.Ramp < 0 || c.QuietTimeout < 0:
		return errors.New("loadtest: durations must not be negative")
	case c.DialConcurrency < 0:
		return errors.New("loadtest: dial concurrency must be positive")
	case c.ViewerTransport != ViewerSSE && c.ViewerTransport != ViewerWS:
		return fmt.Errorf("loadtest: viewer transport %q: want %s or %s", c.ViewerTransport, ViewerSSE, ViewerWS)
	}
	if _, err := lookupType(c.Type); err != nil {
		return err
	}
	return nil
}

// Viewer transports (Config.ViewerTransport).
const (
	ViewerSSE = "sse"
	ViewerWS  = "ws"
)

func lookupType(name string) (ot.Type, error) {
	switch name {
	case richtext.Name, richtext.URI:
		return richtext.Type{}, nil
	case textunicode.Name, textunicode.URI:
		return textunicode.Type{}, nil
	}
	return nil, fmt.Errorf("loadtest: type %q is not supported (rich-text or text-unicode)", name)
}

// endpoint is one server instance's URLs.
type endpoint struct {
	base string // http(s)://host:port/prefix, no trailing slash
	ws   string // ws(s)://host:port/prefix/ws
}

func parseBase(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("loadtest: url %q: %w", raw, err)
	}
	var wsScheme string
	switch u.Scheme {
	case "http", "ws":
		u.Scheme, wsScheme = "http", "ws"
	case "https", "wss":
		u.Scheme, wsScheme = "https", "wss"
	default:
		return endpoint{}, fmt.Errorf("loadtest: url %q: want http://host:port", raw)
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("loadtest: url %q has no host", raw)
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/ws")
	base := u.String()
	u.Scheme = wsScheme
	u.Path += "/ws"
	return endpoint{base: base, ws: u.String()}, nil
}

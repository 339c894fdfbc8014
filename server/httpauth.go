package server

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/sessions"
)

// httpIdentity is who makes an HTTP API request.
type httpIdentity struct {
	claims *Claims // nil in open mode
}

func (id httpIdentity) role(c, d string) sessions.Role {
	if id.claims == nil {
		return sessions.RoleEditor
	}
	return id.claims.Role(c, d)
}

func (id httpIdentity) user() sessions.User {
	if id.claims == nil {
		return sessions.User{}
	}
	return id.claims.User()
}

// identify authenticates an API request: the token may come as ?token=
// (an EventSource cannot set headers), an Authorization: Bearer header, or
// the tandem_token cookie.
func (s *Server) identify(c *fiber.Ctx) (httpIdentity, error) {
	if len(s.cfg.AuthSecret) == 0 {
		return httpIdentity{}, nil
	}
	token := c.Query("token")
	if token == "" {
		if h := c.Get(fiber.HeaderAuthorization); strings.HasPrefix(h, "Bearer ") {
			token = strings.TrimPrefix(h, "Bearer ")
		}
	}
	if token == "" {
		token = c.Cookies("tandem_token")
	}
	claims, err := verifyToken(s.cfg.AuthSecret, token)
	if err != nil {
		return httpIdentity{}, apiError(fiber.StatusUnauthorized, "ERR_UNAUTHORIZED", err.Error())
	}
	return httpIdentity{claims: claims}, nil
}

// apiErr is an API error with its own code, rendered by errorHandler.
type apiErr struct {
	status int
	code   string
	msg    string
}

func (e *apiErr) Error() string { return e.msg }

func apiError(status int, code, msg string) error { return &apiErr{status, code, msg} }

// docParams reads and validates {collection} and {id} as the WebSocket
// protocol validates names.
func docParams(c *fiber.Ctx, withID bool) (coll, id string, err error) {
	coll, err = url.PathUnescape(c.Params("collection"))
	if err != nil || !protocol.ValidName(coll) {
		return "", "", apiError(fiber.StatusBadRequest, protocol.ErrMessageBadlyFormed, "Invalid collection")
	}
	if withID {
		id, err = url.PathUnescape(c.Params("id"))
		if err != nil || !protocol.ValidName(id) {
			return "", "", apiError(fiber.StatusBadRequest, protocol.ErrMessageBadlyFormed, "Invalid id")
		}
	}
	// Fiber's Immutable (see New) makes these copies, safe as long-lived
	// map keys.
	return coll, id, nil
}

// canRead checks the viewer role on a document (or, with id "", on the
// collection).
func canRead(ident httpIdentity, coll, id string) error {
	if ident.role(coll, id) < sessions.RoleViewer {
		return apiError(fiber.StatusForbidden, protocol.ErrForbidden, "no read access to "+coll+"/"+id)
	}
	return nil
}

// readable validates the {collection} (and {id}) of an API request,
// authenticates it and checks the viewer role.
func (s *Server) readable(c *fiber.Ctx, withID bool) (coll, id string, ident httpIdentity, err error) {
	if coll, id, err = docParams(c, withID); err != nil {
		return
	}
	if ident, err = s.identify(c); err != nil {
		return
	}
	err = canRead(ident, coll, id)
	return
}

// setEventStreamHeaders prepares an SSE response. The read watcher owns
// the socket's read side, so fasthttp must not read another request from
// it (Connection: close); EventSource reconnects anyway.
func setEventStreamHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Set(fiber.HeaderConnection, "close")
}

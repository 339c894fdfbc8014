package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tandemhq/tandem/sessions"
)

// Claims are the JWT claims Tandem reads (HS256). The effective role for
// collection c and document d is Docs[c][d], else Collections[c], else DefaultRole (claim "role");
// a role is "editor" or "viewer", anything else means no access.
//
//	{"sub":"u1","name":"Ann","color":"#e91e63","role":"viewer",
//	 "collections":{"notes":"editor"},"docs":{"notes":{"plan":"viewer"}},"exp":1767225600}
type Claims struct {
	jwt.RegisteredClaims
	Name        string                       `json:"name,omitempty"`
	Color       string                       `json:"color,omitempty"`
	DefaultRole string                       `json:"role,omitempty"`
	Collections map[string]string            `json:"collections,omitempty"`
	Docs        map[string]map[string]string `json:"docs,omitempty"`
}

// Role implements sessions.Access.
func (c *Claims) Role(collection, id string) sessions.Role {
	if byID, ok := c.Docs[collection]; ok {
		if r, ok := byID[id]; ok {
			return parseRole(r)
		}
	}
	if r, ok := c.Collections[collection]; ok {
		return parseRole(r)
	}
	return parseRole(c.DefaultRole)
}

func parseRole(s string) sessions.Role {
	switch s {
	case "editor":
		return sessions.RoleEditor
	case "viewer":
		return sessions.RoleViewer
	}
	return sessions.RoleNone
}

// User returns the presence identity of the token's holder.
func (c *Claims) User() sessions.User {
	return sessions.User{ID: c.Subject, Name: c.Name, Color: c.Color}
}

// Expiry returns when the token stops being valid (zero if never).
func (c *Claims) Expiry() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}

var errNoToken = errors.New("missing token")

// verifyToken checks signature (HS256 only), expiry and not-before.
func verifyToken(secret []byte, token string) (*Claims, error) {
	if token == "" {
		return nil, errNoToken
	}
	claims := &Claims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("invalid token: %w", err)
	}
	return claims, nil
}

package server

import (
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// serveFrontend serves the embedded browser app. Paths without a file
// (the app's own routes, like /d/{id}) get index.html, so deep links work.
func (s *Server) serveFrontend(files fs.FS) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := strings.TrimPrefix(path.Clean(c.Path()), "/")
		if strings.HasPrefix(p, "api/") {
			return fiber.NewError(fiber.StatusNotFound, "no such endpoint")
		}
		if p == "" {
			p = "index.html"
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			p = "index.html"
			if data, err = fs.ReadFile(files, p); err != nil {
				return c.Status(fiber.StatusNotFound).Type("txt").
					SendString("The browser app is not built. Run `make run` (it builds frontend/ first).\n")
			}
		}
		if ct := mime.TypeByExtension(path.Ext(p)); ct != "" {
			c.Set(fiber.HeaderContentType, ct)
		}
		if strings.HasPrefix(p, "assets/") {
			c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			c.Set(fiber.HeaderCacheControl, "no-cache")
		}
		return c.Send(data)
	}
}

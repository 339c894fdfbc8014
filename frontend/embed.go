// Package frontend embeds the browser app (built by Vite into dist/) so
// `tandem serve` serves it at /. Before the first build dist/ holds only a
// placeholder and the server answers / with a hint to run `make run`.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Files returns the built app rooted at dist/.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at compile time; cannot happen
	}
	return sub
}

// Package sample is cdnctl's sample site: a small static site (pages in
// folders, style sheets with @import, url() images and a web font, a
// script with its source map, srcset images, a favicon, a web app
// manifest, robots.txt) embedded in the binary. It is the fixture of the
// fingerprint tests and the site `cdnctl serve` and `cdnctl demo` serve
// when given none.
package sample

import (
	"embed"
	"io/fs"
)

//go:embed all:site
var site embed.FS

// Site returns the sample site, rooted at its top folder ("index.html",
// "css/main.css", …).
func Site() fs.FS {
	sub, err := fs.Sub(site, "site")
	if err != nil {
		panic(err) // "site" is embedded above; Sub cannot fail
	}
	return sub
}

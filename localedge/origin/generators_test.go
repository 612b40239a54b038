package origin

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratorBuilds serves the real builds of hashing/testdata/sites
// (Next.js, Astro, Starlight, SvelteKit, Eleventy, Hugo, VitePress, Vite;
// see hashing/testdata/generators/README.md) with the default policy:
// every HTML page is served at its URL or redirected once (308) to a URL
// that serves its bytes, every other file at its name, and a missing path
// gets the build's own 404.html when it has one.
func TestGeneratorBuilds(t *testing.T) {
	sites, err := filepath.Glob(filepath.Join("..", "..", "hashing", "testdata", "sites", "*"))
	if err != nil || len(sites) < 5 {
		t.Fatalf("generator builds: %v (%d)", err, len(sites))
	}
	for _, dir := range sites {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			srv := startOrigin(t, dir, Options{})
			pages, redirects := 0, 0
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				key := filepath.ToSlash(rel)
				if hidden(key) {
					return nil
				}
				want, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				r := do(t, "GET", srv.URL+"/"+escapePath(key), nil)
				hops := ""
				if r.status == 308 && strings.HasSuffix(key, ".html") {
					hops = " → " + r.header.Get("Location")
					redirects++
					r = do(t, "GET", srv.URL+r.header.Get("Location"), nil)
				}
				if r.status != 200 || r.body != string(want) {
					t.Errorf("GET /%s%s = %d (%d bytes); want 200 with the file's %d bytes", key, hops, r.status, len(r.body), len(want))
				}
				if strings.HasSuffix(key, ".html") {
					pages++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if pages == 0 || redirects == 0 {
				t.Errorf("%d pages, %d redirected; want some of each (/index.html is redirected to /)", pages, redirects)
			}
			r := do(t, "GET", srv.URL+"/no/such/page", nil)
			if page, err := os.ReadFile(filepath.Join(dir, "404.html")); err == nil {
				if r.status != 404 || r.body != string(page) {
					t.Errorf("missing page = %d; want 404 with the build's 404.html", r.status)
				}
			} else if r.status != 404 {
				t.Errorf("missing page = %d; want 404", r.status)
			}
		})
	}
}

// hidden reports whether a build file is one the origin does not serve:
// a dotfile or a rules file.
func hidden(key string) bool {
	return isRulesFile(key) || strings.HasPrefix(key, ".") || strings.Contains(key, "/.")
}

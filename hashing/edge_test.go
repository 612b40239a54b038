package hashing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/localedge/origin"
)

// TestModulesThroughEdge fingerprints a site of ES modules, serves the
// output through the local CDN (origin, shield, PoP) and loads it the way
// a browser does: the page, its scripts and import map, then every module
// they import, transitively. Every request must succeed, and every
// fingerprinted file must come back immutable.
func TestModulesThroughEdge(t *testing.T) {
	src := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for name, content := range hashing.ModuleSite() {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	out := filepath.Join(t.TempDir(), "out")
	res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{Options: hashing.Options{BaseURL: "https://" + edgetest.Host + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := origin.New(out, origin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	env := edgetest.Start(t, func(c *localedge.TopologyConfig) { c.Origin.Handler = o })

	base, _ := url.Parse("https://" + edgetest.Host + "/")
	seen := map[string]bool{}
	queue := []string{"/index.html"}
	get := func(p string) edgetest.Response {
		r := env.Get(t, "pop1", p)
		if r.Status != http.StatusOK {
			t.Errorf("GET %s through the edge: %d", p, r.Status)
		}
		return r
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		r := get(p)
		if r.Status != http.StatusOK {
			continue
		}
		doc := base.ResolveReference(&url.URL{Path: p})
		var found []string
		switch {
		case strings.HasSuffix(p, ".html"):
			found = pageURLs(t, r.Body, doc)
		case strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs"):
			found = hashing.ScriptURLs([]byte(r.Body), doc, false)
		}
		for _, u := range found {
			pu, err := url.Parse(u)
			if err != nil || pu.Host != edgetest.Host {
				continue
			}
			queue = append(queue, pu.Path)
		}
	}
	// Every file of the site was reached from the page, each by
	// the name it was written under.
	for logical, e := range res.Manifest.Files {
		if !seen["/"+e.Path] {
			t.Errorf("%s (%s) was not reached from the page", logical, e.Path)
		}
		if e.Fingerprinted {
			if cc := get("/" + e.Path).Header.Get("Cache-Control"); cc != hashing.ImmutableCacheControl {
				t.Errorf("%s: Cache-Control %q; want %q", e.Path, cc, hashing.ImmutableCacheControl)
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d URLs fetched: %v", len(seen), seen)
	}
}

// pageURLs returns the script URLs of a page: <script src>, the import
// map's values, and what its inline module scripts import.
func pageURLs(t *testing.T, body string, doc *url.URL) []string {
	var out []string
	z := xhtml.NewTokenizer(strings.NewReader(body))
	kind := ""
	for tt := z.Next(); tt != xhtml.ErrorToken; tt = z.Next() {
		tok := z.Token()
		switch tt {
		case xhtml.StartTagToken:
			kind = ""
			if tok.Data != "script" {
				continue
			}
			for _, a := range tok.Attr {
				switch a.Key {
				case "type":
					kind = a.Val
				case "src":
					if u, err := doc.Parse(a.Val); err == nil {
						out = append(out, u.String())
					}
				}
			}
		case xhtml.TextToken:
			switch kind {
			case "module":
				out = append(out, hashing.ScriptURLs([]byte(tok.Data), doc, true)...)
			case "importmap":
				var m struct{ Imports map[string]string }
				if err := json.Unmarshal([]byte(tok.Data), &m); err != nil {
					t.Errorf("import map: %v", err)
				}
				for _, v := range m.Imports {
					if u, err := doc.Parse(v); err == nil {
						out = append(out, u.String())
					}
				}
			}
		case xhtml.EndTagToken:
			kind = ""
		}
	}
	return out
}

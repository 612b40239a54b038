package siterules

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/cdnctl/cdnctl/httpfield"
)

// FuzzRules: any file parses or fails with an error, never a panic, and
// the rules of a file that parses match any request without one.
func FuzzRules(f *testing.F) {
	f.Add([]byte(siteRedirects), []byte(siteHeaders), "www.example.test", "/blog/a/b", "id=1")
	f.Add([]byte("/* /index.html 200\n"), []byte("/*\n  X: y\n"), "", "/", "")
	f.Add([]byte("https://:a.x/:b/* /:b/:splat 301!\n/q k=:v /:v\n"), []byte("https://:a.x/*.jpg\n  ! X\n  Y: :a :splat\n"), "h.x", "/p/q.jpg", "k=v")
	f.Fuzz(func(t *testing.T, redirects, headers []byte, host, path, query string) {
		q, _ := url.ParseQuery(query)
		if r, err := ParseRedirects(redirects); err == nil {
			if m, ok := r.Match(host, path, q); ok {
				m.Location(query)
				m.RewritePath()
			}
		}
		if h, err := ParseHeaders(headers); err == nil {
			hd := http.Header{}
			h.Apply(hd, host, path)
			for name, vs := range hd {
				for _, v := range vs {
					if !httpfield.ValidName(name) || !httpfield.ValidValue(v) {
						t.Fatalf("Apply set %q: %q, not a valid field", name, v)
					}
				}
			}
		}
	})
}

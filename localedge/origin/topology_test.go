package origin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
)

// TestThroughTopology runs the static-host rules behind a whole local CDN
// (edge → shield → origin) and checks what the caches do with them: a clean
// URL is cached as the page; redirects and 404 pages carry no freshness of
// their own, so RFC 9111's defaults apply (a 301 or a 404 may be stored
// but, without a lifetime, is never reused fresh; a 302 is not stored)
// unless a _headers rule gives them one.
func TestThroughTopology(t *testing.T) {
	dir := nextExport(t, map[string]string{
		"_redirects": `/perm      /about  301
/temp      /about  302
/perm-ttl  /about  301
/temp-ttl  /about  302
`,
		"_headers": `/*
  X-Frame-Options: DENY
/about
  Cache-Control: public, max-age=300
/perm-ttl
  Cache-Control: public, max-age=600
/temp-ttl
  Cache-Control: public, max-age=600
/cached-missing/*
  Cache-Control: public, max-age=60
`,
	})
	h, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	env := edgetest.Start(t, func(c *localedge.TopologyConfig) { c.Origin.Handler = h })
	env.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// twice requests a path twice through pop1 and returns both answers.
	twice := func(path string) (edgetest.Response, edgetest.Response) {
		return env.Get(t, "pop1", path), env.Get(t, "pop1", path)
	}
	checkPair := func(path string, status int, secondHit bool, check func(edgetest.Response)) {
		t.Helper()
		first, second := twice(path)
		for i, r := range []edgetest.Response{first, second} {
			if r.Status != status {
				t.Errorf("GET %s (#%d) = %d; want %d", path, i+1, r.Status, status)
			}
			if r.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("GET %s (#%d): X-Frame-Options %q; want the _headers rule's DENY", path, i+1, r.Header.Get("X-Frame-Options"))
			}
			if check != nil {
				check(r)
			}
		}
		if first.Header.Get("X-Cache") != "MISS" {
			t.Errorf("GET %s (#1): X-Cache %q; want MISS", path, first.Header.Get("X-Cache"))
		}
		t.Logf("GET %s: %d, then Cache-Status %q", path, second.Status, second.Header.Get("Cache-Status"))
		want := map[bool]string{true: "HIT", false: "MISS"}[secondHit]
		if got := second.Header.Get("X-Cache"); got != want {
			t.Errorf("GET %s (#2): X-Cache %q (Cache-Status %q); want %s", path, got, second.Header.Get("Cache-Status"), want)
		}
	}

	location := func(want string) func(edgetest.Response) {
		return func(r edgetest.Response) {
			if got := r.Header.Get("Location"); got != want {
				t.Errorf("Location %q; want %q", got, want)
			}
		}
	}
	body := func(want string) func(edgetest.Response) {
		return func(r edgetest.Response) {
			if r.Body != want {
				t.Errorf("body %q; want %q", r.Body, want)
			}
		}
	}

	// A clean URL: the page, cached as the _headers rule says.
	checkPair("/about", 200, true, body("<h1>about</h1>"))
	// Canonical redirects: 308 is heuristically cacheable but has no
	// Last-Modified to compute a lifetime from: never reused fresh.
	checkPair("/about.html", 308, false, location("/about"))
	// _redirects without freshness: the RFC 9111 defaults.
	checkPair("/perm", 301, false, location("/about"))
	checkPair("/temp", 302, false, location("/about"))
	// With a Cache-Control from _headers, both are cached.
	checkPair("/perm-ttl", 301, true, location("/about"))
	checkPair("/temp-ttl", 302, true, location("/about"))
	// The 404 page: no freshness (no Last-Modified either), so not reused;
	// where a rule gives one, cached with its status and body.
	checkPair("/missing", 404, false, body("<h1>not found</h1>"))
	checkPair("/cached-missing/x", 404, true, body("<h1>not found</h1>"))

	// What the caches say: a 301 or a 404 without freshness is stored
	// (both are cacheable by default) but stale at once; a 302 is not
	// storable without explicit freshness (RFC 9111 §3).
	for path, want := range map[string]string{
		"/perm":    "pop1; fwd=stale; fwd-status=301; stored",
		"/missing": "pop1; fwd=stale; fwd-status=404; stored",
		"/temp":    "pop1; fwd=uri-miss; fwd-status=302; detail=uncacheable-status",
	} {
		if cs := env.Get(t, "pop1", path).Header.Get("Cache-Status"); !strings.Contains(cs, want) {
			t.Errorf("GET %s: Cache-Status %q; want %q", path, cs, want)
		}
	}
}

package commands

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
)

// TestSecondLoadCacheStatus backs docs/localedge.md "A second page load":
// a real Hugo build, fingerprinted and served by cdnctl serve, requested
// twice as a fresh browser would. Only the immutable, fingerprinted files
// are hits the second time; the entry points and the files that keep
// their names (Cache-Control: max-age=0, must-revalidate) are kept by the
// edge and revalidated (fwd=stale; fwd-status=304, the body from the
// edge's cache), as CloudFront's RefreshHit and Cloudflare's REVALIDATED
// do; a query string is part of the cache key (Next.js's ?_rsc=).
func TestSecondLoadCacheStatus(t *testing.T) {
	out := filepath.Join(t.TempDir(), "site")
	res, err := hashing.FingerprintDir(context.Background(), filepath.Join("..", "hashing", "testdata", "sites", "hugo"), out, hashing.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	css := res.Manifest.Files["css/main.min.css"]
	logo := res.Manifest.Files["images/logo.png"]
	if !strings.Contains(css.CacheControl, "immutable") || !strings.Contains(logo.CacheControl, "max-age=0, must-revalidate") {
		t.Fatalf("fixture: css %q, pinned logo %q", css.CacheControl, logo.CacheControl)
	}
	info, stop := startServeCmd(t, "--json", "serve", "--origin", out, "--free-ports", "--no-dns", "--token", "tok", "--no-shield")
	defer stop()
	var edge, pop string
	for _, p := range info.PoPs {
		if p.Role == "edge" {
			edge, pop = p.URL, p.Name
			break
		}
	}
	get := func(path string, hdr http.Header) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", edge+path, nil)
		req.Host = "www.example.test"
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed, no browser cache
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Cache-Status"), resp.Header.Get("Cache-Control")
	}
	// second requests path again once the first one's fill is stored (a
	// request during it collapses onto it).
	second := func(path string, hdr http.Header) (int, string, string) {
		t.Helper()
		for i := 0; ; i++ {
			code, cs, cc := get(path, hdr)
			if !strings.Contains(cs, "collapsed") || i == 100 {
				return code, cs, cc
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, tt := range []struct {
		path string
		code int
		want string // the edge's Cache-Status on the second request
	}{
		{"/about/", 200, pop + "; fwd=stale; fwd-status=304; stored"},
		{"/" + logo.Path, 200, pop + "; fwd=stale; fwd-status=304; stored"},
		{"/" + css.Path, 200, pop + "; hit"},
		{"/no-such-file.txt", 404, pop + "; fwd=stale; fwd-status=404"},
	} {
		get(tt.path, nil)
		code, cs, cc := second(tt.path, nil)
		if code != tt.code || !strings.HasPrefix(cs, tt.want) {
			t.Errorf("second GET %s: %d, Cache-Status %q (Cache-Control %q); want %d and %q", tt.path, code, cs, cc, tt.code, tt.want)
		}
	}
	// Another query string is another object: a miss.
	rsc := http.Header{"Rsc": {"1"}, "Next-Router-Prefetch": {"1"}}
	get("/about/?_rsc=1a2b3", rsc)
	if _, cs, _ := second("/about/?_rsc=4c5d6", rsc); !strings.HasPrefix(cs, pop+"; fwd=uri-miss") {
		t.Errorf("another ?_rsc=: Cache-Status %q; want a miss", cs)
	}
}

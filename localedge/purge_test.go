package localedge

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// purgeFixture fills a proxy with a small site over two hosts.
func purgeFixture(t *testing.T) (*Proxy, string, *origin, *fakeClock) {
	t.Helper()
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("ETag", `"`+r.URL.Path+`"`)
		switch {
		case strings.HasPrefix(r.URL.Path, "/assets/"):
			w.Header().Set("Cache-Tag", "assets, css")
		case strings.HasPrefix(r.URL.Path, "/blog/"):
			w.Header().Set("Surrogate-Key", "blog post-"+strings.TrimPrefix(r.URL.Path, "/blog/"))
		}
		w.Header().Set("Vary", "Accept-Encoding")
		if r.Header.Get("If-None-Match") == `"`+r.URL.Path+`"` {
			w.WriteHeader(304)
			return
		}
		fmt.Fprintf(w, "%s %s", r.Host, r.URL.RequestURI())
	})
	for _, p := range []string{"/assets/a.css", "/assets/b.css", "/blog/1", "/blog/2", "/index.html"} {
		o.handle(p, o.routes["/"])
	}
	p, srv := newProxy(t, o.URL, clock, nil)
	return p, srv.URL, o, clock
}

func fill(t *testing.T, base string, host string, paths ...string) {
	t.Helper()
	for _, path := range paths {
		for _, enc := range []string{"gzip", "br"} {
			if r, _ := get(t, base+path, "Host", host, "Accept-Encoding", enc); r.StatusCode != 200 {
				t.Fatalf("fill %s%s: %d", host, path, r.StatusCode)
			}
		}
	}
}

func cached(t *testing.T, base, host, path string) bool {
	t.Helper()
	before := 0
	r, _ := get(t, base+path, "Host", host, "Accept-Encoding", "gzip", "Cache-Control", "only-if-cached")
	_ = before
	return r.StatusCode == 200 && xcache(r) == "HIT"
}

func TestPurgeTargets(t *testing.T) {
	paths := []string{"/assets/a.css", "/assets/b.css", "/blog/1", "/blog/2", "/index.html"}
	tests := []struct {
		name   string
		req    PurgeRequest
		gone   []string // host+path purged; everything else kept
		purged int
	}{
		{"url all variants", PurgeRequest{URLs: []string{"http://a.test/index.html"}}, []string{"a.test/index.html"}, 2},
		{"path on every host", PurgeRequest{URLs: []string{"/index.html"}}, []string{"a.test/index.html", "b.test/index.html"}, 4},
		{"query must match exactly", PurgeRequest{URLs: []string{"/index.html?x=1"}}, nil, 0},
		{"prefix path", PurgeRequest{Prefixes: []string{"/assets/"}}, []string{"a.test/assets/a.css", "a.test/assets/b.css", "b.test/assets/a.css", "b.test/assets/b.css"}, 8},
		{"prefix url", PurgeRequest{Prefixes: []string{"http://b.test/blog/"}}, []string{"b.test/blog/1", "b.test/blog/2"}, 4},
		{"tag Cache-Tag", PurgeRequest{Tags: []string{"css"}}, []string{"a.test/assets/a.css", "a.test/assets/b.css", "b.test/assets/a.css", "b.test/assets/b.css"}, 8},
		{"tag Surrogate-Key", PurgeRequest{Tags: []string{"post-2"}}, []string{"a.test/blog/2", "b.test/blog/2"}, 4},
		{"unknown tag", PurgeRequest{Tags: []string{"nope"}}, nil, 0},
		{"host", PurgeRequest{Hosts: []string{"B.TEST"}}, []string{"b.test/assets/a.css", "b.test/assets/b.css", "b.test/blog/1", "b.test/blog/2", "b.test/index.html"}, 10},
		{"combined", PurgeRequest{URLs: []string{"http://a.test/blog/1"}, Tags: []string{"post-2"}}, []string{"a.test/blog/1", "a.test/blog/2", "b.test/blog/2"}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, base, _, _ := purgeFixture(t)
			fill(t, base, "a.test", paths...)
			fill(t, base, "b.test", paths...)
			n, err := p.Purge(t.Context(), tt.req)
			if err != nil || n != tt.purged {
				t.Fatalf("Purge(%+v) = %d, %v; want %d", tt.req, n, err, tt.purged)
			}
			for _, host := range []string{"a.test", "b.test"} {
				for _, path := range paths {
					want := true
					for _, g := range tt.gone {
						if g == host+path {
							want = false
						}
					}
					if got := cached(t, base, host, path); got != want {
						t.Errorf("%s%s cached = %v; want %v", host, path, got, want)
					}
				}
			}
		})
	}
	t.Run("all", func(t *testing.T) {
		p, base, _, _ := purgeFixture(t)
		fill(t, base, "a.test", paths...)
		n, err := p.Purge(t.Context(), PurgeRequest{All: true})
		if err != nil || n != 10 || p.Stats().Entries != 0 {
			t.Errorf("purge all = %d, %v, %d entries left; want 10 purged, none left", n, err, p.Stats().Entries)
		}
	})
}

func TestPurgeBadRequests(t *testing.T) {
	p := &Proxy{Upstream: mustURL("http://127.0.0.1:1")}
	defer p.Close()
	tests := []struct {
		req   PurgeRequest
		field string
	}{
		{PurgeRequest{}, ""},
		{PurgeRequest{URLs: []string{"index.html"}}, "urls[0]"},
		{PurgeRequest{URLs: []string{"/ok", "ftp://x/y"}}, "urls[1]"},
		{PurgeRequest{Prefixes: []string{"http://bad host/"}}, "prefixes[0]"},
		{PurgeRequest{Tags: []string{" "}}, "tags[0]"},
		{PurgeRequest{Hosts: []string{"a/b"}}, "hosts[0]"},
	}
	for _, tt := range tests {
		_, err := p.Purge(t.Context(), tt.req)
		var pe *PurgeError
		switch {
		case err == nil:
			t.Errorf("Purge(%+v) = nil error", tt.req)
		case tt.field == "" && !errors.Is(err, ErrEmptyPurge):
			t.Errorf("Purge(%+v) = %v; want ErrEmptyPurge", tt.req, err)
		case tt.field != "" && (!errors.As(err, &pe) || pe.Field != tt.field):
			t.Errorf("Purge(%+v) = %v; want an error naming %s", tt.req, err, tt.field)
		}
	}
}

func TestSoftPurge(t *testing.T) {
	// A soft-purged entry is stale: within the grace it is served while
	// revalidated in the background; after it, revalidated first.
	p, base, o, clock := purgeFixture(t)
	p.SoftPurgeGrace = 30 * time.Second
	fill(t, base, "a.test", "/index.html")
	if n, err := p.Purge(t.Context(), PurgeRequest{URLs: []string{"/index.html"}, Soft: true}); err != nil || n != 2 {
		t.Fatalf("soft purge = %d, %v", n, err)
	}
	before := o.count("/index.html")
	r, body := get(t, base+"/index.html", "Host", "a.test", "Accept-Encoding", "gzip")
	if xcache(r) != "HIT" || !strings.Contains(r.Header.Get("Cache-Status"), "soft-purge-grace") || body != "a.test /index.html" {
		t.Errorf("within grace: %q %q %q", xcache(r), r.Header.Get("Cache-Status"), body)
	}
	waitFor(t, "background revalidation", func() bool {
		v, _ := p.StoreOf().Get(t.Context(), "http://a.test/index.html")
		for _, e := range v {
			if e.Vary[0].Value == "gzip" && e.InvalidatedAt.IsZero() {
				return true
			}
		}
		return false
	})
	if got := o.count("/index.html"); got != before+1 {
		t.Errorf("origin requests during grace = %d; want 1", got-before)
	}
	if got := o.lastRequest("/index.html").Header.Get("If-None-Match"); got != `"/index.html"` {
		t.Errorf("soft purge revalidation If-None-Match = %q; want the stored ETag", got)
	}
	// The other variant, after the grace: validated in the foreground.
	clock.Advance(time.Minute)
	r, _ = get(t, base+"/index.html", "Host", "a.test", "Accept-Encoding", "br")
	if xcache(r) != "MISS" || !strings.Contains(r.Header.Get("Cache-Status"), "fwd=stale; fwd-status=304") {
		t.Errorf("after grace: %q %q; want a foreground revalidation", xcache(r), r.Header.Get("Cache-Status"))
	}
}

func TestEntriesSurviveUnrelatedPurgeWhileFilling(t *testing.T) {
	o := newOrigin(t, nil)
	release := make(chan struct{})
	o.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "b")
	})
	p, srv := newProxy(t, o.URL, nil, nil)
	done := make(chan struct{})
	go func() { get(t, srv.URL+"/slow"); close(done) }()
	waitFor(t, "fetch started", func() bool { return o.count("/slow") == 1 })
	if _, err := p.Purge(t.Context(), PurgeRequest{URLs: []string{"/other"}}); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	if r, _ := get(t, srv.URL+"/slow"); xcache(r) != "HIT" {
		t.Errorf("an unrelated purge kept a response from being stored")
	}
}

// TestInvalidationFloodKeepsCaching: a flood of POSTs to another URL (each
// invalidating its own URL) and of purges of other tags while a response
// is being fetched do not stop that response from being stored; a purge
// of its own tag still does (issue 12, Medium 4).
func TestInvalidationFloodKeepsCaching(t *testing.T) {
	o := newOrigin(t, nil)
	release := make(chan struct{}) // one send per fill
	o.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Surrogate-Key", "slow-tag")
		io.WriteString(w, "slow")
	})
	o.static("/form", 200, "ok")
	p, srv := newProxy(t, o.URL, nil, func(p *Proxy) {
		// The fill is held while the test sends 1200 invalidations, which
		// take seconds on a loaded machine: no timeout may end it first.
		p.UpstreamTimeout = time.Hour
	})
	// Runs before the servers close: a fill still held (the test failed)
	// ends rather than blocking their Close forever.
	t.Cleanup(func() { close(release) })

	done := getInBackground(srv.URL + "/slow")
	waitFor(t, "the fill at the origin", func() bool { return o.count("/slow") == 1 })
	for i := range 600 {
		if r, _ := do(t, http.MethodPost, srv.URL+"/form"); r.StatusCode != 200 {
			t.Fatalf("POST %d: %d", i, r.StatusCode)
		}
	}
	for i := range 600 {
		if _, err := p.Purge(t.Context(), PurgeRequest{Tags: []string{fmt.Sprintf("other-%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	release <- struct{}{}
	r := (<-done).response(t)
	if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "stored") {
		t.Errorf("fill after 600 unrelated invalidations: Cache-Status %q; want stored", cs)
	}
	if r, _ := get(t, srv.URL+"/slow"); xcache(r) != "HIT" {
		t.Errorf("next request: X-Cache %s; want HIT", xcache(r))
	}

	// Its own tag, purged during the fill, keeps it from being stored.
	if _, err := p.Purge(t.Context(), PurgeRequest{All: true}); err != nil {
		t.Fatal(err)
	}
	done = getInBackground(srv.URL + "/slow")
	waitFor(t, "the second fill at the origin", func() bool { return o.count("/slow") == 2 })
	if _, err := p.Purge(t.Context(), PurgeRequest{Tags: []string{"slow-tag"}}); err != nil {
		t.Fatal(err)
	}
	release <- struct{}{}
	(<-done).response(t)
	if r, _ := get(t, srv.URL+"/slow", "Cache-Control", "only-if-cached"); r.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("a response whose tag was purged during its fill was stored (only-if-cached: %d)", r.StatusCode)
	}
}

// backgroundGet is the outcome of getInBackground.
type backgroundGet struct {
	resp *http.Response
	err  error
}

// response returns the response, or fails the test with the error.
func (g backgroundGet) response(t *testing.T) *http.Response {
	t.Helper()
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g.resp
}

// getInBackground GETs u from another goroutine, for a response the test
// holds at the origin: its client has no timeout (the proxy's bounds the
// wait), so the test's work in between may take as long as a loaded
// machine needs. The body is read and closed before the outcome is sent.
func getInBackground(u string) <-chan backgroundGet {
	done := make(chan backgroundGet, 1)
	go func() {
		c := &http.Client{CheckRedirect: client.CheckRedirect}
		resp, err := c.Get(u)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil {
			err = fmt.Errorf("GET %s: %w", u, err)
		}
		done <- backgroundGet{resp, err}
	}()
	return done
}

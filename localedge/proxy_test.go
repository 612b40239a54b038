package localedge

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHitAfterMiss(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.static("/a.css", 200, "body{}", "Cache-Control", "max-age=60", "Content-Type", "text/css", "ETag", `"v1"`)
	_, srv := newProxy(t, o.URL, clock, nil)

	r1, b1 := get(t, srv.URL+"/a.css")
	if r1.StatusCode != 200 || b1 != "body{}" || xcache(r1) != "MISS" {
		t.Fatalf("first GET = %d %q X-Cache %q; want 200 body{} MISS", r1.StatusCode, b1, xcache(r1))
	}
	if cs := r1.Header.Get("Cache-Status"); cs != "pop1; fwd=uri-miss; fwd-status=200; stored" {
		t.Errorf("miss Cache-Status = %q", cs)
	}
	clock.Advance(10 * time.Second)
	r2, b2 := get(t, srv.URL+"/a.css")
	if b2 != "body{}" || xcache(r2) != "HIT" {
		t.Fatalf("second GET = %q X-Cache %q; want a hit", b2, xcache(r2))
	}
	if cs := r2.Header.Get("Cache-Status"); cs != "pop1; hit; ttl=50" {
		t.Errorf("hit Cache-Status = %q; want pop1; hit; ttl=50", cs)
	}
	if age := r2.Header.Get("Age"); age != "10" {
		t.Errorf("hit Age = %q; want 10 (RFC 9111 §4.2.3)", age)
	}
	if r2.Header.Get("X-Served-By") != "pop1" || r2.Header.Get("Via") != "1.1 pop1" {
		t.Errorf("X-Served-By %q Via %q; want pop1 and 1.1 pop1", r2.Header.Get("X-Served-By"), r2.Header.Get("Via"))
	}
	if r2.Header.Get("Content-Type") != "text/css" || r2.Header.Get("Content-Length") != "6" {
		t.Errorf("stored headers lost: %v", r2.Header)
	}
	if n := o.count("/a.css"); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
}

func TestFreshnessRules(t *testing.T) {
	// Each case: the origin's header, the time elapsed, whether the second
	// request is a hit (RFC 9111 §4.2).
	lm := func(c *fakeClock, d time.Duration) string { return c.Now().Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		status int
		hdr    func(c *fakeClock) []string
		wait   time.Duration
		hit    bool
	}{
		{"§5.2.2.1 max-age fresh", 200, func(*fakeClock) []string { return []string{"Cache-Control", "max-age=100"} }, 99 * time.Second, true},
		{"§5.2.2.1 max-age stale", 200, func(*fakeClock) []string { return []string{"Cache-Control", "max-age=100"} }, 100 * time.Second, false},
		{"§5.2.2.10 s-maxage over max-age", 200, func(*fakeClock) []string { return []string{"Cache-Control", "max-age=3600, s-maxage=1"} }, 2 * time.Second, false},
		{"§5.3 Expires", 200, func(c *fakeClock) []string { return []string{"Expires", lm(c, time.Minute)} }, 30 * time.Second, true},
		{"§5.3 invalid Expires", 200, func(*fakeClock) []string { return []string{"Expires", "0"} }, 0, false},
		// RFC 9110 §5.6.7: the HTTP-date grammar has fixed two-digit
		// fields and single spaces; anything else is invalid, and an
		// invalid Expires means already expired (RFC 9111 §5.3).
		{"§5.3 Expires with a one-digit hour", 200, func(*fakeClock) []string { return []string{"Expires", "Thu, 18 Aug 2050 2:01:18 GMT"} }, 0, false},
		{"§5.3 Expires with doubled spaces", 200, func(*fakeClock) []string { return []string{"Expires", "Thu, 18  Aug  2050 02:01:18 GMT"} }, 0, false},
		{"§5.3 Expires in UTC", 200, func(*fakeClock) []string { return []string{"Expires", "Thu, 18 Aug 2050 02:01:18 UTC"} }, 0, false},
		{"§5.3 Expires with date dashes", 200, func(*fakeClock) []string { return []string{"Expires", "Thu, 18-Aug-2050 02:01:18 GMT"} }, 0, false},
		{"§4.2.1 two Expires lines", 200, func(*fakeClock) []string {
			return []string{"Expires", "Thu, 18 Aug 2050 02:01:18 GMT", "Expires", "Thu, 18 Aug 2050 02:01:19 GMT"}
		}, 0, false},
		{"§5.3 Expires in RFC 850 form", 200, func(*fakeClock) []string { return []string{"Expires", "Thursday, 18-Aug-50 02:01:18 GMT"} }, time.Minute, true},
		{"§5.3 Expires in asctime form", 200, func(*fakeClock) []string { return []string{"Expires", "Thu Aug  8 02:01:18 2050"} }, time.Minute, true},
		{"§4.2.2 heuristic", 200, func(c *fakeClock) []string { return []string{"Last-Modified", lm(c, -10*time.Hour)} }, 59 * time.Minute, true},
		{"§4.2.2 no heuristic for 302", 302, func(c *fakeClock) []string { return []string{"Last-Modified", lm(c, -10*time.Hour)} }, time.Second, false},
		{"§4.2.3 Age counts", 200, func(*fakeClock) []string { return []string{"Cache-Control", "max-age=10", "Age", "15"} }, 0, false},
		{"§5.2.2.5 no-store", 200, func(*fakeClock) []string { return []string{"Cache-Control", "max-age=100, no-store"} }, 0, false},
		{"§5.2.2.7 private", 200, func(*fakeClock) []string { return []string{"Cache-Control", "private, max-age=100"} }, 0, false},
		{"§5.2.2.4 no-cache", 200, func(*fakeClock) []string { return []string{"Cache-Control", "max-age=100, no-cache"} }, 0, false},
		{"status 500 with explicit freshness", 500, func(*fakeClock) []string { return []string{"Cache-Control", "max-age=100"} }, time.Second, true},
		{"malformed Cache-Control falls back", 200, func(*fakeClock) []string { return []string{"Cache-Control", `max-age="12, ;;; =, max-age=50`} }, time.Second, false},
		{"RFC 9213 CDN-Cache-Control", 200, func(*fakeClock) []string {
			return []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=100"}
		}, 50 * time.Second, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			o := newOrigin(t, clock)
			path := "/r" + strconv.Itoa(i)
			o.static(path, tt.status, "x", tt.hdr(clock)...)
			_, srv := newProxy(t, o.URL, clock, nil)
			get(t, srv.URL+path)
			clock.Advance(tt.wait)
			r, _ := get(t, srv.URL+path)
			if got := xcache(r) == "HIT"; got != tt.hit {
				t.Errorf("second request hit = %v (Cache-Status %q); want %v", got, r.Header.Get("Cache-Status"), tt.hit)
			}
		})
	}
}

func TestRevalidationUpdatesStoredHeaders(t *testing.T) {
	// RFC 9111 §4.3.1 (conditional request with the stored validators) and
	// §4.3.4 (freshening with a 304's fields).
	clock := newClock()
	o := newOrigin(t, clock)
	version := "A"
	o.handle("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Test-Header", version)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "content")
	})
	_, srv := newProxy(t, o.URL, clock, nil)
	get(t, srv.URL+"/page")
	version = "B"
	clock.Advance(11 * time.Second)
	r, body := get(t, srv.URL+"/page")
	if body != "content" || r.Header.Get("Test-Header") != "B" {
		t.Fatalf("after 304: body %q Test-Header %q; want stored body and updated header B", body, r.Header.Get("Test-Header"))
	}
	if got := o.lastRequest("/page").Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("revalidation If-None-Match = %q; want the stored ETag", got)
	}
	if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=stale") || !strings.Contains(cs, "fwd-status=304") {
		t.Errorf("Cache-Status = %q; want fwd=stale with fwd-status=304", cs)
	}
	r, _ = get(t, srv.URL+"/page")
	if xcache(r) != "HIT" || r.Header.Get("Test-Header") != "B" {
		t.Errorf("after freshening: X-Cache %q Test-Header %q; want a hit with B", xcache(r), r.Header.Get("Test-Header"))
	}
	if n := o.count("/page"); n != 2 {
		t.Errorf("origin requests = %d; want 2", n)
	}
}

func TestNoCacheRevalidatesEachUse(t *testing.T) {
	// RFC 9111 §5.2.2.4: stored, but validated before each reuse.
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/nc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"abcd"`)
		if r.Header.Get("If-None-Match") == `"abcd"` {
			w.WriteHeader(304)
			return
		}
		io.WriteString(w, "fresh")
	})
	_, srv := newProxy(t, o.URL, clock, nil)
	get(t, srv.URL+"/nc")
	for i := 0; i < 2; i++ {
		r, body := get(t, srv.URL+"/nc")
		if body != "fresh" || r.StatusCode != 200 {
			t.Fatalf("GET %d = %d %q", i, r.StatusCode, body)
		}
	}
	if n := o.count("/nc"); n != 3 {
		t.Errorf("origin requests = %d; want 3 (each use validated)", n)
	}
	if got := o.lastRequest("/nc").Header.Get("If-None-Match"); got != `"abcd"` {
		t.Errorf("validation If-None-Match = %q", got)
	}
}

func TestQualifiedNoCacheAndPrivateFields(t *testing.T) {
	// RFC 9111 §5.2.2.4: fields named by no-cache are not sent without
	// revalidation; §5.2.2.7: fields named by private are not stored.
	clock := newClock()
	o := newOrigin(t, clock)
	o.static("/q", 200, "x", "Cache-Control", `no-cache="a", private="Set-Cookie"`, "Cache-Control", "max-age=3600",
		"A", "1", "B", "2", "Set-Cookie", "s=1")
	_, srv := newProxy(t, o.URL, clock, nil)
	r, _ := get(t, srv.URL+"/q")
	if r.Header.Get("Set-Cookie") != "s=1" {
		// The listed fields are for the client that asked, alone.
		t.Errorf("private-listed Set-Cookie not passed to the client that asked: %v", r.Header)
	}
	r, _ = get(t, srv.URL+"/q")
	if xcache(r) != "HIT" || r.Header.Get("A") != "" || r.Header.Get("B") != "2" || r.Header.Get("Set-Cookie") != "" {
		t.Errorf("hit: X-Cache %q A %q B %q Set-Cookie %q; want hit without A and Set-Cookie, with B", xcache(r), r.Header.Get("A"), r.Header.Get("B"), r.Header.Get("Set-Cookie"))
	}
}

func TestAuthorizationRequests(t *testing.T) {
	// RFC 9111 §3.5.
	for _, tt := range []struct {
		cc  string
		hit bool
	}{
		{"max-age=3600", false},
		{"max-age=3600, public", true},
		{"s-maxage=3600", true},
		{"max-age=3600, must-revalidate", true},
	} {
		t.Run(tt.cc, func(t *testing.T) {
			clock := newClock()
			o := newOrigin(t, clock)
			o.static("/auth", 200, "secret", "Cache-Control", tt.cc)
			_, srv := newProxy(t, o.URL, clock, nil)
			get(t, srv.URL+"/auth", "Authorization", "Bearer x")
			if got := o.lastRequest("/auth").Header.Get("Authorization"); got != "Bearer x" {
				t.Errorf("Authorization not forwarded: %q", got)
			}
			r, _ := get(t, srv.URL+"/auth")
			if got := xcache(r) == "HIT"; got != tt.hit {
				t.Errorf("reuse = %v; want %v", got, tt.hit)
			}
		})
	}
}

func TestVaryVariants(t *testing.T) {
	// RFC 9111 §4.1: one stored response per selecting value.
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/v", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "enc="+r.Header.Get("Accept-Encoding"))
	})
	o.static("/star", 200, "x", "Cache-Control", "max-age=100", "Vary", "*")
	_, srv := newProxy(t, o.URL, clock, nil)
	for _, enc := range []string{"br", "gzip", "br", "gzip"} {
		_, body := get(t, srv.URL+"/v", "Accept-Encoding", enc)
		if body != "enc="+enc {
			t.Fatalf("Accept-Encoding %s got %q", enc, body)
		}
	}
	if n := o.count("/v"); n != 2 {
		t.Errorf("origin requests = %d; want 2 (one per variant)", n)
	}
	r, _ := get(t, srv.URL+"/v")
	if cs := r.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=vary-miss") {
		t.Errorf("request without Accept-Encoding: Cache-Status %q; want vary-miss", cs)
	}
	get(t, srv.URL+"/star")
	r, _ = get(t, srv.URL+"/star")
	if xcache(r) == "HIT" {
		t.Errorf("Vary: * response reused")
	}
}

func TestConditionalRequestsFromCache(t *testing.T) {
	// RFC 9111 §4.3.2: a cache answers conditional requests from a fresh
	// stored response.
	clock := newClock()
	o := newOrigin(t, clock)
	lm := clock.Now().Add(-time.Hour).Format(http.TimeFormat)
	o.static("/c", 200, "content", "Cache-Control", "max-age=100", "ETag", `"e1"`, "Last-Modified", lm, "Content-Type", "text/plain")
	_, srv := newProxy(t, o.URL, clock, nil)
	get(t, srv.URL+"/c")
	r, body := get(t, srv.URL+"/c", "If-None-Match", `"e0", "e1"`)
	if r.StatusCode != 304 || body != "" || r.Header.Get("ETag") != `"e1"` || xcache(r) != "HIT" {
		t.Errorf("If-None-Match: %d %q ETag %q; want 304 with the ETag, from cache", r.StatusCode, body, r.Header.Get("ETag"))
	}
	if r.Header.Get("Content-Type") != "" {
		t.Errorf("304 carries Content-Type %q", r.Header.Get("Content-Type"))
	}
	r, _ = get(t, srv.URL+"/c", "If-Modified-Since", lm)
	if r.StatusCode != 304 {
		t.Errorf("If-Modified-Since = %d; want 304", r.StatusCode)
	}
	r, body = get(t, srv.URL+"/c", "If-None-Match", `"other"`)
	if r.StatusCode != 200 || body != "content" {
		t.Errorf("non-matching If-None-Match = %d %q; want the full response", r.StatusCode, body)
	}
	r, _ = get(t, srv.URL+"/c", "If-Match", `"zzz"`)
	if r.StatusCode != 412 {
		t.Errorf("failed If-Match = %d; want 412", r.StatusCode)
	}
	// A conditional miss is answered from the fetched response too.
	o.static("/c2", 200, "content", "Cache-Control", "max-age=100", "ETag", `"e2"`)
	r, _ = get(t, srv.URL+"/c2", "If-None-Match", `"e2"`)
	if r.StatusCode != 304 {
		t.Errorf("conditional miss = %d; want 304", r.StatusCode)
	}
	if got := o.lastRequest("/c2").Header.Get("If-None-Match"); got != "" {
		t.Errorf("client's If-None-Match forwarded on a fill: %q", got)
	}
	if n := o.count("/c"); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
}

func TestHeadServedFromGet(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.static("/h", 200, "0123456789", "Cache-Control", "max-age=100")
	_, srv := newProxy(t, o.URL, clock, nil)
	r, body := do(t, http.MethodHead, srv.URL+"/h")
	if r.StatusCode != 200 || body != "" || r.Header.Get("Content-Length") != "10" {
		t.Errorf("HEAD miss = %d %q CL %q", r.StatusCode, body, r.Header.Get("Content-Length"))
	}
	if m := o.lastRequest("/h").Method; m != http.MethodGet {
		t.Errorf("HEAD miss sent %s upstream; want GET to fill the cache", m)
	}
	r, body = get(t, srv.URL+"/h")
	if xcache(r) != "HIT" || body != "0123456789" {
		t.Errorf("GET after HEAD = %q %q; want a hit with the body", xcache(r), body)
	}
	r, body = do(t, http.MethodHead, srv.URL+"/h")
	if xcache(r) != "HIT" || body != "" || r.Header.Get("Content-Length") != "10" {
		t.Errorf("HEAD hit = %q %q CL %q", xcache(r), body, r.Header.Get("Content-Length"))
	}
}

func TestRangeFromCachedResponse(t *testing.T) {
	// RFC 9110 §14; RFC 9111 §3.4 (serving ranges of a stored response).
	clock := newClock()
	o := newOrigin(t, clock)
	o.static("/r", 200, "0123456789A", "Cache-Control", "max-age=100", "ETag", `"r1"`, "Content-Type", "text/plain")
	_, srv := newProxy(t, o.URL, clock, nil)
	r, body := get(t, srv.URL+"/r", "Range", "bytes=0-1")
	if r.StatusCode != 206 || body != "01" || r.Header.Get("Content-Range") != "bytes 0-1/11" {
		t.Errorf("range on a miss = %d %q %q", r.StatusCode, body, r.Header.Get("Content-Range"))
	}
	if got := o.lastRequest("/r").Header.Get("Range"); got != "" {
		t.Errorf("fill forwarded Range %q", got)
	}
	for _, tt := range []struct {
		rng, ifRange string
		status       int
		body         string
	}{
		{"bytes=1-", "", 206, "123456789A"},
		{"bytes=-1", "", 206, "A"},
		{"bytes=50-", "", 416, ""},
		{"bytes=0-1", `"other"`, 200, "0123456789A"},
		{"bytes=0-1", `"r1"`, 206, "01"},
		{"bytes=x", "", 200, "0123456789A"},
	} {
		kv := []string{"Range", tt.rng}
		if tt.ifRange != "" {
			kv = append(kv, "If-Range", tt.ifRange)
		}
		r, body := get(t, srv.URL+"/r", kv...)
		if r.StatusCode != tt.status || body != tt.body {
			t.Errorf("Range %q If-Range %q = %d %q; want %d %q", tt.rng, tt.ifRange, r.StatusCode, body, tt.status, tt.body)
		}
	}
	r, body = get(t, srv.URL+"/r", "Range", "bytes=0-0,-1")
	if r.StatusCode != 206 || !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/byteranges") ||
		!strings.Contains(body, "Content-Range: bytes 0-0/11") || !strings.Contains(body, "Content-Range: bytes 10-10/11") {
		t.Errorf("multi-range = %d %q %q", r.StatusCode, r.Header.Get("Content-Type"), body)
	}
	if n := o.count("/r"); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	// RFC 9111 §4.4: after a non-error response to an unsafe method, the
	// target URI and same-host Location/Content-Location are invalidated.
	clock := newClock()
	o := newOrigin(t, clock)
	for _, p := range []string{"/item", "/loc", "/cl", "/other"} {
		o.static(p, 200, p, "Cache-Control", "max-age=100")
	}
	status := 200
	o.handle("/item-post", nil)
	_, srv := newProxy(t, o.URL, clock, nil)
	for _, p := range []string{"/item", "/loc", "/cl", "/other"} {
		get(t, srv.URL+p)
	}
	o.handle("/item", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Cache-Control", "max-age=100")
			io.WriteString(w, "new")
			return
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != "payload" {
			t.Errorf("POST body upstream = %q", b)
		}
		w.Header().Set("Location", "/loc")
		w.Header().Set("Content-Location", "http://"+r.Host+"/cl")
		w.WriteHeader(status)
	})
	// A failed unsafe request invalidates nothing.
	status = 500
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/item", strings.NewReader("payload"))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r, _ := get(t, srv.URL+"/item"); xcache(r) != "HIT" {
		t.Errorf("after a failed POST the entry was invalidated")
	}
	status = 201
	for _, method := range []string{http.MethodPost, "M-SEARCH"} {
		req, _ := http.NewRequest(method, srv.URL+"/item", strings.NewReader("payload"))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=method") {
			t.Errorf("%s Cache-Status = %q", method, cs)
		}
		for _, p := range []string{"/item", "/loc", "/cl"} {
			if r, _ := get(t, srv.URL+p); xcache(r) == "HIT" {
				t.Errorf("after %s, %s still served from cache", method, p)
			}
		}
	}
	if r, _ := get(t, srv.URL+"/other"); xcache(r) != "HIT" {
		t.Errorf("unrelated /other invalidated")
	}
}

func TestRequestCacheControl(t *testing.T) {
	// RFC 9111 §5.2.1.
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/rc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		w.Header().Set("ETag", `"rc"`)
		if r.Header.Get("If-None-Match") == `"rc"` {
			w.WriteHeader(304)
			return
		}
		io.WriteString(w, "x")
	})
	_, srv := newProxy(t, o.URL, clock, nil)

	r, _ := get(t, srv.URL+"/rc", "Cache-Control", "only-if-cached")
	if r.StatusCode != 504 {
		t.Errorf("only-if-cached miss = %d; want 504", r.StatusCode)
	}
	get(t, srv.URL+"/rc")
	clock.Advance(50 * time.Second)
	for _, tt := range []struct {
		advance   time.Duration // before the request
		cc        string
		fromCache bool
	}{
		{0, "max-age=60", true},
		{0, "min-fresh=40", true},
		{0, "min-fresh=60", false}, // validated: age 0 again
		{50 * time.Second, "max-age=10", false},
		{0, "no-cache", false},
		{0, "only-if-cached", true},
	} {
		clock.Advance(tt.advance)
		before := o.count("/rc")
		r, _ := get(t, srv.URL+"/rc", "Cache-Control", tt.cc)
		if got := o.count("/rc") == before; got != tt.fromCache || r.StatusCode != 200 {
			t.Errorf("Cache-Control: %s answered from cache = %v (status %d, Cache-Status %q); want %v", tt.cc, got, r.StatusCode, r.Header.Get("Cache-Status"), tt.fromCache)
		}
	}
	clock.Advance(100 * time.Second) // stale now
	before := o.count("/rc")
	r, _ = get(t, srv.URL+"/rc", "Cache-Control", "max-stale=1000")
	if o.count("/rc") != before || xcache(r) != "HIT" {
		t.Errorf("max-stale did not accept the stale response")
	}
	p2, srv2 := newProxy(t, o.URL, clock, func(p *Proxy) { p.IgnoreRequestCacheControl = true })
	_ = p2
	get(t, srv2.URL+"/rc")
	before = o.count("/rc")
	get(t, srv2.URL+"/rc", "Cache-Control", "no-cache")
	if o.count("/rc") != before {
		t.Errorf("IgnoreRequestCacheControl: no-cache still reached the origin")
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	// RFC 5861 §3: serve stale, refresh once in the background.
	clock := newClock()
	o := newOrigin(t, clock)
	release := make(chan struct{})
	version := 0
	o.handle("/swr", func(w http.ResponseWriter, r *http.Request) {
		version++
		v := version
		if v > 1 {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		fmt.Fprintf(w, "v%d", v)
	})
	p, srv := newProxy(t, o.URL, clock, nil)
	get(t, srv.URL+"/swr")
	clock.Advance(20 * time.Second)
	for i := 0; i < 3; i++ {
		r, body := get(t, srv.URL+"/swr")
		if body != "v1" || xcache(r) != "HIT" || !strings.Contains(r.Header.Get("Cache-Status"), "detail=stale-while-revalidate") {
			t.Fatalf("stale request %d = %q %q %q; want v1 served stale", i, body, xcache(r), r.Header.Get("Cache-Status"))
		}
	}
	close(release)
	waitFor(t, "background refresh stored", func() bool {
		v, _ := p.StoreOf().Get(t.Context(), "http://"+strings.TrimPrefix(srv.URL, "http://")+"/swr")
		return len(v) == 1 && string(v[0].mem.bytes()) == "v2"
	})
	if n := o.count("/swr"); n != 2 {
		t.Errorf("origin requests = %d; want 2 (one refresh for three stale hits)", n)
	}
	_, body := get(t, srv.URL+"/swr")
	if body != "v2" {
		t.Errorf("after refresh got %q; want v2", body)
	}
	// Past the window the response is validated in the foreground.
	clock.Advance(200 * time.Second)
	r, _ := get(t, srv.URL+"/swr")
	if xcache(r) != "MISS" {
		t.Errorf("beyond stale-while-revalidate: X-Cache %q; want MISS", xcache(r))
	}
}

func TestStaleIfError(t *testing.T) {
	// RFC 5861 §4: on a 5xx or a failed connection, a stale response may
	// be served within stale-if-error; not with must-revalidate.
	for _, tt := range []struct {
		name  string
		cc    string
		fail  string // "503" or "close"
		stale bool
		grace time.Duration // Proxy.StaleIfError
	}{
		{"503 within window", "max-age=1, stale-if-error=60", "503", true, 0},
		{"reset within window", "max-age=1, stale-if-error=60", "close", true, 0},
		{"no directive", "max-age=1", "503", false, 0},
		{"must-revalidate", "max-age=1, must-revalidate, stale-if-error=60", "503", false, 0},
		// A configured grace (RFC 9111 §4.2.4: a disconnected cache may
		// serve stale) yields to the directives that forbid stale use.
		{"grace, disconnected", "max-age=1", "close", true, 60 * time.Second},
		{"grace, 503", "max-age=1", "503", true, 60 * time.Second},
		{"grace, must-revalidate", "max-age=1, must-revalidate", "close", false, 60 * time.Second},
		{"grace, proxy-revalidate", "max-age=1, proxy-revalidate", "close", false, 60 * time.Second},
		{"grace, no-cache", "max-age=1, no-cache", "close", false, 60 * time.Second},
		{"grace, s-maxage", "max-age=1, s-maxage=1", "close", false, 60 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			o := newOrigin(t, clock)
			failing := false
			o.handle("/e", func(w http.ResponseWriter, r *http.Request) {
				if failing {
					if tt.fail == "close" {
						hj, _ := w.(http.Hijacker)
						c, _, _ := hj.Hijack()
						c.Close()
						return
					}
					w.WriteHeader(503)
					io.WriteString(w, "down")
					return
				}
				w.Header().Set("Cache-Control", tt.cc)
				io.WriteString(w, "good")
			})
			_, srv := newProxy(t, o.URL, clock, func(p *Proxy) { p.StaleIfError = tt.grace })
			get(t, srv.URL+"/e")
			failing = true
			clock.Advance(10 * time.Second)
			r, body := get(t, srv.URL+"/e")
			if got := body == "good"; got != tt.stale {
				t.Errorf("served stale = %v (status %d, body %q, Cache-Status %q); want %v", got, r.StatusCode, body, r.Header.Get("Cache-Status"), tt.stale)
			}
			if tt.stale && !strings.Contains(r.Header.Get("Cache-Status"), "detail=stale-if-error") {
				t.Errorf("Cache-Status %q lacks detail=stale-if-error", r.Header.Get("Cache-Status"))
			}
			clock.Advance(100 * time.Second)
			if _, body := get(t, srv.URL+"/e"); body == "good" {
				t.Errorf("stale response served after the stale-if-error window")
			}
		})
	}
}

func TestHopByHopAndForwarding(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/hop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		w.Header().Set("Connection", "X-Private-Hop")
		w.Header().Set("X-Private-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		io.WriteString(w, "x")
	})
	_, srv := newProxy(t, o.URL, clock, nil)
	r, _ := get(t, srv.URL+"/hop",
		"Connection", "X-Client-Hop", "X-Client-Hop", "secret",
		"X-Forwarded-Host", "evil.test", "X-Forwarded-For", "6.6.6.6", "X-Original-URL", "/admin",
		"Proxy-Authorization", "Basic x")
	up := o.lastRequest("/hop")
	for _, f := range []string{"X-Client-Hop", "Proxy-Authorization", "X-Original-Url"} {
		if v := up.Header.Get(f); v != "" {
			t.Errorf("upstream got %s: %q", f, v)
		}
	}
	if got := up.Header.Get("X-Forwarded-Host"); got == "evil.test" {
		t.Errorf("client's X-Forwarded-Host reached the origin (cache poisoning)")
	}
	if got := up.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("upstream X-Forwarded-For = %q; want only the client address", got)
	}
	if got := up.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("upstream X-Forwarded-Proto = %q", got)
	}
	if got := up.Header.Get("Via"); got != "1.1 pop1" {
		t.Errorf("upstream Via = %q", got)
	}
	if r.Header.Get("X-Private-Hop") != "" || r.Header.Get("Keep-Alive") != "" {
		t.Errorf("hop-by-hop response fields reached the client: %v", r.Header)
	}
	r, _ = get(t, srv.URL+"/hop")
	if xcache(r) != "HIT" || r.Header.Get("X-Private-Hop") != "" {
		t.Errorf("stored response kept a Connection-listed field")
	}
}

func TestUnkeyedHeadersCannotPoison(t *testing.T) {
	// The origin reflects headers into the response; a malicious first
	// request must not change what the next client gets.
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/reflect", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		fmt.Fprintf(w, "host=%s fwd=%s proto=%s method=%s", r.Host, r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Http-Method-Override"))
	})
	_, srv := newProxy(t, o.URL, clock, nil)
	host := strings.TrimPrefix(srv.URL, "http://")
	_, evil := get(t, srv.URL+"/reflect", "X-Forwarded-Host", "evil.test", "X-Forwarded-Proto", "gopher", "X-HTTP-Method-Override", "DELETE")
	_, clean := get(t, srv.URL+"/reflect")
	want := fmt.Sprintf("host=%s fwd=%s proto=http method=", host, host)
	if evil != want || clean != want {
		t.Errorf("responses %q and %q; want both %q", evil, clean, want)
	}
}

func TestOversizedPassesThrough(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	big := strings.Repeat("x", 5000)
	o.static("/big", 200, big, "Cache-Control", "max-age=100")
	o.handle("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		for i := 0; i < 5; i++ {
			io.WriteString(w, big[:1000])
			w.(http.Flusher).Flush()
		}
	})
	_, srv := newProxy(t, o.URL, clock, func(p *Proxy) { p.MaxObjectSize = 2000 })
	for _, path := range []string{"/big", "/big-chunked"} {
		for i := 0; i < 2; i++ {
			r, body := get(t, srv.URL+path)
			if body != big || xcache(r) != "MISS" {
				t.Fatalf("%s #%d: %d bytes, X-Cache %q; want the whole body, not cached", path, i, len(body), xcache(r))
			}
		}
		if n := o.count(path); n != 2 {
			t.Errorf("%s origin requests = %d; want 2 (not stored)", path, n)
		}
	}
}

func TestHealthEndpoint(t *testing.T) {
	o := newOrigin(t, nil)
	p, srv := newProxy(t, o.URL, nil, nil)
	r, body := get(t, srv.URL+HealthPath)
	if r.StatusCode != 200 || body != `{"pop":"pop1","role":"edge","status":"ok"}`+"\n" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("health = %d %q %q", r.StatusCode, body, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("X-Served-By") != "pop1" {
		t.Errorf("health lacks X-Served-By")
	}
	p.SetDown(true)
	r, body = get(t, srv.URL+HealthPath)
	if r.StatusCode != 503 || !strings.Contains(body, `"status":"draining"`) {
		t.Errorf("down health = %d %q", r.StatusCode, body)
	}
	r, body = do(t, http.MethodHead, srv.URL+HealthPath)
	if r.StatusCode != 503 || body != "" {
		t.Errorf("HEAD health = %d %q", r.StatusCode, body)
	}
	if o.count(HealthPath) != 0 {
		t.Errorf("health request forwarded upstream")
	}
}

func TestLoopDetected(t *testing.T) {
	o := newOrigin(t, nil)
	_, srv := newProxy(t, o.URL, nil, nil)
	r, _ := get(t, srv.URL+"/x", "Via", "1.1 other, 1.1 pop1")
	if r.StatusCode != http.StatusLoopDetected {
		t.Errorf("looping request = %d; want 508", r.StatusCode)
	}
}

func TestKeyOptionsThroughProxy(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/k", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		fmt.Fprintf(w, "q=%s dev=%s", r.URL.RawQuery, r.Header.Get("X-Device"))
	})
	_, srv := newProxy(t, o.URL, clock, func(p *Proxy) {
		p.Key = KeyOptions{SortQuery: true, IgnoreParams: []string{"utm_source"}, Headers: []string{"X-Device"}}
	})
	_, b1 := get(t, srv.URL+"/k?b=2&a=1&utm_source=mail", "X-Device", "phone")
	if b1 != "q=a=1&b=2 dev=phone" {
		t.Errorf("upstream saw %q; want the normalised query without utm_source", b1)
	}
	r, b2 := get(t, srv.URL+"/k?a=1&b=2&utm_source=ad", "X-Device", "phone")
	if xcache(r) != "HIT" || b2 != b1 {
		t.Errorf("same key after normalisation: %q %q", xcache(r), b2)
	}
	if r, _ := get(t, srv.URL+"/k?a=1&b=2", "X-Device", "tablet"); xcache(r) != "MISS" {
		t.Errorf("a different X-Device shared the entry")
	}
	if n := o.count("/k"); n != 2 {
		t.Errorf("origin requests = %d; want 2", n)
	}
}

func TestAcceptEncodingNormalised(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/ae", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "ae="+r.Header.Get("Accept-Encoding"))
	})
	_, srv := newProxy(t, o.URL, clock, nil)
	for _, ae := range []string{"gzip, deflate, br", "br, gzip", "gzip;q=0.8, br, identity"} {
		if _, body := get(t, srv.URL+"/ae", "Accept-Encoding", ae); body != "ae=br, gzip" {
			t.Errorf("Accept-Encoding %q: upstream saw %q; want br, gzip", ae, body)
		}
	}
	if n := o.count("/ae"); n != 1 {
		t.Errorf("origin requests = %d; want 1 (one variant for all three spellings)", n)
	}
	// No Accept-Encoding and "identity" select the same variant, and the
	// upstream is asked for identity.
	if _, body := get(t, srv.URL+"/ae"); body != "ae=identity" {
		t.Errorf("no Accept-Encoding: upstream saw %q; want identity", body)
	}
	if resp, body := get(t, srv.URL+"/ae", "Accept-Encoding", "identity"); body != "ae=identity" || xcache(resp) != "HIT" {
		t.Errorf("Accept-Encoding identity after a request without one: %s %q; want a HIT of the identity variant", xcache(resp), body)
	}
	if n := o.count("/ae"); n != 2 {
		t.Errorf("origin requests = %d; want 2 (br+gzip, identity)", n)
	}
	_, plain := newProxy(t, o.URL, clock, func(p *Proxy) { p.KeepAcceptEncoding = true })
	if _, body := get(t, plain.URL+"/ae", "Accept-Encoding", "gzip, deflate"); body != "ae=gzip, deflate" {
		t.Errorf("KeepAcceptEncoding: upstream saw %q", body)
	}
}

package localedge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the proxies' clock in tests: time moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// origin is a scriptable upstream server on a loopback port that counts
// the requests it gets per path.
type origin struct {
	*httptest.Server
	clock *fakeClock

	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	hits   map[string]int
	last   map[string]*http.Request
}

func newOrigin(t *testing.T, clock *fakeClock) *origin {
	t.Helper()
	o := &origin{clock: clock, routes: map[string]http.HandlerFunc{}, hits: map[string]int{}, last: map[string]*http.Request{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		o.last[r.URL.Path] = r.Clone(r.Context())
		h := o.routes[r.URL.Path]
		o.mu.Unlock()
		if clock != nil {
			w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		}
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) handle(path string, h http.HandlerFunc) {
	o.mu.Lock()
	o.routes[path] = h
	o.mu.Unlock()
}

// static answers path with a fixed status, header and body.
func (o *origin) static(path string, status int, body string, kv ...string) {
	o.handle(path, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Add(kv[i], kv[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

func (o *origin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *origin) lastRequest(path string) *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last[path]
}

// newProxy starts a Proxy in front of upstream on a loopback port.
func newProxy(t *testing.T, upstream string, clock *fakeClock, mod func(*Proxy)) (*Proxy, *httptest.Server) {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Name: "pop1", Upstream: u, UpstreamTimeout: 5 * time.Second}
	if clock != nil {
		p.Now = clock.Now
	}
	if mod != nil {
		mod(p)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		p.Close()
	})
	return p, srv
}

// client is the tests' HTTP client: no redirects followed, no implicit
// gzip, a bounded wait.
var client = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64},
}

// do sends a request with header pairs and returns the response with its
// body read.
func do(t *testing.T, method, u string, kv ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.EqualFold(kv[i], "Host") {
			req.Host = kv[i+1]
			continue
		}
		req.Header.Add(kv[i], kv[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp, string(b)
}

func get(t *testing.T, u string, kv ...string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, u, kv...)
}

// xcache returns the response's X-Cache verdict.
func xcache(r *http.Response) string { return r.Header.Get("X-Cache") }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

package localedge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCollapsing sends N concurrent requests for a cold URL: exactly one
// reaches the origin and every client gets the same response.
func TestCollapsing(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	release := make(chan struct{})
	var arrived atomic.Int32
	o.handle("/cold", func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, strings.Repeat("c", 100<<10))
	})
	p, srv := newProxy(t, o.URL, clock, nil)

	const n = 50
	var wg sync.WaitGroup
	bodies := make([]string, n)
	statuses := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, b := get(t, srv.URL+"/cold")
			bodies[i], statuses[i] = b, r.Header.Get("Cache-Status")
		}()
	}
	waitFor(t, "all requests waiting", func() bool { return p.Stats().Requests == n })
	close(release)
	wg.Wait()
	if got := o.count("/cold"); got != 1 {
		t.Errorf("origin requests = %d; want 1", got)
	}
	collapsed := 0
	for i := range bodies {
		if len(bodies[i]) != 100<<10 {
			t.Fatalf("client %d got %d bytes", i, len(bodies[i]))
		}
		if strings.Contains(statuses[i], "collapsed") {
			collapsed++
		}
	}
	if collapsed != n-1 || p.Stats().Collapsed != n-1 {
		t.Errorf("collapsed = %d (stats %d); want %d", collapsed, p.Stats().Collapsed, n-1)
	}
}

// TestCollapsedUncacheableReleased: when the response turns out not to be
// storable, waiting clients fetch on their own instead of sharing it.
func TestCollapsedUncacheableReleased(t *testing.T) {
	o := newOrigin(t, nil)
	release := make(chan struct{})
	var calls atomic.Int32
	o.handle("/private", func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n == 1 {
			<-release
		}
		w.Header().Set("Cache-Control", "private")
		fmt.Fprintf(w, "for-%s", r.Header.Get("X-User"))
	})
	p, srv := newProxy(t, o.URL, nil, nil)
	const n = 5
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, got[i] = get(t, srv.URL+"/private", "X-User", fmt.Sprint(i))
		}()
	}
	waitFor(t, "clients collapsed", func() bool { return p.Stats().Requests == n })
	close(release)
	wg.Wait()
	for i := range got {
		if got[i] != fmt.Sprintf("for-%d", i) {
			t.Errorf("client %d got %q: another user's private response", i, got[i])
		}
	}
	if c := calls.Load(); c != n {
		t.Errorf("origin requests = %d; want %d", c, n)
	}
}

// TestCollapsedVaryMismatch: a collapsed request for another variant
// fetches its own.
func TestCollapsedVaryMismatch(t *testing.T) {
	o := newOrigin(t, nil)
	release := make(chan struct{})
	var calls atomic.Int32
	o.handle("/v", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	})
	p, srv := newProxy(t, o.URL, nil, nil)
	var wg sync.WaitGroup
	var en, fr string
	wg.Add(2)
	go func() { defer wg.Done(); _, en = get(t, srv.URL+"/v", "Accept-Language", "en") }()
	waitFor(t, "first request upstream", func() bool { return calls.Load() == 1 })
	go func() { defer wg.Done(); _, fr = get(t, srv.URL+"/v", "Accept-Language", "fr") }()
	waitFor(t, "second request collapsed", func() bool { return p.Stats().Collapsed == 1 })
	close(release)
	wg.Wait()
	if en != "lang=en" || fr != "lang=fr" {
		t.Errorf("got %q and %q; want each its own variant", en, fr)
	}
}

// TestStreamsWhileFilling: the first bytes reach clients (the one that
// started the fetch and a collapsed one) before the origin has finished.
func TestStreamsWhileFilling(t *testing.T) {
	o := newOrigin(t, nil)
	release := make(chan struct{})
	o.handle("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "first|")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second")
	})
	p, srv := newProxy(t, o.URL, nil, nil)
	readFirst := func() (*http.Response, *bufio.Reader) {
		resp, err := client.Get(srv.URL + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		first, err := br.ReadString('|')
		if err != nil || first != "first|" {
			t.Fatalf("first part = %q, %v", first, err)
		}
		return resp, br
	}
	r1, b1 := readFirst()
	defer r1.Body.Close()
	r2, b2 := readFirst()
	defer r2.Body.Close()
	close(release)
	for i, br := range []*bufio.Reader{b1, b2} {
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "second" {
			t.Errorf("client %d rest = %q, %v", i, rest, err)
		}
	}
	if !strings.Contains(r2.Header.Get("Cache-Status"), "collapsed") {
		t.Errorf("second client Cache-Status %q; want collapsed", r2.Header.Get("Cache-Status"))
	}
	r3, body := get(t, srv.URL+"/stream")
	if xcache(r3) != "HIT" || body != "first|second" {
		t.Errorf("after the fill: %q %q; want a hit with the whole body", xcache(r3), body)
	}
	if o.count("/stream") != 1 || p.Stats().OriginFetches != 1 {
		t.Errorf("origin requests = %d; want 1", o.count("/stream"))
	}
}

// TestLeaderDisconnectKeepsFill: the client that started a fetch going
// away does not abort it for the others or for the cache.
func TestLeaderDisconnectKeepsFill(t *testing.T) {
	o := newOrigin(t, nil)
	release := make(chan struct{})
	o.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "01234")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "56789")
	})
	p, srv := newProxy(t, o.URL, nil, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /slow HTTP/1.1\r\nHost: %s\r\n\r\n", strings.TrimPrefix(srv.URL, "http://"))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	conn.Close() // the leader goes away mid-body
	close(release)
	waitFor(t, "fill stored", func() bool { return p.Stats().Entries == 1 })
	r, body := get(t, srv.URL+"/slow")
	if xcache(r) != "HIT" || body != "0123456789" {
		t.Errorf("after leader left: %q %q", xcache(r), body)
	}
}

// TestPurgeDuringFill: a purge that arrives while a response is being
// fetched keeps it from being stored, and new requests do not join it.
func TestPurgeDuringFill(t *testing.T) {
	for _, soft := range []bool{false, true} {
		t.Run(fmt.Sprintf("soft=%v", soft), func(t *testing.T) {
			o := newOrigin(t, nil)
			release := make(chan struct{})
			var version atomic.Int32
			o.handle("/p", func(w http.ResponseWriter, r *http.Request) {
				v := version.Add(1)
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Surrogate-Key", "k1")
				fmt.Fprintf(w, "v%d-", v)
				w.(http.Flusher).Flush()
				if v == 1 {
					<-release
				}
				io.WriteString(w, "end")
			})
			p, srv := newProxy(t, o.URL, nil, nil)
			done := make(chan string)
			go func() {
				_, b := get(t, srv.URL+"/p")
				done <- b
			}()
			waitFor(t, "fetch started", func() bool { return version.Load() == 1 })
			if _, err := p.Purge(t.Context(), PurgeRequest{Tags: []string{"k1"}, Soft: soft}); err != nil {
				t.Fatal(err)
			}
			_, after := get(t, srv.URL+"/p") // must not join the pre-purge fetch
			close(release)
			if b := <-done; b != "v1-end" {
				t.Errorf("in-flight client got %q", b)
			}
			if after != "v2-end" {
				t.Errorf("request after the purge got %q; want a new fetch (v2)", after)
			}
			r, b := get(t, srv.URL+"/p")
			if b != "v2-end" || xcache(r) != "HIT" {
				t.Errorf("then %q %q; want the post-purge response from cache", b, xcache(r))
			}
		})
	}
}

// TestPurgeDuringFillRace hammers fills and purges concurrently: after
// the last purge returns, no request is answered with content the origin
// produced before it (run with -race).
func TestPurgeDuringFillRace(t *testing.T) {
	o := newOrigin(t, nil)
	var gen atomic.Int64
	o.handle("/r", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%d", gen.Load())
	})
	p, srv := newProxy(t, o.URL, nil, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop) // also when the test fails: the clients must not outlive it
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(srv.URL + "/r")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		gen.Add(1)
		if _, err := p.Purge(t.Context(), PurgeRequest{URLs: []string{"/r"}}); err != nil {
			t.Fatal(err)
		}
		want := gen.Load()
		_, body := get(t, srv.URL+"/r")
		var got int64
		fmt.Sscan(body, &got)
		if got < want {
			t.Fatalf("after purge %d got content of generation %d", want, got)
		}
	}
}

// TestUpstreamFailures covers an origin that resets connections, hangs,
// or sends enormous headers, and a client with enormous headers.
func TestUpstreamFailures(t *testing.T) {
	o := newOrigin(t, nil)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	o.handle("/reset", func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	})
	o.handle("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	o.handle("/hang-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	o.handle("/huge-header", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 5000; i++ {
			w.Header().Add(fmt.Sprintf("X-H%d", i), strings.Repeat("v", 60))
		}
		io.WriteString(w, "x")
	})
	o.static("/bad-values", 200, "ok", "Cache-Control", "max-age=\"12, ;;; =,, max-age=5", "Expires", "not a date", "Age", "-1, x", "Date", "garbage")
	p, srv := newProxy(t, o.URL, nil, func(p *Proxy) { p.UpstreamTimeout = 300 * time.Millisecond })

	if r, body := get(t, srv.URL+"/reset"); r.StatusCode != 502 || !strings.Contains(r.Header.Get("Cache-Status"), "upstream-error") {
		t.Errorf("reset = %d %q %q; want 502", r.StatusCode, r.Header.Get("Cache-Status"), body)
	}
	if r, _ := get(t, srv.URL+"/hang"); r.StatusCode != 504 {
		t.Errorf("hang = %d; want 504", r.StatusCode)
	}
	resp, err := client.Get(srv.URL + "/hang-body")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("a body cut off upstream reached the client as complete")
	}
	if v, _ := p.StoreOf().Get(t.Context(), "http://"+strings.TrimPrefix(srv.URL, "http://")+"/hang-body"); v != nil {
		t.Errorf("incomplete response stored")
	}
	// (Through a proxy with a generous timeout: on a loaded machine,
	// writing 300 KB of header can take longer than the one above.)
	_, patient := newProxy(t, o.URL, nil, nil)
	if r, _ := get(t, patient.URL+"/huge-header"); r.StatusCode != 502 {
		t.Errorf("huge upstream header = %d; want 502", r.StatusCode)
	}
	r, body := get(t, srv.URL+"/bad-values")
	if r.StatusCode != 200 || body != "ok" {
		t.Errorf("malformed caching fields = %d %q", r.StatusCode, body)
	}
	if r, _ := get(t, srv.URL+"/bad-values"); xcache(r) == "HIT" {
		t.Errorf("response with invalid freshness information reused")
	}

	// Enormous client headers: refused by the server before the cache.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	for i := 0; i < 20000; i++ {
		req.Header.Add(fmt.Sprintf("X-C%d", i), "vvvvvvvvvvvvvvvvvvvvvvv")
	}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("huge request header = %d; want 431", resp.StatusCode)
		}
	}
	// Invalid Host.
	if r, _ := get(t, srv.URL+"/x", "Host", "bad host!"); r.StatusCode != 400 {
		t.Errorf("invalid Host = %d; want 400", r.StatusCode)
	}
}

// TestHitForMiss: once a key's response could not be stored, requests for
// it stop waiting for each other (Varnish's hit-for-miss).
func TestHitForMiss(t *testing.T) {
	o := newOrigin(t, nil)
	release := make(chan struct{})
	var inflight, calls atomic.Int32
	o.handle("/priv", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			inflight.Add(1)
			<-release
		}
		w.Header().Set("Cache-Control", "private")
		io.WriteString(w, "p")
	})
	_, srv := newProxy(t, o.URL, nil, nil)
	get(t, srv.URL+"/priv") // not storable: marks the key
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get(t, srv.URL+"/priv") }()
	}
	waitFor(t, "both requests at the origin at once", func() bool { return inflight.Load() == 2 })
	close(release)
	wg.Wait()
}

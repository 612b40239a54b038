package localedge

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeadOfLargeObjectFromSlices: a HEAD for an object above
// max_object_size is answered from its first slice, without its body and
// without asking the upstream for the whole object each time (before, every
// HEAD was a GET of the whole object passed through uncached). A Range on
// a HEAD is ignored (RFC 9110 §14.2: defined for GET only).
func TestHeadOfLargeObjectFromSlices(t *testing.T) {
	o := newRangeOrigin(t)
	video := objectBytes(300 << 10)
	o.put("/v.mp4", video, `"a"`)
	p, srv := sliceProxy(t, o.URL)
	u := srv.URL + "/v.mp4"
	get(t, u, "Range", "bytes=0-9") // learns the object is large; slice 0 stored
	waitFor(t, "slice 0 stored", func() bool { return p.Stats().Entries == 1 })
	o.requests()
	for _, kv := range [][]string{nil, {"Range", "bytes=100-199"}} {
		r, body := do(t, "HEAD", u, kv...)
		if r.StatusCode != 200 || body != "" || r.Header.Get("Content-Length") != "307200" || r.Header.Get("ETag") != `"a"` || xcache(r) != "HIT" {
			t.Errorf("HEAD %v = %d %s Content-Length %q ETag %q, %d body bytes; want a 200 hit with the whole length", kv, r.StatusCode, xcache(r), r.Header.Get("Content-Length"), r.Header.Get("ETag"), len(body))
		}
	}
	if got := o.requests(); len(got) != 0 {
		t.Errorf("origin requests for two HEADs: %q; want none", got)
	}
}

// TestSliceLeftovers: what a range request of a sliced object gets at the
// edges of the rules: 416 past the end (with the complete length),
// If-Range with the current and another validator, a range ending past
// the end, a suffix longer than the object.
func TestSliceLeftovers(t *testing.T) {
	o := newRangeOrigin(t)
	video := objectBytes(300 << 10)
	o.put("/v.mp4", video, `"a"`)
	_, srv := sliceProxy(t, o.URL)
	u := srv.URL + "/v.mp4"
	get(t, u, "Range", "bytes=0-9")
	for _, tc := range []struct {
		kv           []string
		status       int
		contentRange string
		body         []byte
	}{
		{[]string{"Range", "bytes=307200-"}, 416, "bytes */307200", nil},
		{[]string{"Range", "bytes=999999-1000000"}, 416, "bytes */307200", nil},
		{[]string{"Range", "bytes=307190-999999"}, 206, "bytes 307190-307199/307200", video[307190:]},
		{[]string{"Range", "bytes=-999999"}, 206, "bytes 0-307199/307200", video}, // RFC 9110 §14.1.3
		{[]string{"Range", "bytes=70000-70009", "If-Range", `"a"`}, 206, "bytes 70000-70009/307200", video[70000:70010]},
		{[]string{"Range", "bytes=70000-70009", "If-Range", `"b"`}, 200, "", video},
		{[]string{"Range", "bytes=70000-70009", "If-Range", `W/"a"`}, 200, "", video},
	} {
		r, body := get(t, u, tc.kv...)
		if r.StatusCode != tc.status || r.Header.Get("Content-Range") != tc.contentRange || body != string(tc.body) {
			t.Errorf("%q = %d %q, %d bytes; want %d %q, %d bytes", tc.kv, r.StatusCode, r.Header.Get("Content-Range"), len(body), tc.status, tc.contentRange, len(tc.body))
		}
	}
}

// TestPurgeForgetsLargeObject: a purge of a large object's URL forgets
// that it could not be sliced. An object once served by an upstream
// that could not slice it (range requests forwarded, uncached, one
// upstream request each) is cached again once purged, after the upstream
// learnt Range; before, the mark stayed until evicted, purges or not.
func TestPurgeForgetsLargeObject(t *testing.T) {
	o := newRangeOrigin(t)
	o.noRange = true
	video := objectBytes(300 << 10)
	o.put("/v.mp4", video, `"a"`)
	p, srv := sliceProxy(t, o.URL)
	u := srv.URL + "/v.mp4"
	get(t, u, "Range", "bytes=0-9")
	if r, _ := get(t, u, "Range", "bytes=0-9"); !strings.Contains(r.Header.Get("Cache-Status"), "not-sliceable") {
		t.Fatalf("Cache-Status %q; want the object marked not sliceable", r.Header.Get("Cache-Status"))
	}
	o.mu.Lock()
	o.noRange = false
	o.mu.Unlock()
	if _, err := p.Purge(t.Context(), PurgeRequest{URLs: []string{"/v.mp4"}}); err != nil {
		t.Fatal(err)
	}
	o.requests()
	for i := range 3 {
		r, body := get(t, u, "Range", "bytes=0-9")
		if r.StatusCode != 206 || body != string(video[:10]) {
			t.Errorf("range %d after the purge = %d, %d bytes; want 206 from slices", i, r.StatusCode, len(body))
		}
		if i == 0 {
			waitFor(t, "slice 0 stored", func() bool { return p.Stats().Entries == 1 })
		}
	}
	if got := o.requests(); !slices.Equal(got, []string{"/v.mp4 ", "/v.mp4 bytes=0-65535"}) {
		t.Errorf("origin requests after the purge %q; want the object learnt again, then slice 0 once", got)
	}
}

// TestSliceWaitersWithCredentials: the collapsing rule of
// TestCollapsedWaitersGetOnlyWhatTheyCouldAlone holds for slice fills: a
// client with a Cookie waiting on another client's fill of a slice that
// must be validated on every use (no-cache) fetches the slice itself; a
// fresh slice is shared.
func TestSliceWaitersWithCredentials(t *testing.T) {
	video := objectBytes(300 << 10)
	var mu sync.Mutex
	release := map[string]chan struct{}{}
	var fetches atomic.Int32
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cc := r.URL.Query().Get("cc")
		if r.Header.Get("Range") == "bytes=0-65535" {
			fetches.Add(1)
			if r.Header.Get("Cookie") == "" {
				mu.Lock()
				ch := release[cc]
				mu.Unlock()
				<-ch
			}
		}
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("ETag", `"a"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(video))
	}))
	t.Cleanup(o.Close)
	p, srv := sliceProxy(t, o.URL)
	for _, tc := range []struct {
		cc     string
		shared bool
	}{{"no-cache", false}, {"public, max-age=60", true}} {
		q := "?cc=" + url.QueryEscape(tc.cc)
		u := srv.URL + "/v.mp4" + q
		mu.Lock()
		release[tc.cc] = make(chan struct{})
		mu.Unlock()
		// Learn that the object is large: its whole response is too large
		// to store (the first range request then waits on slice 0).
		before, f0 := p.Stats().Collapsed, fetches.Load()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); get(t, u, "Range", "bytes=0-9") }()
		waitFor(t, "slice 0 requested", func() bool { return fetches.Load() > f0 })
		var body string
		go func() { defer wg.Done(); _, body = get(t, u, "Range", "bytes=0-9", "Cookie", "session=x") }()
		waitFor(t, "the cookie client waiting on slice 0", func() bool { return p.Stats().Collapsed > before })
		mu.Lock()
		close(release[tc.cc])
		mu.Unlock()
		wg.Wait()
		if body != string(video[:10]) {
			t.Errorf("%s: cookie client got %q", tc.cc, body)
		}
		want := f0 + 2 // its own fetch of slice 0
		if tc.shared {
			want = f0 + 1
		}
		if got := fetches.Load(); got != want {
			t.Errorf("%s: slice 0 fetched %d times; want %d", tc.cc, got-f0, want-f0)
		}
	}
}

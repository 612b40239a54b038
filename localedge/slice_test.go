package localedge

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rangeOrigin serves one object per path with net/http's ServeContent,
// which answers Range requests as RFC 9110 says, and records the Range of
// every request it gets.
type rangeOrigin struct {
	*httptest.Server
	mu      sync.Mutex
	objects map[string][]byte
	etags   map[string]string
	ranges  []string // "path Range" of each request
	noRange bool     // answer 200 with the whole object, ignoring Range
}

func newRangeOrigin(t *testing.T) *rangeOrigin {
	o := &rangeOrigin{objects: map[string][]byte{}, etags: map[string]string{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		body, etag, noRange := o.objects[r.URL.Path], o.etags[r.URL.Path], o.noRange
		o.ranges = append(o.ranges, r.URL.Path+" "+r.Header.Get("Range"))
		o.mu.Unlock()
		if body == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", etag)
		if noRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *rangeOrigin) put(path string, body []byte, etag string) {
	o.mu.Lock()
	o.objects[path], o.etags[path] = body, etag
	o.mu.Unlock()
}

// requests returns and forgets the requests received.
func (o *rangeOrigin) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.ranges
	o.ranges = nil
	return r
}

func objectBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

const (
	sliceTestMax   = 256 << 10
	sliceTestSlice = 64 << 10
)

func sliceProxy(t *testing.T, upstream string) (*Proxy, *httptest.Server) {
	p, srv := newProxy(t, upstream, nil, func(p *Proxy) {
		p.MaxObjectSize, p.SliceSize = sliceTestMax, sliceTestSlice
	})
	return p, srv
}

// Issue 12: Range: bytes=0-9 on an object above max_object_size returned
// 200 with the whole object, from the origin, every time. Now the object
// is fetched and stored in slices: a range costs the slices it covers,
// once.
func TestRangeOfLargeObjectFromSlices(t *testing.T) {
	o := newRangeOrigin(t)
	video := objectBytes(600 << 10) // 10 slices of 64 KiB, the last one shorter
	o.put("/video.mp4", video, `"v1"`)
	p, srv := sliceProxy(t, o.URL)
	u := srv.URL + "/video.mp4"

	r, body := get(t, u, "Range", "bytes=0-9")
	if r.StatusCode != 206 || body != string(video[:10]) || r.Header.Get("Content-Range") != "bytes 0-9/614400" {
		t.Fatalf("first range = %d %q %q", r.StatusCode, r.Header.Get("Content-Range"), body)
	}
	// The whole response was too large to store: the edge stopped it and
	// asked for the first slice.
	if got := o.requests(); !slices.Equal(got, []string{"/video.mp4 ", "/video.mp4 bytes=0-65535"}) {
		t.Errorf("origin requests %q; want the whole object abandoned, then slice 0", got)
	}
	// The client had its 10 bytes before the slice was stored.
	waitFor(t, "slice 0 stored", func() bool { return p.Stats().Entries == 1 })
	r, body = get(t, u, "Range", "bytes=0-9")
	if r.StatusCode != 206 || body != string(video[:10]) || xcache(r) != "HIT" {
		t.Errorf("second range = %d %s %q", r.StatusCode, xcache(r), body)
	}
	// Seeking: a range in slices 4 and 5 costs those two slices.
	r, body = get(t, u, "Range", "bytes=300000-340000")
	if r.StatusCode != 206 || body != string(video[300000:340001]) || r.Header.Get("Content-Range") != "bytes 300000-340000/614400" || r.Header.Get("Content-Length") != "40001" {
		t.Errorf("seek = %d %q len %d", r.StatusCode, r.Header.Get("Content-Range"), len(body))
	}
	if got := o.requests(); !slices.Equal(got, []string{"/video.mp4 bytes=262144-327679", "/video.mp4 bytes=327680-393215"}) {
		t.Errorf("origin requests %q; want slices 4 and 5", got)
	}
	// Resuming to the end, and a suffix: the missing slices, then nothing.
	r, body = get(t, u, "Range", "bytes=340000-")
	if r.StatusCode != 206 || body != string(video[340000:]) {
		t.Errorf("resume = %d %q len %d", r.StatusCode, r.Header.Get("Content-Range"), len(body))
	}
	if got := o.requests(); len(got) != 4 {
		t.Errorf("origin requests %q; want slices 6 to 9", got)
	}
	r, body = get(t, u, "Range", "bytes=-100")
	if r.StatusCode != 206 || body != string(video[len(video)-100:]) || xcache(r) != "HIT" {
		t.Errorf("suffix = %d %s %q", r.StatusCode, xcache(r), r.Header.Get("Content-Range"))
	}
	// The whole object, joined from the slices: only slices 1 to 3 are
	// still missing.
	r, body = get(t, u)
	if r.StatusCode != 200 || body != string(video) || r.Header.Get("Content-Length") != "614400" || r.Header.Get("Content-Range") != "" || r.Header.Get("ETag") != `"v1"` {
		t.Errorf("whole = %d len %d %q", r.StatusCode, len(body), r.Header.Get("Content-Range"))
	}
	if got := o.requests(); len(got) != 3 {
		t.Errorf("origin requests %q; want slices 1 to 3", got)
	}
	r, body = get(t, u)
	if r.StatusCode != 200 || body != string(video) || xcache(r) != "HIT" {
		t.Errorf("whole again = %d %s", r.StatusCode, xcache(r))
	}
	// If-Range with another validator: the whole object; a range past
	// the end: 416; conditions apply to the object.
	r, body = get(t, u, "Range", "bytes=0-9", "If-Range", `"v0"`)
	if r.StatusCode != 200 || len(body) != len(video) {
		t.Errorf("If-Range mismatch = %d len %d", r.StatusCode, len(body))
	}
	r, _ = get(t, u, "Range", "bytes=700000-")
	if r.StatusCode != 416 || r.Header.Get("Content-Range") != "bytes */614400" {
		t.Errorf("unsatisfiable = %d %q", r.StatusCode, r.Header.Get("Content-Range"))
	}
	r, body = get(t, u, "Range", "bytes=0-9", "If-None-Match", `"v1"`)
	if r.StatusCode != 304 || body != "" {
		t.Errorf("If-None-Match = %d %q", r.StatusCode, body)
	}
	if got := o.requests(); len(got) != 0 {
		t.Errorf("origin requests %q; want none", got)
	}
}

// Slices are purged with their object's URL.
func TestPurgeRemovesSlices(t *testing.T) {
	o := newRangeOrigin(t)
	o.put("/v.mp4", objectBytes(300<<10), `"a"`)
	p, srv := sliceProxy(t, o.URL)
	edge := srv.URL
	get(t, edge+"/v.mp4", "Range", "bytes=0-9")
	// The index, where purges look keys up, is updated just after the store.
	waitFor(t, "slice 0 stored", func() bool { return p.idx.len() == 1 })
	o.requests()
	host := strings.TrimPrefix(edge, "http://")
	n, err := p.Purge(t.Context(), PurgeRequest{URLs: []string{"http://" + host + "/v.mp4"}})
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want the slice purged", n, err)
	}
	r, _ := get(t, edge+"/v.mp4", "Range", "bytes=0-9")
	if xcache(r) != "MISS" || !slices.Equal(o.requests(), []string{"/v.mp4 bytes=0-65535"}) {
		t.Errorf("after purge: %s; want slice 0 fetched again", xcache(r))
	}
}

// A representation that changes between slices is not combined: the
// response stops short and the stored slices are dropped.
func TestSlicesOfChangedObjectNotCombined(t *testing.T) {
	o := newRangeOrigin(t)
	v1, v2 := objectBytes(300<<10), bytes.Repeat([]byte("x"), 300<<10)
	o.put("/v.mp4", v1, `"1"`)
	p, srv := sliceProxy(t, o.URL)
	edge := srv.URL
	get(t, edge+"/v.mp4", "Range", "bytes=0-9") // slice 0 of v1 stored
	o.put("/v.mp4", v2, `"2"`)
	resp, err := client.Get(edge + "/v.mp4")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || len(body) >= len(v1) {
		t.Errorf("mixed representations: read %d bytes, err %v; want the response cut short", len(body), err)
	}
	waitFor(t, "slices of v1 dropped", func() bool { return p.idx.len() == 0 })
	r, got := get(t, edge+"/v.mp4")
	if r.StatusCode != 200 || got != string(v2) {
		t.Errorf("after the change = %d, %d bytes; want v2 whole", r.StatusCode, len(got))
	}
}

// An upstream that ignores Range cannot be sliced: range requests for the
// object are then forwarded as they are, uncached.
func TestUnsliceableUpstreamForwardsRanges(t *testing.T) {
	o := newRangeOrigin(t)
	o.noRange = true
	video := objectBytes(300 << 10)
	o.put("/v.mp4", video, `"a"`)
	_, srv := sliceProxy(t, o.URL)
	edge := srv.URL
	for i := range 3 {
		r, body := get(t, edge+"/v.mp4", "Range", "bytes=0-9")
		if r.StatusCode != 200 || body != string(video) {
			t.Errorf("request %d = %d len %d; want what the origin sent", i, r.StatusCode, len(body))
		}
		if i > 0 && !strings.Contains(r.Header.Get("Cache-Status"), "detail=not-sliceable") {
			t.Errorf("request %d: Cache-Status %q", i, r.Header.Get("Cache-Status"))
		}
	}
	// Learning costs the abandoned whole response and a slice request
	// answered with the whole object; afterwards each range is forwarded,
	// one request each.
	if got := o.requests(); !slices.Equal(got, []string{"/v.mp4 ", "/v.mp4 bytes=0-65535", "/v.mp4 bytes=0-9", "/v.mp4 bytes=0-9", "/v.mp4 bytes=0-9"}) {
		t.Errorf("origin requests %q", got)
	}
}

// Through a shield, the edge's slice requests are ranges the shield
// answers from its own slices.
func TestSlicesThroughShield(t *testing.T) {
	o := newRangeOrigin(t)
	video := objectBytes(400 << 10)
	o.put("/v.mp4", video, `"a"`)
	_, shield := newProxy(t, o.URL, nil, func(p *Proxy) {
		p.Name, p.Role, p.TrustForwarded = "shield", RoleShield, true
		p.MaxObjectSize, p.SliceSize = sliceTestMax, sliceTestSlice
	})
	_, pop1 := sliceProxy(t, shield.URL)
	_, pop2 := newProxy(t, shield.URL, nil, func(p *Proxy) {
		p.Name, p.MaxObjectSize, p.SliceSize = "pop2", sliceTestMax, sliceTestSlice
	})
	for _, edge := range []string{pop1.URL, pop2.URL} {
		r, body := get(t, edge+"/v.mp4", "Range", "bytes=100000-100009", "Host", "www.example.test")
		if r.StatusCode != 206 || body != string(video[100000:100010]) {
			t.Errorf("%s: %d %q", edge, r.StatusCode, r.Header.Get("Content-Range"))
		}
	}
	// The origin saw the shield's abandoned whole request, slice 1 for
	// pop1, and slice 0, which the shield (that knows the object is
	// large) fetched to answer pop2's first, whole, request before pop2
	// abandoned it. pop2's slice came from the shield.
	// (The shield may fetch a few more slices before it notices that pop2
	// went away: they are stored for later.)
	if got := o.requests(); len(got) < 3 || !slices.Equal(got[:3], []string{"/v.mp4 ", "/v.mp4 bytes=65536-131071", "/v.mp4 bytes=0-65535"}) ||
		slices.Contains(got[3:], "/v.mp4 ") || slices.Contains(got[3:], "/v.mp4 bytes=65536-131071") {
		t.Errorf("origin requests %q", got)
	}
	r, body := get(t, pop2.URL+"/v.mp4", "Host", "www.example.test")
	if r.StatusCode != 200 || body != string(video) {
		t.Errorf("whole through the shield = %d, %d bytes", r.StatusCode, len(body))
	}
}

func TestSliceOf(t *testing.T) {
	s := sliceSpec{start: 1024, end: 2047}
	for _, tt := range []struct {
		status       int
		contentRange string
		etag, lm     string
		complete     int64
		ok           bool
	}{
		{206, "bytes 1024-2047/4096", `"a"`, "", 4096, true},
		{206, "bytes 1024-1500/1501", `"a"`, "", 1501, true},                           // the last slice
		{206, "bytes 1024-2047/4096", "", "Mon, 02 Jan 2006 15:04:05 GMT", 4096, true}, // Last-Modified as validator
		{206, "bytes 1024-2047/4096", `W/"a"`, "", 0, false},                           // weak: not combinable
		{206, "bytes 1024-2047/4096", "", "", 0, false},                                // no validator
		{206, "bytes 0-2047/4096", `"a"`, "", 0, false},                                // another start
		{206, "bytes 1024-1500/4096", `"a"`, "", 0, false},                             // short, not the end
		{206, "bytes 1024-2047/*", `"a"`, "", 0, false},                                // unknown length
		{206, "bytes 1024-4096/4096", `"a"`, "", 0, false},                             // past the end
		{200, "", `"a"`, "", 0, false},                                                 // the whole object
	} {
		h := http.Header{}
		if tt.contentRange != "" {
			h.Set("Content-Range", tt.contentRange)
		}
		if tt.etag != "" {
			h.Set("ETag", tt.etag)
		}
		if tt.lm != "" {
			h.Set("Last-Modified", tt.lm)
		}
		complete, ok := sliceOf(tt.status, h, s)
		if ok != tt.ok || (ok && complete != tt.complete) {
			t.Errorf("sliceOf(%d, %q, ETag %q, Last-Modified %q) = %d, %v; want %d, %v", tt.status, tt.contentRange, tt.etag, tt.lm, complete, ok, tt.complete, tt.ok)
		}
	}
}

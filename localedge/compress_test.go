package localedge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/cdnctl/cdnctl/localedge/edgecompress"
)

// cssBody is a compressible stylesheet of about 40 kB.
var cssBody = func() string {
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, ".c%d { margin: %dpx auto; color: #%06x; }\n", i, i%37, i*7919%0xffffff)
	}
	return b.String()
}()

// cssLength is its Content-Length, which CloudFront needs to compress.
var cssLength = strconv.Itoa(len(cssBody))

func decodeBody(t *testing.T, coding, body string) string {
	t.Helper()
	var r io.Reader = strings.NewReader(body)
	switch coding {
	case "br":
		r = brotli.NewReader(r)
	case "zstd":
		d, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		r = d
	case "gzip":
		g, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = g
	case "":
	default:
		t.Fatalf("unexpected Content-Encoding %q", coding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", coding, err)
	}
	return string(b)
}

// compressingProxy is an edge with CloudFront's compression policy in
// front of o.
func compressingProxy(t *testing.T, o *origin, clock *fakeClock) (*Proxy, string) {
	t.Helper()
	c, err := edgecompress.New(edgecompress.DefaultPolicy(), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, srv := newProxy(t, o.URL, clock, func(p *Proxy) { p.Compress = c })
	return p, srv.URL
}

func varies(r *http.Response, field string) bool {
	for _, line := range r.Header.Values("Vary") {
		for f := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.TrimSpace(f), field) {
				return true
			}
		}
	}
	return false
}

func TestCompressPerEncoding(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.static("/app.css", 200, cssBody, "Content-Length", cssLength, "Content-Type", "text/css; charset=utf-8", "Cache-Control", "max-age=60", "ETag", `"v1"`)
	_, edge := compressingProxy(t, o, clock)

	cases := []struct {
		ae, coding, etag, first string
	}{
		{"gzip, deflate, br, zstd", "br", `W/"v1"`, "MISS"}, // Chrome
		{"zstd", "zstd", `W/"v1"`, "MISS"},
		{"gzip", "gzip", `W/"v1"`, "MISS"},
		{"gzip;q=1, br;q=0.5", "gzip", `W/"v1"`, "MISS"}, // q-values decide
		{"", "", `"v1"`, "MISS"},                         // no Accept-Encoding: identity, the origin's strong ETag
		{"identity", "", `"v1"`, "HIT"},                  // the same variant
	}
	for _, tc := range cases {
		for round, want := range []string{tc.first, "HIT"} {
			var kv []string
			if tc.ae != "" {
				kv = []string{"Accept-Encoding", tc.ae}
			}
			resp, body := get(t, edge+"/app.css", kv...)
			if resp.StatusCode != 200 || xcache(resp) != want {
				t.Fatalf("%q round %d: %d %s; want 200 %s", tc.ae, round, resp.StatusCode, xcache(resp), want)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.coding {
				t.Errorf("%q: Content-Encoding %q; want %q", tc.ae, got, tc.coding)
			}
			if got := decodeBody(t, tc.coding, body); got != cssBody {
				t.Errorf("%q: decoded body differs (%d bytes)", tc.ae, len(got))
			}
			if tc.coding != "" && len(body) > len(cssBody)/3 {
				t.Errorf("%q: %d bytes for %d: not compressed", tc.ae, len(body), len(cssBody))
			}
			if !varies(resp, "Accept-Encoding") {
				t.Errorf("%q: Vary %q lacks Accept-Encoding", tc.ae, resp.Header.Values("Vary"))
			}
			if got := resp.Header.Get("ETag"); got != tc.etag {
				t.Errorf("%q: ETag %q; want %q", tc.ae, got, tc.etag)
			}
			if cl := resp.Header.Get("Content-Length"); round == 1 && cl != strconv.Itoa(len(body)) {
				t.Errorf("%q: hit Content-Length %q; body %d bytes", tc.ae, cl, len(body))
			}
			if resp.Header.Get(compressedField) != "" {
				t.Errorf("%s sent to the client", compressedField)
			}
		}
	}
	// One fill per variant: the identity requests (none and "identity")
	// share one, and "gzip" with "gzip;q=1, br;q=0.5" do not (their
	// normalised forms differ, the coding does not).
	if n := o.count("/app.css"); n != 5 {
		t.Errorf("origin requests = %d; want 5 (one per Accept-Encoding form)", n)
	}
}

func TestCompressNotEligible(t *testing.T) {
	o := newOrigin(t, nil)
	small := strings.Repeat("a", 999)
	o.static("/small.css", 200, small, "Content-Type", "text/css", "Cache-Control", "max-age=60")
	o.static("/img.png", 200, cssBody, "Content-Length", cssLength, "Content-Type", "image/png", "Cache-Control", "max-age=60")
	o.static("/nt.css", 200, cssBody, "Content-Length", cssLength, "Content-Type", "text/css", "Cache-Control", "max-age=60, no-transform")
	o.static("/err.css", 500, cssBody, "Content-Length", cssLength, "Content-Type", "text/css")
	// The origin's own precompressed sibling wins: not compressed again.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(cssBody))
	_ = zw.Close()
	o.handle("/pre.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("Cache-Control", "max-age=60")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(gz.Bytes())
			return
		}
		_, _ = io.WriteString(w, cssBody)
	})
	// A streamed body of unknown length (CloudFront needs Content-Length).
	o.handle("/stream.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, cssBody[:100])
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, cssBody[100:])
	})
	_, edge := compressingProxy(t, o, nil)
	for _, tc := range []struct {
		path, body string
		vary       bool
	}{
		{"/small.css", small, false},
		{"/img.png", cssBody, false},
		{"/nt.css", cssBody, false},
		{"/err.css", cssBody, false},
		{"/stream.css", cssBody, false},
		{"/pre.css", gz.String(), true},
	} {
		resp, body := get(t, edge+tc.path, "Accept-Encoding", "br, gzip")
		wantCE := ""
		if tc.path == "/pre.css" {
			wantCE = "gzip"
		}
		if got := resp.Header.Get("Content-Encoding"); got != wantCE || body != tc.body {
			t.Errorf("%s: Content-Encoding %q, %d bytes; want %q, %d bytes as the origin sent", tc.path, got, len(body), wantCE, len(tc.body))
		}
		if varies(resp, "Accept-Encoding") != tc.vary {
			t.Errorf("%s: Vary %q", tc.path, resp.Header.Values("Vary"))
		}
	}
}

func TestCompressRangeHeadConditional(t *testing.T) {
	o := newOrigin(t, nil)
	o.static("/app.js", 200, cssBody, "Content-Length", cssLength, "Content-Type", "text/javascript", "Cache-Control", "max-age=60", "ETag", `"v1"`)
	_, edge := compressingProxy(t, o, nil)

	full, whole := get(t, edge+"/app.js", "Accept-Encoding", "br")
	if full.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("not compressed: %v", full.Header)
	}
	// A range of the compressed representation (RFC 9110 §14.1.2: ranges
	// are of the selected representation, content coding included).
	resp, part := get(t, edge+"/app.js", "Accept-Encoding", "br", "Range", "bytes=0-99")
	if resp.StatusCode != 206 || part != whole[:100] || resp.Header.Get("Content-Encoding") != "br" {
		t.Errorf("Range: %d, %d bytes, %q; want 206 with the first 100 compressed bytes", resp.StatusCode, len(part), resp.Header.Get("Content-Encoding"))
	}
	if got, want := resp.Header.Get("Content-Range"), "bytes 0-99/"+strconv.Itoa(len(whole)); got != want {
		t.Errorf("Content-Range %q; want %q", got, want)
	}
	// If-Range needs a strong validator: the weak ETag gets the whole.
	resp, body := get(t, edge+"/app.js", "Accept-Encoding", "br", "Range", "bytes=0-99", "If-Range", `W/"v1"`)
	if resp.StatusCode != 200 || body != whole {
		t.Errorf("If-Range with the weak ETag: %d, %d bytes; want 200 and the whole", resp.StatusCode, len(body))
	}
	// A range for an identity client: of the identity bytes.
	resp, part = get(t, edge+"/app.js", "Range", "bytes=0-99")
	if resp.StatusCode != 206 || part != cssBody[:100] || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("identity Range: %d %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	// HEAD: the compressed representation's fields, no body.
	resp, body = do(t, http.MethodHead, edge+"/app.js", "Accept-Encoding", "br")
	if resp.Header.Get("Content-Encoding") != "br" || resp.Header.Get("Content-Length") != strconv.Itoa(len(whole)) || body != "" || xcache(resp) != "HIT" {
		t.Errorf("HEAD: %q, Content-Length %q (want %d), %s", resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(whole), xcache(resp))
	}
	// A client's conditional request with the weak ETag: 304.
	resp, _ = get(t, edge+"/app.js", "Accept-Encoding", "br", "If-None-Match", `W/"v1"`)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match W/\"v1\": %d; want 304", resp.StatusCode)
	}
	if n := o.count("/app.js"); n != 2 {
		t.Errorf("origin requests = %d; want 2 (br and identity variants)", n)
	}
}

// TestCompressRevalidation: a stale compressed variant is revalidated
// with the origin's validator, and the origin's 304 (with its strong
// ETag) refreshes it without a new fill or a new compression.
func TestCompressRevalidation(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Vary", "Origin")
		if inm := r.Header.Get("If-None-Match"); inm == `"v1"` || inm == `W/"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Content-Length", cssLength)
		_, _ = io.WriteString(w, cssBody)
	})
	p, edge := compressingProxy(t, o, clock)
	_, first := get(t, edge+"/app.css", "Accept-Encoding", "zstd")
	clock.Advance(20 * time.Second)
	resp, body := get(t, edge+"/app.css", "Accept-Encoding", "zstd")
	if resp.StatusCode != 200 || body != first || resp.Header.Get("Content-Encoding") != "zstd" || resp.Header.Get("ETag") != `W/"v1"` {
		t.Fatalf("revalidated: %d, %q, ETag %q, same body %v", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"), body == first)
	}
	if !varies(resp, "Accept-Encoding") || !varies(resp, "Origin") {
		t.Errorf("after the 304: Vary %q", resp.Header.Values("Vary"))
	}
	if inm := o.lastRequest("/app.css").Header.Get("If-None-Match"); inm != `W/"v1"` {
		t.Errorf("revalidation sent If-None-Match %q", inm)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=stale") || !strings.Contains(cs, "fwd-status=304") {
		t.Errorf("Cache-Status %q; want a revalidation answered 304", cs)
	}
	resp, _ = get(t, edge+"/app.css", "Accept-Encoding", "zstd")
	if xcache(resp) != "HIT" || o.count("/app.css") != 2 {
		t.Errorf("after revalidation: %s, origin requests %d; want a hit, 2", xcache(resp), o.count("/app.css"))
	}
	if s := p.Compress.Stats(); s.Compressed["zstd"] != 1 {
		t.Errorf("compressed %d times; want once", s.Compressed["zstd"])
	}
}

func TestCompressPurgeAllVariants(t *testing.T) {
	o := newOrigin(t, nil)
	o.static("/app.css", 200, cssBody, "Content-Length", cssLength, "Content-Type", "text/css", "Cache-Control", "max-age=600")
	p, edge := compressingProxy(t, o, nil)
	aes := []string{"br", "zstd", "gzip", "identity"}
	for _, ae := range aes {
		get(t, edge+"/app.css", "Accept-Encoding", ae)
	}
	for _, ae := range aes {
		if resp, _ := get(t, edge+"/app.css", "Accept-Encoding", ae); xcache(resp) != "HIT" {
			t.Fatalf("%s: %s before the purge", ae, xcache(resp))
		}
	}
	if _, err := p.Purge(context.Background(), PurgeRequest{URLs: []string{"/app.css"}}); err != nil {
		t.Fatal(err)
	}
	for _, ae := range aes {
		if resp, _ := get(t, edge+"/app.css", "Accept-Encoding", ae); xcache(resp) != "MISS" {
			t.Errorf("%s: %s after the purge; want MISS", ae, xcache(resp))
		}
	}
	if n := o.count("/app.css"); n != 8 {
		t.Errorf("origin requests = %d; want 8", n)
	}
}

// TestCompressCurl checks the edge with curl's decoders (libcurl's brotli,
// zstd and zlib), which share nothing with Go's.
func TestCompressCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is needed under CI")
		}
		t.Skip("no curl")
	}
	o := newOrigin(t, nil)
	o.static("/app.css", 200, cssBody, "Content-Length", cssLength, "Content-Type", "text/css", "Cache-Control", "max-age=600")
	_, edge := compressingProxy(t, o, nil)
	run := func(args ...string) (headers, body string) {
		dir := t.TempDir()
		args = append([]string{"-sS", "--max-time", "10", "-D", dir + "/h", "-o", dir + "/b"}, args...)
		if out, err := exec.Command(curl, append(args, edge+"/app.css")...).CombinedOutput(); err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		h, _ := os.ReadFile(dir + "/h")
		b, _ := os.ReadFile(dir + "/b")
		return strings.ToLower(string(h)), string(b)
	}
	// --compressed: curl offers every coding it has and decodes.
	h, b := run("--compressed")
	if !strings.Contains(h, "content-encoding: br") || b != cssBody {
		t.Errorf("curl --compressed: %d bytes, headers:\n%s", len(b), h)
	}
	for _, coding := range []string{"zstd", "br", "gzip"} {
		h, b := run("--compressed", "-H", "Accept-Encoding: "+coding)
		if !strings.Contains(h, "content-encoding: "+coding) || b != cssBody {
			t.Errorf("curl -H 'Accept-Encoding: %s': %d bytes, headers:\n%s", coding, len(b), h)
		}
	}
	// No Accept-Encoding: identity.
	if h, b := run(); strings.Contains(h, "content-encoding") || b != cssBody {
		t.Errorf("plain curl: %d bytes, headers:\n%s", len(b), h)
	}
}

// TestCompressDiskStoreRestart: a compressed variant kept on disk is
// served after a restart, and its mark survives: the origin's 304 still
// refreshes it.
func TestCompressDiskStoreRestart(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.handle("/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=10")
		if r.Header.Get("If-None-Match") == `W/"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Content-Length", cssLength)
		_, _ = io.WriteString(w, cssBody)
	})
	dir := t.TempDir()
	c, err := edgecompress.New(edgecompress.DefaultPolicy(), 0)
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*Proxy, string) {
		store, err := OpenDiskStore(dir, DiskStoreOptions{Capacity: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		p, srv := newProxy(t, o.URL, clock, func(p *Proxy) { p.Compress, p.Store = c, store })
		return p, srv.URL
	}
	p, edge := start()
	_, first := get(t, edge+"/app.css", "Host", "www.example.test", "Accept-Encoding", "br")
	p.Close()
	if err := p.StoreOf().(*DiskStore).Close(); err != nil {
		t.Fatal(err)
	}

	_, edge = start()
	resp, body := get(t, edge+"/app.css", "Host", "www.example.test", "Accept-Encoding", "br")
	if xcache(resp) != "HIT" || resp.Header.Get("Content-Encoding") != "br" || body != first || resp.Header.Get(compressedField) != "" {
		t.Fatalf("after a restart: %s, %q, same body %v", xcache(resp), resp.Header.Get("Content-Encoding"), body == first)
	}
	clock.Advance(20 * time.Second)
	resp, body = get(t, edge+"/app.css", "Host", "www.example.test", "Accept-Encoding", "br")
	if !strings.Contains(resp.Header.Get("Cache-Status"), "fwd-status=304") || body != first || resp.Header.Get("ETag") != `W/"v1"` {
		t.Errorf("revalidated after a restart: %q, ETag %q, same body %v", resp.Header.Get("Cache-Status"), resp.Header.Get("ETag"), body == first)
	}
	if n := o.count("/app.css"); n != 2 {
		t.Errorf("origin requests = %d; want 2 (the fill, the revalidation)", n)
	}
}

// TestCompressESITemplate: with ESI on, an ESI page is not compressed at
// the edge, so a browser that accepts br still gets it assembled.
func TestCompressESITemplate(t *testing.T) {
	o := newOrigin(t, nil)
	page := `<html><esi:include src="/frag"/>` + strings.Repeat("<p>filler</p>", 200) + `</html>`
	o.static("/page", 200, page, "Surrogate-Control", `content="ESI/1.0"`, "Cache-Control", "public, max-age=60",
		"Content-Type", "text/html", "Content-Length", strconv.Itoa(len(page)))
	o.static("/frag", 200, "<h1>fragment</h1>", "Cache-Control", "public, max-age=60", "Content-Type", "text/html")
	c, err := edgecompress.New(edgecompress.DefaultPolicy(), 0)
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newProxy(t, o.URL, nil, func(p *Proxy) { p.Compress, p.ESI = c, &ESIOptions{MaxIncludes: 8} })
	for range 2 {
		resp, body := get(t, srv.URL+"/page", "Accept-Encoding", "gzip, deflate, br, zstd")
		if ce := resp.Header.Get("Content-Encoding"); ce != "" || !strings.HasPrefix(body, "<html><h1>fragment</h1><p>filler") {
			t.Fatalf("ESI page for a br client: Content-Encoding %q, body %.40q; want it assembled", ce, body)
		}
	}
}

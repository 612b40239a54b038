package origin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/deploystate"
	"github.com/cdnctl/cdnctl/hashing"
)

// writeTree creates files (slash paths → content) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startOrigin serves dir over real loopback HTTP.
func startOrigin(t *testing.T, dir string, opts Options) *httptest.Server {
	t.Helper()
	h, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return srv
}

// client does not add Accept-Encoding nor decode bodies, and does not
// follow redirects, so tests see exactly what the origin sent.
var client = &http.Client{
	Transport: &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Timeout: 10 * time.Second,
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func quoted(s string) string { return `"` + s + `"` }

func TestServeFile(t *testing.T) {
	const css = "body { color: red }\n"
	dir := writeTree(t, map[string]string{"css/site.css": css, "img/logo.png": "\x89PNG...."})
	srv := startOrigin(t, dir, Options{})

	r := do(t, "GET", srv.URL+"/css/site.css", nil)
	if r.status != 200 || r.body != css {
		t.Fatalf("GET /css/site.css = %d %q; want 200 %q", r.status, r.body, css)
	}
	want := map[string]string{
		"Content-Type":           "text/css; charset=utf-8",
		"Content-Length":         fmt.Sprint(len(css)),
		"Etag":                   quoted(sum(css)),
		"Cache-Control":          "public, max-age=60",
		"Accept-Ranges":          "bytes",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q; want %q", k, got, v)
		}
	}
	if r.header.Get("Last-Modified") == "" {
		t.Errorf("no Last-Modified")
	}
	if v := r.header.Get("Vary"); v != "" {
		t.Errorf("Vary = %q for a file without siblings; want none", v)
	}

	r = do(t, "HEAD", srv.URL+"/css/site.css", nil)
	if r.status != 200 || r.body != "" || r.header.Get("Content-Length") != fmt.Sprint(len(css)) {
		t.Errorf("HEAD = %d body %q Content-Length %q; want 200, empty, %d", r.status, r.body, r.header.Get("Content-Length"), len(css))
	}

	if r := do(t, "GET", srv.URL+"/img/logo.png", nil); r.header.Get("Content-Type") != "image/png" {
		t.Errorf("png Content-Type = %q; want image/png", r.header.Get("Content-Type"))
	}
	if r := do(t, "GET", srv.URL+"/nope.txt", nil); r.status != 404 {
		t.Errorf("missing file: status %d; want 404", r.status)
	}
	if r := do(t, "GET", srv.URL+"/css/site.css/x", nil); r.status != 404 {
		t.Errorf("path under a file: status %d; want 404", r.status)
	}
}

func TestDefaultCacheControlConfigurable(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.txt": "a"})
	srv := startOrigin(t, dir, Options{DefaultCacheControl: "no-cache"})
	if got := do(t, "GET", srv.URL+"/a.txt", nil).header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q; want no-cache", got)
	}
}

func TestConditionalRequests(t *testing.T) {
	const body = "hello, conditional world"
	dir := writeTree(t, map[string]string{"a.txt": body})
	srv := startOrigin(t, dir, Options{})
	first := do(t, "GET", srv.URL+"/a.txt", nil)
	etag, lastMod := first.header.Get("ETag"), first.header.Get("Last-Modified")

	tests := []struct {
		name   string
		method string
		header map[string]string
		status int
	}{
		{"If-None-Match match", "GET", map[string]string{"If-None-Match": etag}, 304},
		{"If-None-Match in list", "GET", map[string]string{"If-None-Match": `"x", ` + etag}, 304},
		{"If-None-Match weak form", "GET", map[string]string{"If-None-Match": "W/" + etag}, 304},
		{"If-None-Match star", "GET", map[string]string{"If-None-Match": "*"}, 304},
		{"If-None-Match HEAD", "HEAD", map[string]string{"If-None-Match": etag}, 304},
		{"If-None-Match other", "GET", map[string]string{"If-None-Match": `"other"`}, 200},
		{"If-Modified-Since same", "GET", map[string]string{"If-Modified-Since": lastMod}, 304},
		{"If-Modified-Since old", "GET", map[string]string{"If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}, 200},
		{"If-None-Match wins over If-Modified-Since", "GET", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lastMod}, 200},
		{"If-Match mismatch", "GET", map[string]string{"If-Match": `"other"`}, 412},
		{"If-Match match", "GET", map[string]string{"If-Match": etag}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, srv.URL+"/a.txt", tt.header)
			if r.status != tt.status {
				t.Fatalf("status = %d; want %d", r.status, tt.status)
			}
			if tt.status == 304 {
				if r.body != "" {
					t.Errorf("304 with body %q", r.body)
				}
				if r.header.Get("ETag") != etag || r.header.Get("Cache-Control") == "" {
					t.Errorf("304 headers ETag %q Cache-Control %q; want %q and the policy", r.header.Get("ETag"), r.header.Get("Cache-Control"), etag)
				}
			}
		})
	}
}

func TestRange(t *testing.T) {
	const body = "0123456789abcdef"
	dir := writeTree(t, map[string]string{"r.bin": body})
	srv := startOrigin(t, dir, Options{})
	etag := do(t, "GET", srv.URL+"/r.bin", nil).header.Get("ETag")

	r := do(t, "GET", srv.URL+"/r.bin", map[string]string{"Range": "bytes=2-5"})
	if r.status != 206 || r.body != "2345" || r.header.Get("Content-Range") != "bytes 2-5/16" {
		t.Errorf("Range 2-5 = %d %q %q; want 206 \"2345\" \"bytes 2-5/16\"", r.status, r.body, r.header.Get("Content-Range"))
	}
	r = do(t, "GET", srv.URL+"/r.bin", map[string]string{"Range": "bytes=-3"})
	if r.status != 206 || r.body != "def" {
		t.Errorf("suffix range = %d %q; want 206 \"def\"", r.status, r.body)
	}
	r = do(t, "GET", srv.URL+"/r.bin", map[string]string{"Range": "bytes=100-"})
	if r.status != 416 {
		t.Errorf("unsatisfiable range = %d; want 416", r.status)
	}
	r = do(t, "GET", srv.URL+"/r.bin", map[string]string{"Range": "bytes=0-1", "If-Range": etag})
	if r.status != 206 || r.body != "01" {
		t.Errorf("If-Range matching = %d %q; want 206 \"01\"", r.status, r.body)
	}
	r = do(t, "GET", srv.URL+"/r.bin", map[string]string{"Range": "bytes=0-1", "If-Range": `"stale"`})
	if r.status != 200 || r.body != body {
		t.Errorf("If-Range stale = %d %q; want 200 and the whole body", r.status, r.body)
	}
}

func TestPrecompressedSiblings(t *testing.T) {
	const (
		plain = "body { color: blue } /* plain */"
		br    = "BROTLI-BYTES"
		gz    = "GZIP-BYTES!!"
		zst   = "ZSTD-BYTES"
	)
	dir := writeTree(t, map[string]string{
		"app.css": plain, "app.css.br": br, "app.css.gz": gz, "app.css.zst": zst,
		"only.js": "x()", "only.js.gz": "gz(x)",
	})
	srv := startOrigin(t, dir, Options{})

	tests := []struct {
		path, accept string
		wantCoding   string
		wantBody     string
	}{
		{"/app.css", "", "", plain},
		{"/app.css", "gzip, deflate, br, zstd", "br", br},
		{"/app.css", "gzip, zstd", "zstd", zst},
		{"/app.css", "gzip", "gzip", gz},
		{"/app.css", "br;q=0.1, gzip;q=0.9", "gzip", gz},
		{"/app.css", "identity", "", plain},
		{"/app.css", "*", "br", br},
		{"/app.css", "*;q=0, identity", "", plain},
		{"/only.js", "br, gzip", "gzip", "gz(x)"},
		{"/only.js", "br", "", "x()"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.accept, func(t *testing.T) {
			h := map[string]string{}
			if tt.accept != "" {
				h["Accept-Encoding"] = tt.accept
			}
			for _, method := range []string{"GET", "HEAD"} {
				r := do(t, method, srv.URL+tt.path, h)
				wantBody := tt.wantBody
				if method == "HEAD" {
					wantBody = ""
				}
				if r.status != 200 || r.body != wantBody {
					t.Fatalf("%s = %d %q; want 200 %q", method, r.status, r.body, wantBody)
				}
				if got := r.header.Get("Content-Encoding"); got != tt.wantCoding {
					t.Errorf("%s Content-Encoding = %q; want %q", method, got, tt.wantCoding)
				}
				if got, want := r.header.Get("Content-Length"), fmt.Sprint(len(tt.wantBody)); got != want {
					t.Errorf("%s Content-Length = %s; want %s", method, got, want)
				}
				if got, want := r.header.Get("ETag"), quoted(sum(tt.wantBody)); got != want {
					t.Errorf("%s ETag = %s; want %s (hash of the variant)", method, got, want)
				}
				if got := r.header.Get("Vary"); got != "Accept-Encoding" {
					t.Errorf("%s Vary = %q; want Accept-Encoding", method, got)
				}
				if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, hashing.ContentType(tt.path)) {
					t.Errorf("%s Content-Type = %q; want %q", method, got, hashing.ContentType(tt.path))
				}
			}
		})
	}

	// A variant's validator revalidates that variant only.
	brTag := quoted(sum(br))
	if r := do(t, "GET", srv.URL+"/app.css", map[string]string{"Accept-Encoding": "br", "If-None-Match": brTag}); r.status != 304 || r.header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("br revalidation = %d Vary %q; want 304 with Vary", r.status, r.header.Get("Vary"))
	}
	if r := do(t, "GET", srv.URL+"/app.css", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": brTag}); r.status != 200 || r.body != gz {
		t.Errorf("gzip request with br's ETag = %d %q; want 200 with the gzip bytes", r.status, r.body)
	}
	// Ranges apply to the encoded representation.
	if r := do(t, "GET", srv.URL+"/app.css", map[string]string{"Accept-Encoding": "br", "Range": "bytes=0-5"}); r.status != 206 || r.body != br[:6] || r.header.Get("Content-Encoding") != "br" {
		t.Errorf("ranged br = %d %q %q; want 206 %q br", r.status, r.body, r.header.Get("Content-Encoding"), br[:6])
	}
	// A sibling asked for by name is just a file.
	r := do(t, "GET", srv.URL+"/app.css.gz", map[string]string{"Accept-Encoding": "gzip"})
	if r.body != gz || r.header.Get("Content-Encoding") != "" || r.header.Get("Content-Type") != "application/gzip" {
		t.Errorf("GET app.css.gz = %q %q %q; want raw gzip file as application/gzip", r.body, r.header.Get("Content-Encoding"), r.header.Get("Content-Type"))
	}
}

func TestDirectories(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.html":         "<h1>home</h1>",
		"docs/index.html":    "<h1>docs</h1>",
		"docs/index.html.br": "BR-DOCS",
		"empty/file.txt":     "x",
	})
	srv := startOrigin(t, dir, Options{})

	r := do(t, "GET", srv.URL+"/", nil)
	if r.status != 200 || r.body != "<h1>home</h1>" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET / = %d %q %q; want home page as text/html", r.status, r.body, r.header.Get("Content-Type"))
	}
	r = do(t, "GET", srv.URL+"/docs?x=1", nil)
	if r.status != 308 || r.header.Get("Location") != "/docs/?x=1" {
		t.Errorf("GET /docs = %d Location %q; want 308 /docs/?x=1 (Cloudflare Pages)", r.status, r.header.Get("Location"))
	}
	exact := startOrigin(t, dir, Options{HTMLHandling: NoHTMLHandling})
	r = do(t, "GET", exact.URL+"/docs?x=1", nil)
	if r.status != 301 || r.header.Get("Location") != "/docs/?x=1" {
		t.Errorf("none: GET /docs = %d Location %q; want 301 /docs/?x=1 (nginx)", r.status, r.header.Get("Location"))
	}
	r = do(t, "GET", srv.URL+"/docs/", map[string]string{"Accept-Encoding": "br"})
	if r.status != 200 || r.body != "BR-DOCS" || r.header.Get("Content-Encoding") != "br" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET /docs/ (br) = %d %q %q %q; want the br index as text/html", r.status, r.body, r.header.Get("Content-Encoding"), r.header.Get("Content-Type"))
	}
	if r := do(t, "GET", srv.URL+"/empty/", nil); r.status != 404 {
		t.Errorf("directory without index.html = %d; want 404 (no listings)", r.status)
	}
	// A path that cleans to "//host" must not become an open redirect.
	r = rawRequest(t, srv, "GET //evil.example HTTP/1.1")
	if loc := r.header.Get("Location"); strings.HasPrefix(loc, "//") {
		t.Errorf("GET //evil.example redirected to %q: open redirect", loc)
	}
}

func TestMethods(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.txt": "a"})
	srv := startOrigin(t, dir, Options{})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		r := do(t, m, srv.URL+"/a.txt", nil)
		if r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s = %d Allow %q; want 405 with Allow: GET, HEAD", m, r.status, r.header.Get("Allow"))
		}
	}
}

// rawRequest sends a request line as written (no client-side cleaning or
// escaping) and parses the response.
func rawRequest(t *testing.T, srv *httptest.Server, requestLine string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s\r\nHost: origin.test\r\nConnection: close\r\n\r\n", requestLine); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func TestTraversal(t *testing.T) {
	const secret = "TOP-SECRET-OUTSIDE"
	outside := writeTree(t, map[string]string{"secret.txt": secret, "dir/secret.txt": secret})
	parent := t.TempDir()
	dir := filepath.Join(parent, "site")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"index.html": "home", "sub/ok.txt": "ok"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file next to the served folder, reachable with "../".
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, filepath.Join(outside, "secret.txt"), filepath.Join(dir, "escape.txt"))
	mustSymlink(t, filepath.Join(outside, "dir"), filepath.Join(dir, "escdir"))
	mustSymlink(t, "../secret.txt", filepath.Join(dir, "relescape.txt"))
	mustSymlink(t, "sub/ok.txt", filepath.Join(dir, "inside.txt"))
	srv := startOrigin(t, dir, Options{})

	attacks := []string{
		"GET /../secret.txt HTTP/1.1",
		"GET /sub/../../secret.txt HTTP/1.1",
		"GET /%2e%2e/secret.txt HTTP/1.1",
		"GET /%2E%2E%2Fsecret.txt HTTP/1.1",
		"GET /..%2fsecret.txt HTTP/1.1",
		"GET /sub/..%2f..%2fsecret.txt HTTP/1.1",
		"GET /..%5csecret.txt HTTP/1.1",
		"GET /..\\secret.txt HTTP/1.1",
		"GET /%2e%2e%5c%2e%2e%5csecret.txt HTTP/1.1",
		"GET /sub/%00../secret.txt HTTP/1.1",
		"GET " + "/" + strings.Repeat("../", 20) + "etc/passwd HTTP/1.1",
		"GET /escape.txt HTTP/1.1",
		"GET /escdir/secret.txt HTTP/1.1",
		"GET /relescape.txt HTTP/1.1",
		"GET /%252e%252e/secret.txt HTTP/1.1",
		"GET http://origin.test/../secret.txt HTTP/1.1",
	}
	for _, line := range attacks {
		r := rawRequest(t, srv, line)
		t.Logf("%s → %d", line, r.status)
		if r.status != 400 && r.status != 404 {
			t.Errorf("%s = %d; want 400 or 404", line, r.status)
		}
		if strings.Contains(r.body, secret) || strings.Contains(r.body, "root:") {
			t.Errorf("%s leaked content: %q", line, r.body)
		}
	}
	if r := do(t, "GET", srv.URL+"/inside.txt", nil); r.status != 200 || r.body != "ok" {
		t.Errorf("symlink inside the folder = %d %q; want 200 ok", r.status, r.body)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

func TestStateFolderNeverServed(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.txt": "a"})
	if err := writeIndex(dir, &Index{Objects: map[string]deploystate.IndexEntry{"a.txt": {SHA256: sum("a"), Size: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".cdnctl", "history.json"), []byte(`{"deploys":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, ".cdnctl", filepath.Join(dir, "state"))
	mustSymlink(t, ".cdnctl/history.json", filepath.Join(dir, "history.json"))
	if err := os.Link(filepath.Join(dir, ".cdnctl", "history.json"), filepath.Join(dir, "hard.json")); err != nil {
		t.Fatal(err)
	}
	srv := startOrigin(t, dir, Options{})
	for _, line := range []string{
		"GET /.cdnctl/objects.json HTTP/1.1",
		"GET /.cdnctl/history.json HTTP/1.1",
		"GET /.cdnctl/ HTTP/1.1",
		"GET /.cdnctl HTTP/1.1",
		"GET /.CDNCTL/objects.json HTTP/1.1",
		"GET /%2ecdnctl/objects.json HTTP/1.1",
		"GET /sub/../.cdnctl/objects.json HTTP/1.1",
		"GET //.cdnctl/objects.json HTTP/1.1",
		"GET /./.cdnctl/objects.json HTTP/1.1",
		"HEAD /.cdnctl/objects.json HTTP/1.1",
		"GET /state/objects.json HTTP/1.1",
		"GET /history.json HTTP/1.1",
		"GET /hard.json HTTP/1.1",
	} {
		r := rawRequest(t, srv, line)
		if r.status != 404 && r.status != 400 {
			t.Errorf("%s = %d; want 404", line, r.status)
		}
		if strings.Contains(r.body, "objects") || strings.Contains(r.body, "deploys") {
			t.Errorf("%s leaked state: %q", line, r.body)
		}
	}
	if r := do(t, "GET", srv.URL+"/a.txt", nil); r.status != 200 {
		t.Errorf("GET /a.txt = %d; want 200", r.status)
	}
}

func TestMetadataIndex(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.html": "<p>v1</p>",
		"data.bin":   "payload",
		"stored.js":  "GZIPPED-JS",
		"stale.txt":  "now longer than the index says",
		"app.css":    "css",
		"app.css.br": "css-br",
	})
	idx := &Index{Objects: map[string]deploystate.IndexEntry{
		"index.html": {SHA256: sum("<p>v1</p>"), Size: 9, Metadata: deploystate.Metadata{ContentType: "text/html; charset=utf-8",
			CacheControl: "public, max-age=0, must-revalidate", Tags: []string{"html", "home"},
			Headers: map[string]string{"X-Frame-Options": "DENY", "Content-Length": "1"}}},
		"data.bin":  {SHA256: strings.Repeat("ab", 32), Size: 7, Metadata: deploystate.Metadata{ContentType: "application/x-custom"}},
		"stored.js": {SHA256: sum("GZIPPED-JS"), Size: 10, Metadata: deploystate.Metadata{ContentEncoding: "gzip", CacheControl: "public, max-age=31536000, immutable"}},
		"stale.txt": {SHA256: strings.Repeat("cd", 32), Size: 3},
		"app.css":   {SHA256: sum("css"), Size: 3, Metadata: deploystate.Metadata{Tags: []string{"css"}}},
	}}
	if err := writeIndex(dir, idx); err != nil {
		t.Fatal(err)
	}
	srv := startOrigin(t, dir, Options{})

	r := do(t, "GET", srv.URL+"/", nil)
	checkHeaders(t, "GET /", r.header, map[string]string{
		"Cache-Control":   "public, max-age=0, must-revalidate",
		"Cache-Tag":       "html,home",
		"Surrogate-Key":   "html home",
		"X-Frame-Options": "DENY",
		"ETag":            quoted(sum("<p>v1</p>")),
		"Content-Length":  "9",
	})
	r = do(t, "GET", srv.URL+"/data.bin", nil)
	checkHeaders(t, "GET /data.bin", r.header, map[string]string{
		"Content-Type":  "application/x-custom",
		"ETag":          quoted(strings.Repeat("ab", 32)),
		"Cache-Control": "public, max-age=60",
	})
	r = do(t, "GET", srv.URL+"/stored.js", map[string]string{"Accept-Encoding": "br"})
	if r.body != "GZIPPED-JS" {
		t.Errorf("stored.js body %q", r.body)
	}
	checkHeaders(t, "GET /stored.js", r.header, map[string]string{
		"Content-Encoding": "gzip",
		"Content-Type":     "text/javascript; charset=utf-8",
		"Cache-Control":    "public, max-age=31536000, immutable",
		"Vary":             "",
	})
	// The index describes an older version: its hash must not be used.
	r = do(t, "GET", srv.URL+"/stale.txt", nil)
	checkHeaders(t, "GET /stale.txt", r.header, map[string]string{"ETag": quoted(sum("now longer than the index says"))})
	// A sibling the index does not list still gets its own, computed ETag.
	r = do(t, "GET", srv.URL+"/app.css", map[string]string{"Accept-Encoding": "br"})
	checkHeaders(t, "GET /app.css br", r.header, map[string]string{
		"Content-Encoding": "br", "ETag": quoted(sum("css-br")), "Cache-Tag": "css",
	})

	// A new deploy: object first, then the index, atomically. The origin
	// notices without a restart.
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>v2!</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	idx.Objects["index.html"] = deploystate.IndexEntry{SHA256: sum("<p>v2!</p>"), Size: 10, Metadata: deploystate.Metadata{CacheControl: "no-cache", Tags: []string{"v2"}}}
	if err := writeIndex(dir, idx); err != nil {
		t.Fatal(err)
	}
	r = do(t, "GET", srv.URL+"/", nil)
	if r.body != "<p>v2!</p>" {
		t.Errorf("after deploy body = %q", r.body)
	}
	checkHeaders(t, "GET / after deploy", r.header, map[string]string{
		"Cache-Control": "no-cache", "Cache-Tag": "v2", "ETag": quoted(sum("<p>v2!</p>")), "X-Frame-Options": "",
	})

	// A broken index is ignored (defaults), not fatal.
	if err := os.WriteFile(filepath.Join(dir, ".cdnctl", "objects.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = do(t, "GET", srv.URL+"/", nil)
	if r.status != 200 || r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("broken index: %d Cache-Control %q; want 200 with the default", r.status, r.header.Get("Cache-Control"))
	}
}

func checkHeaders(t *testing.T, what string, h http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q; want %q", what, k, got, v)
		}
	}
}

func writeManifest(t *testing.T, dir string, m *hashing.Manifest) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "manifest.tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, hashing.DefaultManifestName)); err != nil {
		t.Fatal(err)
	}
}

func TestManifest(t *testing.T) {
	const (
		css   = "h1{}"
		cssBr = "h1-br"
		html  = "<link href=app.0123456789.css>"
	)
	dir := writeTree(t, map[string]string{
		"app.0123456789.css":    css,
		"app.0123456789.css.br": cssBr,
		"app.0123456789.css.gz": "not in the manifest",
		"index.html":            html,
	})
	m := &hashing.Manifest{Version: 1, Algorithm: "sha256", Files: map[string]hashing.Entry{
		"app.css": {Path: "app.0123456789.css", Fingerprinted: true, SHA256: sum(css), Size: int64(len(css)),
			ContentType: "text/css; charset=utf-8", CacheControl: "public, max-age=31536000, immutable",
			Tags: []string{"css"}, Headers: map[string]string{"Access-Control-Allow-Origin": "*"},
			Encodings: map[string]hashing.Encoding{"br": {Path: "app.0123456789.css.br", Size: int64(len(cssBr)), SHA256: sum(cssBr)}}},
		"index.html": {Path: "index.html", SHA256: sum(html), Size: int64(len(html)),
			ContentType: "text/html; charset=utf-8", CacheControl: "public, max-age=0, must-revalidate", Tags: []string{"html"}},
	}}
	writeManifest(t, dir, m)
	srv := startOrigin(t, dir, Options{})

	r := do(t, "GET", srv.URL+"/app.0123456789.css", map[string]string{"Accept-Encoding": "gzip, br"})
	if r.body != cssBr {
		t.Errorf("body = %q; want the br sibling", r.body)
	}
	checkHeaders(t, "GET css (br)", r.header, map[string]string{
		"Cache-Control": "public, max-age=31536000, immutable", "Content-Encoding": "br",
		"ETag": quoted(sum(cssBr)), "Cache-Tag": "css", "Surrogate-Key": "css",
		"Access-Control-Allow-Origin": "*", "Vary": "Accept-Encoding", "Content-Type": "text/css; charset=utf-8",
	})
	// The manifest lists only br: the .gz on disk is not a declared variant.
	r = do(t, "GET", srv.URL+"/app.0123456789.css", map[string]string{"Accept-Encoding": "gzip"})
	if r.body != css || r.header.Get("Content-Encoding") != "" {
		t.Errorf("gzip-only client got %q %q; want identity", r.body, r.header.Get("Content-Encoding"))
	}
	r = do(t, "GET", srv.URL+"/", nil)
	checkHeaders(t, "GET /", r.header, map[string]string{
		"Cache-Control": "public, max-age=0, must-revalidate", "Cache-Tag": "html", "ETag": quoted(sum(html)),
	})

	// The manifest changes (a new build): noticed without restart.
	e := m.Files["index.html"]
	e.CacheControl = "no-store"
	m.Files["index.html"] = e
	writeManifest(t, dir, m)
	if got := do(t, "GET", srv.URL+"/", nil).header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("after manifest change Cache-Control = %q; want no-store", got)
	}

	// The index takes precedence over the manifest.
	if err := writeIndex(dir, &Index{Objects: map[string]deploystate.IndexEntry{"index.html": {SHA256: sum(html), Size: int64(len(html)), Metadata: deploystate.Metadata{CacheControl: "private"}}}}); err != nil {
		t.Fatal(err)
	}
	r = do(t, "GET", srv.URL+"/", nil)
	checkHeaders(t, "GET / with index", r.header, map[string]string{"Cache-Control": "private", "Cache-Tag": "html"})
}

// TestConcurrentReload serves while the index is rewritten, for the race
// detector.
func TestConcurrentReload(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.txt": "a", "a.txt.gz": "gz"})
	srv := startOrigin(t, dir, Options{})
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cc := fmt.Sprintf("max-age=%d", i)
			if err := writeIndex(dir, &Index{Objects: map[string]deploystate.IndexEntry{"a.txt": {SHA256: sum("a"), Size: 1, Metadata: deploystate.Metadata{CacheControl: cc}}}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var readers sync.WaitGroup
	for g := 0; g < 4; g++ {
		readers.Go(func() {
			for i := 0; i < 50; i++ {
				resp, err := client.Get(srv.URL + "/a.txt")
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "a" || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "max-age=") && resp.Header.Get("Cache-Control") != DefaultCacheControl {
					t.Errorf("GET /a.txt = %d %q Cache-Control %q", resp.StatusCode, b, resp.Header.Get("Cache-Control"))
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	<-writerDone
}

// writeIndex replaces <dir>/.cdnctl/objects.json atomically, as
// providers/local does after writing objects.
func writeIndex(dir string, idx *Index) error {
	if idx.Version == 0 {
		idx.Version = deploystate.IndexVersion
	}
	b, err := idx.Marshal()
	if err != nil {
		return err
	}
	state := filepath.Join(dir, StateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(state, "objects.*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, filepath.FromSlash(IndexName)))
}

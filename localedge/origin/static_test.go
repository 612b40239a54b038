package origin

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cdnctl/cdnctl/hashing"
)

// nextExport is laid out as `next build` with output: "export" writes a
// site: pages as NAME.html (about.html, not about/index.html), a 404.html,
// hashed chunks under _next/, plus a folder page and precompressed pages.
func nextExport(t *testing.T, extra map[string]string) string {
	files := map[string]string{
		"index.html":                  "<h1>home</h1>",
		"about.html":                  "<h1>about</h1>",
		"about.html.br":               "BR-ABOUT",
		"blog/index.html":             "<h1>blog</h1>",
		"blog/first-post.html":        "<h1>first</h1>",
		"404.html":                    "<h1>not found</h1>",
		"404.html.br":                 "BR-404",
		"_next/static/chunks/main.js": "main()",
		"robots.txt":                  "User-agent: *",
	}
	for k, v := range extra {
		files[k] = v
	}
	return writeTree(t, files)
}

// TestCleanURLs: /about serves about.html with everything the origin
// serves about.html with (manifest headers, its br sibling, its
// validators, conditional requests, ranges), and the other spellings
// redirect to it once.
func TestCleanURLs(t *testing.T) {
	dir := nextExport(t, nil)
	writeManifest(t, dir, &hashing.Manifest{Version: 1, Algorithm: "sha256", Files: map[string]hashing.Entry{
		"about.html": {Path: "about.html", SHA256: sum("<h1>about</h1>"), Size: 14, ContentType: "text/html; charset=utf-8",
			CacheControl: "public, max-age=0, must-revalidate", Tags: []string{"page-about"},
			Headers:   map[string]string{"Content-Security-Policy": "default-src 'self'"},
			Encodings: map[string]hashing.Encoding{"br": {Path: "about.html.br", Size: 8, SHA256: sum("BR-ABOUT")}}},
	}})
	srv := startOrigin(t, dir, Options{})

	r := do(t, "GET", srv.URL+"/about", nil)
	if r.status != 200 || r.body != "<h1>about</h1>" {
		t.Fatalf("GET /about = %d %q; want 200 about.html", r.status, r.body)
	}
	checkHeaders(t, "GET /about", r.header, map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "public, max-age=0, must-revalidate",
		"Cache-Tag":               "page-about",
		"Content-Security-Policy": "default-src 'self'",
		"ETag":                    quoted(sum("<h1>about</h1>")),
		"Vary":                    "Accept-Encoding",
		"Content-Length":          "14",
	})
	if r.header.Get("Last-Modified") == "" {
		t.Errorf("GET /about: no Last-Modified")
	}
	etag := r.header.Get("ETag")
	r = do(t, "GET", srv.URL+"/about", map[string]string{"Accept-Encoding": "br"})
	if r.body != "BR-ABOUT" {
		t.Errorf("GET /about (br) body %q; want the br sibling", r.body)
	}
	checkHeaders(t, "GET /about (br)", r.header, map[string]string{"Content-Encoding": "br", "ETag": quoted(sum("BR-ABOUT")), "Cache-Tag": "page-about"})
	if r := do(t, "GET", srv.URL+"/about", map[string]string{"If-None-Match": etag}); r.status != 304 {
		t.Errorf("GET /about If-None-Match = %d; want 304", r.status)
	}
	if r := do(t, "GET", srv.URL+"/about", map[string]string{"Range": "bytes=1-2"}); r.status != 206 || r.body != "h1" {
		t.Errorf("GET /about Range = %d %q; want 206 \"h1\"", r.status, r.body)
	}
	if r := do(t, "HEAD", srv.URL+"/about", nil); r.status != 200 || r.body != "" || r.header.Get("Content-Length") != "14" {
		t.Errorf("HEAD /about = %d %q %q", r.status, r.body, r.header.Get("Content-Length"))
	}

	for path, want := range map[string]string{
		"/about.html":                           "/about",
		"/about/":                               "/about",
		"/about.html?x=1":                       "/about?x=1",
		"/blog":                                 "/blog/",
		"/blog/index.html":                      "/blog/",
		"/blog/index":                           "/blog/",
		"/index.html":                           "/",
		"/blog/first-post.html?utm_source=feed": "/blog/first-post?utm_source=feed",
	} {
		r := do(t, "GET", srv.URL+path, nil)
		if r.status != 308 || r.header.Get("Location") != want {
			t.Errorf("GET %s = %d Location %q; want 308 %s", path, r.status, r.header.Get("Location"), want)
		}
	}
	for path, want := range map[string]string{
		"/":                            "<h1>home</h1>",
		"/blog/":                       "<h1>blog</h1>",
		"/blog/first-post":             "<h1>first</h1>",
		"/robots.txt":                  "User-agent: *",
		"/_next/static/chunks/main.js": "main()",
	} {
		if r := do(t, "GET", srv.URL+path, nil); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %q; want 200 %q", path, r.status, r.body, want)
		}
	}

	// Next.js with trailingSlash: true writes about/index.html instead;
	// force-trailing-slash serves both layouts at /about/.
	force := startOrigin(t, dir, Options{HTMLHandling: ForceTrailingSlash})
	if r := do(t, "GET", force.URL+"/about/", nil); r.status != 200 || r.body != "<h1>about</h1>" || r.header.Get("ETag") != etag {
		t.Errorf("force: GET /about/ = %d %q %s", r.status, r.body, r.header.Get("ETag"))
	}
	if r := do(t, "GET", force.URL+"/about", nil); r.status != 308 || r.header.Get("Location") != "/about/" {
		t.Errorf("force: GET /about = %d %q; want 308 /about/", r.status, r.header.Get("Location"))
	}
}

// TestCleanURLsEscaped: a page whose name needs escaping is redirected to
// an escaped Location.
func TestCleanURLsEscaped(t *testing.T) {
	dir := writeTree(t, map[string]string{"a b/café.html": "x"})
	srv := startOrigin(t, dir, Options{})
	r := do(t, "GET", srv.URL+"/a%20b/caf%C3%A9.html", nil)
	if r.status != 308 || r.header.Get("Location") != "/a%20b/caf%C3%A9" {
		t.Errorf("GET = %d %q; want 308 /a%%20b/caf%%C3%%A9", r.status, r.header.Get("Location"))
	}
	if r := do(t, "GET", srv.URL+"/a%20b/caf%C3%A9", nil); r.status != 200 || r.body != "x" {
		t.Errorf("GET clean = %d %q", r.status, r.body)
	}
}

// TestNotFoundPage: the nearest 404.html answers with status 404, its type
// and its br sibling, but no validators nor caching policy of its own;
// hidden paths get the same answer as missing ones, and a 404.html in a
// hidden folder is never used.
func TestNotFoundPage(t *testing.T) {
	dir := nextExport(t, map[string]string{
		"blog/404.html":      "<h1>blog: not found</h1>",
		".secret/404.html":   "SECRET 404",
		"docs/.git/404.html": "SECRET GIT 404",
		".env":               "SECRET=1",
		"_redirects":         "/old /new 301\n",
		"_headers":           "/x\n  X-Y: z\n",
	})
	srv := startOrigin(t, dir, Options{})
	const root, blog = "<h1>not found</h1>", "<h1>blog: not found</h1>"
	for path, want := range map[string]string{
		"/missing":              root,
		"/missing/":             root,
		"/a/b/c":                root,
		"/blog/missing":         blog,
		"/blog/deep/er/x":       blog,
		"/blog/first-post/":     "", // redirected, not missing
		"/.env":                 root,
		"/.secret/x":            root,
		"/.secret/404.html":     root,
		"/docs/.git/x":          root,
		"/_redirects":           root,
		"/_headers":             root,
		"/.cdnctl/objects.json": root,
		"/about.html/":          root,
	} {
		r := do(t, "GET", srv.URL+path, nil)
		if want == "" {
			if r.status != 308 {
				t.Errorf("GET %s = %d; want 308", path, r.status)
			}
			continue
		}
		if r.status != 404 || r.body != want {
			t.Errorf("GET %s = %d %q; want 404 %q", path, r.status, r.body, want)
			continue
		}
		checkHeaders(t, "GET "+path, r.header, map[string]string{
			"Content-Type": "text/html; charset=utf-8", "ETag": "", "Last-Modified": "", "Cache-Control": "", "Accept-Ranges": "",
			"Content-Length": strconv.Itoa(len(want)),
		})
	}
	r := do(t, "GET", srv.URL+"/missing", map[string]string{"Accept-Encoding": "gzip, br", "If-None-Match": "*", "Range": "bytes=0-1"})
	if r.status != 404 || r.body != "BR-404" || r.header.Get("Content-Encoding") != "br" || r.header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("GET /missing (br, conditional, range) = %d %q %q %q; want 404 with the whole br page", r.status, r.body, r.header.Get("Content-Encoding"), r.header.Get("Vary"))
	}
	if r := do(t, "HEAD", srv.URL+"/missing", nil); r.status != 404 || r.body != "" || r.header.Get("Content-Length") != strconv.Itoa(len(root)) {
		t.Errorf("HEAD /missing = %d %q %q", r.status, r.body, r.header.Get("Content-Length"))
	}
	plain := startOrigin(t, dir, Options{NotFound: PlainNotFound})
	if r := do(t, "GET", plain.URL+"/missing", nil); r.status != 404 || r.body != "404 page not found\n" {
		t.Errorf("none: GET /missing = %d %q; want Go's plain 404", r.status, r.body)
	}
}

// TestSinglePageApplication: paths that name no file get 200.html (or
// index.html) with status 200 and its validators; files are still served.
func TestSinglePageApplication(t *testing.T) {
	dir := writeTree(t, map[string]string{"index.html": "<app>", "200.html": "<app shell>", "app.js": "js()", ".env": "SECRET"})
	srv := startOrigin(t, dir, Options{NotFound: SinglePageApplication})
	for path, want := range map[string]string{
		"/":               "<app>",
		"/app.js":         "js()",
		"/users/42":       "<app shell>",
		"/users/42/edit/": "<app shell>",
		"/.env":           "<app shell>", // as missing, never the dotfile
	} {
		r := do(t, "GET", srv.URL+path, nil)
		if r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %q; want 200 %q", path, r.status, r.body, want)
		}
	}
	r := do(t, "GET", srv.URL+"/users/42", nil)
	if r.header.Get("ETag") != quoted(sum("<app shell>")) || r.header.Get("Cache-Control") != DefaultCacheControl {
		t.Errorf("fallback headers: ETag %q Cache-Control %q", r.header.Get("ETag"), r.header.Get("Cache-Control"))
	}
	if r := do(t, "GET", srv.URL+"/users/42", map[string]string{"If-None-Match": r.header.Get("ETag")}); r.status != 304 {
		t.Errorf("fallback revalidation = %d; want 304", r.status)
	}
	if err := os.Remove(filepath.Join(dir, "200.html")); err != nil {
		t.Fatal(err)
	}
	if r := do(t, "GET", srv.URL+"/users/42", nil); r.status != 200 || r.body != "<app>" {
		t.Errorf("without 200.html: GET /users/42 = %d %q; want index.html", r.status, r.body)
	}
}

// TestRedirectsFile: the _redirects rules over HTTP: statuses, the default
// status, queries, shadowing and "!", rewrites with the target's own
// metadata, and targets that are never served.
func TestRedirectsFile(t *testing.T) {
	dir := nextExport(t, map[string]string{
		"_redirects": `# site moves
/home          /                301
/go            /blog/           # the default status
/exists        /about           301
/robots.txt    /nope            301
/about         /blog/           302!
/see           /blog/?from=see  303
/moved/*       /blog/:splat     308
/users/:id     /profile.html    200
/secret        /.env            200
/state         /.cdnctl/objects.json 200
/rules         /_redirects      200
/ghost         /does-not-exist  200
/shop  id=:id  /items/:id       301
/ext           https://example.test/x 307
`,
		"exists":       "I exist",
		"profile.html": "<h1>profile</h1>",
		".env":         "SECRET=1",
	})
	writeManifest(t, dir, &hashing.Manifest{Version: 1, Algorithm: "sha256", Files: map[string]hashing.Entry{
		"profile.html": {Path: "profile.html", SHA256: sum("<h1>profile</h1>"), Size: 16, CacheControl: "no-cache", Tags: []string{"profile"}},
	}})
	srv := startOrigin(t, dir, Options{})
	tests := []struct {
		path     string
		status   int
		location string
		body     string
	}{
		{"/home", 301, "/", ""},
		{"/home?ref=a", 301, "/?ref=a", ""},
		{"/go", 302, "/blog/", ""},
		{"/exists", 200, "", "I exist"},           // shadowed by the file
		{"/robots.txt", 200, "", "User-agent: *"}, // shadowed
		{"/about", 302, "/blog/", ""},             // forced
		{"/see", 303, "/blog/?from=see", ""},
		{"/moved/first-post", 308, "/blog/first-post", ""},
		{"/users/7", 200, "", "<h1>profile</h1>"},
		{"/secret", 404, "", "<h1>not found</h1>"},
		{"/state", 404, "", "<h1>not found</h1>"},
		{"/rules", 404, "", "<h1>not found</h1>"},
		{"/ghost", 404, "", "<h1>not found</h1>"},
		{"/shop?id=9", 301, "/items/9", ""},
		{"/shop", 404, "", "<h1>not found</h1>"},
		{"/ext", 307, "https://example.test/x", ""},
		{"/_redirects", 404, "", "<h1>not found</h1>"},
	}
	for _, tt := range tests {
		r := do(t, "GET", srv.URL+tt.path, nil)
		if r.status != tt.status || r.header.Get("Location") != tt.location || tt.body != "" && r.body != tt.body {
			t.Errorf("GET %s = %d Location %q body %q; want %d %q %q", tt.path, r.status, r.header.Get("Location"), r.body, tt.status, tt.location, tt.body)
		}
		if strings.Contains(r.body, "SECRET") || strings.Contains(r.body, "/home") {
			t.Errorf("GET %s leaked %q", tt.path, r.body)
		}
	}
	// A rewrite serves the target with the target's own metadata.
	r := do(t, "GET", srv.URL+"/users/7", nil)
	checkHeaders(t, "rewrite", r.header, map[string]string{"Cache-Control": "no-cache", "Cache-Tag": "profile", "ETag": quoted(sum("<h1>profile</h1>"))})

	// Cloudflare Pages applies every rule, files or not.
	forced := startOrigin(t, dir, Options{ForceRedirects: true, RedirectStatus: 301})
	for path, want := range map[string]string{"/exists": "/about", "/robots.txt": "/nope", "/go": "/blog/"} {
		if r := do(t, "GET", forced.URL+path, nil); r.status != 301 || r.header.Get("Location") != want {
			t.Errorf("forced: GET %s = %d %q; want 301 %s", path, r.status, r.header.Get("Location"), want)
		}
	}
	ignored := startOrigin(t, dir, Options{IgnoreRedirectsFile: true})
	if r := do(t, "GET", ignored.URL+"/home", nil); r.status != 404 {
		t.Errorf("ignored: GET /home = %d; want 404", r.status)
	}
	if r := do(t, "GET", ignored.URL+"/_redirects", nil); r.status != 404 {
		t.Errorf("ignored: GET /_redirects = %d; want 404 (never served)", r.status)
	}
}

// TestSPARule: Netlify's single-page-application line leaves the files
// alone (shadowing) and serves index.html for everything else.
func TestSPARule(t *testing.T) {
	dir := writeTree(t, map[string]string{"index.html": "<app>", "assets/app.js": "js()", "_redirects": "/*  /index.html  200\n"})
	srv := startOrigin(t, dir, Options{})
	for path, want := range map[string]string{"/assets/app.js": "js()", "/route/x": "<app>", "/": "<app>"} {
		if r := do(t, "GET", srv.URL+path, nil); r.status != 200 || r.body != want {
			t.Errorf("GET %s = %d %q; want 200 %q", path, r.status, r.body, want)
		}
	}
}

// TestHeadersFile: _headers rules apply to files (over the manifest's
// headers), their 304s, redirects and 404 pages, and can remove a header.
func TestHeadersFile(t *testing.T) {
	dir := nextExport(t, map[string]string{
		"_redirects": "/old /about 301\n",
		"_headers": `/*
  X-Frame-Options: DENY
/_next/static/*
  Cache-Control: public, max-age=31536000, immutable
  ! X-Content-Type-Options
/about
  Cache-Control: public, max-age=120
  Link: </_next/static/chunks/main.js>; rel=preload; as=script
/old
  Cache-Control: public, max-age=3600
/nowhere/*
  Cache-Control: public, max-age=30
  X-Page: :splat
`,
	})
	srv := startOrigin(t, dir, Options{})
	r := do(t, "GET", srv.URL+"/_next/static/chunks/main.js", nil)
	checkHeaders(t, "asset", r.header, map[string]string{
		"Cache-Control": "public, max-age=31536000, immutable", "X-Frame-Options": "DENY", "X-Content-Type-Options": "",
	})
	r = do(t, "GET", srv.URL+"/about", nil)
	checkHeaders(t, "page", r.header, map[string]string{
		"Cache-Control": "public, max-age=120", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
		"Link": "</_next/static/chunks/main.js>; rel=preload; as=script",
	})
	r = do(t, "GET", srv.URL+"/about", map[string]string{"If-None-Match": r.header.Get("ETag")})
	if r.status != 304 || r.header.Get("Cache-Control") != "public, max-age=120" {
		t.Errorf("304 = %d Cache-Control %q; want the rule's", r.status, r.header.Get("Cache-Control"))
	}
	r = do(t, "GET", srv.URL+"/old", nil)
	if r.status != 301 || r.header.Get("Cache-Control") != "public, max-age=3600" || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("redirect = %d %v; want 301 with the rules' headers", r.status, r.header)
	}
	r = do(t, "GET", srv.URL+"/nowhere/a/b", nil)
	if r.status != 404 || r.header.Get("Cache-Control") != "public, max-age=30" || r.header.Get("X-Page") != "a/b" {
		t.Errorf("404 page = %d %v; want 404 with the rules' headers", r.status, r.header)
	}
	if r := do(t, "GET", srv.URL+"/_headers", nil); r.status != 404 || strings.Contains(r.body, "X-Frame") {
		t.Errorf("GET /_headers = %d %q; want 404", r.status, r.body)
	}
}

// syncLog collects log output from concurrent handlers.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestRulesReload: a new _redirects is read without a restart; one that
// does not parse is reported and the last good rules stay; a removed one
// removes its rules.
func TestRulesReload(t *testing.T) {
	dir := writeTree(t, map[string]string{"index.html": "home", "_redirects": "/a /one 301\n"})
	log := &syncLog{}
	srv := startOrigin(t, dir, Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	location := func() string { return do(t, "GET", srv.URL+"/a", nil).header.Get("Location") }
	if got := location(); got != "/one" {
		t.Fatalf("Location = %q; want /one", got)
	}
	replace := func(content string) {
		t.Helper()
		tmp := filepath.Join(dir, "redirects.tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "_redirects")); err != nil {
			t.Fatal(err)
		}
	}
	replace("/a /two 301\n")
	if got := location(); got != "/two" {
		t.Errorf("after a deploy: Location = %q; want /two", got)
	}
	replace("/a /three 30\n")
	if got := location(); got != "/two" {
		t.Errorf("after a broken deploy: Location = %q; want /two (the last good rules)", got)
	}
	if !strings.Contains(log.String(), `_redirects:1: unknown status \"30\"`) {
		t.Errorf("log = %s; want the line error", log.String())
	}
	if err := os.Remove(filepath.Join(dir, "_redirects")); err != nil {
		t.Fatal(err)
	}
	if r := do(t, "GET", srv.URL+"/a", nil); r.status != 404 {
		t.Errorf("without _redirects: GET /a = %d; want 404", r.status)
	}
}

// TestNewInvalidRules: a rules file that does not parse stops the origin
// from starting, with the file and line.
func TestNewInvalidRules(t *testing.T) {
	for name, content := range map[string]string{
		"_redirects": "/a /b 301\n/c /d 30\n",
		"_headers":   "/a\n  Content-Length: 3\n",
	} {
		dir := writeTree(t, map[string]string{name: content})
		_, err := New(dir, Options{})
		want := name + ":2:"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with a bad %s: %v; want an error naming %s", name, err, want)
		}
		h, err := New(dir, Options{IgnoreRedirectsFile: true, IgnoreHeadersFile: true})
		if err != nil {
			t.Errorf("New ignoring the rules files: %v", err)
		} else {
			h.Close()
		}
	}
	for _, opts := range []Options{{HTMLHandling: "auto"}, {NotFound: "spa"}, {RedirectStatus: 200}} {
		if _, err := New(t.TempDir(), opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
}

package verify_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/verify"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func br(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// edge is a fake PoP: it serves page (or stale for the br variant when
// staleBR is set), compressed as asked, and says which Host it got.
type edge struct {
	page, stale []byte
	stored      []byte // the stored .br body, passed through as is
	staleBR     atomic.Bool
	hosts       atomic.Value
}

func (e *edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.hosts.Store(r.Host)
	switch r.URL.Path {
	case "/gone":
		http.NotFound(w, r)
		return
	case "/about/index.html", "/loop":
		// A static host's canonical URL, and a redirect that never ends.
		http.Redirect(w, r, map[string]string{"/about/index.html": "/about/", "/loop": "/loop"}[r.URL.Path], http.StatusPermanentRedirect)
		return
	case "/elsewhere":
		http.Redirect(w, r, "https://other.example/about/", http.StatusMovedPermanently)
		return
	}
	w.Header().Set("Vary", "Accept-Encoding")
	w.Header().Set("Cache-Status", "pop9; hit")
	switch r.Header.Get("Accept-Encoding") {
	case "br":
		w.Header().Set("Content-Encoding", "br")
		if e.staleBR.Load() {
			w.Write(br(e.stale))
			return
		}
		w.Write(e.stored)
	case "gzip":
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz(e.page)) // compressed on the fly: other bytes than any stored file
	default:
		w.Write(e.page)
	}
}

func start(t *testing.T) (*edge, prewarm.Edge, verify.Check) {
	t.Helper()
	e := &edge{page: []byte("<h1>version two</h1>"), stale: []byte("<h1>version one</h1>")}
	e.stored = br(e.page)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	pe := prewarm.Edge{Name: "pop9", Addr: strings.TrimPrefix(srv.URL, "http://"), Via: "address"}
	c := verify.Check{URL: "http://www.example.test/about/", Key: "about/index.html", SHA256: sum(e.page),
		Encoded: map[string]string{"br": sum(e.stored)}}
	return e, pe, c
}

func TestVerifyPasses(t *testing.T) {
	e, pe, c := start(t)
	var v verify.Verifier
	rep, err := v.Verify(t.Context(), []verify.Check{c}, []prewarm.Edge{pe})
	if err != nil {
		t.Fatal(err)
	}
	// br passed through as stored, gzip decoded, identity as is.
	if !rep.Passed || rep.Requests != 3 || rep.Pops[0].Requests != 3 || rep.Pops[0].Failed != 0 {
		t.Errorf("report = %+v; want 3 variants checked and passed", rep)
	}
	if h := e.hosts.Load(); h != "www.example.test" {
		t.Errorf("Host = %v; want the URL's host", h)
	}
}

func TestVerifyCatchesAStaleVariant(t *testing.T) {
	e, pe, c := start(t)
	e.staleBR.Store(true)
	var v verify.Verifier
	rep, err := v.Verify(t.Context(), []verify.Check{c, {URL: "http://www.example.test/gone", SHA256: c.SHA256}}, []prewarm.Edge{pe})
	var ve *verify.Error
	if !errors.As(err, &ve) || rep.Passed {
		t.Fatalf("error = %v; want a verify.Error", err)
	}
	if len(ve.Failures) != 2 {
		t.Fatalf("failures = %+v; want the stale br variant and the 404", ve.Failures)
	}
	stale := ve.Failures[0]
	if stale.Pop != "pop9" || stale.Encoding != "br" || stale.Got != sum(e.stale) || stale.Want != c.SHA256 ||
		stale.Headers["Cache-Status"] != "pop9; hit" || stale.Status != 200 {
		t.Errorf("stale failure = %+v; want pop9's br variant, decoded to the old page, with its headers", stale)
	}
	if gone := ve.Failures[1]; gone.Status != 404 || !strings.Contains(gone.Reason, "404") {
		t.Errorf("404 failure = %+v", gone)
	}
	if !strings.Contains(err.Error(), "pop9") || !strings.Contains(err.Error(), "/about/") {
		t.Errorf("error %q does not name the PoP and the URL", err)
	}
}

// TestVerifyFollowsSiteRedirects: a redirect within the site (a static
// host's canonical URL) is followed and what it leads to is checked; one
// to another site, or one that does not end, fails.
func TestVerifyFollowsSiteRedirects(t *testing.T) {
	_, pe, c := start(t)
	var v verify.Verifier
	moved := c
	moved.URL = "http://www.example.test/about/index.html"
	rep, err := v.Verify(t.Context(), []verify.Check{moved}, []prewarm.Edge{pe})
	if err != nil || !rep.Passed || rep.Requests != 3 {
		t.Fatalf("report = %+v, %v; want /about/index.html → /about/ checked in 3 variants", rep, err)
	}
	loop, away := c, c
	loop.URL, away.URL = "http://www.example.test/loop", "http://www.example.test/elsewhere"
	_, err = v.Verify(t.Context(), []verify.Check{loop, away}, []prewarm.Edge{pe})
	var ve *verify.Error
	if !errors.As(err, &ve) || len(ve.Failures) != 2 {
		t.Fatalf("error = %v; want two failures", err)
	}
	for _, f := range ve.Failures {
		switch f.URL {
		case away.URL:
			if f.Status != 301 || !strings.Contains(f.Reason, "status 301, want 200") {
				t.Errorf("redirect to another site: %+v; want status 301 reported", f)
			}
		case loop.URL:
			if f.Status != 308 || !strings.Contains(f.Reason, "(redirected to http://www.example.test/loop)") {
				t.Errorf("endless redirect: %+v; want status 308 after the redirects", f)
			}
		}
	}
}

func TestVerifyRejectsBadInput(t *testing.T) {
	_, pe, c := start(t)
	var v verify.Verifier
	if _, err := v.Verify(t.Context(), []verify.Check{c}, nil); err == nil {
		t.Error("no edges: no error")
	}
	c.SHA256 = ""
	if _, err := v.Verify(t.Context(), []verify.Check{c}, []prewarm.Edge{pe}); err == nil {
		t.Error("missing hash: no error")
	}
}

func TestSample(t *testing.T) {
	items := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, tc := range []struct {
		n    int
		want []int
	}{{0, nil}, {-1, items}, {20, items}, {2, []int{0, 5}}, {3, []int{0, 3, 6}}} {
		if got := verify.Sample(items, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("Sample(%d) = %v; want %v", tc.n, got, tc.want)
		}
	}
}

func TestSite(t *testing.T) {
	page, pageBR := []byte("<h1>hi</h1>"), br([]byte("<h1>hi</h1>"))
	files := []*providers.LocalFile{
		{Key: "blog/index.html", SHA256: sum(page), Meta: providers.Metadata{ContentType: "text/html"}},
		{Key: "blog/index.html.br", SHA256: sum(pageBR), Meta: providers.Metadata{ContentEncoding: "br"}},
		{Key: "app.1234abcd.js", SHA256: sum([]byte("js")), Fingerprinted: true},
		// Stored only gzip-encoded, and no manifest: nothing to compare.
		{Key: "data.json", SHA256: sum(gz([]byte("{}"))), Meta: providers.Metadata{ContentEncoding: "gzip"}},
	}
	s := verify.NewSite(files, nil)
	entries, assets := s.Keys()
	if !slices.Equal(entries, []string{"blog/index.html", "data.json"}) || !slices.Equal(assets, []string{"app.1234abcd.js"}) {
		t.Errorf("Keys() = %q, %q", entries, assets)
	}
	exp := s.Expect([]string{"blog/index.html", "data.json", "missing"})
	if len(exp) != 2 || exp[0].Path != "/blog/index.html" || exp[1].Path != "/blog/" || exp[0].SHA256 != sum(page) || exp[0].Encoded["br"] != sum(pageBR) {
		t.Errorf("Expect = %+v; want both URLs of the page with its br sibling's hash", exp)
	}
	base, _ := prewarm.ParseBase("https://www.example.com/docs/")
	if c := verify.Checks(base, exp); c[1].URL != "https://www.example.com/docs/blog/" {
		t.Errorf("Checks()[1].URL = %q", c[1].URL)
	}
}

// TestPrivateChecks: a URL that must not serve cdnctl's state fails only
// when it answers 200 with a state file (also compressed); a 404, a 403
// and a fallback page pass.
func TestPrivateChecks(t *testing.T) {
	history := []byte(`{"version": 1, "deploys": [{"seq": 1, "id": "20261207T100000Z-3f9a1c0e", "git_commit": "abc"}], "assets": {}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/www/.cdnctl/history.json":
			w.Header().Set("Content-Type", "application/json")
			w.Write(history)
		case "/gz/.cdnctl/history.json":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz(history))
		case "/spa/.cdnctl/history.json":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!doctype html><div id=app></div>"))
		case "/denied/.cdnctl/history.json":
			http.Error(w, "AccessDenied", http.StatusForbidden)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	edges := []prewarm.Edge{{Name: "pop1", Addr: strings.TrimPrefix(srv.URL, "http://")}}
	base, err := prewarm.ParseBase("http://www.example.test/")
	if err != nil {
		t.Fatal(err)
	}
	var v verify.Verifier
	checks := verify.PrivateChecks(base, []string{"/www/.cdnctl/history.json", "/gz/.cdnctl/history.json", "/spa/.cdnctl/history.json", "/denied/.cdnctl/history.json", "/none/.cdnctl/history.json"})
	rep, err := v.Verify(t.Context(), checks, edges)
	var ve *verify.Error
	if !errors.As(err, &ve) {
		t.Fatalf("Verify = %v; want a *verify.Error", err)
	}
	var failed []string
	for _, f := range rep.Failures {
		failed = append(failed, f.URL)
		if !strings.Contains(f.Reason, "origin.state") || f.Status != 200 {
			t.Errorf("failure %+v; want status 200 and a reason naming the fix", f)
		}
	}
	want := []string{"http://www.example.test/gz/.cdnctl/history.json", "http://www.example.test/www/.cdnctl/history.json"}
	slices.Sort(failed)
	if !slices.Equal(failed, want) {
		t.Errorf("failed %v; want %v (the state answered 200)", failed, want)
	}
	if !verify.LooksLikeState([]byte(`{"version":1,"objects":{}}`)) || verify.LooksLikeState([]byte(`{"deploys":[]}`)) || verify.LooksLikeState([]byte("<html>")) {
		t.Error("LooksLikeState: want an index recognised, and JSON without a version or HTML not")
	}
}

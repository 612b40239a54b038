package local

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/localedge/origin"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/storetest"
)

// TestPushChecksRulesFiles: a _redirects or _headers that the folder
// origin could not read stops the push before anything is written; valid
// ones are uploaded and applied by the origin serving the folder, and
// never served themselves.
func TestPushChecksRulesFiles(t *testing.T) {
	plan := func(dir string, src storetest.Site) (*providers.Plan, error) {
		s, err := NewStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		set, err := providers.ScanDir(context.Background(), src.Write(t), providers.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return (&providers.Pusher{Store: s, Options: providers.DefaultPlanOptions()}).Plan(context.Background(), set.Files)
	}
	dir := filepath.Join(t.TempDir(), "origin")
	for name, body := range map[string]string{
		"_redirects": "/a /b 301\n/c /d 30\n",
		"_headers":   "/*\n  Content-Length: 1\n",
	} {
		_, err := plan(dir, storetest.Site{"index.html": "<h1>home</h1>", name: body})
		if err == nil || !strings.Contains(err.Error(), name+":2:") || !strings.Contains(err.Error(), "origin.exclude") {
			t.Errorf("push with a bad %s: %v; want the line error", name, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("a refused push created %s", dir)
		}
	}
	// A rules file under a folder is not the site's: not checked.
	if _, err := plan(dir, storetest.Site{"index.html": "x", "docs/_redirects": "not rules"}); err != nil {
		t.Errorf("docs/_redirects checked: %v", err)
	}

	src := storetest.Site{"index.html": "<h1>home</h1>", "about.html": "<h1>about</h1>", "_redirects": "/old /about 301\n", "_headers": "/*\n  X-Frame-Options: DENY\n"}
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	push(t, s, src.Write(t))
	s.Close()
	h, err := origin.New(dir, origin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for path, want := range map[string]int{"/old": 301, "/about": 200, "/_redirects": 404, "/_headers": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s from the pushed folder = %d (X-Frame-Options %q); want %d with DENY", path, rec.Code, rec.Header().Get("X-Frame-Options"), want)
		}
	}
}

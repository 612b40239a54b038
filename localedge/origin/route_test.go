package origin

import (
	"fmt"
	"strings"
	"testing"
)

// routeTree is a site: an HTML page (file.html), a folder page
// (folder/index.html), a home page, a non-HTML file, a folder without an
// index, a page whose clean URL a file takes (taken.html next to "taken"),
// a page with a same-named folder page (both.html, both/index.html), a
// folder holding a page named index (nested/index.html only).
var routeTree = map[string]entryKind{
	"index.html":        entryFile,
	"file.html":         entryFile,
	"folder":            entryDir,
	"folder/index.html": entryFile,
	"a.txt":             entryFile,
	"assets":            entryDir,
	"assets/app.css":    entryFile,
	"taken":             entryFile,
	"taken.html":        entryFile,
	"both.html":         entryFile,
	"both":              entryDir,
	"both/index.html":   entryFile,
	"deep":              entryDir,
	"deep/er":           entryDir,
	"deep/er/page.html": entryFile,
}

func statTree(k string) entryKind { return routeTree[k] }

// splitPath turns a request path into resolve's arguments, as ServeHTTP
// does with cleanKey and namesFolder.
func splitPath(t *testing.T, p string) (string, bool) {
	t.Helper()
	key, status := cleanKey(p)
	if status != 0 {
		t.Fatalf("cleanKey(%q) = %d", p, status)
	}
	return key, namesFolder(p)
}

// describe writes a route as the tables below spell it: "200 key",
// "308 /location" or "404".
func describe(r route) string {
	switch r.kind {
	case routeFile:
		return "200 " + r.key
	case routeRedirect:
		return fmt.Sprintf("%d %s", r.status, r.location)
	}
	return "404"
}

// TestResolve holds each policy to its table (docs/localedge.md, "Static
// hosting"): Cloudflare's html_handling tables, with one-hop redirects.
func TestResolve(t *testing.T) {
	tests := []struct {
		path                      string
		auto, force, drop, exacts string
	}{
		{"/", "200 index.html", "200 index.html", "200 index.html", "200 index.html"},
		{"/index.html", "308 /", "308 /", "308 /", "200 index.html"},
		{"/index", "308 /", "308 /", "308 /", "404"},
		{"/file", "200 file.html", "308 /file/", "200 file.html", "404"},
		{"/file/", "308 /file", "200 file.html", "308 /file", "404"},
		{"/file.html", "308 /file", "308 /file/", "308 /file", "200 file.html"},
		{"/file.html/", "404", "404", "404", "404"},
		{"/folder", "308 /folder/", "308 /folder/", "200 folder/index.html", "301 /folder/"},
		{"/folder/", "200 folder/index.html", "200 folder/index.html", "308 /folder", "200 folder/index.html"},
		{"/folder/index", "308 /folder/", "308 /folder/", "308 /folder", "404"},
		{"/folder/index/", "308 /folder/", "308 /folder/", "308 /folder", "404"},
		{"/folder/index.html", "308 /folder/", "308 /folder/", "308 /folder", "200 folder/index.html"},
		{"/a.txt", "200 a.txt", "200 a.txt", "200 a.txt", "200 a.txt"},
		{"/a.txt/", "404", "404", "404", "404"},
		{"/assets", "404", "404", "404", "301 /assets/"},
		{"/assets/", "404", "404", "404", "404"},
		{"/assets/app.css", "200 assets/app.css", "200 assets/app.css", "200 assets/app.css", "200 assets/app.css"},
		{"/missing", "404", "404", "404", "404"},
		{"/missing/", "404", "404", "404", "404"},
		// "taken" (a file) owns /taken: its page stays at /taken.html.
		{"/taken", "200 taken", "200 taken", "200 taken", "200 taken"},
		{"/taken.html", "200 taken.html", "308 /taken/", "200 taken.html", "200 taken.html"},
		{"/taken/", "308 /taken.html", "200 taken.html", "308 /taken.html", "404"},
		// both.html and both/index.html: NAME.html is tried before the
		// folder's page for a URL without "/", the folder's page first for
		// one with it; a page whose clean URL the other takes keeps its
		// exact name.
		{"/both", "200 both.html", "308 /both.html", "200 both.html", "301 /both/"},
		{"/both/", "200 both/index.html", "200 both/index.html", "308 /both/index.html", "200 both/index.html"},
		{"/both.html", "308 /both", "200 both.html", "308 /both", "200 both.html"},
		{"/deep/er/page", "200 deep/er/page.html", "308 /deep/er/page/", "200 deep/er/page.html", "404"},
		{"/deep/er/page.html", "308 /deep/er/page", "308 /deep/er/page/", "308 /deep/er/page", "200 deep/er/page.html"},
		{"/deep/er", "404", "404", "404", "301 /deep/er/"},
		{"//file", "200 file.html", "308 /file/", "200 file.html", "404"},
		{"/file//", "308 /file", "200 file.html", "308 /file", "404"},
	}
	policies := []HTMLHandling{AutoTrailingSlash, ForceTrailingSlash, DropTrailingSlash, NoHTMLHandling}
	for _, tt := range tests {
		want := []string{tt.auto, tt.force, tt.drop, tt.exacts}
		key, slash := splitPath(t, tt.path)
		for i, policy := range policies {
			got := describe(resolve(key, slash, policy, statTree))
			if got != want[i] {
				t.Errorf("%s %s = %s; want %s", policy, tt.path, got, want[i])
			}
		}
	}
}

// TestResolveOneHop: under every policy, a redirect leads to a URL that
// serves a file at once (never a second redirect, never a 404), the same
// file the first URL named.
func TestResolveOneHop(t *testing.T) {
	paths := []string{"/"}
	for k, kind := range routeTree {
		paths = append(paths, "/"+k, "/"+k+"/")
		if kind == entryFile && strings.HasSuffix(k, ".html") {
			base := strings.TrimSuffix(k, ".html")
			paths = append(paths, "/"+base, "/"+base+"/")
		}
	}
	for _, policy := range HTMLHandlings {
		for _, p := range paths {
			key, slash := splitPath(t, p)
			r := resolve(key, slash, policy, statTree)
			if r.kind != routeRedirect {
				continue
			}
			k2, s2 := splitPath(t, r.location)
			r2 := resolve(k2, s2, policy, statTree)
			if policy == NoHTMLHandling {
				// /dir → /dir/ even without an index (nginx).
				if r2.kind == routeRedirect {
					t.Errorf("%s %s → %s → %s: two redirects", policy, p, r.location, describe(r2))
				}
				continue
			}
			if r2.kind != routeFile {
				t.Errorf("%s %s → %s → %s; want the file at once", policy, p, r.location, describe(r2))
				continue
			}
			if first := alias(urlPath{key, slash || key == ""}, statTree); first != r2.key {
				t.Errorf("%s %s names %s but redirects to %s, which serves %s", policy, p, first, r.location, r2.key)
			}
		}
	}
}

func TestResolveRewrite(t *testing.T) {
	for _, tt := range []struct {
		path   string
		policy HTMLHandling
		want   string
	}{
		{"/file", AutoTrailingSlash, "file.html"},
		{"/file.html", AutoTrailingSlash, "file.html"}, // never redirected
		{"/folder", AutoTrailingSlash, "folder/index.html"},
		{"/folder", NoHTMLHandling, "folder/index.html"},
		{"/file", NoHTMLHandling, ""},
		{"/", NoHTMLHandling, "index.html"},
		{"/missing", AutoTrailingSlash, ""},
	} {
		key, slash := splitPath(t, tt.path)
		if got := resolveRewrite(key, slash, tt.policy, statTree); got != tt.want {
			t.Errorf("%s rewrite to %s = %q; want %q", tt.policy, tt.path, got, tt.want)
		}
	}
}

func TestParsePolicies(t *testing.T) {
	if h, err := ParseHTMLHandling(""); err != nil || h != AutoTrailingSlash {
		t.Errorf(`ParseHTMLHandling("") = %q, %v`, h, err)
	}
	if _, err := ParseHTMLHandling("auto"); err == nil || !strings.Contains(err.Error(), `"auto": want auto-trailing-slash, force-trailing-slash, drop-trailing-slash or none`) {
		t.Errorf(`ParseHTMLHandling("auto") = %v`, err)
	}
	if h, err := ParseNotFoundHandling("single-page-application"); err != nil || h != SinglePageApplication {
		t.Errorf("ParseNotFoundHandling = %q, %v", h, err)
	}
	if _, err := ParseNotFoundHandling("spa"); err == nil || !strings.Contains(err.Error(), "want 404-page, single-page-application or none") {
		t.Errorf(`ParseNotFoundHandling("spa") = %v`, err)
	}
}

// TestNearestErrorPage: the nearest 404.html up the tree, in stat calls
// bounded by the folder's real depth whatever the path.
func TestNearestErrorPage(t *testing.T) {
	tree := map[string]entryKind{
		"404.html": entryFile, "blog": entryDir, "blog/404.html": entryFile,
		"blog/2024": entryDir, "docs": entryDir, ".hidden": entryNone, // hidden: stat reports nothing
	}
	calls := 0
	stat := func(k string) entryKind { calls++; return tree[k] }
	deep := "blog/2024/" + strings.Repeat("x/", 10000) + "y"
	for dir, want := range map[string]string{
		".": "404.html", "": "404.html", "blog": "blog/404.html", "blog/2024": "blog/404.html",
		"blog/2024/a/b": "blog/404.html", "docs/x": "404.html", ".hidden/x": "404.html", "nowhere/a/b": "404.html",
		deep: "blog/404.html",
	} {
		calls = 0
		if got := nearestErrorPage(dir, stat); got != want {
			t.Errorf("nearestErrorPage(%.40q) = %q; want %q", dir, got, want)
		}
		if calls > 8 {
			t.Errorf("nearestErrorPage(%.40q): %d stat calls", dir, calls)
		}
	}
	if got := nearestErrorPage("a", func(string) entryKind { return entryNone }); got != "" {
		t.Errorf("without any 404.html: %q", got)
	}
}

package siterules

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// siteRedirects is a _redirects file using every feature, in the style of
// the Netlify and Cloudflare Pages documentation.
const siteRedirects = `# Moved pages
/home              /                 301
/old-about         /about            308
/contact           /about#contact    301   # a fragment is kept
/search            /find?engine=site 302
/temp              /elsewhere
/see               /other            303
/keep-method       /api/v2           307
/twitch            https://twitch.example/cdnctl
/app-shell         /index.html       200
/forced            /new              301!
https://old.example.test/*  https://www.example.test/:splat 301

# Dynamic rules
/blog/*                     /posts/:splat              301
/news/:year/:month/:slug    /articles/:year-:month/:slug 301
/products/:code/:name       /products?code=:code&name=:name 302
/store   id=:id             /items/:id                 301
/lang    hl=fr              /fr/                       302
/docs/*                     /manual/:splat.html        200
`

func mustRedirects(t *testing.T, text string) *Redirects {
	t.Helper()
	r, err := ParseRedirects([]byte(text))
	if err != nil {
		t.Fatalf("ParseRedirects: %v", err)
	}
	return r
}

func TestRedirectsMatch(t *testing.T) {
	r := mustRedirects(t, siteRedirects)
	if r.Len() != 17 {
		t.Fatalf("Len() = %d; want 17", r.Len())
	}
	tests := []struct {
		host, target string // target: path?query as requested
		wantLine     int    // 0: no rule
		wantStatus   int
		wantForce    bool
		wantLocation string // Location for redirects, the path for rewrites
	}{
		{"www.example.test", "/home", 2, 301, false, "/"},
		{"www.example.test", "/home?utm=x", 2, 301, false, "/?utm=x"}, // the query is passed on
		{"www.example.test", "/home/", 0, 0, false, ""},               // sources match exactly
		{"www.example.test", "/old-about", 3, 308, false, "/about"},
		{"www.example.test", "/contact?a=1", 4, 301, false, "/about?a=1#contact"},
		{"www.example.test", "/search?q=x", 5, 302, false, "/find?engine=site"}, // the target's query wins
		{"www.example.test", "/temp", 6, 0, false, "/elsewhere"},                // no status: the caller's default
		{"www.example.test", "/see", 7, 303, false, "/other"},
		{"www.example.test", "/keep-method", 8, 307, false, "/api/v2"},
		{"www.example.test", "/twitch", 9, 0, false, "https://twitch.example/cdnctl"},
		{"www.example.test", "/app-shell", 10, 200, false, "/index.html"},
		{"www.example.test", "/forced", 11, 301, true, "/new"},
		{"old.example.test", "/a/b?x=1", 12, 301, false, "https://www.example.test/a/b?x=1"},
		{"www.example.test", "/a/b", 0, 0, false, ""},
		{"www.example.test", "/blog/2024/hello world", 15, 301, false, "/posts/2024/hello%20world"},
		{"www.example.test", "/blog", 0, 0, false, ""},
		{"www.example.test", "/news/2024/05/launch", 16, 301, false, "/articles/2024-05/launch"},
		{"www.example.test", "/news/2024/05", 0, 0, false, ""},
		{"www.example.test", "/products/a1/blue&red", 17, 302, false, "/products?code=a1&name=blue%26red"},
		{"www.example.test", "/store?id=42&ref=mail", 18, 301, false, "/items/42"}, // a query rule consumes the query
		{"www.example.test", "/store", 0, 0, false, ""},
		{"www.example.test", "/lang?hl=fr", 19, 302, false, "/fr/"},
		{"www.example.test", "/lang?hl=de", 0, 0, false, ""},
		{"www.example.test", "/docs/setup", 20, 200, false, "/manual/setup.html"},
		{"www.example.test", "/docs/caf%C3%A9", 20, 200, false, "/manual/café.html"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := r.Match(tt.host, u.Path, u.Query())
		if !ok {
			if tt.wantLine != 0 {
				t.Errorf("%s%s: no rule; want line %d", tt.host, tt.target, tt.wantLine)
			}
			continue
		}
		if m.Rule.Line != tt.wantLine || m.Rule.Status != tt.wantStatus || m.Rule.Force != tt.wantForce {
			t.Errorf("%s%s: line %d status %d force %v; want line %d status %d force %v",
				tt.host, tt.target, m.Rule.Line, m.Rule.Status, m.Rule.Force, tt.wantLine, tt.wantStatus, tt.wantForce)
			continue
		}
		var got string
		if m.Rule.Status == 200 {
			got, ok = m.RewritePath()
			if !ok {
				t.Errorf("%s%s: RewritePath failed", tt.host, tt.target)
			}
		} else {
			got = m.Location(u.RawQuery)
		}
		if got != tt.wantLocation {
			t.Errorf("%s%s: target %q; want %q", tt.host, tt.target, got, tt.wantLocation)
		}
	}
}

// TestRedirectsFirstMatchWins: whatever the kind of rule, the first line
// that matches applies.
func TestRedirectsFirstMatchWins(t *testing.T) {
	r := mustRedirects(t, `
/a      /static-a   301
/x/*    /splat-x    301
/x/y    /static-x-y 301
/z/:p   /ph-z       301
/*      /catch-all  302
/a/b    /late       301
`)
	for path, want := range map[string]string{
		"/a":   "/static-a",
		"/x/y": "/splat-x", // a static rule after a dynamic one does not jump ahead
		"/x/":  "/splat-x",
		"/z/q": "/ph-z",
		"/a/b": "/catch-all",
		"/q":   "/catch-all",
	} {
		m, ok := r.Match("h.test", path, nil)
		if !ok || m.Location("") != want {
			t.Errorf("Match(%q) = %v %v; want %s", path, m.Rule, ok, want)
		}
	}
}

func TestRedirectsHostRules(t *testing.T) {
	r := mustRedirects(t, `
https://a.test/p  /for-a 301
/p                /for-any 301
https://b.test/p  /for-b 301
`)
	for host, want := range map[string]string{"a.test": "/for-a", "b.test": "/for-any", "c.test": "/for-any"} {
		if m, ok := r.Match(host, "/p", nil); !ok || m.Location("") != want {
			t.Errorf("Match(%s/p) = %v; want %s", host, m.Rule, want)
		}
	}
}

// TestRedirectsErrors: each invalid line is an error naming the file and
// its line, in words a user knows.
func TestRedirectsErrors(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"/a /b 30", `_redirects:2: unknown status "30"; want 301, 302, 303, 307, 308 or 200`},
		{"/a /b 404", `unknown status "404"; want 301, 302, 303, 307, 308 or 200 (Netlify's error rewrites are not supported`},
		{"/a /b 301?", `unknown status "301?"`},
		{"/a", `no target after "/a"`},
		{"/a 301", `no target before the status "301"`},
		{"/a b", `target "b": want a path starting with "/" or an http(s):// URL`},
		{"a /b", `source "a": want a path starting with "/"`},
		{"/a /b 301 Country=us", `conditions such as "Country=us"`},
		{"/a /b Role=admin", `conditions such as "Role=admin"`},
		{"/a /b 301 extra", `unexpected "extra" after the status`},
		{"/a/* /b/:slug", `uses :slug, which the source does not capture`},
		{"/a /b/:splat", `uses :splat, but the source has no *`},
		{"/a /b/Special:Page", `write %3A for a literal colon`},
		{"/api/* https://api.example.test/:splat 200", "proxying to another server is not supported"},
		{"/a //evil.test/", `names another host`},
		{"/a https:///x", "not a valid http(s) URL"},
		{"/a/*/*.x /b", "2 splats"},
		{"/a/:x/:x /b", "appears twice"},
		{"/a =v /b", `query parameter "=v": no name`},
		{"/a k=:x k=y /b", `query parameter "k" is required twice`},
		{"/a/:id id=:id /b", `:id is already captured`},
		{"/a k=:1x /b", "is not a placeholder"},
		{"/a " + strings.Repeat("x", 999), "at most 1000 are allowed"},
	}
	for _, tt := range tests {
		_, err := ParseRedirects([]byte("# first line\n" + tt.line + "\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v; want one containing %q", tt.line, err, tt.want)
			continue
		}
		var le *LineError
		if !errors.As(err, &le) || le.File != "_redirects" || le.Line != 2 {
			t.Errorf("%q: error %#v; want a *LineError for _redirects line 2", tt.line, err)
		}
	}
}

func TestRedirectsDuplicates(t *testing.T) {
	_, err := ParseRedirects([]byte("/a /b 301\n/c /d\n/a /e 302\n/q k=v /x\n/q k=w /y\n/q k=v /z\n"))
	for _, want := range []string{"_redirects:3: /a duplicates line 1", "_redirects:6: /q duplicates line 4"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v; want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), ":5:") {
		t.Errorf("/q with another query value reported as a duplicate: %v", err)
	}
}

// TestRedirectsLimits: Cloudflare Pages' limits, counted the same way.
func TestRedirectsLimits(t *testing.T) {
	var b strings.Builder
	for i := range MaxStaticRedirects {
		fmt.Fprintf(&b, "/s%d /t 301\n", i)
	}
	for i := range MaxDynamicRedirects {
		fmt.Fprintf(&b, "/d%d/* /t 301\n", i)
	}
	if r, err := ParseRedirects([]byte(b.String())); err != nil || r.Len() != MaxStaticRedirects+MaxDynamicRedirects {
		t.Fatalf("at the limits: %v rules, %v", r.Len(), err)
	}
	_, err := ParseRedirects([]byte(b.String() + "/one-more/* /t\n"))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("_redirects:%d: more than 100 dynamic rules", MaxStaticRedirects+MaxDynamicRedirects+1)) {
		t.Errorf("101st dynamic rule: %v", err)
	}
	// A static rule after a dynamic one counts as dynamic.
	_, err = ParseRedirects([]byte(b.String() + "/static-late /t\n"))
	if err == nil || !strings.Contains(err.Error(), "more than 100 dynamic rules") {
		t.Errorf("static rule after the dynamic ones: %v", err)
	}
	var s strings.Builder
	for i := range MaxStaticRedirects + 1 {
		fmt.Fprintf(&s, "/s%d /t\n", i)
	}
	_, err = ParseRedirects([]byte(s.String()))
	if err == nil || !strings.Contains(err.Error(), "_redirects:2001: more than 2000 static rules") {
		t.Errorf("2001st static rule: %v", err)
	}
}

// TestRedirectsAllErrorsReported: every bad line is reported at once (up
// to 20), so one run shows what to fix.
func TestRedirectsAllErrorsReported(t *testing.T) {
	var b strings.Builder
	for range 25 {
		b.WriteString("/a /b 999\n")
	}
	_, err := ParseRedirects([]byte(b.String()))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Count(msg, "unknown status") != 20 || !strings.Contains(msg, "_redirects: 5 more errors") {
		t.Errorf("error = %s; want 20 line errors and a count of the 5 others", msg)
	}
}

func TestRedirectsCommentsAndBlank(t *testing.T) {
	r := mustRedirects(t, "\n  # indented comment\n\t/a /b 301 # why\n/c /d#frag\r\n")
	if r.Len() != 2 {
		t.Fatalf("Len = %d; want 2", r.Len())
	}
	if m, ok := r.Match("", "/c", nil); !ok || m.Location("") != "/d#frag" {
		t.Errorf("/c → %v; want /d#frag (a fragment is not a comment)", m.Rule)
	}
	if r := mustRedirects(t, ""); r.Len() != 0 {
		t.Errorf("empty file: %d rules", r.Len())
	}
}

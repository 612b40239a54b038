package siterules

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern    string
		host, path string
		want       Captures // nil: no match
	}{
		{"/about", "", "/about", Captures{}},
		{"/about", "", "/about/", nil},
		{"/about", "", "/About", nil}, // case-sensitive
		{"/about/", "", "/about/", Captures{}},
		{"/caf%C3%A9", "", "/café", Captures{}},
		{"/café", "", "/café", Captures{}},
		{"/blog/*", "", "/blog/2024/01/post", Captures{"splat": "2024/01/post"}},
		{"/blog/*", "", "/blog/", Captures{"splat": ""}},
		{"/blog/*", "", "/blog", nil},
		{"/*.jpg", "", "/img/a/b.jpg", Captures{"splat": "img/a/b"}},
		{"/*", "", "/", Captures{"splat": ""}},
		{"/news/:year/:month/:slug", "", "/news/2024/05/hello", Captures{"year": "2024", "month": "05", "slug": "hello"}},
		{"/news/:year/:month/:slug", "", "/news/2024/05/hello/more", nil},
		{"/news/:year", "", "/news/", nil}, // a placeholder is never empty
		{"/blog-:year.html", "", "/blog-2024.html", Captures{"year": "2024"}},
		{"/u/:id/*", "", "/u/42/a/b", Captures{"id": "42", "splat": "a/b"}},
		{"/a.b", "", "/aXb", nil}, // literal dot
		{"/(x)+", "", "/(x)+", Captures{}},
		{"https://example.com/*", "example.com", "/x", Captures{"splat": "x"}},
		{"https://example.com/*", "www.example.com", "/x", nil},
		{"https://Example.COM/a", "example.com", "/a", Captures{}},
		{"http://example.com/a", "example.com", "/a", Captures{}}, // scheme not compared
		{"https://:sub.example.com/*", "staging.example.com", "/p", Captures{"sub": "staging", "splat": "p"}},
		{"https://:sub.example.com/*", "a.b.example.com", "/p", nil}, // a host placeholder stops at "."
		{"https://example.com", "example.com", "/", Captures{}},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tt.pattern, err)
			continue
		}
		got, ok := p.Match(tt.host, tt.path)
		if ok != (tt.want != nil) {
			t.Errorf("%q.Match(%q, %q) = %v, %v; want match %v", tt.pattern, tt.host, tt.path, got, ok, tt.want != nil)
			continue
		}
		if ok && len(tt.want) > 0 {
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("%q.Match(%q, %q) captures (-want +got):\n%s", tt.pattern, tt.host, tt.path, d)
			}
		}
	}
}

func TestPatternStatic(t *testing.T) {
	for pattern, want := range map[string]bool{
		"/a":                  true,
		"/a/b.html":           true,
		"/a/*":                false,
		"/a/:b":               false,
		"https://x.test/a":    true,
		"https://:x.test/a":   false,
		"/a/10:30":            true, // ":" then a digit is not a placeholder
		"/a/:b_c1":            false,
		"https://x.test/a/:b": false,
	} {
		p, err := ParsePattern(pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", pattern, err)
		}
		if got := p.Static(); got != want {
			t.Errorf("ParsePattern(%q).Static() = %v; want %v", pattern, got, want)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	for pattern, want := range map[string]string{
		"about":                   `want a path starting with "/"`,
		"/a/*/b/*":                "2 splats",
		"/a/:x/:x":                "appears twice",
		"/a/:splat":               "write * to match it",
		"/a?b=c":                  "not a query",
		"/a#top":                  "not a query or fragment",
		"https://":                "no host",
		"https://example.com:443": "a port cannot be given",
		"https://u@example.com/":  "not a host name",
		"/a%zz":                   "invalid percent-encoding",
		"/a%zz/*":                 "invalid percent-encoding",
	} {
		_, err := ParsePattern(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePattern(%q) = %v; want an error containing %q", pattern, err, want)
		}
	}
}

package siterules

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// siteHeaders sets headers for the whole site, a folder, a file type and a
// host, and removes one for images.
const siteHeaders = `# Security headers everywhere
/*
  X-Frame-Options: DENY
  Content-Security-Policy: default-src 'self'; img-src 'self' data: https://cdn.example.test:8443
  X-Robots-Tag: nosnippet

/assets/*
	Cache-Control: public, max-age=31536000, immutable
	Access-Control-Allow-Origin: *

/*.jpg
  ! Content-Security-Policy

/secure/page
  X-Frame-Options: SAMEORIGIN
  Referrer-Policy: no-referrer
  Link: </style.css>; rel=preload; as=style
  Link: </app.js>; rel=preload; as=script

/movies/:title
  X-Movie: you are watching ":title"

/files/*
  Content-Disposition: attachment; filename=":splat"
  Set-Cookie: a=1
  Set-Cookie: b=2

https://preview.example.test/*
  X-Robots-Tag: noindex
`

func TestHeadersApply(t *testing.T) {
	hs, err := ParseHeaders([]byte(siteHeaders))
	if err != nil {
		t.Fatal(err)
	}
	if hs.Len() != 7 {
		t.Fatalf("Len() = %d; want 7", hs.Len())
	}
	const csp = "default-src 'self'; img-src 'self' data: https://cdn.example.test:8443"
	tests := []struct {
		host, path string
		origin     http.Header // what the origin sent
		want       http.Header
	}{
		{"www.example.test", "/index.html", nil, http.Header{
			"X-Frame-Options": {"DENY"}, "Content-Security-Policy": {csp}, "X-Robots-Tag": {"nosnippet"},
		}},
		{"www.example.test", "/assets/app.css", http.Header{"Cache-Control": {"public, max-age=60"}}, http.Header{
			"X-Frame-Options": {"DENY"}, "Content-Security-Policy": {csp}, "X-Robots-Tag": {"nosnippet"},
			"Cache-Control":               {"public, max-age=31536000, immutable"}, // replaces the origin's
			"Access-Control-Allow-Origin": {"*"},
		}},
		{"www.example.test", "/img/a.jpg", nil, http.Header{
			"X-Frame-Options": {"DENY"}, "X-Robots-Tag": {"nosnippet"},
		}},
		{"www.example.test", "/secure/page", nil, http.Header{
			"X-Frame-Options":         {"DENY, SAMEORIGIN"}, // a later rule appends
			"Content-Security-Policy": {csp}, "X-Robots-Tag": {"nosnippet"},
			"Referrer-Policy": {"no-referrer"},
			"Link":            {"</style.css>; rel=preload; as=style, </app.js>; rel=preload; as=script"},
		}},
		{"www.example.test", "/movies/Up", nil, http.Header{
			"X-Frame-Options": {"DENY"}, "Content-Security-Policy": {csp}, "X-Robots-Tag": {"nosnippet"},
			"X-Movie": {`you are watching "Up"`},
		}},
		{"www.example.test", "/movies/a\r\nSet-Cookie: x", nil, http.Header{
			"X-Frame-Options": {"DENY"}, "Content-Security-Policy": {csp}, "X-Robots-Tag": {"nosnippet"},
			"X-Movie": {`you are watching "a%0D%0ASet-Cookie:%20x"`}, // never a header injection
		}},
		{"www.example.test", "/files/report 2024.pdf", nil, http.Header{
			"X-Frame-Options": {"DENY"}, "Content-Security-Policy": {csp}, "X-Robots-Tag": {"nosnippet"},
			"Content-Disposition": {`attachment; filename="report 2024.pdf"`},
			"Set-Cookie":          {"a=1", "b=2"}, // never comma-joined
		}},
		{"preview.example.test", "/x", nil, http.Header{
			"X-Frame-Options": {"DENY"}, "Content-Security-Policy": {csp},
			"X-Robots-Tag": {"nosnippet, noindex"},
		}},
	}
	for _, tt := range tests {
		h := tt.origin.Clone()
		if h == nil {
			h = http.Header{}
		}
		if !hs.Apply(h, tt.host, tt.path) {
			t.Errorf("Apply(%s%s) matched nothing", tt.host, tt.path)
		}
		if d := cmp.Diff(tt.want, h); d != "" {
			t.Errorf("Apply(%s%s) (-want +got):\n%s", tt.host, tt.path, d)
		}
	}
}

// TestHeadersUnsetThenSet: a later rule can remove what an earlier one
// set, and set it again.
func TestHeadersUnsetThenSet(t *testing.T) {
	hs, err := ParseHeaders([]byte("/*\n  X-A: one\n/b/*\n  !X-A\n  X-A: two\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-A": {"origin"}}
	hs.Apply(h, "", "/b/c")
	if got := h.Values("X-A"); len(got) != 1 || got[0] != "two" {
		t.Errorf("X-A = %q; want [two]", got)
	}
	h = http.Header{"X-A": {"origin"}}
	if hs.Apply(h, "", "/") && h.Get("X-A") != "one" {
		t.Errorf("X-A = %q; want one", h.Get("X-A"))
	}
	h = http.Header{"Cache-Control": {"x"}}
	if hs.Apply(h, "", "") {
		t.Errorf("an empty path matched a rule")
	}
}

func TestHeadersErrors(t *testing.T) {
	tests := []struct {
		text string
		line int
		want string
	}{
		{"X-A: b\n/a\n  X-B: c", 1, `"X-A: b" comes before any pattern`},
		{"/a\n", 1, "/a has no header lines"},
		{"/a\n/b\n  X: y", 1, "/a has no header lines"},
		{"/a\n  Content-Length: 3", 2, "Content-Length cannot be set or removed here: set by the server"},
		{"/a\n  ! ETag", 2, "Etag cannot be set or removed here"},
		{"/a\n  Location: /b", 2, "write a _redirects rule instead"},
		{"/a\n  Vary: Cookie", 2, "Vary cannot be set"},
		{"/a\n  X A: b", 2, `"X A" is not a header name`},
		{"/a\n  X-A:", 2, `X-A has no value (write "! X-A" to remove it)`},
		{"/a\n  X-A: b\x01", 2, "characters a header cannot carry"},
		{"/a\n  nonsense", 2, `"nonsense": want "Name: value"`},
		{"/a\n  !", 2, "no header name"},
		{"/a b\n  X: y", 1, "a pattern is alone on its line"},
		{"ftp://x.test/a\n  X: y", 1, `want a path starting with "/"`},
		{"/a/*/*\n  X: y", 1, "2 splats"},
		{"/a\n  X: " + strings.Repeat("v", 2000), 2, "at most 2000 are allowed"},
	}
	for _, tt := range tests {
		_, err := ParseHeaders([]byte(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v; want one containing %q", tt.text, err, tt.want)
			continue
		}
		var le *LineError
		if !errors.As(err, &le) || le.File != "_headers" || le.Line != tt.line {
			t.Errorf("%q: error %v; want _headers line %d first", tt.text, err, tt.line)
		}
	}
}

// TestHeadersNotAPattern: a header whose value is a URL is not taken for a
// pattern line.
func TestHeadersNotAPattern(t *testing.T) {
	hs, err := ParseHeaders([]byte("/a\n  X-Url:https://example.test/x\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	hs.Apply(h, "", "/a")
	if h.Get("X-Url") != "https://example.test/x" {
		t.Errorf("X-Url = %q", h.Get("X-Url"))
	}
}

func TestHeadersLimit(t *testing.T) {
	var b strings.Builder
	for i := range MaxHeaderRules {
		fmt.Fprintf(&b, "/p%d\n  X: y\n", i)
	}
	if hs, err := ParseHeaders([]byte(b.String())); err != nil || hs.Len() != MaxHeaderRules {
		t.Fatalf("at the limit: %d rules, %v", hs.Len(), err)
	}
	_, err := ParseHeaders([]byte(b.String() + "/more\n  X: y\n"))
	if err == nil || !strings.Contains(err.Error(), "_headers:201: more than 100 rules") {
		t.Errorf("101st rule: %v", err)
	}
}

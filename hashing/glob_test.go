package hashing

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"*.html", []string{"index.html", "blog/post/index.html"}, []string{"index.htm", "html/x.css", "index.html.br"}},
		{"/robots.txt", []string{"robots.txt"}, []string{"sub/robots.txt"}},
		{"robots.txt", []string{"robots.txt", "sub/robots.txt"}, []string{"robots.txt.bak"}},
		{"sitemap*.xml", []string{"sitemap.xml", "sitemap-1.xml", "en/sitemap.xml"}, []string{"sitemaps/a.xml"}},
		{".well-known/", []string{".well-known/security.txt", ".well-known/a/b"}, []string{".well-known", "well-known/x"}},
		{"fonts/**", []string{"fonts/a.woff2", "fonts/x/y/z.ttf"}, []string{"fonts", "vendor/fonts/a.woff2"}},
		{"./fonts/*.woff2", []string{"fonts/a.woff2"}, []string{"fonts/x/a.woff2"}},
		{"assets/**/*.js", []string{"assets/a.js", "assets/x/y/a.js"}, []string{"assets/a.css", "a.js"}},
		{"**/img/*.png", []string{"img/a.png", "x/img/a.png"}, []string{"img/x/a.png"}},
		{"*.{png,jpg}", []string{"a.png", "b/c.jpg"}, []string{"a.gif", "a.{png,jpg}"}},
		{"{css,js}/**/*.{css,js}", []string{"css/a.css", "js/x/b.js"}, []string{"img/a.css"}},
		{"img/[a-c]*.png", []string{"img/a.png", "img/cat.png"}, []string{"img/dog.png"}},
		{"file\\*.txt", []string{"file*.txt"}, []string{"file1.txt"}},
		{".*", []string{".htaccess", "a/.nojekyll"}, []string{"a.txt", ".git/config"}},
		{"**", []string{"a", "a/b/c"}, nil},
	}
	for _, tt := range tests {
		g, err := CompileGlob(tt.pattern)
		if err != nil {
			t.Errorf("CompileGlob(%q) = %v", tt.pattern, err)
			continue
		}
		for _, name := range tt.match {
			if !g.Match(name) {
				t.Errorf("glob %q: Match(%q) = false; want true", tt.pattern, name)
			}
		}
		for _, name := range tt.noMatch {
			if g.Match(name) {
				t.Errorf("glob %q: Match(%q) = true; want false", tt.pattern, name)
			}
		}
	}
}

func TestGlobMatchesAllBelow(t *testing.T) {
	tests := []struct {
		pattern, dir string
		want         bool
	}{
		{".git/", ".git", true},
		{".git/", "sub/.git", true},
		{"node_modules/**", "node_modules", true},
		{"/node_modules/**", "x/node_modules", false},
		{"*.png", "img", false},
		{"img/*", "img", false}, // only one level
	}
	for _, tt := range tests {
		if got := MustCompileGlob(tt.pattern).matchesAllBelow(tt.dir); got != tt.want {
			t.Errorf("glob %q: matchesAllBelow(%q) = %v; want %v", tt.pattern, tt.dir, got, tt.want)
		}
	}
}

func TestCompileGlobErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"", "empty pattern"},
		{"   ", "empty pattern"},
		{"img/[a-", "syntax error in pattern"},
		{"*.{png,jpg", "unmatched '{'"},
		{"*.png}", "unmatched '}'"},
		{"a//b", "empty path segment"},
		{"/", "matches nothing"},
		{"x\\", "trailing backslash"},
	}
	for _, tt := range tests {
		_, err := CompileGlob(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "glob \""+tt.pattern) {
			t.Errorf("CompileGlob(%q) = %v; want an error naming the pattern and %q", tt.pattern, err, tt.want)
		}
	}
}

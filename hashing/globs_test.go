package hashing

import (
	"strings"
	"testing"
)

func TestGlobMatchKeys(t *testing.T) {
	tests := []struct {
		pattern string
		key     string
		want    bool
	}{
		{"*.html", "index.html", true},
		{"*.html", "docs/a/b.html", true},
		{"*.html", "index.htm", false},
		{"/robots.txt", "robots.txt", true},
		{"/robots.txt", "sub/robots.txt", false},
		{"assets/**", "assets/a.css", true},
		{"assets/**", "assets/x/y/z.png", true},
		{"assets/**", "other/assets/a.css", false},
		{"**/*.map", "a.map", true},
		{"**/*.map", "js/x/a.map", true},
		{"docs/**/index.html", "docs/index.html", true},
		{"docs/**/index.html", "docs/a/b/index.html", true},
		{"docs/**/index.html", "docs/a/b/other.html", false},
		{".git/", ".git/HEAD", true},
		{".git/", "sub/.git/objects/ab", true},
		{".git/", ".github/workflow.yml", false},
		{"docs/old/", "docs/old/a.html", true},
		{"docs/old/", "docs/older/a.html", false},
		{"sitemap*.xml", "sitemap-1.xml", true},
		{"img/*.png", "img/a.png", true},
		{"img/*.png", "img/x/a.png", false},
		{"[ab].txt", "b.txt", true},
		{"?.txt", "ab.txt", false},
	}
	for _, tt := range tests {
		g, err := CompileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("CompileGlob(%q): %v", tt.pattern, err)
		}
		if got := g.Match(tt.key); got != tt.want {
			t.Errorf("Glob(%q).Match(%q) = %v; want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func TestCompileGlobsErrors(t *testing.T) {
	for _, p := range []string{"", "  ", "/", "[a-", "a//b", "x/[/y"} {
		_, err := CompileGlob(p)
		if err == nil {
			t.Errorf("CompileGlob(%q) = nil error; want one", p)
			continue
		}
		if !strings.Contains(err.Error(), "glob") {
			t.Errorf("CompileGlob(%q) error %q does not say it is about a glob", p, err)
		}
	}
	if _, err := CompileGlobs([]string{"*.html", "[z-"}); err == nil || !strings.Contains(err.Error(), `"[z-"`) {
		t.Errorf("CompileGlobs error = %v; want it to name the bad pattern", err)
	}
}

func TestGlobsIndex(t *testing.T) {
	gs, err := CompileGlobs([]string{"fonts/**", "*.png", "*"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"fonts/a.woff2": 0, "img/a.png": 1, "x.txt": 2} {
		if got := gs.Index(key); got != want {
			t.Errorf("Index(%q) = %d; want %d", key, got, want)
		}
	}
	if (Globs{}).Match("x") {
		t.Error("empty Globs matched")
	}
}

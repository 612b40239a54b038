package siteaudit

import "testing"

func TestDangling(t *testing.T) {
	out := map[string]bool{
		"index.html": true, "about/index.html": true,
		"img/logo.0123456789.png": true, "img/kept.png": true,
		"assets/app.abcdef0123.js": true, "assets/About-x1.js": true,
		"_next/static/chunks/a.1111111111.js": true, "my file.2222222222.png": true,
		"docs/img/d.3333333333.png": true,
	}
	renamed := map[string]string{
		"img/logo.png":               "img/logo.0123456789.png",
		"assets/app.js":              "assets/app.abcdef0123.js",
		"_next/static/chunks/a.js":   "_next/static/chunks/a.1111111111.js",
		"my file.png":                "my file.2222222222.png",
		"about/photo.png":            "about/photo.4444444444.png",
		"docs/img/d.png":             "docs/img/d.3333333333.png",
		"assets/img/logo.png":        "assets/img/logo.5555555555.png",
		"static/chunks/shadowed.css": "static/chunks/shadowed.6666666666.css",
	}
	out["about/photo.4444444444.png"] = true
	out["assets/img/logo.5555555555.png"] = true
	out["static/chunks/shadowed.6666666666.css"] = true
	out["x/static/chunks/shadowed.css"] = true
	s := newSite(out, renamed, []string{"www.example.com"}, "")
	tests := []struct {
		dir, tok string
		want     string // the source named, "" when fine
	}{
		{"", "/img/logo.png", "img/logo.png"},
		{"", "/img/logo.png?v=2#top", "img/logo.png"},
		{"", "/img/logo.0123456789.png", ""},
		{"", "/img/kept.png", ""},
		{"", "/img/missing.png", ""}, // missing in the source too: not the audit's
		{"about", "../img/logo.png", "img/logo.png"},
		{"about", "photo.png", "about/photo.png"},
		{"about", "./photo.png", "about/photo.png"},
		{"assets", "app.js", "assets/app.js"},
		{"assets", "assets/app.js", "assets/app.js"},           // a name a runtime joins to the site's base
		{"", "static/chunks/a.js", "_next/static/chunks/a.js"}, // a name a runtime joins to "/_next/"
		{"", "chunks/a.js", "_next/static/chunks/a.js"},
		{"", "a.js", ""},                       // one segment: only against the folder and the root
		{"", "static/chunks/shadowed.css", ""}, // x/static/chunks/shadowed.css is a file of the output
		{"", "../../img/logo.png", "img/logo.png"},
		{"assets", "img/logo.png", "assets/img/logo.png"}, // the file's folder first
		{"", "https://www.example.com/img/logo.png", "img/logo.png"},
		{"", "//WWW.example.com/img/logo.png", "img/logo.png"},
		{"", "https://cdn.example.net/img/logo.png", ""},
		{"", "data:image/png;base64,img/logo.png", ""},
		{"", "mailto:img/logo.png", ""},
		{"", "/my%20file.png", "my file.png"},
		{"", "/img/", ""},
		{"", "text/html", ""},
		{"", "e.target", ""},
	}
	for _, tt := range tests {
		src, ok := s.dangling(tt.dir, tt.tok)
		if src != tt.want || ok != (tt.want != "") {
			t.Errorf("dangling(%q, %q) = %q, %v; want %q", tt.dir, tt.tok, src, ok, tt.want)
		}
		if tt.want != "" && !s.mayName([]byte(tt.tok)) {
			t.Errorf("mayName(%q) = false for a dangling string", tt.tok)
		}
	}

	// Under a base URL with a path, root-relative URLs start with it.
	s = newSite(out, renamed, []string{"www.example.com"}, "/docs/")
	for _, tt := range []struct{ tok, want string }{
		{"/docs/img/logo.png", "img/logo.png"},
		{"https://www.example.com/docs/img/logo.png", "img/logo.png"},
		{"/docs/img/logo.0123456789.png", ""},
		{"/img/logo.png", ""}, // outside the site
		{"img/logo.png", "img/logo.png"},
	} {
		if src, _ := s.dangling("", tt.tok); src != tt.want {
			t.Errorf("base /docs/: dangling(%q) = %q; want %q", tt.tok, src, tt.want)
		}
	}
}

package dotfile_test

import (
	"testing"

	"github.com/cdnctl/cdnctl/dotfile"
	"github.com/cdnctl/cdnctl/hashing"
)

func TestHidden(t *testing.T) {
	for key, want := range map[string]bool{
		".env":                        true,
		"/.env":                       true,
		".git/config":                 true,
		"/.git/config":                true,
		".htpasswd":                   true,
		"config/.npmrc":               true,
		"a/b/.DS_Store":               true,
		"a/.hidden/b.txt":             true,
		".well-known":                 false,
		".well-known/security.txt":    false,
		"/.well-known/acme/token":     false,
		".well-known/.git/config":     true,
		"docs/.well-known/x":          true, // only the site's own
		".Well-Known/security.txt":    true, // URLs are case-sensitive
		".well-known-not/x":           true,
		"index.html":                  false,
		"":                            false,
		"/":                           false,
		"assets/app.3f9a1c0e2b.css":   false,
		"a.b/c.d":                     false,
		"dir/file.":                   false,
		"weird..name":                 false,
		"./index.html":                true, // keys are clean; "." is hidden
		"assets/env":                  false,
		"assets/.well-known/x":        true,
		".well-known/deep/.htpasswd":  true,
		".well-known/deep/file.json":  false,
		"..%2f":                       true,
		"%2eenv":                      false, // keys are decoded: this is the name "%2eenv"
		"folder with spaces/.secrets": true,
	} {
		if got := dotfile.Hidden(key); got != want {
			t.Errorf("Hidden(%q) = %v; want %v", key, got, want)
		}
	}
}

func TestDenied(t *testing.T) {
	allow, err := hashing.CompileGlobs([]string{"/.htaccess", ".nojekyll", "/.config/public/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key   string
		allow dotfile.Matcher
		want  bool
	}{
		{".env", nil, true},
		{".env", allow, true},
		{"index.html", nil, false},
		{".well-known/security.txt", nil, false},
		{".htaccess", allow, false},
		{"/.htaccess", allow, false},
		{"sub/.htaccess", allow, true}, // "/.htaccess" is the root's only
		{"sub/.nojekyll", allow, false},
		{".config/public/a.json", allow, false},
		{".config/private/a.json", allow, true},
		{".htaccess", hashing.Globs(nil), true},
	}
	for _, tt := range tests {
		if got := dotfile.Denied(tt.key, tt.allow); got != tt.want {
			t.Errorf("Denied(%q, %v) = %v; want %v", tt.key, tt.allow, got, tt.want)
		}
	}
}

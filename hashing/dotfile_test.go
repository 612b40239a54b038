package hashing

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFingerprintSkipsDotfiles: dotfiles and hidden folders of the source
// (but .well-known/) are not copied into the output unless AllowDotfiles
// names them, and Result.Skipped says so.
func TestFingerprintSkipsDotfiles(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src, map[string]string{
		"index.html":               `<link href="/app.css">`,
		"app.css":                  "body{}",
		".env":                     "SECRET=1",
		".htaccess":                "Options -Indexes",
		"sub/.npmrc":               "_authToken=x",
		".cache/a.json":            "{}",
		".cache/deep/b.json":       "{}",
		".well-known/security.txt": "Contact: x",
		".well-known/.secret":      "s",
	})
	skippedDotfiles := func(res *Result) []string {
		var out []string
		for _, s := range res.Skipped {
			if s.Reason == ReasonDotfile {
				out = append(out, s.Path)
			}
		}
		slices.Sort(out)
		return out
	}
	exists := func(out, name string) bool {
		_, err := os.Stat(filepath.Join(out, filepath.FromSlash(name)))
		return err == nil
	}

	out := filepath.Join(t.TempDir(), "out")
	res, err := FingerprintDir(context.Background(), src, out, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := skippedDotfiles(res), []string{".cache/", ".env", ".htaccess", ".well-known/.secret", "sub/.npmrc"}; !slices.Equal(got, want) {
		t.Errorf("skipped dotfiles = %q; want %q", got, want)
	}
	for _, name := range []string{".env", ".htaccess", "sub/.npmrc", ".cache/a.json", ".well-known/.secret"} {
		if exists(out, name) {
			t.Errorf("%s copied into the output", name)
		}
		if _, ok := res.Manifest.Files[name]; ok {
			t.Errorf("%s in the manifest", name)
		}
	}
	if !exists(out, ".well-known/security.txt") || !exists(out, "index.html") {
		t.Errorf(".well-known/security.txt or index.html not copied")
	}

	out = filepath.Join(t.TempDir(), "out")
	res, err = FingerprintDir(context.Background(), src, out, DirOptions{Options: Options{AllowDotfiles: []string{"/.htaccess", ".cache/deep/"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := skippedDotfiles(res), []string{".cache/a.json", ".env", ".well-known/.secret", "sub/.npmrc"}; !slices.Equal(got, want) {
		t.Errorf("with an allow-list, skipped dotfiles = %q; want %q", got, want)
	}
	// Allowed dotfiles keep their names (DefaultKeep: ".*").
	for _, name := range []string{".htaccess", ".cache/deep/b.json"} {
		if e, ok := res.Manifest.Files[name]; !ok || !exists(out, e.Path) {
			t.Errorf("allowed %s: manifest entry %+v, copied %v", name, e, ok && exists(out, e.Path))
		}
	}
	if e := res.Manifest.Files[".htaccess"]; e.Path != ".htaccess" {
		t.Errorf(".htaccess written as %q; want its own name", e.Path)
	}

	if _, err := FingerprintDir(context.Background(), src, filepath.Join(t.TempDir(), "out"), DirOptions{Options: Options{AllowDotfiles: []string{"[.env"}}}); err == nil {
		t.Error("a bad allow-dotfiles glob: no error")
	}
}

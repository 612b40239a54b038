package hashing

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTree creates files (slash paths → content) under dir, all old.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, oldTime, oldTime); err != nil {
			t.Fatal(err)
		}
	}
}

// copyFixture copies testdata/site into a temporary folder with old
// modification times, so a cache trusts them.
func copyFixture(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "src")
	files := map[string]string{}
	err := fs.WalkDir(os.DirFS("testdata/site"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(filepath.Join("testdata/site", filepath.FromSlash(p)))
		files[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dst, files)
	return dst
}

func TestFingerprintDirBadInput(t *testing.T) {
	ok := map[string]string{"index.html": "<p>", "a.css": "a{}"}
	tests := []struct {
		name  string
		setup func(t *testing.T, src, out string) (string, string) // returns SRC, DIR
		opts  Options
		want  []string // substrings of the error
	}{
		{"source missing", func(t *testing.T, src, out string) (string, string) {
			return filepath.Join(src, "nope"), out
		}, Options{}, []string{"nope: no such folder"}},
		{"source is a file", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			return filepath.Join(src, "a.css"), out
		}, Options{}, []string{"a.css: not a folder"}},
		{"output is the source", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			return src, src
		}, Options{}, []string{"is the source folder"}},
		{"output inside the source", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			return src, filepath.Join(src, "dist")
		}, Options{}, []string{"dist is inside the source folder"}},
		{"output inside the source through a symlink", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			link := filepath.Join(filepath.Dir(out), "link")
			if err := os.Symlink(src, link); err != nil {
				t.Skip(err)
			}
			return src, filepath.Join(link, "dist")
		}, Options{}, []string{"is inside the source folder"}},
		{"source inside the output", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, filepath.Join(out, "site"), ok)
			return filepath.Join(out, "site"), out
		}, Options{}, []string{"is inside the output folder"}},
		{"symlink loop to an ancestor", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			if err := os.Symlink("..", filepath.Join(src, "sub-loop")); err != nil {
				t.Skip(err)
			}
			return src, out
		}, Options{}, []string{"sub-loop: symbolic link loop"}},
		{"symlink to itself", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			if err := os.Symlink("self", filepath.Join(src, "self")); err != nil {
				t.Skip(err)
			}
			return src, out
		}, Options{}, []string{"self: symbolic link loop"}},
		{"broken symlink", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			if err := os.Symlink("gone.png", filepath.Join(src, "img.png")); err != nil {
				t.Skip(err)
			}
			return src, out
		}, Options{}, []string{"img.png: broken symbolic link"}},
		{"non-UTF-8 name", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			if err := os.WriteFile(filepath.Join(src, "bad\xff.png"), []byte("x"), 0o644); err != nil {
				t.Skip(err) // the file system refuses such names
			}
			return src, out
		}, Options{}, []string{`bad\xff.png`, "not valid UTF-8"}},
		{"two sources, one output name", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, map[string]string{"a.css": "a{}", "a." + sha256Hex("a{}")[:10] + ".css": "a{}"})
			return src, out
		}, Options{}, []string{"would both be written as a." + sha256Hex("a{}")[:10] + ".css"}},
		{"invalid rule glob", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, ok)
			return src, out
		}, Options{Rules: []Rule{{Match: []string{"img/[a-"}}}}, []string{`rules[0].match[0]: glob "img/[a-"`}},
		{"reference cycle", func(t *testing.T, src, out string) (string, string) {
			writeTree(t, src, map[string]string{"a.css": `@import "b.css";`, "b.css": `@import "a.css";`})
			return src, out
		}, Options{}, []string{"reference cycle:", "a.css → ", "b.css → "}},
		{"unreadable file", func(t *testing.T, src, out string) (string, string) {
			if os.Geteuid() == 0 {
				t.Skip("root reads every file (TestFingerprintUnreadable covers this with a failing file system)")
			}
			writeTree(t, src, ok)
			if err := os.Chmod(filepath.Join(src, "a.css"), 0); err != nil {
				t.Fatal(err)
			}
			return src, out
		}, Options{}, []string{"a.css: permission denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			src, out := tt.setup(t, filepath.Join(root, "src"), filepath.Join(root, "out"))
			_, err := FingerprintDir(context.Background(), src, out, DirOptions{Options: tt.opts})
			if err == nil {
				t.Fatalf("FingerprintDir(%s, %s) = nil error", src, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if entries, _ := filepath.Glob(filepath.Join(root, ".*cdnctl-new*")); len(entries) > 0 {
				t.Errorf("temporary output left behind: %v", entries)
			}
		})
	}
}

func sha256Hex(s string) string {
	return hexSum([]byte(s))
}

// TestFingerprintLeavesDirOnFailure checks that a failed run leaves the
// previous output exactly as it was.
func TestFingerprintLeavesDirOnFailure(t *testing.T) {
	src := copyFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	if _, err := FingerprintDir(context.Background(), src, out, DirOptions{Options: fixtureOptions()}); err != nil {
		t.Fatal(err)
	}
	before := dumpTree(t, out)
	writeTree(t, src, map[string]string{"css/loop.css": `@import "loop.css";`})
	_, err := FingerprintDir(context.Background(), src, out, DirOptions{Options: fixtureOptions()})
	if err == nil || !strings.Contains(err.Error(), "loop.css → ") {
		t.Fatalf("FingerprintDir(cycle) = %v; want a cycle error", err)
	}
	if after := dumpTree(t, out); !bytes.Equal(before, after) {
		t.Fatalf("a failed run changed the output:\n%s", firstDiff(before, after))
	}
	// A cancelled run too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	os.Remove(filepath.Join(src, "css", "loop.css"))
	if _, err := FingerprintDir(ctx, src, out, DirOptions{Options: fixtureOptions()}); !errors.Is(err, context.Canceled) {
		t.Fatalf("FingerprintDir(cancelled) = %v; want context.Canceled", err)
	}
	if after := dumpTree(t, out); !bytes.Equal(before, after) {
		t.Fatalf("a cancelled run changed the output")
	}
	if entries, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*cdnctl-new*")); len(entries) > 0 {
		t.Errorf("temporary output left behind: %v", entries)
	}
}

// failFS fails to open one file.
type failFS struct {
	fs.FS
	name string
}

func (f failFS) Open(name string) (fs.File, error) {
	if name == f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.FS.Open(name)
}

func TestFingerprintUnreadable(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	for _, name := range []string{"img/logo.png", "index.html", "js/main.js"} {
		_, err := Fingerprint(context.Background(), failFS{os.DirFS("testdata/site"), name}, out, DirOptions{})
		if err == nil || !strings.Contains(err.Error(), name+": permission denied") {
			t.Errorf("Fingerprint(%s unreadable) = %v; want an error naming it", name, err)
		}
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a failed first run created the output folder")
		}
	}
}

func TestFingerprintRefusesForeignDir(t *testing.T) {
	src := copyFixture(t)
	out := filepath.Join(t.TempDir(), "home")
	writeTree(t, out, map[string]string{"thesis.tex": "do not lose me"})
	_, err := FingerprintDir(context.Background(), src, out, DirOptions{})
	if err == nil || !strings.Contains(err.Error(), "holds files that cdnctl fingerprint did not write") {
		t.Fatalf("FingerprintDir(foreign folder) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "thesis.tex")); err != nil {
		t.Fatalf("the foreign folder was touched: %v", err)
	}
	if _, err := FingerprintDir(context.Background(), src, out, DirOptions{Force: true}); err != nil {
		t.Fatalf("FingerprintDir(Force) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "index.html")); err != nil {
		t.Fatalf("forced run did not write: %v", err)
	}
}

// TestFingerprintReuse re-runs into the same folder: unchanged files are
// reused, changed ones and the files naming them are redone, and the
// result is what a run without the cache writes.
func TestFingerprintReuse(t *testing.T) {
	src := copyFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	opts := DirOptions{Options: fixtureOptions()}
	opts.Encodings = []string{EncodingGzip}
	res, err := FingerprintDir(context.Background(), src, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Reused != 0 {
		t.Fatalf("first run reused %d files", res.Stats.Reused)
	}
	res, err = FingerprintDir(context.Background(), src, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Reused != res.Stats.Files {
		t.Fatalf("unchanged re-run reused %d of %d files", res.Stats.Reused, res.Stats.Files)
	}

	// Change an image: it, the style sheets and pages naming it, and the
	// source map naming a changed style sheet are redone.
	writeTree(t, src, map[string]string{"img/photo.jpg": "a new photo"})
	res, err = FingerprintDir(context.Background(), src, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Stats.Files-res.Stats.Reused, 6; got != want {
		t.Errorf("after changing img/photo.jpg, %d files were redone; want %d (photo, app.css, app.css.map, index.html, page/sub.html, site.webmanifest)", got, want)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := FingerprintDir(context.Background(), src, fresh, DirOptions{Options: opts.Options, NoCache: true}); err != nil {
		t.Fatal(err)
	}
	if a, b := dumpTree(t, out), dumpTree(t, fresh); !bytes.Equal(a, b) {
		t.Fatalf("incremental run differs from a full run:\n%s", firstDiff(a, b))
	}

	// An output changed behind cdnctl's back is not trusted.
	m := res.Manifest.Files["img/logo.png"]
	p := filepath.Join(out, filepath.FromSlash(m.Path))
	if err := os.WriteFile(p, []byte("tampered with!!"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = FingerprintDir(context.Background(), src, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(p); string(data) != "PNG logo bytes\n" {
		t.Errorf("a tampered output was reused: %q", data)
	}
	if res.Stats.Reused != res.Stats.Files-1 {
		t.Errorf("reused %d of %d; want all but the tampered file", res.Stats.Reused, res.Stats.Files)
	}

	// Other options: nothing is reused.
	opts.HashLength = 12
	res, err = FingerprintDir(context.Background(), src, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Reused != 0 {
		t.Errorf("with another hash length %d files were reused", res.Stats.Reused)
	}
}

// TestFingerprintRacyFiles checks that a file modified close to the run
// that cached it is read again, even with the same size and time.
func TestFingerprintRacyFiles(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	out := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p := filepath.Join(src, "a.txt")
	os.WriteFile(p, []byte("one"), 0o644)
	os.Chtimes(p, now, now)
	if _, err := FingerprintDir(context.Background(), src, out, DirOptions{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("two"), 0o644) // same size
	os.Chtimes(p, now, now)               // same time
	res, err := FingerprintDir(context.Background(), src, out, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Manifest.Files["a.txt"]; e.SHA256 != sha256Hex("two") {
		t.Fatalf("a racily modified file was taken from the cache: %+v", e)
	}
}

func TestFingerprintSymlinkedFiles(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	writeTree(t, src, map[string]string{"index.html": `<img src="shared/a.png">`})
	writeTree(t, filepath.Join(root, "elsewhere"), map[string]string{"a.png": "png"})
	if err := os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(src, "shared")); err != nil {
		t.Skip(err)
	}
	res, err := FingerprintDir(context.Background(), src, filepath.Join(root, "out"), DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Manifest.Files["shared/a.png"]; !e.Fingerprinted || e.Size != 3 {
		t.Fatalf("a file behind a symlinked folder: %+v", e)
	}
}

// TestFingerprintUnchanged re-runs with nothing changed: the output
// folder is kept as is, but a stray file, a lost manifest or new rules are
// still dealt with.
func TestFingerprintUnchanged(t *testing.T) {
	src := copyFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	opts := DirOptions{Options: fixtureOptions()}
	if _, err := FingerprintDir(context.Background(), src, out, opts); err != nil {
		t.Fatal(err)
	}
	want := dumpTree(t, out)
	run := func() *Result {
		t.Helper()
		res, err := FingerprintDir(context.Background(), src, out, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.Stats.Reused != res.Stats.Files {
			t.Errorf("reused %d of %d files", res.Stats.Reused, res.Stats.Files)
		}
		return res
	}
	before, _ := os.Stat(out)
	run()
	if after, _ := os.Stat(out); !os.SameFile(before, after) {
		t.Errorf("an unchanged re-run replaced the output folder")
	}
	if got := dumpTree(t, out); !bytes.Equal(got, want) {
		t.Fatalf("unchanged re-run changed the output:\n%s", firstDiff(want, got))
	}

	writeTree(t, out, map[string]string{"stray.txt": "not from the source"})
	run()
	if _, err := os.Stat(filepath.Join(out, "stray.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file that is not part of the build stayed in the output")
	}

	os.Remove(filepath.Join(out, DefaultManifestName))
	run()
	if got := dumpTree(t, out); !bytes.Equal(got, want) {
		t.Fatalf("the lost manifest was not written again:\n%s", firstDiff(want, got))
	}

	opts.Rules = append(opts.Rules, Rule{Match: []string{"*.html"}, CacheControl: "public, max-age=60"})
	res := run()
	m, err := LoadManifest(os.DirFS(out), "")
	if err != nil {
		t.Fatal(err)
	}
	if cc := m.Files["index.html"].CacheControl; cc != "public, max-age=60" || res.Manifest.Files["index.html"].CacheControl != cc {
		t.Errorf("after a new rule, index.html is served with %q", cc)
	}
}

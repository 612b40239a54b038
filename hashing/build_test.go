package hashing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtureOptions are the options the golden fixture is built with.
func fixtureOptions() Options {
	return Options{
		BaseURL:      "https://www.example.test/",
		Prehashed:    []string{"assets/**"},
		ViteManifest: ".vite/manifest.json",
		Rules: []Rule{
			{Match: []string{"*.css", "*.js"}, Tags: []string{"static"}},
			{Match: []string{"fonts/**"}, Headers: map[string]string{"Access-Control-Allow-Origin": "*"}},
		},
	}
}

// dumpTree renders an output folder as a txtar archive: text files in
// full, binary ones by size and hash, cdnctl's state folder left out.
func dumpTree(t *testing.T, dir string) []byte {
	t.Helper()
	var ar txtar.Archive
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == stateDir {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ext := path.Ext(rel)
		if IsText(ContentType(rel)) && ext != ".br" && ext != ".gz" {
			ar.Files = append(ar.Files, txtar.File{Name: rel, Data: data})
		} else {
			sum := sha256.Sum256(data)
			ar.Files = append(ar.Files, txtar.File{Name: rel, Data: fmt.Appendf(nil, "(binary, %d bytes, sha256 %x)\n", len(data), sum[:6])})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return txtar.Format(&ar)
}

func checkGolden(t *testing.T, got []byte) {
	t.Helper()
	name := filepath.Join("testdata", t.Name()+".golden")
	if *update {
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test ./hashing -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("output differs from %s at line %d:\n got: %s\nwant: %s\n(run go test ./hashing -run %s -update if the change is intended)", name, i+1, gl[i], wl[i], t.Name())
			}
		}
		t.Fatalf("output differs from %s in length: got %d lines, want %d", name, len(gl), len(wl))
	}
}

// TestBuild builds the fixture site and compares every output file, the
// manifests and the report with testdata/TestBuild.golden.
func TestBuild(t *testing.T) {
	out := t.TempDir()
	res, err := Build(context.Background(), os.DirFS("testdata/site"), NewDirOutput(out), fixtureOptions())
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	fmt.Fprintf(&report, "stats: %+v\n", res.Stats)
	for _, m := range res.Missing {
		fmt.Fprintf(&report, "missing: %s\n", m)
	}
	for _, p := range res.Pinned {
		fmt.Fprintf(&report, "pinned: %s: %s\n", p.Path, p.Reason)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(&report, "skipped: %s: %s\n", s.Path, s.Reason)
	}
	got := append(report.Bytes(), dumpTree(t, out)...)
	checkGolden(t, got)

	// What the golden file shows, spelled out for the reader.
	m := res.Manifest
	for logical, want := range map[string]struct {
		path          string
		fingerprinted bool
	}{
		"index.html":               {"index.html", false},
		"img/logo.png":             {FingerprintName("img/logo.png", m.Files["img/logo.png"].SHA256[:10]), true},
		"assets/index-4f3a2b1c.js": {"assets/index-4f3a2b1c.js", true}, // prehashed
		"sw.js":                    {"sw.js", false},
		".well-known/security.txt": {".well-known/security.txt", false},
	} {
		e, ok := m.Files[logical]
		if !ok || e.Path != want.path || e.Fingerprinted != want.fingerprinted {
			t.Errorf("manifest[%q] = %+v; want path %q, fingerprinted %v", logical, e, want.path, want.fingerprinted)
		}
	}
	wantMissing := []string{"img/missing.png", "docs/missing.pdf", "media/clip.mp4", "img/missing.png", "feed.xml"}
	var gotMissing []string
	for _, mr := range res.Missing {
		gotMissing = append(gotMissing, mr.Target)
	}
	slices.Sort(wantMissing)
	slices.Sort(gotMissing)
	if !slices.Equal(gotMissing, wantMissing) {
		t.Errorf("missing = %q; want %q", gotMissing, wantMissing)
	}
}

// TestBuildHashFollowsReferences checks that a changed image changes the
// hash of the style sheet naming it, and of nothing else.
func TestBuildHashFollowsReferences(t *testing.T) {
	site := map[string]string{
		"index.html":    `<link rel="stylesheet" href="css/a.css"><img src="img/other.png">`,
		"css/a.css":     `@import "b.css"; x{background:url(../img/x.png)}`,
		"css/b.css":     `y{color:red}`,
		"img/x.png":     "x v1",
		"img/other.png": "other",
	}
	build := func() *Manifest {
		res, err := Build(context.Background(), mapFS(site), Discard, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Manifest
	}
	before := build()
	site["img/x.png"] = "x v2"
	after := build()
	for _, name := range []string{"img/x.png", "css/a.css", "index.html"} {
		if before.Files[name].SHA256 == after.Files[name].SHA256 {
			t.Errorf("%s did not change when img/x.png did", name)
		}
	}
	for _, name := range []string{"css/b.css", "img/other.png"} {
		if before.Files[name].Path != after.Files[name].Path {
			t.Errorf("%s changed when img/x.png did", name)
		}
	}
	if p := after.Files["css/a.css"].Path; !strings.HasPrefix(p, "css/a.") || p == before.Files["css/a.css"].Path {
		t.Errorf("css/a.css output %q; want a new hashed name", p)
	}
}

// TestBuildDeterministic builds twice and compares every byte, the
// precompressed copies and both manifests included.
func TestBuildDeterministic(t *testing.T) {
	opts := fixtureOptions()
	opts.Encodings = []string{EncodingBrotli, EncodingGzip}
	opts.CompressMinSize = 1
	var trees [2][]byte
	for i := range trees {
		out := t.TempDir()
		if _, err := Build(context.Background(), os.DirFS("testdata/site"), NewDirOutput(out), opts); err != nil {
			t.Fatal(err)
		}
		trees[i] = dumpTree(t, out)
	}
	if !bytes.Equal(trees[0], trees[1]) {
		t.Fatalf("two builds of the same source differ")
	}
	if !bytes.Contains(trees[0], []byte(".br --\n(binary")) || !bytes.Contains(trees[0], []byte(".gz --\n(binary")) {
		t.Fatalf("no precompressed copies in the builds compared")
	}
}

// TestFingerprintIdempotent fingerprints an output again: nothing changes,
// not a byte of the manifests either.
func TestFingerprintIdempotent(t *testing.T) {
	opts := DirOptions{Options: fixtureOptions()}
	opts.Encodings = []string{EncodingBrotli, EncodingGzip}
	first := filepath.Join(t.TempDir(), "first")
	second := filepath.Join(t.TempDir(), "second")
	if _, err := FingerprintDir(context.Background(), "testdata/site", first, opts); err != nil {
		t.Fatal(err)
	}
	res, err := FingerprintDir(context.Background(), first, second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := dumpTree(t, first), dumpTree(t, second); !bytes.Equal(a, b) {
		t.Fatalf("fingerprinting an output changed it:\n%s", firstDiff(a, b))
	}
	if res.Stats.Rewritten != 0 {
		t.Errorf("second run rewrote %d files; want 0", res.Stats.Rewritten)
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(al), len(bl))
}

func TestBuildCompression(t *testing.T) {
	big := strings.Repeat(".rule { color: red; background: url(x.png); }\n", 100)
	noise := make([]byte, 4096)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	site := map[string]string{
		"big.css":    big,
		"small.css":  "a{}",
		"noise.txt":  string(noise),
		"x.png":      strings.Repeat("png", 1000), // compressible bytes, but an image type
		"index.html": strings.Repeat("<p>hello</p>\n", 200),
	}
	out := t.TempDir()
	res, err := Build(context.Background(), mapFS(site), NewDirOutput(out), Options{Encodings: []string{"br", "gzip"}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	for _, name := range []string{"big.css", "index.html"} {
		e := m.Files[name]
		if len(e.Encodings) != 2 {
			t.Fatalf("%s: encodings %v; want br and gzip", name, e.Encodings)
		}
		want, _ := os.ReadFile(filepath.Join(out, e.Path))
		for enc, en := range e.Encodings {
			raw, err := os.ReadFile(filepath.Join(out, en.Path))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(raw)) != en.Size || en.Size >= e.Size || en.Path != e.Path+map[string]string{"br": ".br", "gzip": ".gz"}[enc] {
				t.Errorf("%s %s: %+v (file %d bytes); want a smaller %s sibling", name, enc, en, len(raw), enc)
			}
			var r io.Reader
			if enc == "br" {
				r = brotli.NewReader(bytes.NewReader(raw))
			} else if r, err = gzip.NewReader(bytes.NewReader(raw)); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s %s: decompressed copy differs from the file (err %v)", name, enc, err)
			}
		}
	}
	for _, name := range []string{"small.css", "noise.txt", "x.png"} {
		if e := m.Files[name]; len(e.Encodings) != 0 {
			t.Errorf("%s: encodings %v; want none (too small, incompressible or not a compressible type)", name, e.Encodings)
		}
	}
}

// TestBuildStreams fingerprints files much larger than what the build
// may allocate: a memory use that grows with file size fails.
func TestBuildStreams(t *testing.T) {
	const size = 64 << 20
	fsys := genFS{
		"big.bin":    {size: size},
		"app.js":     {size: size, tail: "\n//# sourceMappingURL=app.js.map\n"},
		"app.js.map": {size: 0, tail: `{"version":3,"file":"app.js","sources":[],"mappings":""}`},
	}
	var before, after runtimeMem
	before.read()
	res, err := Build(context.Background(), fsys, Discard, Options{})
	after.read()
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Manifest.Files["big.bin"]; e.Size != size {
		t.Fatalf("big.bin size %d; want %d", e.Size, size)
	}
	if e := res.Manifest.Files["app.js"]; !e.Fingerprinted || e.Size <= size {
		t.Fatalf("app.js %+v; want fingerprinted with its sourceMappingURL rewritten", e)
	}
	if grown := after.totalAlloc - before.totalAlloc; grown > 16<<20 {
		t.Errorf("building two %d MiB files allocated %d MiB; want it independent of file size", size>>20, grown>>20)
	}
}

func TestBuildReferenceCycle(t *testing.T) {
	site := map[string]string{
		"index.html": `<link rel=stylesheet href="css/a.css">`,
		"css/a.css":  `@import "b.css";`,
		"css/b.css":  `@import "c.css";`,
		"css/c.css":  `@import "b.css";`,
	}
	_, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err == nil || !strings.Contains(err.Error(), "reference cycle: css/b.css → css/c.css → css/b.css") {
		t.Fatalf("Build(cycle) = %v; want an error naming the cycle", err)
	}
}

func TestBuildStrict(t *testing.T) {
	site := map[string]string{
		"index.html": "<p>\n<img src=\"nope.png\">\n<a href=\"/client/route\">x</a>",
		"a.css":      "x{background:url(gone.png)}",
	}
	res, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err != nil || len(res.Missing) != 2 {
		t.Fatalf("Build = %v, missing %v; want success with 2 reported", err, res)
	}
	_, err = Build(context.Background(), mapFS(site), Discard, Options{Strict: true})
	if err == nil || !strings.Contains(err.Error(), "index.html:2: nope.png: no such file nope.png") || !strings.Contains(err.Error(), "a.css:1: gone.png") {
		t.Fatalf("Build(strict) = %v; want an error listing file:line of each missing reference", err)
	}
}

func TestBuildCollision(t *testing.T) {
	content := "a{}"
	sum := sha256.Sum256([]byte(content))
	hashed := "a." + hex.EncodeToString(sum[:])[:10] + ".css"
	site := map[string]string{"a.css": content, hashed: content}
	_, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err == nil || !strings.Contains(err.Error(), hashed+" and a.css would both be written as "+hashed) {
		t.Fatalf("Build(collision) = %v; want an error naming both sources", err)
	}
	_, err = Build(context.Background(), mapFS(map[string]string{"cdnctl-manifest.json": "{}"}), Discard, Options{})
	if err == nil || !strings.Contains(err.Error(), "cdnctl-manifest.json: the source has a file where the manifest goes") {
		t.Fatalf("Build(file at the manifest's path) = %v", err)
	}
}

func TestBuildBadOptions(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{HashLength: 4}, "hash length 4"},
		{Options{HashLength: 65}, "hash length 65"},
		{Options{Keep: []string{"a/[b"}}, `keep[0]: glob "a/[b"`},
		{Options{Prehashed: []string{"{x"}}, `prehashed[0]: glob "{x"`},
		{Options{Rules: []Rule{{Match: []string{"*.css", "img/[z-"}}}}, `rules[0].match[1]: glob "img/[z-": syntax error in pattern`},
		{Options{BaseURL: "www.example.test"}, `base URL "www.example.test"`},
		{Options{Encodings: []string{"zstd"}}, `unknown encoding "zstd"`},
		{Options{Encodings: []string{"br", "none"}}, `"none" cannot be combined`},
		{Options{ManifestName: "../m.json"}, `manifest name "../m.json"`},
		{Options{ViteManifest: "/abs.json"}, `vite manifest "/abs.json"`},
	}
	for _, tt := range tests {
		_, err := Build(context.Background(), mapFS(nil), Discard, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Build(%+v) = %v; want an error containing %q", tt.opts, err, tt.want)
		}
	}
}

func TestBuildManifestFromRules(t *testing.T) {
	site := map[string]string{"index.html": `<link rel=stylesheet href=css/a.css><link rel=preload as=font href=fonts/f.woff2>`, "fonts/f.woff2": "f", "css/a.css": "a{}"}
	opts := Options{Rules: []Rule{
		{Match: []string{"*.html"}, CacheControl: "public, max-age=60", Tags: []string{"pages"}},
		{Match: []string{"fonts/"}, Headers: map[string]string{"access-control-allow-origin": "*"}, Tags: []string{"fonts"}},
	}}
	res, err := Build(context.Background(), mapFS(site), Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if e := m.Files["index.html"]; e.CacheControl != "public, max-age=60" || !slices.Equal(e.Tags, []string{"pages"}) || e.ContentType != "text/html; charset=utf-8" {
		t.Errorf("index.html = %+v", e)
	}
	if e := m.Files["fonts/f.woff2"]; e.CacheControl != ImmutableCacheControl || e.Headers["Access-Control-Allow-Origin"] != "*" || e.ContentType != "font/woff2" {
		t.Errorf("fonts/f.woff2 = %+v", e)
	}
	if e := m.Files["css/a.css"]; e.CacheControl != ImmutableCacheControl || e.Tags != nil || !strings.HasPrefix(e.Integrity, "sha384-") {
		t.Errorf("css/a.css = %+v", e)
	}
}

// mapFS is an in-memory source whose files are old (so caches trust them).
func mapFS(files map[string]string) fs.FS {
	m := make(fstest.MapFS, len(files))
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644, ModTime: oldTime}
	}
	return m
}

// oldTime is a modification time safely before any test's run.
var oldTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

type runtimeMem struct{ totalAlloc uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.totalAlloc = ms.TotalAlloc
}

// genFS is a source of generated files: size pseudo-random bytes, then
// tail. Nothing is held in memory.
type genFS map[string]genFile

type genFile struct {
	size int64
	tail string
}

func (g genFS) Open(name string) (fs.File, error) {
	f, ok := g[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &genReader{name: path.Base(name), f: f}, nil
}

func (g genFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []fs.DirEntry
	for n, f := range g {
		out = append(out, fs.FileInfoToDirEntry(genInfo{n, f.size + int64(len(f.tail))}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

type genReader struct {
	name string
	f    genFile
	off  int64
}

func (r *genReader) total() int64 { return r.f.size + int64(len(r.f.tail)) }

func (r *genReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off < r.total() {
		if off < r.f.size {
			p[n] = byte((uint64(off) * 2654435761) >> 13)
		} else {
			p[n] = r.f.tail[off-r.f.size]
		}
		n++
		off++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *genReader) Read(p []byte) (int, error) {
	if r.off >= r.total() {
		return 0, io.EOF
	}
	n, _ := r.ReadAt(p, r.off)
	r.off += int64(n)
	return n, nil
}

func (r *genReader) Stat() (fs.FileInfo, error) { return genInfo{r.name, r.total()}, nil }
func (r *genReader) Close() error               { return nil }

type genInfo struct {
	name string
	size int64
}

func (i genInfo) Name() string       { return i.name }
func (i genInfo) Size() int64        { return i.size }
func (i genInfo) Mode() fs.FileMode  { return 0o644 }
func (i genInfo) ModTime() time.Time { return oldTime }
func (i genInfo) IsDir() bool        { return false }
func (i genInfo) Sys() any           { return nil }

func TestBuildIntegrity(t *testing.T) {
	site := map[string]string{"app.js": "x()", "a.css": "a{}", "m.wasm": "\x00asm", "img.png": "png", "data.json": "{}"}
	res, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"app.js": true, "a.css": true, "m.wasm": true, "data.json": true, "img.png": false} {
		e := res.Manifest.Files[name]
		if got := strings.HasPrefix(e.Integrity, "sha384-"); got != want {
			t.Errorf("%s integrity %q; want one: %v", name, e.Integrity, want)
		}
	}
	// sha384 of "x()", as `openssl dgst -sha384 -binary | base64` prints it.
	if got := res.Manifest.Files["app.js"].Integrity; got != "sha384-cHpwNWfZewU1VQsG3Dbk+hSwO33e9lUJ4vPY3oC6Pc1XRmblyhh1Jea1MQC2uBVB" {
		t.Errorf("app.js integrity %s", got)
	}
}

// TestBuildIntegrityAttributes checks that integrity="" attributes of the
// files cdnctl changed are updated, and the others left alone.
func TestBuildIntegrityAttributes(t *testing.T) {
	site := map[string]string{
		"index.html": `<link rel="stylesheet" href="a.css" integrity="sha384-stale" crossorigin>` + "\n" +
			`<link rel=stylesheet href=kept.css integrity=sha384-old>` + "\n" +
			`<script src="same.js" integrity="sha256-untouched"></script>`,
		"a.css":    `x{background:url(img.png)}`,
		"kept.css": `y{background:url(img.png)}`,
		"same.js":  `f()`,
		"img.png":  "png",
	}
	out := t.TempDir()
	res, err := Build(context.Background(), mapFS(site), NewDirOutput(out), Options{Keep: []string{"kept.css"}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	sri := func(name string) string {
		data, err := os.ReadFile(filepath.Join(out, m.Files[name].Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha512.Sum384(data)
		return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	index, _ := os.ReadFile(filepath.Join(out, "index.html"))
	want := `<link rel="stylesheet" href="` + m.Files["a.css"].Path + `" integrity="` + sri("a.css") + `" crossorigin>` + "\n" +
		`<link rel=stylesheet href=kept.css integrity="` + sri("kept.css") + `">` + "\n" +
		`<script src="` + m.Files["same.js"].Path + `" integrity="sha256-untouched"></script>`
	if string(index) != want {
		t.Fatalf("index.html =\n%s\nwant\n%s", index, want)
	}
	if m.Files["a.css"].Integrity != sri("a.css") {
		t.Errorf("manifest integrity of a.css %s; want %s", m.Files["a.css"].Integrity, sri("a.css"))
	}
}

// TestBuildSourceMapListsGeneratedFile fingerprints a style sheet whose
// source map lists the style sheet itself among its sources, as
// Bootstrap's dist/css/*.css.map do (PostCSS): not a cycle, and both
// names are rewritten.
func TestBuildSourceMapListsGeneratedFile(t *testing.T) {
	site := map[string]string{
		"index.html":        `<link rel="stylesheet" href="css/grid.css">`,
		"css/grid.css":      ".row{display:flex}\n/*# sourceMappingURL=grid.css.map */",
		"css/grid.css.map":  `{"version":3,"sources":["../scss/_grid.scss","grid.css"],"names":[],"mappings":"AAAA","file":"grid.css"}`,
		"js/no-file.js":     "x()\n//# sourceMappingURL=no-file.js.map",
		"js/no-file.js.map": `{"version":3,"sources":["./no-file.js"],"names":[],"mappings":"AAAA"}`,
	}
	out := t.TempDir()
	res, err := Build(context.Background(), mapFS(site), NewDirOutput(out), Options{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for _, gen := range []string{"css/grid.css", "js/no-file.js"} {
		g, m := res.Manifest.Files[gen], res.Manifest.Files[gen+".map"]
		if !g.Fingerprinted || !m.Fingerprinted {
			t.Fatalf("%s %+v, map %+v; want both fingerprinted", gen, g, m)
		}
		mapData := read(m.Path)
		if !strings.Contains(mapData, `"`+path.Base(g.Path)+`"`) && !strings.Contains(mapData, `"./`+path.Base(g.Path)+`"`) {
			t.Errorf("%s = %s; want the generated file named %s", m.Path, mapData, path.Base(g.Path))
		}
		if gen := read(g.Path); !strings.Contains(gen, "sourceMappingURL="+path.Base(m.Path)) {
			t.Errorf("%s = %q; want it to name %s", g.Path, gen, m.Path)
		}
	}
}

// TestBuildUnreferenced checks that the files no file of a site with pages
// names keep their names (a script may compute their URLs), and that they
// are hashed in an asset folder without pages or with HashUnreferenced;
// and that a file a script names by a string (Swagger UI's
// swagger-initializer.js fetches "./petstore.json") keeps its name in
// every case, with the place that names it.
func TestBuildUnreferenced(t *testing.T) {
	site := map[string]string{
		"index.html":       `<script src="init.js"></script>`,
		"init.js":          `fetch("./petstore.json").then(r => r.json()).then(show)` + "\n//# sourceMappingURL=init.js.map",
		"init.js.map":      `{"version":3,"sources":[],"names":[],"mappings":""}`,
		"petstore.json":    `{"openapi":"3.0.0"}`,
		"worker/worker.js": `onmessage = () => {}`,
	}
	build := func(site map[string]string, opts Options) *Manifest {
		t.Helper()
		res, err := Build(context.Background(), mapFS(site), Discard, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := []Pinned{{Path: "petstore.json", Reason: reasonOccurrence, At: `init.js:1: ./petstore.json`}}
		if !opts.HashUnreferenced && site["index.html"] != "" {
			want = append(want, Pinned{Path: "worker/worker.js", Reason: reasonUnreferenced})
		}
		if !reflect.DeepEqual(res.Pinned, want) {
			t.Errorf("pinned %+v; want %+v", res.Pinned, want)
		}
		return res.Manifest
	}
	m := build(site, Options{})
	for _, name := range []string{"petstore.json", "worker/worker.js"} {
		if e := m.Files[name]; e.Fingerprinted || e.Path != name || e.CacheControl != EntryPointCacheControl {
			t.Errorf("%s = %+v; want its name kept, revalidated", name, e)
		}
	}
	for _, name := range []string{"init.js", "init.js.map"} {
		if e := m.Files[name]; !e.Fingerprinted {
			t.Errorf("%s = %+v; want fingerprinted (a page or script names it)", name, e)
		}
	}
	m = build(site, Options{HashUnreferenced: true})
	if e := m.Files["worker/worker.js"]; !e.Fingerprinted {
		t.Errorf("with HashUnreferenced, worker/worker.js = %+v; want fingerprinted", e)
	}
	if e := m.Files["petstore.json"]; e.Fingerprinted {
		t.Errorf("with HashUnreferenced, petstore.json = %+v; want its name kept (init.js names it)", e)
	}
	delete(site, "index.html")
	m = build(site, Options{})
	for _, name := range []string{"init.js", "worker/worker.js"} {
		if e := m.Files[name]; !e.Fingerprinted {
			t.Errorf("without pages, %s = %+v; want fingerprinted", name, e)
		}
	}
}

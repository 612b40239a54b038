package providers

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/hashing"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func byKey(set *LocalSet) map[string]*LocalFile {
	m := map[string]*LocalFile{}
	for _, f := range set.Files {
		m[f.Key] = f
	}
	return m
}

type fileView struct {
	SHA256        string
	Size          int64
	Meta          Metadata
	Fingerprinted bool
}

func view(f *LocalFile) fileView {
	return fileView{f.SHA256, f.Size, f.Meta, f.Fingerprinted}
}

func TestScanDirWithoutManifest(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.html":                 "<h1>hi</h1>",
		"about/index.html":           "<h1>about</h1>",
		"css/app.css":                "body{}",
		"css/app.css.br":             "BR",
		"css/app.css.gz":             "GZ",
		"img/logo.3f9a1c0e2b.png":    "PNG",
		"img/logo.3f9a1c0e2b.png.gz": "PNGGZ",
		"robots.txt":                 "User-agent: *",
		"dl/archive.tar.gz":          "TGZ",
		".well-known/security.txt":   "Contact: x",
		".git/HEAD":                  "ref",
		"sub/.git/config":            "x",
		".DS_Store":                  "junk",
		".cdnctl/objects.json":       "{}",
	})
	set, err := ScanDir(context.Background(), dir, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Manifest != nil || set.ManifestDigest != "" {
		t.Errorf("manifest = %v %q; want none", set.Manifest, set.ManifestDigest)
	}
	html := "text/html; charset=utf-8"
	css := "text/css; charset=utf-8"
	want := map[string]fileView{
		".well-known/security.txt":   {sum256("Contact: x"), 10, Metadata{ContentType: "text/plain; charset=utf-8", CacheControl: CacheControlDefault}, false},
		"about/index.html":           {sum256("<h1>about</h1>"), 14, Metadata{ContentType: html, CacheControl: CacheControlEntryPoint}, false},
		"css/app.css":                {sum256("body{}"), 6, Metadata{ContentType: css, CacheControl: CacheControlDefault}, false},
		"css/app.css.br":             {sum256("BR"), 2, Metadata{ContentType: css, CacheControl: CacheControlDefault, ContentEncoding: "br"}, false},
		"css/app.css.gz":             {sum256("GZ"), 2, Metadata{ContentType: css, CacheControl: CacheControlDefault, ContentEncoding: "gzip"}, false},
		"dl/archive.tar.gz":          {sum256("TGZ"), 3, Metadata{ContentType: "application/gzip", CacheControl: CacheControlDefault}, false},
		"img/logo.3f9a1c0e2b.png":    {sum256("PNG"), 3, Metadata{ContentType: "image/png", CacheControl: CacheControlImmutable}, true},
		"img/logo.3f9a1c0e2b.png.gz": {sum256("PNGGZ"), 5, Metadata{ContentType: "image/png", CacheControl: CacheControlImmutable, ContentEncoding: "gzip"}, true},
		"index.html":                 {sum256("<h1>hi</h1>"), 11, Metadata{ContentType: html, CacheControl: CacheControlEntryPoint}, false},
		"robots.txt":                 {sum256("User-agent: *"), 13, Metadata{ContentType: "text/plain; charset=utf-8", CacheControl: CacheControlDefault}, false},
	}
	got := map[string]fileView{}
	for _, f := range set.Files {
		got[f.Key] = view(f)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	for i := 1; i < len(set.Files); i++ {
		if set.Files[i-1].Key >= set.Files[i].Key {
			t.Errorf("files not sorted: %q before %q", set.Files[i-1].Key, set.Files[i].Key)
		}
	}

	// Bodies and lazy MD5 come from the files.
	f := byKey(set)["css/app.css"]
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "body{}" {
		t.Errorf("Open read %q; want body{}", b)
	}
	sum, err := f.MD5()
	h := md5.Sum([]byte("body{}"))
	if err != nil || sum != hex.EncodeToString(h[:]) {
		t.Errorf("MD5() = %q, %v; want %x", sum, err, h)
	}
}

func writeManifest(t *testing.T, dir string, m *hashing.Manifest) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, hashing.DefaultManifestName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := m.WriteTo(f); err != nil {
		t.Fatal(err)
	}
}

func TestScanDirWithManifest(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.html":                "<h1>hi</h1>",
		"css/app.3f9a1c0e2b.css":    "body{}",
		"css/app.3f9a1c0e2b.css.br": "BR",
		"report.pdf":                "PDF",
		"extra.txt":                 "not in the manifest",
	})
	m := &hashing.Manifest{Version: 1, Algorithm: "sha256", Files: map[string]hashing.Entry{
		"index.html": {Path: "index.html", SHA256: sum256("<h1>hi</h1>"), Size: 11, ContentType: "text/html; charset=utf-8",
			CacheControl: "public, max-age=0, must-revalidate", Tags: []string{"html"}},
		"css/app.css": {Path: "css/app.3f9a1c0e2b.css", Fingerprinted: true, SHA256: sum256("body{}"), Size: 6,
			ContentType: "text/css; charset=utf-8", CacheControl: CacheControlImmutable, Tags: []string{"css", "assets"},
			Encodings: map[string]hashing.Encoding{"br": {Path: "css/app.3f9a1c0e2b.css.br", Size: 2, SHA256: sum256("BR")}}},
		"report.pdf": {Path: "report.pdf", SHA256: sum256("stale hash"), Size: 3, ContentType: "application/pdf",
			CacheControl: "public, max-age=3600", Headers: map[string]string{"content-disposition": "attachment"}},
	}}
	writeManifest(t, dir, m)
	set, err := ScanDir(context.Background(), dir, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if set.Manifest == nil || !strings.HasPrefix(set.ManifestDigest, "sha256:") {
		t.Fatalf("manifest = %v, digest %q; want it read", set.Manifest, set.ManifestDigest)
	}
	mbytes, _ := os.ReadFile(filepath.Join(dir, hashing.DefaultManifestName))
	if set.ManifestDigest != "sha256:"+sum256(string(mbytes)) {
		t.Errorf("manifest digest = %s; want the sha256 of the file", set.ManifestDigest)
	}
	files := byKey(set)
	want := map[string]fileView{
		"index.html":                {sum256("<h1>hi</h1>"), 11, Metadata{ContentType: "text/html; charset=utf-8", CacheControl: "public, max-age=0, must-revalidate", Tags: []string{"html"}}, false},
		"css/app.3f9a1c0e2b.css":    {sum256("body{}"), 6, Metadata{ContentType: "text/css; charset=utf-8", CacheControl: CacheControlImmutable, Tags: []string{"assets", "css"}}, true},
		"css/app.3f9a1c0e2b.css.br": {sum256("BR"), 2, Metadata{ContentType: "text/css; charset=utf-8", CacheControl: CacheControlImmutable, ContentEncoding: "br", Tags: []string{"assets", "css"}}, true},
		"report.pdf":                {sum256("PDF"), 3, Metadata{ContentType: "application/pdf", CacheControl: "public, max-age=3600", Headers: map[string]string{"Content-Disposition": "attachment"}}, false},
		"extra.txt":                 {sum256("not in the manifest"), 19, Metadata{ContentType: "text/plain; charset=utf-8", CacheControl: CacheControlDefault}, false},
	}
	for k, w := range want {
		f, ok := files[k]
		if !ok {
			t.Errorf("%s missing", k)
			continue
		}
		if d := cmp.Diff(w, view(f)); d != "" {
			t.Errorf("%s (-want +got):\n%s", k, d)
		}
	}
	mf, ok := files[hashing.DefaultManifestName]
	if !ok || mf.Meta.CacheControl != CacheControlEntryPoint || !strings.HasPrefix(mf.Meta.ContentType, "application/json") {
		t.Errorf("manifest file = %+v; want uploaded as an entry point", mf)
	}
	if len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0], "report.pdf") {
		t.Errorf("warnings = %q; want one about report.pdf's stale hash", set.Warnings)
	}
}

func TestScanDirManifestNamesMissingFile(t *testing.T) {
	dir := writeTree(t, map[string]string{"index.html": "x"})
	writeManifest(t, dir, &hashing.Manifest{Version: 1, Files: map[string]hashing.Entry{
		"app.css": {Path: "app.3f9a1c0e2b.css", Fingerprinted: true},
	}})
	_, err := ScanDir(context.Background(), dir, ScanOptions{})
	if err == nil || !strings.Contains(err.Error(), `"app.3f9a1c0e2b.css"`) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("error = %v; want it to name the missing file", err)
	}

	// A broken manifest is an error naming it; NoManifest ignores it.
	if err := os.WriteFile(filepath.Join(dir, hashing.DefaultManifestName), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ScanDir(context.Background(), dir, ScanOptions{}); err == nil || !strings.Contains(err.Error(), hashing.DefaultManifestName) {
		t.Errorf("error = %v; want it to name the manifest", err)
	}
	if _, err := ScanDir(context.Background(), dir, ScanOptions{NoManifest: true}); err != nil {
		t.Errorf("NoManifest: %v", err)
	}
}

func TestScanDirPrecompressedModes(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app.js": "JS", "app.js.br": "BRJS", "app.js.gz": "GZJS",
		"style.css": "CSS", "style.css.gz": "GZCSS",
		"plain.txt": "TXT",
	})
	rule := func(glob, mode string) HeaderRule {
		return HeaderRule{Match: hashing.MustCompileGlob(glob), Precompressed: mode}
	}
	tests := []struct {
		name  string
		opts  ScanOptions
		want  map[string]string // key → body sha of what is uploaded + encoding
		wantN int
	}{
		{"siblings", ScanOptions{}, map[string]string{"app.js": "JS|", "app.js.br": "BRJS|br", "app.js.gz": "GZJS|gzip", "style.css.gz": "GZCSS|gzip"}, 6},
		{"none", ScanOptions{Precompressed: PrecompressedNone}, map[string]string{"app.js": "JS|", "style.css": "CSS|"}, 3},
		{"gzip", ScanOptions{Precompressed: PrecompressedGzip}, map[string]string{"app.js": "GZJS|gzip", "style.css": "GZCSS|gzip", "plain.txt": "TXT|"}, 3},
		{"br: falls back to identity without a .br", ScanOptions{Precompressed: PrecompressedBrotli}, map[string]string{"app.js": "BRJS|br", "style.css": "CSS|"}, 3},
		{"rule overrides the default", ScanOptions{Rules: []HeaderRule{rule("*.js", PrecompressedBrotli)}}, map[string]string{"app.js": "BRJS|br", "style.css": "CSS|", "style.css.gz": "GZCSS|gzip"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ScanDir(context.Background(), dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Files) != tt.wantN {
				var keys []string
				for _, f := range set.Files {
					keys = append(keys, f.Key)
				}
				t.Errorf("files = %q; want %d", keys, tt.wantN)
			}
			files := byKey(set)
			for key, w := range tt.want {
				body, enc, _ := strings.Cut(w, "|")
				f, ok := files[key]
				if !ok {
					t.Errorf("%s not uploaded", key)
					continue
				}
				if f.SHA256 != sum256(body) || f.Meta.ContentEncoding != enc || f.Size != int64(len(body)) {
					t.Errorf("%s: sha %.8s size %d encoding %q; want body %q encoding %q", key, f.SHA256, f.Size, f.Meta.ContentEncoding, body, enc)
				}
				r, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(r)
				r.Close()
				if string(b) != body {
					t.Errorf("%s: Open reads %q; want %q", key, b, body)
				}
				if strings.HasPrefix(key, "app.js") && !strings.HasPrefix(f.Meta.ContentType, "text/javascript") {
					t.Errorf("%s: content type %q; want the original file's", key, f.Meta.ContentType)
				}
			}
		})
	}
	if _, err := ScanDir(context.Background(), dir, ScanOptions{Precompressed: "zip"}); err == nil || !strings.Contains(err.Error(), `"zip"`) {
		t.Errorf("bad mode error = %v; want it to name the mode", err)
	}
}

func TestScanDirRulesAndExcludes(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.html": "x", "index.html.br": "y", "data/a.json": "{}", "drafts/x.html": "d", "notes.md": "n",
	})
	exclude, err := hashing.CompileGlobs([]string{"drafts/", "*.md"})
	if err != nil {
		t.Fatal(err)
	}
	set, err := ScanDir(context.Background(), dir, ScanOptions{
		Exclude: exclude,
		Rules: []HeaderRule{
			{Match: hashing.MustCompileGlob("*.html"), CacheControl: "no-cache", Tags: []string{"pages"}, Headers: map[string]string{"x-frame-options": "DENY"}},
			{Match: hashing.MustCompileGlob("*.html"), CacheControl: "ignored: first rule wins"},
			{Match: hashing.MustCompileGlob("data/**"), ContentType: "application/vnd.api+json"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	files := byKey(set)
	if _, ok := files["drafts/x.html"]; ok {
		t.Error("drafts/ was not excluded")
	}
	if _, ok := files["notes.md"]; ok {
		t.Error("*.md was not excluded")
	}
	for _, k := range []string{"index.html", "index.html.br"} {
		f := files[k]
		if f == nil {
			t.Fatalf("%s missing", k)
		}
		want := Metadata{ContentType: "text/html; charset=utf-8", CacheControl: "no-cache", Tags: []string{"pages"}, Headers: map[string]string{"X-Frame-Options": "DENY"}}
		if k == "index.html.br" {
			want.ContentEncoding = "br"
		}
		if d := cmp.Diff(want, f.Meta); d != "" {
			t.Errorf("%s meta (-want +got):\n%s", k, d)
		}
	}
	if got := files["data/a.json"].Meta.ContentType; got != "application/vnd.api+json" {
		t.Errorf("data/a.json content type = %q; want the rule's", got)
	}
}

func TestScanDirSymlinksAndErrors(t *testing.T) {
	dir := writeTree(t, map[string]string{"real/a.txt": "A"})
	outside := writeTree(t, map[string]string{"b.txt": "B"})
	if err := os.Symlink(filepath.Join(outside, "b.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Skip("symlinks not supported:", err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	set, err := ScanDir(context.Background(), dir, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range set.Files {
		keys = append(keys, f.Key)
	}
	if d := cmp.Diff([]string{"link.txt", "real/a.txt"}, keys); d != "" {
		t.Errorf("keys (-want +got):\n%s", d)
	}
	if f := byKey(set)["link.txt"]; f.SHA256 != sum256("B") {
		t.Errorf("link.txt hash = %s; want the target's", f.SHA256)
	}

	if _, err := ScanDir(context.Background(), filepath.Join(dir, "nope"), ScanOptions{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing dir error = %v; want it to name the path", err)
	}
	if _, err := ScanDir(context.Background(), filepath.Join(dir, "real", "a.txt"), ScanOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as dir error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ScanDir(ctx, dir, ScanOptions{}); err == nil {
		t.Error("cancelled scan returned no error")
	}
}

// TestScanComputesMD5OfLargeFiles: files that may go multipart get their
// MD5 in the scan's single read (stores write it as rclone's md5chksum),
// so it is known even once the file is gone; smaller files compute it on
// demand.
func TestScanComputesMD5OfLargeFiles(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, md5InScan)
	for i := range big {
		big[i] = byte(i % 251)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small.txt"), []byte("small"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := ScanDir(context.Background(), dir, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*LocalFile{}
	for _, f := range set.Files {
		files[f.Key] = f
	}
	if err := os.Remove(filepath.Join(dir, "big.bin")); err != nil {
		t.Fatal(err)
	}
	want := md5.Sum(big)
	if got, err := files["big.bin"].BodyMD5(); err != nil || got != hex.EncodeToString(want[:]) {
		t.Errorf("big.bin MD5 = %q, %v; want %x from the scan", got, err, want)
	}
	wantSmall := md5.Sum([]byte("small"))
	if got, err := files["small.txt"].BodyMD5(); err != nil || got != hex.EncodeToString(wantSmall[:]) {
		t.Errorf("small.txt MD5 = %q, %v; want %x", got, err, wantSmall)
	}
}

// TestScanDirDotfiles: dotfiles and hidden folders are left out and
// listed, grouped by outermost hidden folder; .well-known/ is kept; the
// allow-list keeps what it names; a manifest naming a dotfile left out
// (fingerprint allowed it, push does not) is not an error.
func TestScanDirDotfiles(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.html":                "<h1>hi</h1>",
		".env":                      "SECRET=1",
		".htaccess":                 "Options -Indexes",
		".htaccess.gz":              "GZ",
		"a/.npmrc":                  "token",
		"a/.cache/x/y.json":         "{}",
		"a/.cache/z.json":           "{}",
		".well-known/security.txt":  "Contact: x",
		".well-known/.secret":       "s",
		".git/config":               "excluded by default",
		"assets/app.3f9a1c0e2b.css": "body{}",
	})
	writeManifest(t, dir, &hashing.Manifest{Version: 1, Files: map[string]hashing.Entry{
		".htaccess": {Path: ".htaccess", SHA256: sum256("Options -Indexes"), Size: 16,
			Encodings: map[string]hashing.Encoding{"gzip": {Path: ".htaccess.gz", SHA256: sum256("GZ"), Size: 2}}},
		"app.css": {Path: "assets/app.3f9a1c0e2b.css", Fingerprinted: true, SHA256: sum256("body{}"), Size: 6},
	}})
	keys := func(set *LocalSet) []string {
		var k []string
		for _, f := range set.Files {
			k = append(k, f.Key)
		}
		return k
	}

	set, err := ScanDir(context.Background(), dir, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{".well-known/security.txt", "assets/app.3f9a1c0e2b.css", hashing.DefaultManifestName, "index.html"}, keys(set)); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	wantSkipped := []SkippedDotfile{{".env", 1}, {".htaccess", 1}, {".htaccess.gz", 1}, {".well-known/.secret", 1}, {"a/.cache/", 2}, {"a/.npmrc", 1}}
	if d := cmp.Diff(wantSkipped, set.SkippedDotfiles); d != "" {
		t.Errorf("skipped (-want +got):\n%s", d)
	}

	allow, err := hashing.CompileGlobs([]string{"/.htaccess{,.gz}", "a/.cache/x/"})
	if err != nil {
		t.Fatal(err)
	}
	set, err = ScanDir(context.Background(), dir, ScanOptions{AllowDotfiles: allow})
	if err != nil {
		t.Fatal(err)
	}
	files := byKey(set)
	if f := files[".htaccess.gz"]; f == nil || f.Meta.ContentEncoding != "gzip" || files[".htaccess"] == nil || files["a/.cache/x/y.json"] == nil {
		t.Errorf("allowed files: %v", keys(set))
	}
	wantSkipped = []SkippedDotfile{{".env", 1}, {".well-known/.secret", 1}, {"a/.cache/", 1}, {"a/.npmrc", 1}}
	if d := cmp.Diff(wantSkipped, set.SkippedDotfiles); d != "" {
		t.Errorf("skipped with allow-list (-want +got):\n%s", d)
	}
}

func TestScanDirTagHeadersAndCheck(t *testing.T) {
	dir := writeTree(t, map[string]string{"index.html": "x", "index.html.br": "y", "own.html": "o", "app.css": "c"})
	rules := []HeaderRule{
		{Match: hashing.MustCompileGlob("own.html"), Tags: []string{"pages"}, Headers: map[string]string{"Surrogate-Key": "mine"}},
		{Match: hashing.MustCompileGlob("*.html"), Tags: []string{"pages", "home"}},
	}
	tagHeaders := []TagHeader{{Name: "Surrogate-Key", Sep: " "}, {Name: "Edge-Cache-Tag", Sep: ", "}}
	set, err := ScanDir(context.Background(), dir, ScanOptions{Rules: rules, TagHeaders: tagHeaders})
	if err != nil {
		t.Fatal(err)
	}
	files := byKey(set)
	for _, k := range []string{"index.html", "index.html.br"} {
		want := map[string]string{"Surrogate-Key": "home pages", "Edge-Cache-Tag": "home, pages"}
		if d := cmp.Diff(want, files[k].Meta.Headers); d != "" {
			t.Errorf("%s headers (-want +got):\n%s", k, d)
		}
	}
	if got := files["own.html"].Meta.Headers; got["Surrogate-Key"] != "mine" || got["Edge-Cache-Tag"] != "pages" {
		t.Errorf("own.html headers = %v; want its rule's Surrogate-Key kept and Edge-Cache-Tag added", got)
	}
	if h := files["app.css"].Meta.Headers; len(h) != 0 {
		t.Errorf("untagged app.css got headers %v", h)
	}

	var seen [][]string
	_, err = ScanDir(context.Background(), dir, ScanOptions{Rules: rules, CheckTags: func(tags []string) error {
		seen = append(seen, tags)
		if slices.Contains(tags, "home") {
			return errors.New(`"home": refused`)
		}
		return nil
	}})
	if err == nil || !strings.Contains(err.Error(), "index.html: \"home\": refused") {
		t.Errorf("ScanDir with a refusing CheckTags = %v; want the first file and the tag named", err)
	}
	if len(seen) == 0 {
		t.Error("CheckTags was never called")
	}
}

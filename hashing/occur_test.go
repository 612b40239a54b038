package hashing

import (
	"context"

	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// TestOccurrences checks that a file is renamed only when every string of
// the site that names it is a reference fingerprint rewrites, and that a
// file named anywhere else keeps its name with the place that names it.
func TestOccurrences(t *testing.T) {
	page := `<img src="/img/a.png"><link rel="stylesheet" href="/css/s.css"><script src="/js/app.js"></script>`
	tests := []struct {
		name  string
		files map[string]string
		// pinned maps a file to the place that must pin it; "" means it
		// must be renamed.
		pinned map[string]string
	}{
		{
			name:   "only rewritten references",
			files:  map[string]string{"index.html": page, "img/a.png": "png", "css/s.css": "a{}", "js/app.js": "x()"},
			pinned: map[string]string{"img/a.png": "", "css/s.css": "", "js/app.js": ""},
		},
		{
			name: "a string in a script",
			files: map[string]string{"index.html": page, "img/a.png": "png", "css/s.css": "a{}",
				"js/app.js": "const u = '/img/a.png';\nimg.src = u"},
			pinned: map[string]string{"img/a.png": "js/app.js:1: /img/a.png", "css/s.css": ""},
		},
		{
			// A comment may hold code a build step uncomments, or be
			// read by a tool: it counts, as the audit counts it.
			name: "comments of scripts and style sheets count",
			files: map[string]string{"index.html": page, "img/a.png": "png",
				"css/s.css": "/* sprite: /js/app.js */ a{}", "js/app.js": "// draws /img/a.png\nx()"},
			pinned: map[string]string{"img/a.png": "js/app.js:1: /img/a.png", "js/app.js": "css/s.css:1: /js/app.js"},
		},
		{
			name: "escaped slashes and character references",
			files: map[string]string{"index.html": page + `<div data-bg="/img&#x2f;a.png"></div>`, "img/a.png": "png",
				"css/s.css": "a{}", "js/app.js": `const u = "\x2fcss\x2fs.css"`},
			pinned: map[string]string{"img/a.png": "index.html:1: /img/a.png", "css/s.css": `js/app.js:1: \x2fcss\x2fs.css`},
		},
		{
			name: "a precache list of a service worker",
			files: map[string]string{"index.html": page + `<script>navigator.serviceWorker.register("/sw.js")</script>`,
				"img/a.png": "png", "css/s.css": "a{}", "js/app.js": "x()",
				"sw.js": "const PRECACHE = ['/', '/css/s.css',\n  '/js/app.js'];\nself.addEventListener('install', e => e.waitUntil(caches.open('v1').then(c => c.addAll(PRECACHE))))"},
			pinned: map[string]string{"css/s.css": "sw.js:1: /css/s.css", "js/app.js": "sw.js:2: /js/app.js", "img/a.png": ""},
		},
		{
			name: "JSON data with escaped slashes",
			files: map[string]string{"index.html": page, "img/a.png": "png", "css/s.css": "a{}", "js/app.js": "x()",
				"data/search.json": `[{"title":"A","thumb":"\/img\/a.png"}]`},
			pinned: map[string]string{"img/a.png": `data/search.json:1: \/img\/a.png`},
		},
		{
			name: "an escaped image in a feed and an absolute URL",
			files: map[string]string{"index.html": page, "img/a.png": "png", "css/s.css": "a{}", "js/app.js": "x()",
				"feed.xml": "<feed>\n<entry><content type=\"html\">&lt;img src=&quot;/img/a.png&quot;&gt;</content>\n<link href=\"https://example.org/css/s.css\"/></entry></feed>"},
			pinned: map[string]string{"img/a.png": "feed.xml:2: /img/a.png", "css/s.css": "feed.xml:3: https://example.org/css/s.css"},
		},
		{
			name: "a module named without extension by an AMD loader (Workbox)",
			files: map[string]string{"index.html": page + `<script>navigator.serviceWorker.register("/sw.js")</script>`,
				"img/a.png": "png", "css/s.css": "a{}", "js/app.js": "x()",
				"workbox-5b385ed2.js": "x()", "sw.js": `define(["./workbox-5b385ed2"],(function(e){e.precacheAndRoute([{url:"img/a.png",revision:"3f2e"}])}));`},
			pinned: map[string]string{"workbox-5b385ed2.js": "sw.js:1: ./workbox-5b385ed2", "img/a.png": "sw.js:1: img/a.png", "css/s.css": ""},
		},
		{
			name: "a relative name joined to a base by a runtime",
			files: map[string]string{"index.html": page, "img/a.png": "png", "css/s.css": "a{}",
				"js/app.js": `const deps = ["img/a.png"]; load(deps.map(d => base + d))`},
			pinned: map[string]string{"img/a.png": "js/app.js:1: img/a.png"},
		},
		{
			name: "text people read is not a reference",
			files: map[string]string{"index.html": page + "<p>see /img/a.png</p><!-- /css/s.css --><textarea>/js/app.js</textarea>",
				"img/a.png": "png", "js/app.js": "x()", "css/s.css": "a{}",
				"docs/LICENSE.txt": "app.js is MIT licensed"},
			pinned: map[string]string{"img/a.png": "", "js/app.js": "", "css/s.css": ""},
		},
		{
			name: "markup in noscript",
			files: map[string]string{"index.html": page + `<noscript><img src="/img/a.png"></noscript>`, "img/a.png": "png",
				"css/s.css": "a{}", "js/app.js": "x()"},
			pinned: map[string]string{"img/a.png": "index.html:1: /img/a.png", "css/s.css": ""},
		},
		{
			name: "an attribute no rule rewrites",
			files: map[string]string{"index.html": page + `<div data-bg="/img/a.png"></div>`, "img/a.png": "png",
				"css/s.css": "a{}", "js/app.js": "x()"},
			pinned: map[string]string{"img/a.png": "index.html:1: /img/a.png"},
		},
		{
			name: "a file declared prehashed keeps its bytes, so what it names keeps its name",
			files: map[string]string{"index.html": `<link rel="stylesheet" href="/assets/s-1234abcd.css">`,
				"assets/s-1234abcd.css": "body{background:url(/img/a.png)}", "img/a.png": "png"},
			pinned: map[string]string{"img/a.png": "assets/s-1234abcd.css:1: /img/a.png"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Build(context.Background(), mapFS(tt.files), Discard, Options{Prehashed: []string{"assets/*"}})
			if err != nil {
				t.Fatal(err)
			}
			at := map[string]string{}
			for _, p := range res.Pinned {
				at[p.Path] = p.At
			}
			for name, want := range tt.pinned {
				e := res.Manifest.Files[name]
				if want == "" {
					if e.Path == name || !e.Fingerprinted {
						t.Errorf("%s = %+v (pinned at %q); want it renamed", name, e, at[name])
					}
					continue
				}
				if e.Path != name || e.Fingerprinted || e.CacheControl != EntryPointCacheControl {
					t.Errorf("%s = %+v; want its name kept, revalidated", name, e)
				}
				if at[name] != want {
					t.Errorf("%s pinned at %q; want %q", name, at[name], want)
				}
			}
			if e, ok := res.Manifest.Files["assets/s-1234abcd.css"]; ok {
				if e.SHA256 != hexSum([]byte(tt.files["assets/s-1234abcd.css"])) || e.CacheControl != ImmutableCacheControl {
					t.Errorf("prehashed file %+v; want its bytes kept, immutable", e)
				}
			}
		})
	}
}

// TestBuildManifestIsNotWebManifest checks that a bundler's manifest.json
// is not read as a web app manifest (no bogus missing files), and that
// --vite-manifest never overwrites a file of the build.
func TestBuildManifestIsNotWebManifest(t *testing.T) {
	site := map[string]string{
		"index.html":               `<script type="module" src="/assets/index-B0ypLGK_.js"></script>`,
		"assets/index-B0ypLGK_.js": "x()",
		"manifest.json":            `{"src/main.js":{"file":"assets/index-B0ypLGK_.js","src":"src/main.js","isEntry":true,"css":["assets/missing.css"]}}`,
		".vite/manifest.json":      `{"src/main.js":{"file":"assets/index-B0ypLGK_.js","src":"src/main.js","isEntry":true}}`,
		"app/manifest.json":        `{"name":"App","icons":[{"src":"/missing-icon.png"}]}`,
	}
	res, err := Build(context.Background(), mapFS(site), Discard, Options{AllowDotfiles: []string{".vite/**"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 1 || res.Missing[0].File != "app/manifest.json" {
		t.Errorf("missing %v; want only the icon of the web app manifest app/manifest.json", res.Missing)
	}
	_, err = Build(context.Background(), mapFS(site), Discard, Options{ViteManifest: ".vite/manifest.json"})
	if err == nil || !strings.Contains(err.Error(), ".vite/manifest.json") || !strings.Contains(err.Error(), "overwritten") {
		t.Errorf("vite manifest over Vite's own: err = %v; want an error naming it", err)
	}
}

// TestOccurrencesLargeFile checks that a data file too large to hold in
// memory is searched too, a chunk at a time, with the right line.
func TestOccurrencesLargeFile(t *testing.T) {
	var sb strings.Builder
	line := strings.Repeat("x", 99) + "\n"
	for sb.Len() < maxJSScanSize+occChunk/2 {
		sb.WriteString(line)
	}
	lines := strings.Count(sb.String(), "\n")
	sb.WriteString(`{"u":"/img/a.png"}`)
	m := fstest.MapFS{
		"index.html": {Data: []byte(`<img src="/img/a.png"><img src="/img/b.png">`)},
		"img/a.png":  {Data: []byte("png")},
		"img/b.png":  {Data: []byte("png2")},
		"big.json":   {Data: []byte(sb.String())},
	}
	res, err := Build(context.Background(), fs.FS(m), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var at string
	for _, p := range res.Pinned {
		if p.Path == "img/a.png" {
			at = p.At
		}
	}
	if want := "big.json:" + strconv.Itoa(lines+1) + ": /img/a.png"; at != want {
		t.Errorf("img/a.png pinned at %q; want %q", at, want)
	}
	if e := res.Manifest.Files["img/b.png"]; !e.Fingerprinted {
		t.Errorf("img/b.png = %+v; want fingerprinted", e)
	}
}

// TestExtSet: a name whose extension is in the set is never refused; one
// without an extension always is.
func TestExtSet(t *testing.T) {
	s := extSet{}
	for _, b := range []string{"logo.png", "app.js", "font.woff2", "data.webmanifest", "README"} {
		s.add(b)
	}
	tests := []struct {
		name string
		want bool
	}{
		{"logo.png", true},
		{"other.png", true},
		{"x.js", true},
		{"a.b.woff2", true},
		{"site.webmanifest", true},
		{"e.target", false},
		{"this.props", false},
		{"logo.PNG", false}, // names are compared as written
		{"README", false},   // no extension
		{"", false},
		{"png", false},
	}
	for _, tt := range tests {
		if got := s.has([]byte(tt.name)); got != tt.want {
			t.Errorf("has(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

package hashing

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestNameHashes(t *testing.T) {
	tests := []struct {
		name string
		want []nameHash
	}{
		{"About-ZNcZ7dXM.js", []nameHash{{hashShape{'b', 8}, true}}},
		{"About-ZNcZ7dXM.js.map", []nameHash{{hashShape{'b', 8}, true}}},
		{"gallery-2-C1EToy_-.png", []nameHash{{hashShape{'b', 8}, true}}},
		{"guide_index.md.djT1FT7f.lean.js", []nameHash{{hashShape{'b', 8}, true}}},
		{"main.8f3a2b1c.js", []nameHash{{hashShape{'x', 8}, true}}},
		{"main-XV3QYD4S.js", []nameHash{{hashShape{'u', 8}, true}}},
		{"app-0123456789abcdef0123.js", []nameHash{{hashShape{'x', 20}, true}}},
		// One case with digits: counts only next to sure ones.
		{"index-b0ypl4k_.css", []nameHash{{hashShape{'b', 8}, false}}},
		// Words and numbers are not hashes.
		{"hero-480.png", nil},
		{"settings.js", nil},
		{"app-settings.js", nil},
		// Digits only: a date, or a hash by chance next to sure ones.
		{"photo-20240101.jpg", []nameHash{{hashShape{'x', 8}, false}}},
		{"roboto-v30-latin-700italic.woff2", nil},
		{"logo.png", nil},
	}
	for _, tt := range tests {
		if got := nameHashes(tt.name); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("nameHashes(%q) = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// TestDetectBundled builds sites shaped like the outputs of bundlers and of
// hand-made sites and checks which files are taken as content-hashed by
// their bundler: those keep their names and bytes and are served
// immutable.
func TestDetectBundled(t *testing.T) {
	hugo := strings.Repeat("0123456789abcdef", 4)
	site := map[string]string{
		"index.html": `<link rel="stylesheet" href="/assets/index-QRWlWqav.css"><script type="module" src="/assets/index-B0ypLGK_.js"></script>` +
			`<img src="/img/hero-480.png"><link rel="stylesheet" href="/css/main.` + hugo + `.css"><link rel="stylesheet" href="/fonts/fonts.css">`,
		"assets/index-B0ypLGK_.js":                  `import("./About-ZNcZ7dXM.js"); const s = "/icons.svg";`,
		"assets/About-ZNcZ7dXM.js":                  `export default 1`,
		"assets/index-QRWlWqav.css":                 `body{background:url(/img/hero-480.png)}`,
		"assets/lower-b0ypl4k_.css":                 `a{}`,
		"css/main." + hugo + ".css":                 `@font-face{src:url(/fonts/Inter-SemiBold.woff2)}`,
		"fonts/Inter-SemiBold.woff2":                "font",
		"fonts/Inter-ExtraBold.woff2":               "font",
		"fonts/fonts.css":                           `@font-face{src:url(Inter-ExtraBold.woff2)}`,
		"img/hero-480.png":                          "png",
		"icons.svg":                                 "<svg/>",
		"_next/static/chunks/0cz1d0mv5g_q7.js":      `x`,
		"_next/static/media/logo.2smkil7tp7mfk.png": "png",
		"pagefind/pagefind-entry.json":              `{}`,
		"pagefind/pagefind.js":                      `x`,
		"pagefind/fragment/en_4d17c8e.pf_fragment":  "f",
	}
	res, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	bundled := []string{
		"assets/index-B0ypLGK_.js", "assets/About-ZNcZ7dXM.js", "assets/index-QRWlWqav.css", "assets/lower-b0ypl4k_.css",
		"css/main." + hugo + ".css", "_next/static/chunks/0cz1d0mv5g_q7.js", "_next/static/media/logo.2smkil7tp7mfk.png",
		"pagefind/fragment/en_4d17c8e.pf_fragment",
	}
	for _, name := range bundled {
		e := res.Manifest.Files[name]
		if name == "css/main."+hugo+".css" {
			e = res.Manifest.ByPath()[name]
		}
		if e.Path != name || e.CacheControl != ImmutableCacheControl || e.SHA256 != hexSum([]byte(site[name])) {
			t.Errorf("%s = %+v; want its name and bytes kept, served immutable", name, e)
		}
	}
	// Named by files kept byte for byte: their references cannot change.
	for _, name := range []string{"img/hero-480.png", "fonts/Inter-SemiBold.woff2", "icons.svg"} {
		if e := res.Manifest.Files[name]; e.Path != name || e.Fingerprinted {
			t.Errorf("%s = %+v; want its name kept (a file kept byte for byte names it)", name, e)
		}
	}
	// Neither a bundler's nor named by one: hashed as usual.
	for _, name := range []string{"fonts/Inter-ExtraBold.woff2", "fonts/fonts.css"} {
		if e := res.Manifest.Files[name]; e.Path == name || !e.Fingerprinted {
			t.Errorf("%s = %+v; want fingerprinted", name, e)
		}
	}
	var got []string
	for _, d := range res.Detected {
		got = append(got, d.String())
	}
	want := []string{
		"Bundler build detected: 1 file already content-hashed, served immutable as they are (a content hash of 16 or more hex digits in the name)",
		"Bundler build detected: 4 files already content-hashed, served immutable as they are (content hashes of the same shape in the names of its files (8 base64url characters))",
		"Next.js build detected: 2 files already content-hashed, served immutable as they are (_next/static/ holds content-hashed files only)",
		"Pagefind build detected: 1 file already content-hashed, served immutable as they are (the index next to pagefind/pagefind-entry.json, named by content hash)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("detected\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	pinned := map[string]string{}
	for _, p := range res.Pinned {
		pinned[p.Path] = p.At
	}
	if at := pinned["icons.svg"]; at != `assets/index-B0ypLGK_.js:1: /icons.svg` {
		t.Errorf("icons.svg pinned at %q; want the string of the entry chunk", at)
	}
}

// TestDetectAngularMedia: esbuild (Angular's application builder) writes
// its chunks at the top of the output and the files their CSS imports
// under media/, named the same way; a hash that reads like a word
// (letters only) counts there next to three at the top. A folder of
// another site with one such name and nothing at the top does not.
func TestDetectAngularMedia(t *testing.T) {
	site := map[string]string{
		"index.html":                 `<link rel="stylesheet" href="styles-P6OOAY6H.css"><script type="module" src="main-DFM66VR7.js"></script>`,
		"main-DFM66VR7.js":           `import("./chunk-OXLGZUVN.js")`,
		"chunk-OXLGZUVN.js":          `const s = "url(./media/pattern-HIVQWUPT.png)"`,
		"chunk-ULOPK5RQ.js":          `x`,
		"styles-P6OOAY6H.css":        `body{}`,
		"media/pattern-HIVQWUPT.png": "png",
	}
	res, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main-DFM66VR7.js", "chunk-OXLGZUVN.js", "chunk-ULOPK5RQ.js", "styles-P6OOAY6H.css", "media/pattern-HIVQWUPT.png"} {
		if e := res.Manifest.Files[name]; e.Path != name || e.CacheControl != ImmutableCacheControl {
			t.Errorf("%s = %+v; want its name and bytes kept, served immutable", name, e)
		}
	}

	other := map[string]string{
		"index.html":            `<img src="img/team-OVERVIEW.png">`,
		"img/team-OVERVIEW.png": "png",
	}
	res, err = Build(context.Background(), mapFS(other), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Manifest.Files["img/team-OVERVIEW.png"]; e.Path == "img/team-OVERVIEW.png" || e.CacheControl == ImmutableCacheControl && !e.Fingerprinted {
		t.Errorf("img/team-OVERVIEW.png = %+v; want it fingerprinted as any image", e)
	}
}

// TestPinGatsbyComputed: Gatsby's loader fetches page data by URLs it
// computes (`/page-data/${path}/page-data.json`); a page that also
// preloads one by a <link> (as Gatsby 4 did) must not have it renamed,
// nor app-data.json, which the runtime asks for by its name. Outside a
// Gatsby build, the same folder is hashed as usual.
func TestPinGatsbyComputed(t *testing.T) {
	site := map[string]string{
		"index.html": `<link as="fetch" rel="preload" href="/page-data/index/page-data.json" crossorigin="anonymous">` +
			`<link as="fetch" rel="preload" href="/page-data/app-data.json" crossorigin="anonymous">` +
			`<script src="/webpack-runtime-a01374c1697c8e0ab18d.js"></script>`,
		"webpack-runtime-a01374c1697c8e0ab18d.js": `x`,
		"page-data/index/page-data.json":          `{"path":"/"}`,
		"page-data/app-data.json":                 `{"webpackCompilationHash":"x"}`,
	}
	res, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"page-data/index/page-data.json", "page-data/app-data.json"} {
		if e := res.Manifest.Files[name]; e.Path != name || e.CacheControl != EntryPointCacheControl {
			t.Errorf("%s = %+v; want its name kept, revalidated", name, e)
		}
	}
	delete(site, "webpack-runtime-a01374c1697c8e0ab18d.js")
	site["index.html"] = `<link as="fetch" rel="preload" href="/page-data/index/page-data.json" crossorigin="anonymous">`
	res, err = Build(context.Background(), mapFS(site), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Manifest.Files["page-data/index/page-data.json"]; e.Path == "page-data/index/page-data.json" {
		t.Errorf("outside a Gatsby build, page-data/index/page-data.json = %+v; want it fingerprinted", e)
	}
}

// TestDetectPagefindFolders: the indexes of several Pagefind folders (one
// per language, or per copy of a site) are reported on one line.
func TestDetectPagefindFolders(t *testing.T) {
	site := map[string]string{"index.html": `<p>x</p>`}
	for _, dir := range []string{"pagefind/", "fr/pagefind/", "de/pagefind/"} {
		site[dir+"pagefind-entry.json"] = `{}`
		site[dir+"fragment/en_4d17c8e.pf_fragment"] = "f"
		site[dir+"index/en_8a1b2c3.pf_index"] = "i"
	}
	res, err := Build(context.Background(), mapFS(site), Discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Detected {
		got = append(got, d.String())
	}
	want := []string{"Pagefind build detected: 6 files already content-hashed, served immutable as they are " +
		"(the indexes next to 3 pagefind-entry.json files (de/pagefind/pagefind-entry.json, fr/pagefind/pagefind-entry.json, …), named by content hash)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("detected\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

package hashing

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// This file recognises the files a bundler or site generator already
// content-hashed. They keep their names and their bytes and are served
// immutable: hashing them again would only break the names the bundler's
// runtime computes or writes in places fingerprint does not rewrite
// (Vite's __vite__mapDeps preload list, Turbopack's chunk lists, the
// page-chunk names VitePress builds from __VP_HASH_MAP__), and rewriting
// their content would serve new bytes under a name caches keep for a year.
//
// Two kinds of evidence count:
//
//   - Folders a framework fills with content-hashed files only, and serves
//     immutable itself: Next.js _next/static/, SvelteKit _app/immutable/,
//     Astro _astro/, Nuxt _nuxt/ (but not _nuxt/builds/, whose names are
//     fixed), and Pagefind's fragment/ and index/ folders and
//     pagefind.*.pf_meta next to pagefind-entry.json.
//   - A content hash in the file name: a run of 16 or more hex digits (webpack's
//     [contenthash], Gatsby, Hugo Pipes' SHA-256 and SHA-512 names); or a
//     shorter hash (8 to 15 hex digits: webpack/Parcel/Docusaurus
//     "name.1a2b3c4d.js"; 8 base64url characters: Rollup/Vite
//     "name-B0ypLGK_.js"; 8 base32 characters: esbuild/Angular
//     "main-XV3QYD4S.js") when at least three files of the same top folder
//     carry one of the same shape, as a bundler's output does, and the hash
//     does not read like a word; or when three files at the top of the
//     site carry one of its shape (a bundler
//     writing its chunks at the top and the files they import in a folder:
//     Angular's media/).

// bundlerFolder is a folder a framework fills with content-hashed files.
type bundlerFolder struct {
	dir       string // "_next/static/": a path segment sequence, at the top or under any folder
	except    string // a subfolder of dir that is not hashed ("" for none)
	generator string
}

var bundlerFolders = []bundlerFolder{
	{dir: "_next/static/", generator: "Next.js"},
	{dir: "_app/immutable/", generator: "SvelteKit"},
	{dir: "_astro/", generator: "Astro"},
	{dir: "_nuxt/", except: "_nuxt/builds/", generator: "Nuxt"},
}

// Detection says that a generator's output was recognised.
type Detection struct {
	// Generator names the generator or bundler ("Vite", "Next.js").
	Generator string `json:"generator"`
	// Files counts the files it content-hashed itself: they keep their
	// names and bytes and are served immutable.
	Files int `json:"files"`
	// Evidence says what identified them.
	Evidence string `json:"evidence"`
}

func (d Detection) String() string {
	files := "files"
	if d.Files == 1 {
		files = "file"
	}
	return fmt.Sprintf("%s build detected: %d %s already content-hashed, served immutable as they are (%s)", d.Generator, d.Files, files, d.Evidence)
}

// hashShape is the shape of a hash in a file name: its alphabet and length.
type hashShape struct {
	class byte // 'x' lowercase hex, 'b' base64url, 'u' uppercase base32
	n     int
}

// nameHash is a run of a file name that may be a content hash.
type nameHash struct {
	hashShape
	// sure is set when the run looks random (hex with digits and
	// letters, mixed case…); a run that is not sure counts only next to
	// sure ones of its shape.
	sure bool
}

// nameHashes returns the runs of a base name that may be a content hash:
// each dot-separated part of the name after the first (and the name
// itself when it has no dot), and the suffixes of those parts after a
// "-".
func nameHashes(base string) []nameHash {
	stem, _ := splitExt(base)
	var out []nameHash
	add := func(s string, whole bool) {
		sh, sure, ok := shapeOf(s)
		if !ok || whole && strings.ContainsAny(s, "-_") {
			return
		}
		h := nameHash{sh, sure}
		for i, o := range out {
			if o.hashShape == sh {
				out[i].sure = o.sure || sure
				return
			}
		}
		out = append(out, h)
	}
	parts := strings.Split(stem, ".")
	for i, p := range parts {
		if i > 0 || len(parts) == 1 {
			add(p, len(parts) == 1)
		}
		for j := 0; j < len(p); j++ {
			if p[j] == '-' {
				add(p[j+1:], false)
			}
		}
	}
	return out
}

// shapeOf returns the shape of s if it may be a content hash, and
// whether it looks random.
func shapeOf(s string) (sh hashShape, sure, ok bool) {
	n := len(s)
	if n < 8 {
		return hashShape{}, false, false
	}
	var lower, upper, digit, hexLetter, other int
	for i := 0; i < n; i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit++
		case c >= 'a' && c <= 'f':
			lower++
			hexLetter++
		case c >= 'g' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			upper++
		case c == '_' || c == '-':
			other++
		default:
			return hashShape{}, false, false
		}
	}
	switch {
	case lower == hexLetter && upper == 0 && other == 0:
		// Hex: digits and letters both, as all but a few hashes have,
		// is sure; digits only (a date, or a hash by chance, as
		// webpack's "77587487.21218730.js") counts next to sure ones.
		if n <= 128 {
			return hashShape{'x', n}, digit > 0 && hexLetter > 0, true
		}
	case n == 8 && lower == 0 && other == 0 && upper > 0:
		// Base32 (esbuild): a digit among the letters, or letters only
		// (a word in capitals, unless its neighbours are hashes).
		return hashShape{'u', n}, digit > 0, true
	case n == 8 && upper+lower > 0:
		// Base64url (Rollup): mixed case is sure; one case of letters
		// with digits or "-_" counts next to sure ones; a word
		// ("settings") does not.
		if upper > 0 && lower > 0 {
			return hashShape{'b', n}, true, true
		}
		if digit+other > 0 {
			return hashShape{'b', n}, false, true
		}
	}
	return hashShape{}, false, false
}

// strong reports whether a hash shape is evidence on its own.
func (s hashShape) strong() bool { return s.class == 'x' && s.n >= 16 }

// topFolder is the first folder of a logical path ("" at the top).
func topFolder(logical string) string {
	if i := strings.IndexByte(logical, '/'); i >= 0 {
		return logical[:i]
	}
	return ""
}

// inFolder reports whether logical is under the folder sequence dir
// (ending in "/"), at the top or below any folder.
func inFolder(logical, dir string) bool {
	return strings.HasPrefix(logical, dir) || strings.Contains(logical, "/"+dir)
}

// detectBundled marks the nodes a bundler already content-hashed (see the
// top of this file) and returns what was detected, per generator. Entry
// points, prehashed files and the files a previous fingerprint run renamed
// (prev) are left alone.
func (b *builder) detectBundled(signatures, prev map[string]bool) []Detection {
	counts := map[Detection]int{}
	mark := func(n *node, generator, why string) {
		n.bundled = generator
		counts[Detection{Generator: generator, Evidence: why}]++
	}
	// Pagefind folders: where pagefind-entry.json is.
	var pagefind []string
	for _, n := range b.nodes {
		if path.Base(n.logical) == "pagefind-entry.json" {
			pagefind = append(pagefind, strings.TrimSuffix(n.logical, "pagefind-entry.json"))
		}
	}
	shapes := make(map[*node][]nameHash)
	groups := map[string]map[hashShape]int{}
	for _, n := range b.nodes {
		if n.entry || n.prehashed || prev[n.logical] {
			continue
		}
		if f, ok := folderOf(n.logical); ok {
			mark(n, f.generator, f.dir+" holds content-hashed files only")
			continue
		}
		if pagefindHashed(n.logical, pagefind) {
			mark(n, "Pagefind", pagefindEvidence(pagefind))
			continue
		}
		sh := nameHashes(path.Base(n.logical))
		if len(sh) == 0 {
			continue
		}
		shapes[n] = sh
		g := groups[topFolder(n.logical)]
		if g == nil {
			g = map[hashShape]int{}
			groups[topFolder(n.logical)] = g
		}
		for _, s := range sh {
			if s.sure {
				g[s.hashShape]++
			}
		}
	}
	generator := nameGenerator(signatures)
	for _, n := range b.nodes {
		for _, s := range shapes[n] {
			if s.strong() && s.sure {
				mark(n, generator, "a content hash of 16 or more hex digits in the name")
				break
			}
			if groups[topFolder(n.logical)][s.hashShape] >= 3 {
				mark(n, generator, "content hashes of the same shape in the names of its files ("+shapeWords(s.hashShape)+")")
				break
			}
			if groups[""][s.hashShape] >= 3 {
				// A bundler writing its chunks at the top puts the files
				// they import in a folder of its own with the same names
				// (esbuild for Angular: main-XV3QYD4S.js at the top,
				// media/logo-HIVQWUPT.png).
				mark(n, generator, "content hashes of the same shape in the names of its files ("+shapeWords(s.hashShape)+")")
				break
			}
		}
	}
	var out []Detection
	for d, c := range counts {
		d.Files = c
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Detection) int {
		if c := strings.Compare(a.Generator, b.Generator); c != 0 {
			return c
		}
		return strings.Compare(a.Evidence, b.Evidence)
	})
	return out
}

func shapeWords(s hashShape) string {
	switch s.class {
	case 'x':
		return fmt.Sprintf("%d hex digits", s.n)
	case 'u':
		return fmt.Sprintf("%d base32 characters", s.n)
	}
	return fmt.Sprintf("%d base64url characters", s.n)
}

func folderOf(logical string) (bundlerFolder, bool) {
	for _, f := range bundlerFolders {
		if inFolder(logical, f.dir) && (f.except == "" || !inFolder(logical, f.except)) {
			return f, true
		}
	}
	return bundlerFolder{}, false
}

// pagefindHashed reports whether logical is a file Pagefind names by its
// content hash, in one of the Pagefind folders dirs.
func pagefindHashed(logical string, dirs []string) bool {
	for _, d := range dirs {
		rest, ok := strings.CutPrefix(logical, d)
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "fragment/") || strings.HasPrefix(rest, "index/") ||
			strings.HasPrefix(rest, "pagefind.") && strings.HasSuffix(rest, ".pf_meta") {
			return true
		}
	}
	return false
}

// pagefindEvidence says where the Pagefind indexes are: one line for all
// of them (a site may have one per language, or per copy of a site).
func pagefindEvidence(dirs []string) string {
	if len(dirs) == 1 {
		return "the index next to " + dirs[0] + "pagefind-entry.json, named by content hash"
	}
	names := make([]string, 0, 3)
	for _, d := range dirs[:min(2, len(dirs))] {
		names = append(names, d+"pagefind-entry.json")
	}
	if len(dirs) > 2 {
		names = append(names, "…")
	}
	return fmt.Sprintf("the indexes next to %d pagefind-entry.json files (%s), named by content hash", len(dirs), strings.Join(names, ", "))
}

// nameGenerator names the generator whose output carries hashes in file
// names, from signatures of the source (see builder.signatures).
func nameGenerator(sig map[string]bool) string {
	for _, g := range []string{"VitePress", "Docusaurus", "Angular", "Gatsby", "Create React App", "Vite"} {
		if sig[g] {
			return g
		}
	}
	for g := range sig {
		if name, ok := strings.CutPrefix(g, "meta:"); ok {
			return name
		}
	}
	return "Bundler"
}

// metaGenerator finds the generator a page names in <meta
// name="generator" content="Hugo 0.111.3">.
var metaGenerator = regexp.MustCompile(`(?i)<meta\s+name=["']?generator["']?\s+content=["']?([A-Za-z][A-Za-z0-9 ._-]*?)(?:\s+v?[0-9][^"'>]*)?["'\s/>]`)

// signatures recognises generators by files only they write and by the
// generator the home page names (page: its first bytes); vite says
// whether the source holds Vite's build manifest (.vite/manifest.json, a
// dotfile not copied).
func signatures(files []srcFile, vite bool, page []byte) map[string]bool {
	sig := map[string]bool{}
	if m := metaGenerator.FindSubmatch(page); m != nil {
		sig["meta:"+string(m[1])] = true
	}
	for _, f := range files {
		base := path.Base(f.logical)
		switch {
		case strings.HasPrefix(f.logical, "assets/chunks/framework.") && strings.HasSuffix(base, ".js"):
			sig["VitePress"] = true
		case strings.HasPrefix(base, "runtime~main.") && strings.HasSuffix(base, ".js"):
			sig["Docusaurus"] = true
		case f.logical == "ngsw.json" || f.logical == "3rdpartylicenses.txt" || f.logical == "prerendered-routes.json":
			sig["Angular"] = true
		case strings.HasPrefix(base, "webpack-runtime-") || f.logical == "chunk-map.json":
			sig["Gatsby"] = true
		case f.logical == "asset-manifest.json":
			sig["Create React App"] = true
		}
	}
	if vite {
		sig["Vite"] = true
	}
	return sig
}

// computedFolder is a folder whose files a generator's runtime fetches by
// URLs it computes (from a page's path, a query's hash): no file names
// them whole, so they keep their names, revalidated, as the generator
// rewrites them in place on every build.
type computedFolder struct {
	generator string // the signature (see signatures) that says the site is its output
	dir       string // at the top of the site
	how       string
}

var computedFolders = []computedFolder{
	// Gatsby's loader (cache-dir/loader.js) fetches
	// `${__PATH_PREFIX__}/page-data/${path}/page-data.json`,
	// /page-data/app-data.json, /page-data/sq/d/${hash}.json and
	// `/slice-data/${name}.json`.
	{generator: "Gatsby", dir: "page-data/", how: "/page-data/<page>/page-data.json, /page-data/sq/d/<query hash>.json"},
	{generator: "Gatsby", dir: "slice-data/", how: "/slice-data/<slice>.json"},
}

// pinComputed pins the files of the folders a recognised generator's
// runtime names by computed URLs (see computedFolders).
func (b *builder) pinComputed(sig map[string]bool) {
	for _, f := range computedFolders {
		if !sig[f.generator] {
			continue
		}
		reason := "fetched by " + f.generator + "'s runtime at a URL it computes (" + f.how + ")"
		for _, n := range b.nodes {
			if strings.HasPrefix(n.logical, f.dir) {
				n.pin(reason)
			}
		}
	}
}

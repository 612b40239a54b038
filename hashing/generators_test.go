package hashing_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/bench/sites/refcheck"
	"github.com/cdnctl/cdnctl/hashing"
)

// generatorFixtures are the real builds in testdata/sites, made by
// testdata/generators/build.sh with pinned generator versions (what each
// holds and exercises: testdata/generators/README.md).
var generatorFixtures = []struct {
	name string
	// hashed matches the files the generator content-hashed itself (its
	// bundler's naming scheme): they must keep their names and bytes and
	// be served immutable. Nil when the generator hashes nothing.
	hashed *regexp.Regexp
	// kept matches more files of the build that must keep their names
	// and bytes (a bundler's own manifest, files a runtime names by
	// computed URLs), however they are served.
	kept *regexp.Regexp
	// absent lists the paths the generator's runtime names although the
	// build has no such file, as the build itself shows (each must be
	// dangling in the build): they are not held against the output.
	absent []string
}{
	// Vite/Rolldown: every file under assets/ is name-HASH.ext (and its
	// source map name-HASH.ext.map); .vite/manifest.json is Vite's (a
	// dotfile, which fingerprint does not copy by default).
	{name: "vite-vue", hashed: regexp.MustCompile(`^assets/`), kept: regexp.MustCompile(`^\.vite/manifest\.json$`)},
	// Next.js: _next/static/** is content-hashed chunks and media, plus the
	// build-ID folder whose names the runtime computes.
	{name: "next", hashed: regexp.MustCompile(`^_next/static/`)},
	// VitePress: assets/ (page chunks assets/<page>.md.HASH[.lean].js, whose
	// names the router computes from __VP_HASH_MAP__).
	{name: "vitepress", hashed: regexp.MustCompile(`^assets/`)},
	// Astro Starlight: _astro/ as Astro, and Pagefind's index under
	// pagefind/: fragments and index chunks named by their hash, the rest
	// by fixed names, all loaded by URLs the Pagefind runtime computes
	// from pagefind-entry.json.
	{name: "starlight", hashed: regexp.MustCompile(`^_astro/|^pagefind/(fragment|index)/`), kept: regexp.MustCompile(`^pagefind/`)},
	// Hugo Pipes: name.<full SHA-256 or SHA-512 hex>.ext.
	{name: "hugo", hashed: regexp.MustCompile(`\.([0-9a-f]{64}|[0-9a-f]{128})\.[a-z0-9]+$`)},
	{name: "astro", hashed: regexp.MustCompile(`^_astro/`)},
	{name: "sveltekit", hashed: regexp.MustCompile(`^_app/immutable/`)},
	{name: "eleventy"},
	// Docusaurus (webpack): assets/js/<chunk>.<contenthash>.js (with their
	// .LICENSE.txt) and assets/css/styles.<contenthash>.css, whose names
	// the webpack runtime computes from its chunk maps; static/ files
	// (img/) copied as they are.
	{name: "docusaurus", hashed: regexp.MustCompile(`^assets/(js|css)/`)},
	// Angular (esbuild): main-, chunk- and styles-<8 base32 characters>
	// at the top, the files their CSS names under media/ the same way;
	// public/ files (favicon, icons, images) copied as they are, and the
	// service worker's ngsw.json naming them all with their SHA-1.
	{name: "angular", hashed: regexp.MustCompile(`^(main|chunk|polyfills|styles)-[A-Z2-7]{8}\.(js|css)$|^media/`)},
	// Jekyll (minima theme, feed, sitemap, SEO tag): nothing hashed.
	{name: "jekyll"},
	// Gatsby (webpack): name-<20 hex>.js/.css at the top and
	// static/name-<32 hex>.png; page-data/ is fetched by computed URLs.
	// The runtime holds "/sw.js" (registered only when a plugin such as
	// gatsby-plugin-offline provides the worker) and "/500.html" (a page
	// path it compares with, for a site that has a 500 page).
	{name: "gatsby", hashed: regexp.MustCompile(`-[0-9a-f]{20}\.js$|^styles\.[0-9a-f]{20}\.css$|^static/`), kept: regexp.MustCompile(`^page-data/`),
		absent: []string{"sw.js", "500.html"}},
}

// The host the fixtures' absolute URLs (sitemaps, feeds) name.
const fixtureHost = "fixture.example"

// What can go wrong when fingerprinting a real build.
const (
	failRun       = "run"       // the run failed
	failMissing   = "missing"   // references to missing files reported (there are none)
	failDangling  = "dangling"  // a reference of the output names no file of it
	failRenamed   = "renamed"   // a file the generator hashed (or kept) was renamed
	failBytes     = "bytes"     // a file the generator hashed (or kept) changed bytes
	failCache     = "cache"     // a file the generator hashed is not served immutable
	failImmutable = "immutable" // a file served immutable under its own name has bytes not its source's
	failLost      = "lost"      // a file of the build is not in the output
)

// knownBroken lists, per fixture and case, the kinds of failure the current rules
// of package hashing still cause, and why (issue 11). A listed kind turns
// the fixture's failures of that kind into a skip that prints them all;
// any other failure fails the test, and a listed kind that no longer fails
// fails it too, so that this list only shrinks: remove an entry when the
// fingerprinting rules are fixed for it.
var knownBroken = map[string]map[string]string{}

// TestGeneratorFixtures fingerprints each real build with the defaults
// (what cdnctl deploy runs; without precompressed copies, which change no
// reference) and, as a second case, with the generator's hashed files
// declared --prehashed (the documented way for bundler output), and checks
// the output: the run succeeds and reports no missing file, the
// independent reference scan (bench/sites/refcheck) finds no dangling
// reference, the files the generator hashed keep their names and bytes
// and are served immutable, every file served immutable under its own name
// has its source's bytes, and no file is lost.
func TestGeneratorFixtures(t *testing.T) {
	for _, fx := range generatorFixtures {
		t.Run(fx.name, func(t *testing.T) {
			src := filepath.Join("testdata", "sites", fx.name)
			files := siteFiles(t, src)

			// The independent check first holds on the build itself: every
			// reference it finds there resolves.
			refs, err := refcheck.Scan(src, refcheck.Options{Hosts: []string{fixtureHost}})
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) == 0 {
				t.Fatalf("the reference scan found no reference in %s", src)
			}
			absent := map[string]bool{}
			for _, r := range refs {
				switch {
				case !r.Found && slices.Contains(fx.absent, r.Target):
					absent[r.Target] = true
				case !r.Found:
					t.Errorf("the build itself has a dangling reference (the scan is wrong, or the fixture): %v", r)
				}
			}
			for _, a := range fx.absent {
				if !absent[a] {
					t.Errorf("the build names no %s: remove it from the fixture's absent list", a)
				}
			}
			if t.Failed() {
				return
			}

			cases := []struct {
				name string
				opts hashing.Options
			}{{name: "defaults"}}
			if fx.hashed != nil {
				cases = append(cases, struct {
					name string
					opts hashing.Options
				}{"prehashed", hashing.Options{Prehashed: literalGlobs(files, fx.hashed)}})
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					fails := map[string][]string{}
					fail := func(kind, format string, args ...any) {
						fails[kind] = append(fails[kind], fmt.Sprintf(format, args...))
					}
					out := filepath.Join(t.TempDir(), "out")
					res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{Options: c.opts})
					if err != nil {
						fail(failRun, "fingerprint: %v", err)
					} else {
						checkFingerprinted(t, fx.hashed, fx.kept, fx.absent, src, out, files, res, fail)
					}
					report(t, fx.name+"/"+c.name, fails)
				})
			}
		})
	}
}

// literalGlobs returns a glob matching exactly each of files that re
// matches.
func literalGlobs(files []string, re *regexp.Regexp) []string {
	var globs []string
	for _, f := range files {
		if re.MatchString(f) {
			globs = append(globs, globEscaper.Replace(f))
		}
	}
	return globs
}

var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`, `{`, `\{`, `}`, `\}`)

// checkFingerprinted checks the output of fingerprinting src into out.
func checkFingerprinted(t *testing.T, hashed, kept *regexp.Regexp, absent []string, src, out string, files []string, res *hashing.Result, fail func(kind, format string, args ...any)) {
	t.Helper()
	for _, m := range res.Missing {
		fail(failMissing, "reported as missing: %v", m)
	}
	dangling, err := refcheck.Check(out, refcheck.Options{
		Original: src,
		Hosts:    []string{fixtureHost},
		Skip:     []string{hashing.DefaultManifestName, ".cdnctl/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dangling {
		if !slices.Contains(absent, d.Target) {
			fail(failDangling, "%v", d)
		}
	}
	byPath := res.Manifest.ByPath()
	// Files not copied on purpose (dotfiles such as .vite/manifest.json)
	// are not lost; a reference to one is dangling.
	skipped := map[string]bool{}
	for _, sk := range res.Skipped {
		skipped[sk.Path] = true
	}
	for _, name := range files {
		if skipped[name] || skippedFolder(name, skipped) {
			continue
		}
		e, ok := res.Manifest.Files[name]
		if !ok {
			// A file whose name already holds its SHA-256 (Hugo's
			// "bg.<sha256>.png") may be listed under the name without it.
			if e, ok = byPath[name]; !ok {
				fail(failLost, "%s is not in the manifest", name)
				continue
			}
		}
		byGenerator := hashed != nil && hashed.MatchString(name)
		same := sameBytes(t, filepath.Join(src, name), filepath.Join(out, e.Path))
		if byGenerator || kept != nil && kept.MatchString(name) {
			if e.Path != name {
				fail(failRenamed, "%s renamed to %s", name, e.Path)
			} else if !same {
				fail(failBytes, "%s: bytes changed", name)
			}
		}
		if byGenerator && e.CacheControl != hashing.ImmutableCacheControl {
			fail(failCache, "%s served with %q", name, e.CacheControl)
		}
		if e.Path == name && strings.Contains(e.CacheControl, "immutable") && !same {
			fail(failImmutable, "%s keeps its name, is served %q, and its bytes changed", name, e.CacheControl)
		}
	}
}

// skippedFolder reports whether a folder holding name ("dir/") was skipped.
func skippedFolder(name string, skipped map[string]bool) bool {
	for i := range name {
		if name[i] == '/' && skipped[name[:i+1]] {
			return true
		}
	}
	return false
}

// report fails the test for each failure not in knownBroken[name], skips
// it for the known ones (after logging them all), and fails it for a
// known kind that no longer fails.
func report(t *testing.T, name string, fails map[string][]string) {
	t.Helper()
	known := knownBroken[name]
	var kinds []string
	for k := range fails {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var skipped []string
	for _, k := range kinds {
		reason, isKnown := known[k]
		for i, f := range fails[k] {
			if !isKnown {
				t.Errorf("%s: %s", k, f)
			} else if i < 20 {
				t.Logf("known broken, %s: %s", k, f)
			}
		}
		if isKnown {
			if len(fails[k]) > 20 {
				t.Logf("known broken, %s: … %d more", k, len(fails[k])-20)
			}
			skipped = append(skipped, fmt.Sprintf("%s ×%d (%s)", k, len(fails[k]), reason))
		}
	}
	for k := range known {
		if len(fails[k]) == 0 {
			t.Errorf("%s no longer fails with %q: remove it from knownBroken[%q]", name, k, name)
		}
	}
	if len(skipped) > 0 && !t.Failed() {
		t.Skipf("known broken (issue 11; remove from knownBroken when fixed): %s", strings.Join(skipped, "; "))
	}
}

// siteFiles lists the files under dir, slash-separated and sorted.
func siteFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fixture %s: %v (built by testdata/generators/build.sh)", dir, err)
	}
	if len(files) == 0 {
		t.Fatalf("fixture %s is empty (built by testdata/generators/build.sh)", dir)
	}
	return files
}

func sameBytes(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return false
	}
	return bytes.Equal(x, y)
}

package hashing_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
)

// ngswManifest is what Angular's service worker reads of ngsw.json.
type ngswManifest struct {
	Index       string `json:"index"`
	AssetGroups []struct {
		Name string   `json:"name"`
		URLs []string `json:"urls"`
	} `json:"assetGroups"`
	HashTable map[string]string `json:"hashTable"`
}

// checkNgsw checks an Angular service worker manifest in dir as
// ngsw-worker.js does: every URL it lists (asset group URLs, hashTable
// keys, the index) is a file of dir, and the hex SHA-1 of each file the
// hashTable lists is the one it gives (the worker fails the installation
// of the app's version on a mismatch). It returns the manifest.
func checkNgsw(t *testing.T, dir string) ngswManifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "ngsw.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m ngswManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("ngsw.json: %v", err)
	}
	if len(m.HashTable) == 0 {
		t.Fatal("ngsw.json: empty hashTable")
	}
	file := func(u string) string {
		if !strings.HasPrefix(u, "/") {
			t.Errorf("ngsw.json: %q is not a path from the site root", u)
		}
		return filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(u, "/")))
	}
	for u, want := range m.HashTable {
		b, err := os.ReadFile(file(u))
		if err != nil {
			t.Errorf("ngsw.json: hashTable names %s: %v", u, err)
			continue
		}
		sum := sha1.Sum(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("ngsw.json: hashTable[%q] = %s, but the file's SHA-1 is %s", u, want, got)
		}
	}
	for _, g := range m.AssetGroups {
		for _, u := range g.URLs {
			if _, err := os.Stat(file(u)); err != nil {
				t.Errorf("ngsw.json: asset group %q lists %s: %v", g.Name, u, err)
			}
			if _, ok := m.HashTable[u]; !ok {
				t.Errorf("ngsw.json: asset group %q lists %s, which hashTable does not", g.Name, u)
			}
		}
	}
	if _, err := os.Stat(file(m.Index)); err != nil {
		t.Errorf("ngsw.json: index %s: %v", m.Index, err)
	}
	return m
}

// TestAngularServiceWorkerManifest fingerprints the Angular build, whose
// ngsw.json lists index.html (which names a renamed icon, so its bytes
// change) and the icons of the web app manifest (renamed, so its bytes
// change too), and checks the output's ngsw.json as the worker would:
// first run, and a second run reusing the first one's output.
func TestAngularServiceWorkerManifest(t *testing.T) {
	src := filepath.Join("testdata", "sites", "angular")
	before := checkNgsw(t, src)
	if t.Failed() {
		t.Fatal("the build's own ngsw.json does not hold")
	}
	out := filepath.Join(t.TempDir(), "out")
	for run := 1; run <= 2; run++ {
		res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{})
		if err != nil {
			t.Fatal(err)
		}
		after := checkNgsw(t, out)
		if len(after.HashTable) != len(before.HashTable) {
			t.Errorf("run %d: ngsw.json lists %d files, the build %d", run, len(after.HashTable), len(before.HashTable))
		}
		// The case the rewrite exists for: files renamed, and files
		// whose bytes changed under their names.
		var renamed int
		for u := range before.HashTable {
			if _, ok := after.HashTable[u]; !ok {
				renamed++
			}
		}
		if renamed == 0 {
			t.Errorf("run %d: no file ngsw.json lists was renamed (the fixture no longer exercises the rewrite)", run)
		}
		if before.HashTable["/index.html"] == after.HashTable["/index.html"] {
			t.Errorf("run %d: index.html has the same SHA-1 as in the build (the fixture no longer exercises a rewritten index.html)", run)
		}
		if len(res.Ngsw) != 1 || res.Ngsw[0].Path != "ngsw.json" || res.Ngsw[0].Renamed != renamed || res.Ngsw[0].Rehashed == 0 {
			t.Errorf("run %d: reported %+v, want ngsw.json with %d renamed and some rehashed", run, res.Ngsw, renamed)
		}
		e := res.Manifest.Files["ngsw.json"]
		if e.Path != "ngsw.json" || strings.Contains(e.CacheControl, "immutable") {
			t.Errorf("run %d: ngsw.json written as %s, served %q: want its name, revalidated", run, e.Path, e.CacheControl)
		}
		if run == 2 && res.Stats.Reused == 0 {
			t.Errorf("run 2 reused nothing of run 1")
		}
	}
}

// TestNgswNotAManifest: a file named ngsw.json that is not Angular's
// service worker manifest is copied as it is.
func TestNgswNotAManifest(t *testing.T) {
	src := t.TempDir()
	for name, content := range map[string]string{
		"index.html": `<img src="a.png">`,
		"a.png":      "png",
		"ngsw.json":  `{"hashTable": {"/a.png": "x"}}`,
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ngsw) != 0 {
		t.Errorf("reported %+v for a file that is not an Angular service worker manifest", res.Ngsw)
	}
	got, err := os.ReadFile(filepath.Join(out, res.Manifest.Files["ngsw.json"].Path))
	if err != nil || string(got) != `{"hashTable": {"/a.png": "x"}}` {
		t.Errorf("ngsw.json: %q, %v: want it as it was", got, err)
	}
}

// TestAngularServiceWorkerRebuild: a new build of the app (index.html
// changed, and ngsw.json with it, as ng build writes them) fingerprinted
// into the output of the previous one, which the run reuses where it can:
// the output's ngsw.json still holds for every file.
func TestAngularServiceWorkerRebuild(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	if err := os.CopyFS(src, os.DirFS(filepath.Join("testdata", "sites", "angular"))); err != nil {
		t.Fatal(err)
	}
	// Files older than the run, as a build's are (the cache does not
	// trust a file modified in the second it reads it).
	age := func(name string, d time.Duration) {
		at := time.Now().Add(-d)
		if err := os.Chtimes(name, at, at); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			age(p, 2*time.Hour)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{}); err != nil {
		t.Fatal(err)
	}
	checkNgsw(t, out)

	// The new build: a changed index.html, and its SHA-1 in ngsw.json.
	page, err := os.ReadFile(filepath.Join(src, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	oldSum := sha1.Sum(page)
	page = []byte(strings.Replace(string(page), "<title>Fixture</title>", "<title>Fixture, again</title>", 1))
	newSum := sha1.Sum(page)
	manifest, err := os.ReadFile(filepath.Join(src, "ngsw.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest = []byte(strings.Replace(string(manifest), hex.EncodeToString(oldSum[:]), hex.EncodeToString(newSum[:]), 1))
	for name, data := range map[string][]byte{"index.html": page, "ngsw.json": manifest} {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		age(filepath.Join(src, name), time.Hour)
	}
	checkNgsw(t, src)
	res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Reused == 0 {
		t.Error("the second run reused nothing of the first")
	}
	m := checkNgsw(t, out)
	got, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil || !strings.Contains(string(got), "Fixture, again") {
		t.Fatalf("index.html of the second run: %v", err)
	}
	if sum := sha1.Sum(got); m.HashTable["/index.html"] != hex.EncodeToString(sum[:]) {
		t.Errorf("ngsw.json gives index.html the SHA-1 %s, not that of the new page", m.HashTable["/index.html"])
	}
}

// TestAngularServiceWorkerUnlistedFile: index.html names a file that
// ngsw.json does not list (the default ngsw-config caches no .json), so
// nothing pins it and it is renamed; index.html, which ngsw.json lists,
// changes bytes under its name. Pinning the files ngsw.json lists is not
// enough: its hash of index.html must follow (before ngsw.json was
// rewritten, the worker rejected this index.html and the app's version
// never installed).
func TestAngularServiceWorkerUnlistedFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	if err := os.CopyFS(src, os.DirFS(filepath.Join("testdata", "sites", "angular"))); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(src, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	oldSum := sha1.Sum(page)
	page = []byte(strings.Replace(string(page), "<title>", `<link rel="preload" href="config.json" as="fetch" crossorigin><title>`, 1))
	newSum := sha1.Sum(page)
	manifest, err := os.ReadFile(filepath.Join(src, "ngsw.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest = []byte(strings.Replace(string(manifest), hex.EncodeToString(oldSum[:]), hex.EncodeToString(newSum[:]), 1))
	for name, data := range map[string]string{"index.html": string(page), "ngsw.json": string(manifest), "config.json": `{"api":"/api"}`} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkNgsw(t, src)
	out := filepath.Join(t.TempDir(), "out")
	res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Manifest.Files["config.json"]; e.Path == "config.json" {
		t.Fatalf("config.json kept its name (%+v): the case is not exercised", e)
	}
	checkNgsw(t, out)
}

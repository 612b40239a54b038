package hashing

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"
)

// moduleSite is a small site of unbundled ES modules: relative,
// root-relative and absolute imports, re-exports, dynamic imports, an
// asset named with new URL(…, import.meta.url), an import cycle, a bare
// specifier resolved by the page's import map, and an inline module.
func moduleSite() map[string]string {
	return map[string]string{
		"index.html": `<!doctype html>
<script type="importmap">{"imports": {"vendor": "./lib/vendor.js"}}</script>
<script type="module" src="js/app.js"></script>
<script type="module">
  import { util } from "./js/util.js";
  util();
</script>
`,
		"js/app.js": `import { util } from "./util.js";
import {
  a,
  b as bee,
} from "../lib/a.js";
import vendor from "vendor";
import "/js/root.js";
import abs from "https://www.example.test/js/abs.js";
export * from "./b.mjs";
export { c1 } from "./cycle/c1.js";
const re = /import "\.\/not\.js"/;
// import "./not-either.js"
const s = 'import("./nor-this.js")';
export const lazy = () => import("./lazy.js");
export const logo = new URL("../img/logo.png", import.meta.url).href;
export default [util, a, bee, vendor, abs, re, s];
`,
		"js/util.js":     "export const util = () => 'util v1';\n",
		"lib/a.js":       "import { util } from \"../js/util.js\";\nexport const a = util, b = 2;\n",
		"lib/vendor.js":  "export default 'vendor';\n",
		"js/root.js":     "export {};\n",
		"js/abs.js":      "export default 'abs';\n",
		"js/b.mjs":       "export const bm = 1;\n",
		"js/lazy.js":     "export default 'lazy';\n",
		"js/cycle/c1.js": "import { c2 } from './c2.js';\nexport const c1 = () => c2;\n",
		"js/cycle/c2.js": "import { c1 } from './c1.js';\nimport { util } from '../util.js';\nexport const c2 = () => [c1, util];\n",
		"img/logo.png":   "\x89PNG not really",
	}
}

// writeSite writes files into a new folder, older than any run.
func writeSite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fingerprintModules(t *testing.T, src, out string) *Result {
	t.Helper()
	res, err := FingerprintDir(context.Background(), src, out, DirOptions{Options: Options{BaseURL: "https://www.example.test/", Strict: true}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkImportsResolve checks that every URL-like import and asset URL of
// every script in out (and of every inline module script of its pages)
// names a file of out, that no renamed file is named by its old name, and
// returns what each output script imports.
func checkImportsResolve(t *testing.T, out string, m *Manifest) {
	t.Helper()
	files := map[string]*node{}
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(out, p)
		logical := filepath.ToSlash(rel)
		files[logical] = &node{srcFile: srcFile{logical: logical}}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := newSite("https://www.example.test/", files)
	checked := 0
	check := func(file string, refs []ref) {
		for _, r := range refs {
			target, res := site.resolve(r.base, r.url)
			if res == resExternal {
				continue
			}
			if res != resFound {
				t.Errorf("%s: %q: no such file %s in the output", file, r.url, target)
				continue
			}
			if e, ok := m.Files[target]; ok && e.Path != target {
				t.Errorf("%s: %q names %s by its source name; it was written as %s", file, r.url, target, e.Path)
			}
			checked++
		}
	}
	err = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		doc := site.docURL(rel)
		switch path.Ext(rel) {
		case ".js", ".mjs":
			check(rel, jsRefs(data, 0, doc, nil, site.root))
		case ".html":
			z := xhtml.NewTokenizer(strings.NewReader(string(data)))
			inModule := false
			for tt := z.Next(); tt != xhtml.ErrorToken; tt = z.Next() {
				tok := z.Token()
				switch tt {
				case xhtml.StartTagToken:
					inModule = false
					if tok.Data == "script" {
						for _, a := range tok.Attr {
							if a.Key == "type" && a.Val == "module" {
								inModule = true
							}
							if a.Key == "src" {
								check(rel, []ref{{url: a.Val, base: doc}})
							}
						}
					}
				case xhtml.TextToken:
					if inModule {
						check(rel, jsRefs([]byte(tok.Data), 0, doc, doc, nil))
					}
				case xhtml.EndTagToken:
					inModule = false
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no imports checked")
	}
}

func readOut(t *testing.T, out string, m *Manifest, logical string) string {
	t.Helper()
	e, ok := m.Files[logical]
	if !ok {
		t.Fatalf("%s: not in the manifest", logical)
	}
	data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(e.Path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestBuildModules(t *testing.T) {
	files := moduleSite()
	src := writeSite(t, files)
	out := filepath.Join(t.TempDir(), "out")
	res := fingerprintModules(t, src, out)
	m := res.Manifest
	checkImportsResolve(t, out, m)

	// Everything but the page and the cycle is fingerprinted.
	for logical, e := range m.Files {
		cycle := strings.HasPrefix(logical, "js/cycle/")
		switch {
		case logical == "index.html":
		case cycle && (e.Fingerprinted || e.Path != logical || e.CacheControl != EntryPointCacheControl):
			t.Errorf("%s: %+v; want its name kept and revalidated (an import cycle)", logical, e)
		case !cycle && !e.Fingerprinted:
			t.Errorf("%s: %+v; want it fingerprinted", logical, e)
		}
	}
	if len(res.Pinned) != 2 || !strings.Contains(res.Pinned[0].Reason, "js/cycle/c1.js → js/cycle/c2.js → js/cycle/c1.js") {
		t.Errorf("pinned %+v; want the two files of the cycle, the reason naming it", res.Pinned)
	}

	// Only the specifiers changed, byte for byte: replacing each hashed
	// name by the source's gives the source back.
	app := readOut(t, out, m, "js/app.js")
	back := app
	for logical, e := range m.Files {
		if e.Fingerprinted {
			back = strings.ReplaceAll(back, path.Base(e.Path), path.Base(logical))
		}
	}
	if back != files["js/app.js"] {
		t.Errorf("js/app.js: output differs from the source beyond the renamed specifiers:\n%s", app)
	}
	for _, want := range []string{`from "./` + path.Base(m.Files["js/util.js"].Path) + `"`, `import("./` + path.Base(m.Files["js/lazy.js"].Path) + `")`, `import vendor from "vendor"`, `from "./cycle/c1.js"`} {
		if !strings.Contains(app, want) {
			t.Errorf("js/app.js does not hold %s:\n%s", want, app)
		}
	}
	// The importers of the cycle are hashed after it; the cycle's
	// imports before it.
	if c2 := readOut(t, out, m, "js/cycle/c2.js"); !strings.Contains(c2, path.Base(m.Files["js/util.js"].Path)) {
		t.Errorf("js/cycle/c2.js does not import util.js by its new name:\n%s", c2)
	}
	if page := readOut(t, out, m, "index.html"); !strings.Contains(page, `"vendor": "./`+m.Files["lib/vendor.js"].Path+`"`) {
		t.Errorf("index.html: import map not rewritten:\n%s", page)
	}
}

// TestBuildModulesNode loads the fingerprinted modules in Node.js, whose
// module loader fails on any import it cannot find.
func TestBuildModulesNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	files := moduleSite()
	// Node resolves "/…" against the file system root and knows neither
	// the page's import map nor http imports: drop those.
	app := regexp.MustCompile(`(?m)^import (vendor from "vendor"|"/js/root.js"|abs from "https://[^"]+");\n`).ReplaceAllString(files["js/app.js"], "")
	app = strings.Replace(app, "vendor, abs, ", "", 1)
	files["js/app.js"] = app + "export const loaded = await lazy();\n"
	src := writeSite(t, files)
	out := filepath.Join(t.TempDir(), "out")
	m := fingerprintModules(t, src, out).Manifest
	entry := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(out, m.Files["js/app.js"].Path))}).String()
	script := `const m = await import(process.argv[1]);
if (m.loaded.default !== "lazy" || m.c1()()[1]() !== "util v1" || m.bm !== 1) throw new Error("unexpected exports");
console.log(m.logo);`
	cmd := exec.Command(node, "--input-type=module", "-e", script, entry)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, got)
	}
	if want := m.Files["img/logo.png"].Path; !strings.HasSuffix(strings.TrimSpace(string(got)), want) {
		t.Errorf("new URL(…, import.meta.url) gave %s; want …/%s", got, want)
	}
}

// TestFingerprintModulesRerun changes an imported module between two runs
// into the same folder: its importers (and theirs) get new names, and
// every import still resolves.
func TestFingerprintModulesRerun(t *testing.T) {
	files := moduleSite()
	src := writeSite(t, files)
	out := filepath.Join(t.TempDir(), "out")
	first := fingerprintModules(t, src, out).Manifest

	again := fingerprintModules(t, src, out)
	if again.Stats.Reused != again.Stats.Files {
		t.Errorf("unchanged re-run reused %d of %d files", again.Stats.Reused, again.Stats.Files)
	}

	old := time.Now().Add(-30 * time.Minute)
	p := filepath.Join(src, "js", "util.js")
	if err := os.WriteFile(p, []byte("export const util = () => 'util v2';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	res := fingerprintModules(t, src, out)
	second := res.Manifest
	checkImportsResolve(t, out, second)
	// util.js, every module importing it directly or not, but not the
	// others.
	changed := []string{"js/util.js", "lib/a.js", "js/app.js"}
	same := []string{"js/lazy.js", "js/b.mjs", "lib/vendor.js", "img/logo.png"}
	for _, l := range changed {
		if first.Files[l].Path == second.Files[l].Path {
			t.Errorf("%s: still %s after util.js changed", l, second.Files[l].Path)
		}
	}
	for _, l := range same {
		if first.Files[l].Path != second.Files[l].Path {
			t.Errorf("%s: %s → %s, though it does not import util.js", l, first.Files[l].Path, second.Files[l].Path)
		}
	}
	// The cycle keeps its names; its content follows util.js.
	if c2 := readOut(t, out, second, "js/cycle/c2.js"); second.Files["js/cycle/c2.js"].Path != "js/cycle/c2.js" || !strings.Contains(c2, path.Base(second.Files["js/util.js"].Path)) {
		t.Errorf("js/cycle/c2.js: %s:\n%s", second.Files["js/cycle/c2.js"].Path, c2)
	}
	if res.Stats.Reused == 0 {
		t.Error("nothing reused after one module changed")
	}

	// The same build from scratch gives the same manifest.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if m := fingerprintModules(t, src, fresh).Manifest; !manifestsEqual(m, second) {
		t.Error("the re-run's manifest differs from a fresh run's")
	}
}

func manifestsEqual(a, b *Manifest) bool {
	if len(a.Files) != len(b.Files) {
		return false
	}
	for k, e := range a.Files {
		f, ok := b.Files[k]
		if !ok || e.Path != f.Path || e.SHA256 != f.SHA256 || e.CacheControl != f.CacheControl {
			return false
		}
	}
	return true
}

// TestBuildModulePins checks the files that keep their names because of
// how they are named: a worker named relative to the page, a service
// worker, the folder of an import map's prefix.
func TestBuildModulePins(t *testing.T) {
	src := writeSite(t, map[string]string{
		"index.html": `<script type="importmap">{"imports": {"three": "./build/three.js", "three/addons/": "./jsm/"}}</script>
<script type="module">import { Orbit } from "three/addons/controls/Orbit.js";</script>
<script type="module" src="app.js"></script>`,
		"build/three.js":        "export const three = 1;\n",
		"jsm/controls/Orbit.js": "import { three } from 'three';\nimport { h } from '../utils/helper.js';\nexport const Orbit = [three, h];\n",
		"jsm/utils/helper.js":   "export const h = 1;\n",
		"app.js":                "new Worker('js/worker.js');\nnavigator.serviceWorker.register('/my-sw.js');\nnew Worker(new URL('./js/hashed-worker.js', import.meta.url));\n",
		"js/worker.js":          "importScripts('./dep.js');\n",
		"js/dep.js":             "self.x = 1;\n",
		"js/hashed-worker.js":   "postMessage(1);\n",
		"my-sw.js":              "self.addEventListener('fetch', () => {});\n",
	})
	out := filepath.Join(t.TempDir(), "out")
	res := fingerprintModules(t, src, out)
	m := res.Manifest
	kept := map[string]string{
		"jsm/controls/Orbit.js": "under jsm/", "jsm/utils/helper.js": "under jsm/",
		"js/worker.js": "worker script", "my-sw.js": "service worker",
	}
	for logical, e := range m.Files {
		why, isKept := kept[logical]
		if logical == "index.html" {
			continue
		}
		if isKept != (e.Path == logical && !e.Fingerprinted) {
			t.Errorf("%s: %+v; want kept %v", logical, e, isKept)
		}
		if isKept {
			found := false
			for _, p := range res.Pinned {
				found = found || p.Path == logical && strings.Contains(p.Reason, why)
			}
			if !found {
				t.Errorf("%s: not pinned for %q: %+v", logical, why, res.Pinned)
			}
		}
	}
	if w := readOut(t, out, m, "js/worker.js"); !strings.Contains(w, m.Files["js/dep.js"].Path[len("js/"):]) {
		t.Errorf("js/worker.js: importScripts not rewritten:\n%s", w)
	}
	checkImportsResolve(t, out, m)
}

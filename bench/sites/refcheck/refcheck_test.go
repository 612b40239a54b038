package refcheck

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func writeSite(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// files every case's references can name.
var present = map[string]string{
	"assets/app-3f9a.js":       "",
	"assets/app-3f9a.js.map":   `{"version":3,"sources":["../../src/gone.js","../../../../icons.svg"],"file":"gone.js"}`,
	"assets/style-77aa.css":    "",
	"assets/font-1.woff2":      "",
	"_next/static/chunks/a.js": "",
	"img/a b.png":              "",
	"img/logo.png":             "",
	"icons.svg":                "",
	"blog/post/__data.json":    "",
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                []string // dangling "ref@line"
		found               []string // found "ref→target", when checked
	}{
		{name: "html attributes", file: "index.html", content: `<link href="/assets/style-77aa.css"><script src='assets/app-3f9a.js'></script>
<img src="/img/missing.png"><img src=/img/logo.png>`, want: []string{"/img/missing.png@2"},
			found: []string{"/assets/style-77aa.css→assets/style-77aa.css", "assets/app-3f9a.js→assets/app-3f9a.js", "/img/logo.png→img/logo.png"}},
		{name: "relative to the file", file: "assets/x.css", content: `@font-face{src:url(font-1.woff2)}a{background:url("../img/logo.png")}
b{background:url(../assets/logo.png)}`, want: []string{"../assets/logo.png@2"},
			found: []string{"font-1.woff2→assets/font-1.woff2", "../img/logo.png→img/logo.png"}},
		{name: "query, fragment and percent-encoding", file: "index.html",
			content: `<use href="/icons.svg#star"><img src="/img/a%20b.png?v=2"><img src="/img/logo.png?x#y"><img src="/img/gone.png#f">`,
			want:    []string{"/img/gone.png#f@1"}},
		{name: "srcset", file: "index.html", content: `<img srcset="img/logo.png 1x, ./img2/logo.png 2x">`, want: []string{"./img2/logo.png@1"}},
		{name: "a name joined to a base the scan cannot know", file: "assets/app-3f9a.js",
			content: `m.f=["assets/style-77aa.css","assets/app-3f9a.js","assets/logo.png"];x={otherChunks:["static/chunks/a.js"]};s="/__data.json"`,
			want:    []string{"assets/logo.png@1"},
			found:   []string{"assets/style-77aa.css→assets/style-77aa.css", "static/chunks/a.js→_next/static/chunks/a.js", "/__data.json→blog/post/__data.json"}},
		{name: "escaped in JSON in a script in a page", file: "index.html",
			content: `<script>self.__next_f.push([1,"2:\"\\/_next\\/static\\/chunks\\/a.js\"\n3:\"/_next/static/chunks/gone.js\""])</script>` + "\n" +
				`<script>x="\u002Fimg\u002Flogo.png";y='\\u002Fimg\\u002Fgone2.png'</script>`,
			want: []string{"/_next/static/chunks/gone.js@1", "/img/gone2.png@2"}},
		{name: "HTML entities", file: "feed.xml", content: `<description>&lt;img src=&#34;/img/logo.png&#34;&gt; &lt;img src=&quot;/img/gone.png&quot;&gt;</description>`,
			want: []string{"/img/gone.png@1"}},
		{name: "hosts", file: "sitemap.xml", content: "<loc>https://www.example.test/img/logo.png</loc>\n<loc>https://www.example.test/img/gone.png</loc>\n<loc>https://cdn.other.test/img/gone.png</loc>\n<loc>//www.example.test/gone3.png</loc>",
			want: []string{"https://www.example.test/img/gone.png@2", "//www.example.test/gone3.png@4"}},
		{name: "not references", file: "assets/app-3f9a.js",
			content: `a=e.js;b=n.css+"Next.js";c="Hello from img/logo.png";d=/\.css$/;e=".lean.js";f=t.map(x=>x);g="src/main.js";h="mark.js";` +
				`i={"../../translations/fr.json":()=>import("./fr-1.js")};j="./pagefind_web_bg.js"`},
		{name: "a plain name resolves anywhere", file: "assets/app-3f9a.js", content: `a="logo.png";b="./sub/logo.png"`,
			want: []string{"./sub/logo.png@1"}, found: []string{"logo.png→img/logo.png"}},
		{name: "sourceMappingURL", file: "assets/app-3f9a.js", content: "x()\n//# sourceMappingURL=app-3f9a.js.map\n//# sourceMappingURL=/assets/gone.js.map",
			want: []string{"/assets/gone.js.map@3"}, found: []string{"app-3f9a.js.map→assets/app-3f9a.js.map"}},
		{name: "service worker precache", file: "sw.js", content: `const PRECACHE = ['/', '/img/logo.png',
  '/fonts/inter.woff2'];`, want: []string{"/fonts/inter.woff2@2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{tc.file: tc.content, "fonts/x.woff2": "", "x.xml": "", "x.txt": "", "x.map": ""}
			for k, v := range present {
				if _, ok := files[k]; !ok {
					files[k] = v
				}
			}
			dir := writeSite(t, files)
			refs, err := Scan(dir, Options{Hosts: []string{"www.example.test"}})
			if err != nil {
				t.Fatal(err)
			}
			var dangling []string
			found := map[string]bool{}
			for _, r := range refs {
				if r.File != tc.file {
					continue
				}
				if r.Found {
					found[r.Ref+"→"+r.Target] = true
				} else {
					dangling = append(dangling, r.Ref+"@"+strconv.Itoa(r.Line))
				}
			}
			sort.Strings(dangling)
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if !reflect.DeepEqual(dangling, want) && !(len(dangling) == 0 && len(want) == 0) {
				t.Errorf("dangling = %q, want %q", dangling, want)
			}
			for _, f := range tc.found {
				if !found[f] {
					t.Errorf("reference %s not found; found %v", f, found)
				}
			}
		})
	}
}

// A copy of a site whose files were renamed: the names that are left are
// dangling, judged by the original's files and extensions.
func TestCheckOriginal(t *testing.T) {
	orig := writeSite(t, map[string]string{
		"index.html":       `<script src="app.js"></script><link rel=manifest href="/site.webmanifest">`,
		"app.js":           `fetch("data.json");new URL("img.avif",import.meta.url)`,
		"data.json":        "{}",
		"img.avif":         "",
		"site.webmanifest": `{"icons":[{"src":"img.avif"}]}`,
	})
	renamed := writeSite(t, map[string]string{
		"index.html":           `<script src="app.1234.js"></script><link rel=manifest href="/site.webmanifest">`,
		"app.1234.js":          `fetch("data.json");new URL("img.5678.avif",import.meta.url)`,
		"data.aaaa.json":       "{}",
		"img.5678.avif":        "",
		"site.webmanifest":     `{"icons":[{"src":"img.avif"}]}`,
		"cdnctl-manifest.json": `{"files":{"app.js":{"path":"app.1234.js"}}}`,
	})
	if d, err := Check(orig, Options{}); err != nil || len(d) != 0 {
		t.Fatalf("original: %v, %v", d, err)
	}
	d, err := Check(renamed, Options{Original: orig, Skip: []string{"cdnctl-manifest.json"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d {
		got = append(got, r.String())
	}
	want := []string{
		`app.1234.js:1: "data.json" names data.json, which is not in the site`,
		`site.webmanifest:1: "img.avif" names img.avif, which is not in the site`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without the original, "data.json" and "img.avif" are no file's
	// name: not checked.
	d, err = Check(renamed, Options{Skip: []string{"cdnctl-manifest.json"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 0 {
		t.Errorf("without the original: %v", d)
	}
}

func TestCheckBadDir(t *testing.T) {
	if _, err := Check(filepath.Join(t.TempDir(), "nope"), Options{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("err = %v, want one naming the folder", err)
	}
}

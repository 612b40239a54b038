package hashing

import (
	"net/url"
	"path"
	"reflect"
	"testing"
)

func testSite(t *testing.T, baseURL string, files ...string) *site {
	t.Helper()
	set := map[string]*node{}
	for _, f := range files {
		set[f] = &node{srcFile: srcFile{logical: f}}
	}
	s, err := newSite(baseURL, set)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResolve(t *testing.T) {
	files := []string{"index.html", "css/app.css", "img/a.png", "img/a b.png", "blog/index.html", "about.html", "docs/x.pdf"}
	plain := testSite(t, "", files...)
	withBase := testSite(t, "https://www.example.test/", files...)
	withPath := testSite(t, "https://example.test/site/", files...)
	tests := []struct {
		s      *site
		doc    string
		u      string
		target string
		res    resolution
	}{
		{plain, "css/app.css", "../img/a.png", "img/a.png", resFound},
		{plain, "css/app.css", "/img/a.png", "img/a.png", resFound},
		{plain, "css/app.css", "../../../img/a.png", "img/a.png", resFound}, // clamped at the root
		{plain, "index.html", "img/a.png?v=1#x", "img/a.png", resFound},
		{plain, "index.html", "img/a%20b.png", "img/a b.png", resFound},
		{plain, "index.html", " img/a.png ", "img/a.png", resFound},
		{plain, "index.html", "blog/", "blog/index.html", resFound},
		{plain, "index.html", "/blog", "blog/index.html", resFound},
		{plain, "index.html", "/about", "about.html", resFound},
		{plain, "index.html", "/", "index.html", resFound},
		{plain, "index.html", "img/nope.png", "img/nope.png", resMissing},
		{plain, "index.html", "https://www.example.test/img/a.png", "", resExternal},
		{plain, "index.html", "//cdn.example.com/a.png", "", resExternal},
		{plain, "index.html", "data:image/png;base64,AAAA", "", resExternal},
		{plain, "index.html", "mailto:a@example.test", "", resExternal},
		{plain, "index.html", "javascript:void(0)", "", resExternal},
		{plain, "index.html", "#top", "", resExternal},
		{plain, "index.html", "?page=2", "", resExternal},
		{plain, "index.html", "", "", resExternal},
		{plain, "index.html", "{{ .URL }}", "", resExternal},
		{withBase, "index.html", "https://www.example.test/img/a.png", "img/a.png", resFound},
		{withBase, "index.html", "http://WWW.EXAMPLE.TEST:80/img/a.png", "img/a.png", resFound},
		{withBase, "index.html", "//www.example.test/img/a.png", "img/a.png", resFound},
		{withBase, "index.html", "https://www.example.test:8443/img/a.png", "", resExternal},
		{withBase, "index.html", "https://other.example.test/img/a.png", "", resExternal},
		{withPath, "index.html", "/site/img/a.png", "img/a.png", resFound},
		{withPath, "index.html", "/img/a.png", "", resExternal}, // outside the base path
		{withPath, "css/app.css", "../img/a.png", "img/a.png", resFound},
	}
	for _, tt := range tests {
		target, res := tt.s.resolve(tt.s.docURL(tt.doc), tt.u)
		if target != tt.target || res != tt.res {
			t.Errorf("resolve(%s, %q) with base %q = %q, %d; want %q, %d", tt.doc, tt.u, tt.s.root, target, res, tt.target, tt.res)
		}
	}
}

func TestReportMissing(t *testing.T) {
	tests := []struct {
		kind refKind
		p    string
		want bool
	}{
		{refResource, "img/a.png", true},
		{refLink, "docs/x.pdf", true},
		{refLink, "app/settings", false},
		{refLink, "page.html", false},
		{refLink, "x.unknownext", false},
		{refSource, "src/a.ts", false},
	}
	for _, tt := range tests {
		if got := reportMissing(tt.kind, tt.p); got != tt.want {
			t.Errorf("reportMissing(%d, %q) = %v; want %v", tt.kind, tt.p, got, tt.want)
		}
	}
}

func TestRewriteURL(t *testing.T) {
	s := testSite(t, "https://www.example.test/")
	tests := []struct {
		u, target, output, want string
	}{
		{"../img/a.png", "img/a.png", "img/a.0123456789.png", "../img/a.0123456789.png"},
		{"/img/a.png?v=1#frag", "img/a.png", "img/a.0123456789.png", "/img/a.0123456789.png?v=1#frag"},
		{"https://www.example.test/img/a.png", "img/a.png", "img/a.0123456789.png", "https://www.example.test/img/a.0123456789.png"},
		{"img/a%20b.png", "img/a b.png", "img/a b.0123456789.png", "img/a%20b.0123456789.png"},
		{"img/%61.png", "img/a.png", "img/a.0123456789.png", "img/%61.0123456789.png"},
		{"app.js.map", "js/app.js.map", "js/app.0123456789.js.map", "app.0123456789.js.map"},
		// The last segment does not spell the name: the path is replaced.
		{"/img/./a.png/.", "img/a.png", "img/a.0123456789.png", "/img/a.0123456789.png"},
		{"//www.example.test/img/x/../a.png/", "img/a.png", "img/a.0123456789.png", "//www.example.test/img/a.0123456789.png"},
	}
	for _, tt := range tests {
		if got := s.rewriteURL(tt.u, tt.target, tt.output); got != tt.want {
			t.Errorf("rewriteURL(%q, %q, %q) = %q; want %q", tt.u, tt.target, tt.output, got, tt.want)
		}
	}
}

func TestParseSrcset(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a.png", []string{"a.png"}},
		{"a.png 1x, b.png 2x", []string{"a.png", "b.png"}},
		{"  a.png   480w ,b.png 960w  ", []string{"a.png", "b.png"}},
		{"a.png,b.png 2x", []string{"a.png,b.png"}}, // a URL may hold commas
		{"a,b.png 1x, c.png 2x", []string{"a,b.png", "c.png"}},
		{"data:image/png;base64,AAA= 1x, b.png 2x", []string{"data:image/png;base64,AAA=", "b.png"}},
		{"a.png (max-width: 1px, x) 1x, b.png", []string{"a.png", "b.png"}},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range parseSrcset(tt.in) {
			got = append(got, tt.in[r[0]:r[1]])
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseSrcset(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// refTexts lists the URLs of refs and checks that their ranges in src
// hold what they claim.
func refTexts(t *testing.T, src string, refs []ref) []string {
	t.Helper()
	var out []string
	for _, r := range refs {
		if r.group == nil && src[r.start:r.end] != r.text {
			t.Errorf("ref %q: src[%d:%d] = %q", r.url, r.start, r.end, src[r.start:r.end])
		}
		if r.group != nil && r.group.val[r.start:r.end] != r.text {
			t.Errorf("ref %q in group: val[%d:%d] = %q", r.url, r.start, r.end, r.group.val[r.start:r.end])
		}
		out = append(out, r.url)
	}
	return out
}

func TestCSSRefs(t *testing.T) {
	doc, _ := url.Parse("https://x.invalid/css/a.css")
	tests := []struct {
		css  string
		want []string
	}{
		{`a{background:url(x.png)}`, []string{"x.png"}},
		{`a{background:url( "x y.png" )}`, []string{"x y.png"}},
		{`a{background:URL('x.png')}`, []string{"x.png"}},
		{`@import "b.css";@import url(c.css) print;@import 'd.css' screen;`, []string{"b.css", "c.css", "d.css"}},
		{`@IMPORT "b.css";`, []string{"b.css"}},
		{`a{content:"x.png"}`, nil},
		{`/* url(x.png) */`, nil},
		{`a{background-image:image-set("a.png" 1x, "b.png" 2x)}`, []string{"a.png", "b.png"}},
		{`a{background-image:-webkit-image-set(url(a.png) 1x)}`, []string{"a.png"}},
		{`a{background:url(a\ b.png)}`, []string{"a b.png"}},
		{`a{background:url("a\"b.png")}`, []string{`a"b.png`}},
		{`a{background:url(x.png`, []string{"x.png"}},
		{"/*# sourceMappingURL=a.css.map */", []string{"a.css.map"}},
		{`a{font:x} @font-face{src:url(f.woff2) format("woff2"),url(f.woff) format("woff")}`, []string{"f.woff2", "f.woff"}},
	}
	for _, tt := range tests {
		got := refTexts(t, tt.css, cssRefs([]byte(tt.css), 0, doc))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("cssRefs(%q) = %q; want %q", tt.css, got, tt.want)
		}
	}
}

func TestHTMLRefs(t *testing.T) {
	doc, _ := url.Parse("https://x.invalid/index.html")
	tests := []struct {
		html string
		want []string
	}{
		{`<img src="a.png">`, []string{"a.png"}},
		{`<IMG SRC=a.png ALT=x>`, []string{"a.png"}},
		{`<img src = 'a.png' srcset="a.png 1x, b.png 2x">`, []string{"a.png", "a.png", "b.png"}},
		{`<img src="a.png?x=1&amp;y=2">`, []string{"a.png?x=1&y=2"}},
		{`<link rel="stylesheet" href="a.css"><link rel=canonical href="/">`, []string{"a.css", "/"}},
		{`<a href="b.html">b</a><area href="c.html">`, []string{"b.html", "c.html"}},
		{`<video poster="p.jpg" src="v.mp4"><source src="v.webm"><track src="t.vtt"></video>`, []string{"p.jpg", "v.mp4", "v.webm", "t.vtt"}},
		{`<object data="o.svg"></object><embed src="e.swf">`, []string{"o.svg", "e.swf"}},
		{`<meta property="og:image" content="og.png"><meta name="description" content="x.png">`, []string{"og.png"}},
		{`<div style="background:url(s.png)"></div>`, []string{"s.png"}},
		{`<div style="background:url(&quot;s.png&quot;)"></div>`, []string{"s.png"}},
		{`<style>a{background:url(s.png)}</style>`, []string{"s.png"}},
		{`<script>var a = "url(x.png)";</script>`, nil},
		{`<!-- <img src="c.png"> -->`, nil},
		{`<textarea><img src="t.png"></textarea>`, nil},
		{`<img data-src="lazy.png" data-srcset="l1.png 1x, l2.png 2x">`, []string{"lazy.png", "l1.png", "l2.png"}},
		{`<svg><use href="s.svg#i"/><image xlink:href="i.png"/></svg>`, []string{"s.svg#i", "i.png"}},
		{`<img src="a.png" src="b.png">`, []string{"a.png"}},
	}
	for _, tt := range tests {
		got := refTexts(t, tt.html, htmlRefs([]byte(tt.html), doc))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("htmlRefs(%q) = %q; want %q", tt.html, got, tt.want)
		}
	}
}

func TestHTMLBase(t *testing.T) {
	doc, _ := url.Parse("https://x.invalid/page/index.html")
	refs := htmlRefs([]byte(`<img src="a.png"><base href="/img/"><img src="b.png">`), doc)
	if len(refs) != 2 || refs[0].base.String() != "https://x.invalid/page/index.html" || refs[1].base.String() != "https://x.invalid/img/" {
		t.Fatalf("bases = %v", refs)
	}
}

func TestJSTailRefs(t *testing.T) {
	doc, _ := url.Parse("https://x.invalid/js/a.js")
	tests := []struct {
		js   string
		want []string
	}{
		{"f();\n//# sourceMappingURL=a.js.map\n", []string{"a.js.map"}},
		{"f();\n//@ sourceMappingURL=a.js.map", []string{"a.js.map"}},
		{"f();\n/*# sourceMappingURL=a.js.map */\n", []string{"a.js.map"}},
		{"f();\r\n//# sourceMappingURL=a.js.map\r\n", []string{"a.js.map"}},
		{"//# sourceMappingURL=old.map\nf();\n//# sourceMappingURL=new.map\n", []string{"new.map"}},
		{"var s = '//# sourceMappingURL=x.map';\n", nil},
		{"f();\n", nil},
	}
	for _, tt := range tests {
		got := refTexts(t, tt.js, jsTailRefs([]byte(tt.js), 0, doc))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("jsTailRefs(%q) = %q; want %q", tt.js, got, tt.want)
		}
	}
}

func TestSourceMapRefs(t *testing.T) {
	doc, _ := url.Parse("https://x.invalid/js/a.js.map")
	// The sources name what a.js was built from, not files of the site,
	// except "..\/js\/a.js" (relative to the sourceRoot), the generated
	// file itself, which is late like "file".
	src := `{"version":3,"file":"a.js","sourceRoot":"../src","sources":["a.ts","b\/c.ts","..\/js\/a.js","../../../icons.svg"],"names":["file"],"mappings":""}`
	refs, err := sourceMapRefs([]byte(src), doc)
	if err != nil {
		t.Fatal(err)
	}
	got := refTexts(t, src, refs)
	if want := []string{"a.js", "../js/a.js"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sourceMapRefs = %q; want %q", got, want)
	}
	if !refs[0].late || !refs[1].late {
		t.Errorf("late = %v, %v; want both late", refs[0].late, refs[1].late)
	}
	if refs[1].base.String() != "https://x.invalid/src/" {
		t.Errorf("sources base = %s; want the sourceRoot", refs[1].base)
	}
	if refs[1].encode == nil || refs[1].encode("../js/a.1234567890.js") != `"../js/a.1234567890.js"` {
		t.Errorf("an escaped JSON string is written back whole")
	}
	if _, err := sourceMapRefs([]byte(`{"version":3,`), doc); err == nil {
		t.Errorf("sourceMapRefs(truncated) = nil error")
	}
}

// TestResolvePathFast checks the file-path shortcut of resolvePath against
// URL resolution (RFC 3986) for plain paths.
func TestResolvePathFast(t *testing.T) {
	s := testSite(t, "https://www.example.test/site/")
	bases := []*url.URL{s.docURL("index.html"), s.docURL("a/b/c.html"), s.docURL("a/b/")}
	refs := []string{"x.png", "./x.png", "../x.png", "../../../../x.png", "/x.png", "/a/../x.png",
		"a/./b/../c.png", "dir/", "dir/.", "dir/..", ".", "..", "./", "../", "a/b/c/../../d", "/", "x..png", "..x/y"}
	for _, base := range bases {
		for _, r := range refs {
			if !isPlainPath(r) {
				t.Fatalf("isPlainPath(%q) = false", r)
			}
			ref, _ := url.Parse(r)
			want := base.ResolveReference(ref).Path
			if got, ok := s.resolvePath(nil, base, r); !ok || string(got) != want {
				t.Errorf("resolvePath(%s, %q) = %q, %v; want %q", base, r, got, ok, want)
			}
			// Appended after what dst holds.
			if got, ok := s.resolvePath([]byte("held"), base, r); !ok || string(got) != "held"+want {
				t.Errorf("resolvePath(held, %s, %q) = %q, %v; want %q", base, r, got, ok, "held"+want)
			}
		}
	}
	for _, r := range []string{"a%20b.png", "a?x", "a#y", "//h/x", "a//b", "http:x", "a b.png", "é.png"} {
		if isPlainPath(r) {
			t.Errorf("isPlainPath(%q) = true", r)
		}
	}
}

func TestHTMLImportMap(t *testing.T) {
	doc, _ := url.Parse("https://x.invalid/index.html")
	src := `<script type="importmap">{"imports": {"app": "/js/app.js", "lit": "https://cdn.example/lit.js"}, "scopes": {"/admin/": {"app": "./js\/admin.js"}}}</script><script>var m = {"imports": {"x": "y.js"}}</script>`
	got := refTexts(t, src, htmlRefs([]byte(src), doc))
	want := []string{"/js/app.js", "https://cdn.example/lit.js", "./js/admin.js"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("htmlRefs(import map) = %q; want %q", got, want)
	}
}

// cleanPathCases are paths path.Clean has rules for.
var cleanPathCases = []string{"", ".", "..", "/", "//", "/..", "/../a", "a/..", "a/../..", "../../a", "a/./b/../../c/",
	"/a/b/../../../c", "a//b", "./a", "a/.", "..a/b..", "/.../x", "../a/../b/./../..", "abc/def/../../../ghi"}

func TestCleanPath(t *testing.T) {
	for _, p := range cleanPathCases {
		if got, want := string(cleanPath([]byte(p))), path.Clean(p); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q (path.Clean)", p, got, want)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, p := range cleanPathCases {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, want := string(cleanPath([]byte(p))), path.Clean(p); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q (path.Clean)", p, got, want)
		}
	})
}

package hashing

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// jsRefStrings lists what jsRefs finds in src as "url" (rewritten, with
// the base's path when it is not the script's) or "pin:url@base".
func jsRefStrings(t *testing.T, src string, page *url.URL) []string {
	t.Helper()
	base, _ := url.Parse("https://cdnctl.invalid/js/app.js")
	root, _ := url.Parse("https://cdnctl.invalid/")
	var out []string
	for _, r := range jsRefs([]byte(src), 0, base, page, root) {
		if got := src[r.start:r.end]; got != r.text {
			t.Errorf("ref %q: range [%d,%d) holds %q, want its text %q", r.url, r.start, r.end, got, r.text)
		}
		s := r.url
		if r.base.Path != base.Path {
			s += "@" + r.base.Path
		}
		if r.pin != pinNone {
			s = "pin:" + s
		}
		out = append(out, s)
	}
	return out
}

func TestJSRefs(t *testing.T) {
	tests := []struct {
		name string
		js   string
		want []string
	}{
		{"side-effect import", `import "./a.js";`, []string{"./a.js"}},
		{"single quotes", `import './a.js'`, []string{"./a.js"}},
		{"default import", `import a from "../lib/a.js";`, []string{"../lib/a.js"}},
		{"named imports", `import { a, b as c } from "./a.js";`, []string{"./a.js"}},
		{"default and named", `import d, { a } from './a.js'`, []string{"./a.js"}},
		{"namespace", `import * as ns from "/js/ns.js";`, []string{"/js/ns.js"}},
		{"string export names", `import { "a-b" as ab } from "./a.js"; export { ab as "c-d" } from "./b.js";`, []string{"./a.js", "./b.js"}},
		{"import named from", `import from from "./from.js";`, []string{"./from.js"}},
		{"import attributes", `import data from "./data.json" with { type: "json" };`, []string{"./data.json"}},
		{"multi-line", "import {\n  a,\n  b,\n} from\n  \"./a.js\";\nexport {\n  x\n}\n  from './x.js'", []string{"./a.js", "./x.js"}},
		{"export star", `export * from "./b.mjs"; export * as ns from "./c.js";`, []string{"./b.mjs", "./c.js"}},
		{"export names", `export { a, b as default } from "./a.js";`, []string{"./a.js"}},
		{"local export", "export { a };\nexport const b = 1;\nexport default function () {}", nil},
		{"local export then from call", "export { a }\nfrom(\"./x.js\")", nil},
		{"dynamic import", `const m = await import("./lazy.js");`, []string{"./lazy.js"}},
		{"dynamic import template", "import(`./lazy.js`).then(m => m.run())", []string{"./lazy.js"}},
		{"dynamic import with options", `import("./data.json", { with: { type: "json" } })`, []string{"./data.json"}},
		{"dynamic import computed", "import(`./locale/${lang}.js`); import(\"./x/\" + name); import(name)", nil},
		{"import.meta", "console.log(import.meta.url); const u = import.meta.resolve(\"./r.js\");", []string{"./r.js"}},
		{"new URL", `const img = new URL("../img/logo.png", import.meta.url).href;`, []string{"../img/logo.png"}},
		{"new URL without ./", `new URL('logo.png', import.meta.url)`, []string{"logo.png"}},
		{"new URL of the page", `new URL("./x.png", location.href); new URL("./y.png", document.baseURI)`, nil},
		{"bare specifiers", `import React from "react"; import "lodash/fp"; import("@scope/pkg"); export * from "three";`, nil},
		{"other URLs", `import "data:text/javascript,1"; import "https://cdn.example.com/x.js"; import "//cdn.example.com/y.js";`, []string{"https://cdn.example.com/x.js", "//cdn.example.com/y.js"}},
		{"line comment", "// import \"./no.js\"\nimport \"./yes.js\"", []string{"./yes.js"}},
		{"block comment", "/* import \"./no.js\"; */ import \"./yes.js\" /* import('./no2.js') */", []string{"./yes.js"}},
		{"comment between tokens", `import /* x */ a /* y */ from /* z */ "./a.js"`, []string{"./a.js"}},
		{"strings holding imports", `const s = "import './no.js'"; const t = 'import("./no2.js")'; import "./yes.js";`, []string{"./yes.js"}},
		{"escaped quotes", `const s = "a \" import('./no.js') \""; const t = '\\'; import("./yes.js")`, []string{"./yes.js"}},
		{"template holding imports", "const s = `import \"./no.js\"\nimport('./no2.js')`; import('./yes.js')", []string{"./yes.js"}},
		{"template substitution", "const s = `a ${ b ? import('./in.js') : `x ${'}'} import(\"./no.js\")` } b`; import('./yes.js')", []string{"./in.js", "./yes.js"}},
		{"template braces", "const s = `${ {a: 1}.a }`; import('./yes.js')", []string{"./yes.js"}},
		{"regex holding quote", `const re = /["']/g; import("./yes.js"); const s = "x"`, []string{"./yes.js"}},
		{"regex holding import", `if (/import\("\.\/no\.js"\)/.test(s)) import("./yes.js")`, []string{"./yes.js"}},
		{"regex with slash in class", `const re = /[/"]/; import("./yes.js")`, []string{"./yes.js"}},
		{"regex after return", `function f(s) { return /'/.test(s) } import("./yes.js")`, []string{"./yes.js"}},
		{"regex after paren of if", `if (x) /'/.exec(s); import("./yes.js")`, []string{"./yes.js"}},
		{"regex after block", "function f() {}\n/'/.test(s); import(\"./yes.js\")", []string{"./yes.js"}},
		{"division", `const a = b / c / d; const e = (f) / 2; const g = h[1] / i; import("./yes.js")`, []string{"./yes.js"}},
		{"division after increment", `a++ / 2; b-- / "x"; import("./yes.js")`, []string{"./yes.js"}},
		{"division not a regex after object", "const o = {a: 1} / 2; import('./yes.js')", []string{"./yes.js"}},
		{"unclosed regex guess", "const r = a\n/ b; import('./yes.js') // '", []string{"./yes.js"}},
		{"property named import", `x.import("./no.js"); x?.import("./no.js"); const o = { import: "./no.js" };`, nil},
		{"import not at statement start", `x = import "./no.js"`, nil},
		{"export not at statement start", `x.export * from "./no.js"`, nil},
		{"minified", `import{a as b}from"./a.js";import"./b.js";export*from"./c.js";export{d}from"./d.js";const e=()=>import("./e.js");`, []string{"./a.js", "./b.js", "./c.js", "./d.js", "./e.js"}},
		{"minified with regex", `var a=b.replace(/"/g,"'"),c=/\/"/.test(d);import("./m.js").then(function(x){return x/2})`, []string{"./m.js"}},
		{"hashbang", "#!/usr/bin/env node\nimport './a.js'", []string{"./a.js"}},
		{"html comment", "<!-- import('./no.js')\nimport('./yes.js')\n--> import('./no2.js')", []string{"./yes.js"}},
		{"escapes in specifier", `import "./\u0061.js"; import '.\/b.js'`, []string{"./a.js", "./b.js"}},
		{"query and fragment", `import "./a.js?v=1#x"`, []string{"./a.js?v=1#x"}},
		{"worker relative", `new Worker("worker.js"); new SharedWorker('./shared.js', {type: "module"})`, []string{"pin:worker.js", "pin:worker.js@/", "pin:./shared.js", "pin:./shared.js@/"}},
		{"worker root-relative", `new Worker("/js/worker.js")`, []string{"/js/worker.js"}},
		{"worker from new URL", `new Worker(new URL("./worker.js", import.meta.url), { type: "module" })`, []string{"./worker.js"}},
		{"service worker", `navigator.serviceWorker.register("/sw.js"); navigator.serviceWorker.register('my-sw.js', {scope: "/"})`, []string{"pin:/sw.js", "pin:my-sw.js", "pin:my-sw.js@/"}},
		{"service worker new URL", `navigator.serviceWorker.register(new URL("./sw2.js", import.meta.url))`, []string{"pin:./sw2.js"}},
		{"importScripts", `importScripts("a.js", '../b.js'); importScripts(x)`, []string{"a.js", "../b.js"}},
		{"no triggers", `function f(a, b) { return a * 2 + b; }`, nil},
		{"keyword-like identifiers", `const important = 1; const exported = 2; newURL("./no.js"); myimport("./no.js")`, nil},
		{"unterminated string", "const s = 'abc\nimport('./yes.js')", []string{"./yes.js"}},
		{"unicode", "const s = 'é'; const π = 3; import('./ü.js')", []string{"./ü.js"}},
		{"asi before import", "foo()\nimport './a.js'", []string{"./a.js"}},
		{"class body then regex", "class A { m() { return 1 } }\n/\"/.test(x); import('./yes.js')", []string{"./yes.js"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := jsRefStrings(t, tt.js, nil)
			if !slices.Equal(got, tt.want) {
				t.Errorf("jsRefs(%q)\n got  %q\n want %q", tt.js, got, tt.want)
			}
		})
	}
}

// TestJSRefsInlinePage checks scripts whose page is known (inline
// scripts): worker URLs are rewritten against it.
func TestJSRefsInlinePage(t *testing.T) {
	page, _ := url.Parse("https://cdnctl.invalid/demo/index.html")
	got := jsRefStrings(t, `new Worker("w.js"); navigator.serviceWorker.register("sw.js"); import "./a.js"`, page)
	want := []string{"w.js@/demo/index.html", "pin:sw.js@/demo/index.html", "./a.js"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestJSRefsEncode checks that an escaped specifier is written back with
// its own quotes.
func TestJSRefsEncode(t *testing.T) {
	src := `import '.\/a.js'; import("./b.js")`
	base, _ := url.Parse("https://cdnctl.invalid/app.js")
	refs := jsRefs([]byte(src), 0, base, nil, base)
	if len(refs) != 2 {
		t.Fatalf("got %d refs, want 2", len(refs))
	}
	var edits []edit
	for i, r := range refs {
		edits = append(edits, edit{r.start, r.end, encodeRef(r, []string{"./a.0123456789.js", "./b.0123456789.js"}[i])})
	}
	got := string(applyEdits([]byte(src), edits))
	want := `import './a.0123456789.js'; import("./b.0123456789.js")`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestJSUnquote(t *testing.T) {
	for raw, want := range map[string]string{
		`"a"`: "a", `'\x41\u0042\u{43}'`: "ABC", "`a\\`b`": "a`b", `"a\
b"`: "ab",
	} {
		got, ok := jsUnquote(raw)
		if !ok || got != want {
			t.Errorf("jsUnquote(%s) = %q, %v; want %q", raw, got, ok, want)
		}
		if back, _ := jsUnquote(jsQuote(want, raw[0])); back != want {
			t.Errorf("jsQuote(%q) does not round-trip: %q", want, back)
		}
	}
	if _, ok := jsUnquote(`"\u12"`); ok {
		t.Error(`jsUnquote("\u12") succeeded`)
	}
}

// BenchmarkJSRefs measures the scanner on module code.
func BenchmarkJSRefs(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20; i++ {
		sb.WriteString("import { a" + strings.Repeat("x", i%7) + " } from \"./mod.js\";\n")
		sb.WriteString("export function f(a, b) { const re = /[\"']+/g; return `t ${a / b}` + 'import' + a.replace(re, \"\"); } // comment\n")
		sb.WriteString("const o = { k: [1, 2, 3], s: \"str\" }; if (o.k.length > 2) { o.k.push(await import('./lazy.js')) }\n")
	}
	src := []byte(sb.String())
	base, _ := url.Parse("https://cdnctl.invalid/app.js")
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		jsRefs(src, 0, base, nil, base)
	}
}

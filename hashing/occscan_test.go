package hashing

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// occSite is a builder holding only what the occurrence scan looks at:
// the given files, all of which may be renamed.
func occSite(t testing.TB, paths ...string) *builder {
	t.Helper()
	b := &builder{byPath: map[string]*node{}}
	for _, p := range paths {
		n := &node{srcFile: srcFile{logical: p}, kind: kindOf(p)}
		b.nodes = append(b.nodes, n)
		b.byPath[p] = n
	}
	var err error
	if b.site, err = newSite("", b.byPath); err != nil {
		t.Fatal(err)
	}
	b.indexBases()
	return b
}

// occScanOf scans src, the text of the file at from, in the regions given,
// and returns what it found, as "line: target (text)".
func occScanOf(b *builder, from string, src []byte, regions []span) []string {
	s := b.newOccScanner(&node{srcFile: srcFile{logical: from}}, nil)
	s.scan(src, 0, regions)
	var out []string
	for _, o := range s.out {
		out = append(out, fmt.Sprintf("%d: %s (%s)", o.line, o.target.logical, o.text))
	}
	return out
}

// occBothWays scans src with the builder's needles (if any), by looking
// at the runs of the lines that may hold a name (scanLines), and by
// looking at every run, and fails unless all find the same.
func occBothWays(t *testing.T, b *builder, src []byte, regions []span) []string {
	t.Helper()
	if regions == nil {
		// Long enough to be looked at line by line (minLinesRange).
		filler := strings.Repeat("x = y.z;", minLinesRange/8) + "\n"
		occAllWays(t, b, []byte(filler+string(src)+"\n"+filler), nil)
	}
	return occAllWays(t, b, src, regions)
}

func occAllWays(t *testing.T, b *builder, src []byte, regions []span) []string {
	t.Helper()
	got := occScanOf(b, "js/app.js", src, regions)
	needles, lineExts := b.needles, b.lineExts
	b.needles = nil
	lines := occScanOf(b, "js/app.js", src, regions)
	b.lineExts = nil
	want := occScanOf(b, "js/app.js", src, regions)
	b.needles, b.lineExts = needles, lineExts
	if !slices.Equal(got, want) {
		t.Fatalf("searching %q finds\n%s\nlooking at every run of %q finds\n%s", needles, strings.Join(got, "\n"), src, strings.Join(want, "\n"))
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("looking at the lines that may hold a name (%v) finds\n%s\nlooking at every run of %q finds\n%s", lineExts != nil, strings.Join(lines, "\n"), src, strings.Join(want, "\n"))
	}
	return got
}

func TestOccNeedles(t *testing.T) {
	tests := []struct {
		paths []string
		want  []string // nil: every run is looked at
	}{
		{[]string{"img/logo.png", "favicon.svg"}, []string{"%", `\`, "logo.png", "favicon.svg"}},
		// A script's name without ".js" is a module name; a name holding
		// another needs no search of its own.
		{[]string{"pagefind/pagefind.js", "pagefind/pagefind-ui.js", "pagefind/pagefind-ui.css"}, []string{"%", `\`, "pagefind"}},
		// The same base name in two folders is searched once.
		{[]string{"a/icon.svg", "b/icon.svg"}, []string{"%", `\`, "icon.svg"}},
		// A name of fewer than 4 bytes is too common to search.
		{[]string{"js/app.js", "img/logo.png"}, nil},
		{[]string{"a.png"}, []string{"%", `\`, "a.png"}},
	}
	for _, tt := range tests {
		var many []string
		for i := range maxNeedles {
			many = append(many, fmt.Sprintf("img/picture%02d.png", i))
		}
		b := occSite(t, tt.paths...)
		var got []string
		for _, nd := range b.needles {
			got = append(got, string(nd))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: needles %q, want %q", tt.paths, got, tt.want)
		}
		if b := occSite(t, append(many, tt.paths...)...); b.needles != nil {
			t.Errorf("%d names: needles %q, want none (every run looked at)", len(many)+len(tt.paths), b.needles)
		}
	}
}

// TestOccScanSearchesNames checks that searching the few names a site's
// files may be renamed to finds what looking at every run finds: the same
// runs, lines and texts, with escapes, runs cut by escapes, names at the
// ends of runs and regions, modules named without ".js", and escapes
// that change nothing.
func TestOccScanSearchesNames(t *testing.T) {
	b := occSite(t, "img/logo.png", "favicon.svg", "js/workbox-5b38.js", "caf\u00e9.png", "x y.png", "img/50%off.png", `img/a\b.svg`, "img/LICENSE")
	if b.needles == nil {
		t.Fatal("no needles: the test would compare the full scan with itself")
	}
	srcs := []string{
		`a="/img/logo.png";b='favicon.svg'`,
		"line1\nline2 /img/logo.png\nfavicon.svg\n\n\\/img\\/logo.png",
		`x\nlogo.png \x2fimg\x2flogo.png \u002Fimg\u002flogo.png \u002ximg`,
		`define(["./workbox-5b38"],function(){}); ../workbox-5b38 workbox-5b38.js`,
		`width:100%;url(caf%C3%A9.png) caf%c3%a9.png %zz/img/logo.png 50%25`,
		`see img/logo.png. or favicon.svg! x%20y.png x y.png`,
		`https://example.org/img/logo.png //cdn.example.org/favicon.svg "img/logo.png/"`,
		`\\\\\\/img/logo.png \"favicon.svg\" \\n/img/logo.png`,
		`img/logo.pngx img/logo.png-1 xlogo.png img/xlogo.png logo.png`,
		`%`, `\`, `logo.png`, ``, `\u002`, `%4`,
		// Names with a literal "%" or "\\" (not escapes).
		`url(/img/50%off.png) 50%off.png`, `"img/a\b.svg" a\b.svg`,
		// Lines without names between lines with some.
		"x = a.length;\nconst u = \"/img/logo.png\";\n\ty.size + z.svgx\n\\\nfavicon.svg\n../workbox-5b38\r\nw % 2\n",
		"one\ntwo.three\n\n./workbox-5b38\nimg\\/logo.png\nlast line favicon.svg",
		"a\nimg%2Flogo%2Epng\nb\nfavicon%2esvg\n",
		// A name without an extension, found through an escape.
		"a\n\"img\\/LICENSE\"\nb\n",
	}
	for _, src := range srcs {
		occBothWays(t, b, []byte(src), nil)
		// Regions that cut runs, as an HTML page's attribute values do.
		for cut := 1; cut < len(src); cut += 3 {
			occBothWays(t, b, []byte(src), []span{{0, cut}, {cut, len(src)}})
			occBothWays(t, b, []byte(src), []span{{cut / 2, cut}})
		}
	}
	// The names above are found at all (once per file named), escaped
	// too.
	want := []string{"1: img/logo.png (\\x2fimg\\x2flogo.png)", "2: café.png (caf%C3%A9.png)"}
	if got := occBothWays(t, b, []byte(`x\nxlogo.png \x2fimg\x2flogo.png`+"\n"+srcs[4]), nil); !slices.Equal(got, want) {
		t.Errorf("found %q, want %q", got, want)
	}
}

// FuzzOccScan checks that searching names finds what looking at every run
// finds, on any text.
func FuzzOccScan(f *testing.F) {
	for _, s := range []string{`a="/img/logo.png"`, `x(/img/50%off.png)`, `\/img\/logo.png`, `caf%C3%A9.png`, `define(["./workbox-5b38"])`, `see favicon.svg.`} {
		f.Add(s, 0, 0)
	}
	b := occSite(f, "img/logo.png", "favicon.svg", "js/workbox-5b38.js", "caf\u00e9.png", "img/50%off.png")
	f.Fuzz(func(t *testing.T, src string, from, to int) {
		var regions []span
		if from >= 0 && to > from && to <= len(src) {
			regions = []span{{from, to}}
		}
		occBothWays(t, b, []byte(src), regions)
	})
}

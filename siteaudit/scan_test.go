package siteaudit

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// tokens scans text (in pieces of size chunk, 0 for whole) and returns the
// tokens found that hold a "." or a "/" (the others cannot name a file),
// each as "line:token".
func tokens(html bool, text string, chunk int) []string {
	var got []string
	s := newScanner(html, !html, func(t token) {
		if bytes.ContainsAny(t.text, "./") {
			q := ""
			if t.quoted() {
				q = "=q"
			}
			got = append(got, fmt.Sprintf("%d:%s%s", t.line, t.text, q))
		}
	})
	b := []byte(text)
	if chunk <= 0 {
		chunk = len(b) + 1
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		s.Write(b[:n])
		b = b[n:]
	}
	s.Close()
	return got
}

func TestScanner(t *testing.T) {
	tests := []struct {
		name string
		html bool
		text string
		want []string
	}{
		{"css url and import", false, "@import \"a.css\";\nbody{background:url(../img/b.png) no-repeat}", []string{"1:a.css=q", "2:../img/b.png=q"}},
		{"js strings and comments", false, `import("./About-x.js");// see /img/old.png` + "\n" + `const m=["assets/a.js","assets/b.css"]`, []string{"1:./About-x.js=q", "1://", "1:/img/old.png", "2:assets/a.js=q", "2:assets/b.css=q"}},
		{"json escaped slashes", false, `{"src":"\/img\/a.png","u":"\u002Fimg\u002Fb.png","x":"\x2fc.png"}`, []string{"1:/img/a.png=q", "1:/img/b.png=q", "1:/c.png=q"}},
		{"a string in a string", false, `push([1,"{\"logo\":\"\\\/logo.png\"}"])`, []string{"1:/logo.png=q"}},
		{"other escapes end a token", false, `"a.png\nb.png\"c.png"`, []string{"1:a.png", "1:b.png", "1:c.png=q"}},
		{"character references", false, `&lt;img src=&quot;/img/a.png&quot;&gt; &#x2F;b&#47;c.png`, []string{"1:/img/a.png=q", "1:/b/c.png"}},
		{"query and fragment kept", false, `"a.png?v=1#x" srcset="b.png 1x,c.png 2x"`, []string{"1:a.png?v=q", "1:b.png", "1:c.png"}},
		{"a string with a query the script completes", false, `fetch("ngsw.json?ngsw-cache-bust=" + Math.random()); x = "a=b"; y = "c.png?"`, []string{"1:ngsw.json?ngsw-cache-bust=q", "1:Math.random", "1:c.png?=q"}},
		{"lines counted", false, "a\n\r\nb\\\nc `x\n/d.png`", []string{"5:/d.png"}},
		{"too long a token is dropped", false, "data:" + longRun(maxToken+1) + " b.png", []string{"1:b.png"}},
		{"html: tags, not text", true, "<p>See /img/a.png</p>\n<img src=\"/img/b.png\" alt='x > y.png'>\ntext c.png", []string{"2:/img/b.png=q", "2:y.png=q"}},
		{"html: comments skipped", true, "<!-- <img src=a.png> -->\n<a href=b.png>", []string{"2:b.png=q"}},
		{"html: script and style content", true, "<script>fetch(\"/data/a.json\") < 1</script>x.png<style>.h{background:url(/b.png)}</style>", []string{"1:/data/a.json=q", "1:.h", "1:/b.png=q"}},
		{"html: end tag case and a < in a script", true, "<SCRIPT type=module>if(a<b)import('./c.js')</Script>d.png", []string{"1:./c.js=q"}},
		{"html: unquoted attributes", true, "<img src=/i/a.png alt=x><link href=/b.css rel=stylesheet>", []string{"1:/i/a.png=q", "1:/b.css=q"}},
		{"html: a < in text", true, "a < b.png <i>c.png</i> <img src=d.png>", []string{"1:d.png=q"}},
		{"script: lines starting with // are comments", false, "a = \"/x.png\";\n  // see /img/old.png\n/re.png/.test(a) // /c.png\n//# sourceMappingURL=app.js.map\n//@ sourceMappingURL=/b.js.map", []string{"1:/x.png=q", "3:/re.png/.test", "3://", "3:/c.png", "4:app.js.map=q", "5:/b.js.map=q"}},
		{"html: comment lines of inline scripts", true, "<script>\n// fetch(\"/a.json\") </script><img src=/b.png>\n<script>x=1\n //c.png\nfetch('/d.json')</script>", []string{"2:/b.png=q", "5:/d.json=q"}},
		{"html: an escape at the end of a tag", true, "<a href=x.png&>y.png", []string{"1:x.png=q"}},
		// The browser reads the content of these as text, not markup.
		{"html: textarea, title and other text elements", true, "<title>a <img src=a.png></title><TEXTAREA rows=2>\n<img src=\"b.png\"></textarea ><img src=c.png>" +
			"<xmp><a href=d.png></xmp><iframe src=e.html><img src=f.png></iframe><noembed><img src=g.png></noembed><noframes><img src=h.png></noframes>",
			[]string{"2:c.png=q", "2:e.html=q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 3} {
				got := tokens(tt.html, tt.text, chunk)
				if !slices.Equal(got, tt.want) {
					t.Errorf("scan(%q) in pieces of %d =\n  %q\nwant\n  %q", tt.text, chunk, got, tt.want)
				}
			}
		})
	}
}

func longRun(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'A'
	}
	return string(b)
}

// emitted scans text as a script (js) or style sheet with the base names
// bases, in pieces of size chunk (0: whole), and lists every token
// emitted. With skip unset, the lines that cannot name a base are read
// like the others (Write without its line filter).
func emitted(text string, js bool, bases []string, chunk int, skip bool) []string {
	var got []string
	s := newScanner(false, js, func(t token) {
		got = append(got, fmt.Sprintf("%d:%q open=%q close=%q", t.line, t.text, t.open, t.close))
	})
	s.bases = newBaseSet()
	for _, b := range bases {
		s.bases.add(b)
	}
	b := []byte(text)
	if chunk <= 0 {
		chunk = len(b) + 1
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		if skip {
			s.Write(b[:n])
		} else {
			s.write(b[:n])
		}
		b = b[n:]
	}
	s.Close()
	return got
}

// lineFilterTexts are scripts and style sheets for TestLineFilter.
var lineFilterTexts = []string{
	"a = \"/x.png\";\n  // see /img/old.png\n/re.png/.test(a) // /c.png\n//# sourceMappingURL=app.js.map\n//@ sourceMappingURL=/b.js.map",
	"export const u = new URL(\"../img/a.png\", import.meta.url);\nexport function f(a) { return a.length + \"s\".length; }\n",
	"x = 1;\ny = \"img\\u002Fa.png\";\nz = \"img\\\n/logo.png\";\nw = 'a%2Epng';\n",
	"const m = {\"logo\": \"\\/img\\/logo.png\"};\n\n\r\nlet s = `multi\nline /c.png`;\n",
	"body { background: url(../img/b.png) }\n.x { color: red }\n@import \"b.css\";\n",
	"&lt;img src=&quot;/img/a.png&quot;&gt;\nplain text without names.\n&#x2F;b&#47;c.png\n",
	"line one\nline two\nno newline at the end /x.png",
}

var lineFilterBases = []string{"a.png", "old.png", "x.png", "app.js.map", "b.css", "logo.png", "c.png", "b.png"}

// TestLineFilter checks that skipping the lines that cannot name a base
// changes nothing the scanner emits, whole or in pieces.
func TestLineFilter(t *testing.T) {
	for _, text := range lineFilterTexts {
		for _, js := range []bool{true, false} {
			for _, chunk := range []int{0, 1, 3, 7} {
				want := emitted(text, js, lineFilterBases, chunk, false)
				if got := emitted(text, js, lineFilterBases, chunk, true); !slices.Equal(got, want) {
					t.Errorf("scan(%q, js %v) in pieces of %d, lines skipped:\n  %q\nwant\n  %q", text, js, chunk, got, want)
				}
			}
		}
	}
	// A base without an extension: no line is skipped.
	s := newBaseSet()
	s.add("img/LICENSE")
	if !s.lineMayName([]byte("no dot here\n")) {
		t.Error("lineMayName with a base without extension = false")
	}
	s = newBaseSet()
	s.add("img/a.png")
	for line, want := range map[string]bool{"x.png\n": true, "a.pngx\n": true, "a.jpg\n": false, "a%2Epng\n": true, "none\n": false, "a.\n": false} {
		if got := s.lineMayName([]byte(line)); got != want {
			t.Errorf("lineMayName(%q) = %v, want %v", line, got, want)
		}
	}
}

func FuzzLineFilter(f *testing.F) {
	for _, text := range lineFilterTexts {
		f.Add(text, "a.png", uint8(0), true)
	}
	f.Fuzz(func(t *testing.T, text, base string, chunk uint8, js bool) {
		bases := lineFilterBases
		if base != "" {
			bases = append(slices.Clip(bases), base)
		}
		want := emitted(text, js, bases, int(chunk), false)
		if got := emitted(text, js, bases, int(chunk), true); !slices.Equal(got, want) {
			t.Errorf("scan(%q, js %v, base %q) in pieces of %d, lines skipped:\n  %q\nwant\n  %q", text, js, base, chunk, got, want)
		}
	})
}

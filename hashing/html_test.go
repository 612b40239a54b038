package hashing

import (
	"bytes"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"
)

// TestTagName checks that tagName and lowerName give the names the HTML
// tokenizer gives: ASCII letters in lower case (no other letter), NUL as
// U+FFFD, common names and others, short and long.
func TestTagName(t *testing.T) {
	for _, raw := range []string{
		`<SCRIPT src=a.js>`, `<Link rel=x>`, `<img/>`, `<a>`, `<svg:Use x>`, `<x-Custom-Element-Name-Long a=b>`,
		"<di\x00v>", "<k\u212Aey>", `<eCOLÉ>`, "<p\tclass=x>", "<br\n/>", `<` + strings.Repeat("Ab", 20) + `>`,
	} {
		z := xhtml.NewTokenizer(strings.NewReader(raw))
		if tt := z.Next(); tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			t.Fatalf("%q: not a start tag (%v)", raw, tt)
		}
		want, _ := z.TagName()
		if got := tagName([]byte(raw)); got != string(want) {
			t.Errorf("tagName(%q) = %q, want %q (the tokenizer's)", raw, got, want)
		}
	}
	for _, name := range []string{"SRC", "xlink:HREF", "data-Src", "hre\u212A", "a\x00b", strings.Repeat("X", 40)} {
		want := strings.ReplaceAll(string(bytes.Map(func(r rune) rune {
			if 'A' <= r && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}, []byte(name))), "\x00", "\ufffd")
		if got := lowerName([]byte(name)); got != want {
			t.Errorf("lowerName(%q) = %q, want %q", name, got, want)
		}
	}
}

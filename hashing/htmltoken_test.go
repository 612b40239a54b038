package hashing

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"
)

// xnetTokens lists the tokens golang.org/x/net/html's tokenizer gives for
// src, as "type:length", comments and doctypes as "other".
func xnetTokens(src []byte) []string {
	var out []string
	z := xhtml.NewTokenizer(bytes.NewReader(src))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return out
		}
		name := map[xhtml.TokenType]string{
			xhtml.TextToken: "text", xhtml.StartTagToken: "start", xhtml.SelfClosingTagToken: "self-closing",
			xhtml.EndTagToken: "end", xhtml.CommentToken: "other", xhtml.DoctypeToken: "other",
		}[tt]
		out = append(out, fmt.Sprintf("%s:%d", name, len(z.Raw())))
	}
}

// ourTokens lists htmlTokenizer's tokens for src in xnetTokens' form.
func ourTokens(src []byte) []string {
	var out []string
	z := newHTMLTokenizer(src)
	for {
		start := z.pos
		tt := z.next()
		if tt == htmlEnd {
			return out
		}
		name := map[htmlTokenType]string{
			htmlText: "text", htmlStartTag: "start", htmlSelfClosingTag: "self-closing", htmlEndTag: "end", htmlOther: "other",
		}[tt]
		out = append(out, fmt.Sprintf("%s:%d", name, z.pos-start))
	}
}

// tokenizerCases are documents whose tokens are easy to get wrong.
var tokenizerCases = []string{
	"",
	"plain text",
	"<",
	"a<",
	"a</",
	"a < b <3 <> </> <//x>",
	"<!doctype html><html lang=en><head><title>T <b>x</b></title></head></html>",
	"<!DOCTYPE",
	"<!DOCTYPE   ",
	"<!DOC",
	"<!-",
	"<!",
	"<!>",
	"<!-->",
	"<!--->",
	"<!---->",
	"<!-- a -- b --!> c",
	"<!-- a --!x-- > -->",
	"<!-- unterminated -",
	"<!-- unterminated --!",
	"<![CDATA[x]]>",
	"<?xml version=1?>",
	"<a href='x>y'>t</a>",
	"<a href=\"unterminated>",
	"<a href=x/>",
	"<a href=x />",
	"<a href='x'/>",
	"<a/>",
	"<a b/>",
	"<a =b c==d e = f g=>",
	"<a b c d/ e>",
	"<a href=/ href=x/>",
	"<a HREF=1 href=2/>",
	"<a x=1 x=2 y/>",
	"<br/><BR/ ><img src=a.png / >",
	"<script>if (a<b) {}</script>",
	"<script>a</scriptx></script >",
	"<SCRIPT>x</Script>",
	"<script/>a</script>",
	"<script><!-- <script> </script> --> x</script>y",
	"<script><!-- <script>x</script>y</script>z",
	"<script><!--<scripts></script>",
	"<script><!-- -->x</script>",
	"<script><!--- <- -> --><</script>",
	"<script><!-- <SCRIPT/ --- -> <x</script>",
	"<script><!--<script>--!></script>--></script>",
	"<script><!-- --> <script> </script>x</script>",
	"<script><!-- <script> --> </script>x</script>",
	"<script>unterminated",
	"<script>",
	"<style>a{b:url(x.png)}</style>",
	"<style></style>",
	"<textarea><b>x</b></textarea >",
	"<title>a</title/>",
	"<iframe><p></iframe>",
	"<noscript><img src=a.png></noscript>",
	"<noembed>x</noembed><noframes>y</noframes><xmp><a></xmp>",
	"<plaintext><a></plaintext>",
	"<xmp>a</xmp",
	"<p>a\x00b</p><a\x00b c\x00=d>",
	"<p\tclass=a\fid=b\r\n>",
	"</p class=x>",
	"</p",
	"</p attr='unterminated",
	"<a href=x",
	"<a ",
	"<a",
	"<1a><a1>",
	"<a " + strings.Repeat("k=v ", 40) + strings.Repeat("K=w ", 5) + "/>",
	"<a " + strings.Repeat("x", 50) + "=1 " + strings.Repeat("X", 50) + "=2/>",
}

func TestHTMLTokenizerMatchesXNet(t *testing.T) {
	for _, c := range tokenizerCases {
		// Alone, and followed by more (where a token ends shows then).
		for _, doc := range []string{c, c + "x<b>y</b>-->>"} {
			want, got := xnetTokens([]byte(doc)), ourTokens([]byte(doc))
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%q:\n got %v\nwant %v", doc, got, want)
			}
		}
	}
	// Every page of the generator fixtures and the sample site.
	pages := 0
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		pages++
		if want, got := xnetTokens(src), ourTokens(src); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: the tokens differ from x/net/html's", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages < 50 {
		t.Errorf("compared %d pages of testdata, want the fixtures' (at least 50)", pages)
	}
}

func FuzzHTMLTokenizer(f *testing.F) {
	for _, c := range tokenizerCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if want, got := xnetTokens(src), ourTokens(src); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%q:\n got %v\nwant %v", src, got, want)
		}
	})
}

package esi

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// run processes page written in pieces of size n (0: at once) with
// fragments served from frags (a missing one fails).
func run(page string, n int, frags map[string]string) (string, []string, error) {
	var out bytes.Buffer
	var fetched []string
	p := NewProcessor(&out, func(src string) error {
		fetched = append(fetched, src)
		f, ok := frags[src]
		if !ok {
			return errors.New("404")
		}
		out.WriteString(f)
		return nil
	})
	b := []byte(page)
	if n == 0 {
		n = len(b) + 1
	}
	for len(b) > 0 {
		k := min(n, len(b))
		if _, err := p.Write(b[:k]); err != nil {
			return out.String(), fetched, err
		}
		b = b[k:]
	}
	err := p.Close()
	return out.String(), fetched, err
}

func TestProcessor(t *testing.T) {
	frags := map[string]string{"/header": "<h1>Hi</h1>", "/a?x=1&y=2": "A", "/alt": "ALT"}
	tests := []struct {
		name, page, want string
		fetched          []string
		wantErr          bool
	}{
		{"no esi", "<html><p>plain <b>text</b> & <!-- comment --></p></html>", "<html><p>plain <b>text</b> & <!-- comment --></p></html>", nil, false},
		{"include", `<body><esi:include src="/header"/>rest</body>`, "<body><h1>Hi</h1>rest</body>", []string{"/header"}, false},
		{"include with spaces, entities, single quotes", `x<esi:include  src='/a?x=1&amp;y=2' />y`, "xAy", []string{"/a?x=1&y=2"}, false},
		{"include closed by a closing tag", `x<esi:include src="/header"></esi:include>y`, "x<h1>Hi</h1>y", []string{"/header"}, false},
		{"alt", `<esi:include src="/missing" alt="/alt"/>`, "ALT", []string{"/missing", "/alt"}, false},
		{"onerror continue", `a<esi:include src="/missing" onerror="continue"/>b`, "ab", []string{"/missing"}, false},
		{"alt fails too, continue", `a<esi:include src="/m1" alt="/m2" onerror="continue"/>b`, "ab", []string{"/m1", "/m2"}, false},
		{"failure without continue", `a<esi:include src="/missing"/>b`, "a", []string{"/missing"}, true},
		{"remove", "a<esi:remove><esi:include src=\"/header\"/>fallback</esi:remove>b", "ab", nil, false},
		{"esi comment", "a<!--esi <esi:include src=\"/header\"/> kept -->b", "a <h1>Hi</h1> kept b", []string{"/header"}, false},
		{"esi comment", "<!--esi--->", "-", nil, false},
		{"esi:comment", `a<esi:comment text="note"/>b`, "ab", nil, false},
		{"unsupported element: tag removed, content kept", "<esi:try><esi:attempt>x</esi:attempt></esi:try>", "x", nil, false},
		{"near misses", "<es <esi <!-- esi --> <!--es -> --> <esi:", "<es <esi <!-- esi --> <!--es -> --> <esi:", nil, false},
		{"unterminated tag at the end", `a<esi:include src="/header"`, `a<esi:include src="/header"`, nil, false},
		{"include without src", `a<esi:include alt="/alt"/>b`, "ab", nil, false},
	}
	for _, tt := range tests {
		for _, n := range []int{0, 1, 2, 3, 5, 7, 11} {
			got, fetched, err := run(tt.page, n, frags)
			if got != tt.want || (err != nil) != tt.wantErr || fmt.Sprint(fetched) != fmt.Sprint(tt.fetched) {
				t.Errorf("%s (pieces of %d): got %q, fetched %v, err %v; want %q, %v, error %v", tt.name, n, got, fetched, err, tt.want, tt.fetched, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, ErrInclude) {
				t.Errorf("%s: err %v; want ErrInclude", tt.name, err)
			}
		}
	}
}

// TestHeldBackIsBounded: an endless unfinished tag is written through once
// it passes MaxTag, so memory stays bounded.
func TestHeldBackIsBounded(t *testing.T) {
	var out bytes.Buffer
	p := NewProcessor(&out, func(string) error { return nil })
	p.Write([]byte("<esi:include src=\""))
	chunk := []byte(strings.Repeat("x", 1024))
	for range 64 {
		if _, err := p.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if len(p.buf) > MaxTag+len(chunk) {
			t.Fatalf("held back %d bytes; want at most %d", len(p.buf), MaxTag+len(chunk))
		}
	}
	if out.Len() < 60*1024 {
		t.Errorf("wrote %d bytes of a 64 KiB non-tag; want it written through", out.Len())
	}
}

func TestEnabled(t *testing.T) {
	tests := []struct {
		lines []string
		want  bool
	}{
		{[]string{`content="ESI/1.0"`}, true},
		{[]string{`max-age=60, content="ESI/1.0"`}, true},
		{[]string{`content="ESI/1.0 ESI-Inline/1.0", max-age=60`}, true},
		{[]string{`content="ESI/1.0";cdnctl`}, true},
		{[]string{`content="ESI/1.0";akamai`}, false},
		{[]string{`content="ESI/1.0";akamai, content="ESI/1.0";cdnctl`}, true},
		{[]string{`max-age=60`, `content="esi/1.0"`}, true},
		{[]string{`content=ESI/1.0`}, true},
		{[]string{`content="ESI-Inline/1.0"`}, false},
		{[]string{`no-store`}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := Enabled(tt.lines, "cdnctl"); got != tt.want {
			t.Errorf("Enabled(%q) = %v; want %v", tt.lines, got, tt.want)
		}
	}
}

func TestParseAttrs(t *testing.T) {
	got := parseAttrs(` src="/a b" ALT='/c' onerror=continue/`)
	if got["src"] != "/a b" || got["alt"] != "/c" || got["onerror"] != "continue" {
		t.Errorf("parseAttrs = %v", got)
	}
}

package origin

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/siterules"
)

// nextHeading finds a section heading (a "# comment" in a code block is
// not one).
var nextHeading = regexp.MustCompile(`\n#{2,} `)

// docSection returns the text of docs/localedge.md under a heading, up to
// the next heading of any level.
func docSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "localedge.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("docs/localedge.md has no %q", heading)
	}
	rest := doc[i+len(heading)+2:]
	if loc := nextHeading.FindStringIndex(rest); loc != nil {
		rest = rest[:loc[0]]
	}
	return rest
}

// firstBlock returns the first fenced code block of a section.
func firstBlock(t *testing.T, section string) string {
	t.Helper()
	_, after, ok := strings.Cut(section, "```\n")
	if !ok {
		t.Fatal("no code block")
	}
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("unterminated code block")
	}
	return block
}

// TestDocsCleanURLTable holds the origin to the table of docs/localedge.md
// ("Clean URLs and the trailing slash").
func TestDocsCleanURLTable(t *testing.T) {
	tree := map[string]entryKind{
		"index.html": entryFile, "about.html": entryFile, "docs": entryDir, "docs/index.html": entryFile, "a.txt": entryFile,
	}
	stat := func(k string) entryKind { return tree[k] }
	policies := []HTMLHandling{AutoTrailingSlash, ForceTrailingSlash, DropTrailingSlash, NoHTMLHandling}
	rows := 0
	for line := range strings.SplitSeq(docSection(t, "### Clean URLs and the trailing slash"), "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[0]), "`/") {
			continue
		}
		rows++
		paths := strings.Split(cells[0], ",")
		for i, policy := range policies {
			wants := strings.Split(cells[i+1], ",")
			if len(wants) != len(paths) {
				if len(wants) != 1 {
					t.Fatalf("row %q: %d answers for %d paths", line, len(wants), len(paths))
				}
				for len(wants) < len(paths) {
					wants = append(wants, wants[0])
				}
			}
			for j, p := range paths {
				p = strings.Trim(strings.TrimSpace(p), "`")
				want := strings.Trim(strings.TrimSpace(wants[j]), "`")
				key, slash := splitPath(t, p)
				got := describe(resolve(key, slash, policy, stat))
				if got != want && !(want == "200" && strings.HasPrefix(got, "200 ")) {
					t.Errorf("docs: %s %s = %q; the table says %q", policy, p, got, want)
				}
			}
		}
	}
	if rows < 8 {
		t.Errorf("found %d rows in the table", rows)
	}
}

// TestDocsRulesExamples: the _redirects and _headers examples of
// docs/localedge.md parse, and do what the text says over HTTP.
func TestDocsRulesExamples(t *testing.T) {
	redirects := firstBlock(t, docSection(t, "### `_redirects`"))
	headers := firstBlock(t, docSection(t, "### `_headers`"))
	if _, err := siterules.ParseRedirects([]byte(redirects)); err != nil {
		t.Fatalf("the _redirects example: %v", err)
	}
	if _, err := siterules.ParseHeaders([]byte(headers)); err != nil {
		t.Fatalf("the _headers example: %v", err)
	}
	dir := writeTree(t, map[string]string{
		"index.html": "<h1>home</h1>", "legacy": "old file", "photo.jpg": "JPEG",
		"_redirects": redirects, "_headers": headers,
	})
	srv := startOrigin(t, dir, Options{})
	for path, want := range map[string]string{
		"/home":                  "301 /",
		"/blog/2024/post":        "301 /posts/2024/post",
		"/news/2024/launch":      "308 /articles/2024-launch",
		"/search?q=x":            "302 /find?engine=site",
		"/store?id=7":            "301 /items/7",
		"/app-shell":             "200 ",
		"/legacy":                "301 /new", // forced over the file
		"/twitch":                "302 https://twitch.tv/cdnctl",
		"/movies/Up":             "404 ",
		"/_next/static/chunk.js": "404 ",
	} {
		r := do(t, "GET", srv.URL+path, nil)
		if got := strconv.Itoa(r.status) + " " + r.header.Get("Location"); got != want {
			t.Errorf("GET %s = %q; want %q", path, got, want)
		}
		if r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: X-Frame-Options %q; want DENY from /*", path, r.header.Get("X-Frame-Options"))
		}
	}
	r := do(t, "GET", srv.URL+"/photo.jpg", nil)
	if r.header.Get("Referrer-Policy") != "" || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /photo.jpg: Referrer-Policy %q; want it removed by /*.jpg", r.header.Get("Referrer-Policy"))
	}
	if r := do(t, "GET", srv.URL+"/movies/Up", nil); r.header.Get("X-Movie") != "Up" {
		t.Errorf("X-Movie = %q; want Up", r.header.Get("X-Movie"))
	}
}

package origin

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCloudflarePages holds the folder origin, in Cloudflare's mode
// (ForceRedirects: every _redirects rule applies, files or not), to what
// Cloudflare Pages' own asset server answered for the same site
// (testdata/pages/pages.tsv, recorded from `wrangler pages dev` by
// testdata/pages/record.sh): status, Location, the file served, and the
// _headers rules applied.
//
// Where wrangler answered 502 ("Could not serve static asset: ENOTDIR",
// its local file lookup failing on a path under a file, or on the rules
// files it does not list as assets), production Pages has no such asset:
// the folder origin answers the site's 404 page.
func TestCloudflarePages(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "pages", "pages.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	srv := startOrigin(t, filepath.Join("testdata", "pages", "site"), Options{ForceRedirects: true})
	rows := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			t.Fatalf("pages.tsv: %q: want path, status, location, body, x-frame-options, x-docs", line)
		}
		rows++
		path, status, location, body, xfo, xdocs := f[0], f[1], f[2], f[3], f[4], f[5]
		if status == "502" && strings.HasPrefix(body, "[wrangler] Could not serve static asset") {
			status, body, xfo = "404", "file:404.html", "DENY"
		}
		r := do(t, "GET", srv.URL+path, nil)
		got := []string{strconv.Itoa(r.status), dash(r.header.Get("Location")), dash(bodyOf(r)), dash(r.header.Get("X-Frame-Options")), dash(r.header.Get("X-Docs"))}
		want := []string{status, location, body, xfo, xdocs}
		if strings.Join(got, "\t") != strings.Join(want, "\t") {
			t.Errorf("GET %s = %q; Cloudflare Pages: %q", path, got, want)
		}
	}
	if rows < 25 {
		t.Errorf("pages.tsv has %d rows", rows)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// bodyOf is the body as pages.tsv records it: the file's, none for a
// redirect.
func bodyOf(r response) string {
	if r.status >= 300 && r.status < 400 {
		return ""
	}
	return r.body
}

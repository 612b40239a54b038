package siterules

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNetlifyRedirector compares siterules with Netlify's own redirect
// engine (testdata/netlify/netlify.tsv, recorded by record.sh with the
// netlify-redirector package that `netlify dev` runs) on the same
// _redirects and requests: the rule chosen, its target with the captures,
// its status (Netlify's default, 301, for the line without one) and "!".
//
// One difference is by design, as on Cloudflare Pages: a source matches
// the path exactly, while Netlify also matches it with a trailing slash
// added or removed (/home/ for /home, /moved for /moved/*). Those
// requests fall through to the next rule here.
func TestNetlifyRedirector(t *testing.T) {
	dir := filepath.Join("testdata", "netlify")
	rules, err := os.ReadFile(filepath.Join(dir, "_redirects"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRedirects(rules)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "netlify.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	trailingSlash := map[string]bool{"/home/": true, "/moved": true, "/news/2024/launch/": true, "/first/": true}
	rows := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			t.Fatalf("netlify.tsv: %q: want host, path, query, from, to, status, force", line)
		}
		rows++
		host, path, query := f[0], f[1], f[2]
		want := strings.Join(f[3:], " ")
		if trailingSlash[path] {
			want = "/* /index.html 200 false"
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		got := "- - - -"
		if m, ok := r.Match(host, path, q); ok {
			status := m.Rule.Status
			if status == 0 {
				status = 301 // Netlify's default
			}
			from := m.Rule.From.String()
			if i := strings.Index(from, "://"); i >= 0 {
				// Netlify names a host rule by its path.
				from = from[i+3:]
				from = from[strings.IndexByte(from, '/'):]
			}
			got = strings.Join([]string{from, m.Location(""), strconv.Itoa(status), strconv.FormatBool(m.Rule.Force)}, " ")
		}
		if got != want {
			t.Errorf("%s%s?%s: %q; Netlify's engine: %q", host, path, query, got, want)
		}
	}
	if rows < 20 {
		t.Errorf("netlify.tsv has %d rows", rows)
	}
}

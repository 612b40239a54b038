package hashing_test

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/sample"
)

// TestSampleSiteResolves fingerprints the sample site and then, with a
// parser of its own, follows every reference of every HTML and CSS file
// of the output: each must name a file that exists in the output.
func TestSampleSiteResolves(t *testing.T) {
	out := filepath.Join(t.TempDir(), "site")
	opts := hashing.DirOptions{Options: hashing.Options{
		Encodings: []string{hashing.EncodingBrotli, hashing.EncodingGzip},
		BaseURL:   "https://www.example.test/",
		Strict:    true,
	}}
	res, err := hashing.Fingerprint(context.Background(), sample.Site(), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Fingerprinted < 10 || res.Stats.Kept < 5 {
		t.Fatalf("stats %+v: the sample site should have many assets and pages", res.Stats)
	}
	site := os.DirFS(out)
	exists := func(p string) bool {
		info, err := fs.Stat(site, p)
		return err == nil && !info.IsDir()
	}
	root, _ := url.Parse("https://www.example.test/")
	checked, hashed := 0, 0
	check := func(file, ref string) {
		t.Helper()
		ref = strings.TrimSpace(ref)
		if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "data:") || strings.HasPrefix(ref, "mailto:") {
			return
		}
		u, err := url.Parse(ref)
		if err != nil {
			t.Errorf("%s: unparsable reference %q", file, ref)
			return
		}
		abs := root.ResolveReference(&url.URL{Path: file}).ResolveReference(u)
		if abs.Host != root.Host {
			return // another site
		}
		p := strings.TrimPrefix(abs.Path, "/")
		if p == "" || strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		checked++
		if _, _, ok := hashing.ParseFingerprint(p); ok {
			hashed++
		}
		if !exists(p) {
			t.Errorf("%s: %q names %s, which is not in the output", file, ref, p)
		}
	}
	cssURL := regexp.MustCompile(`url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]|image-set\(\s*['"]([^'"]+)['"]`)
	checkCSS := func(file, css string) {
		for _, m := range cssURL.FindAllStringSubmatch(css, -1) {
			check(file, m[1]+m[2]+m[3])
		}
	}
	err = fs.WalkDir(site, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(site, p)
		if err != nil {
			return err
		}
		switch path.Ext(p) {
		case ".css":
			checkCSS(p, string(data))
		case ".html":
			doc, err := html.Parse(strings.NewReader(string(data)))
			if err != nil {
				return err
			}
			for n := range doc.Descendants() {
				if n.Type == html.TextNode && n.Parent != nil && n.Parent.Data == "style" {
					checkCSS(p, n.Data)
				}
				if n.Type != html.ElementNode {
					continue
				}
				for _, a := range n.Attr {
					switch a.Key {
					case "src", "href", "poster", "data":
						check(p, a.Val)
					case "srcset":
						for _, cand := range strings.Split(a.Val, ",") {
							if f := strings.Fields(cand); len(f) > 0 {
								check(p, f[0])
							}
						}
					case "style":
						checkCSS(p, a.Val)
					case "content":
						if strings.HasPrefix(a.Val, "https://") {
							check(p, a.Val)
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 60 || hashed < 30 {
		t.Fatalf("checked %d references (%d to hashed names): the walk missed the site's references", checked, hashed)
	}
	t.Logf("checked %d references, %d to fingerprinted files", checked, hashed)
}

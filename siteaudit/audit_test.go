package siteaudit_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/bench/sites/refcheck"
	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/siteaudit"
)

// fixtures are the real generator builds of hashing/testdata/sites.
var fixtures = []string{"vite-vue", "next", "vitepress", "starlight", "hugo", "astro", "sveltekit", "eleventy", "docusaurus", "angular", "jekyll", "gatsby"}

const fixtureHost = "fixture.example"

// copySite copies the build src into dst, every file but the pages
// written under another name (rename) and nothing rewritten, and returns
// the manifest saying so.
func copySite(t *testing.T, src, dst string, rename func(string) bool) *hashing.Manifest {
	t.Helper()
	m := &hashing.Manifest{Version: hashing.ManifestVersion, Algorithm: "sha256", Files: map[string]hashing.Entry{}}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := filepath.ToSlash(rel)
		out := name
		if rename(name) {
			out = hashing.FingerprintName(name, "0123456789")
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dp := filepath.Join(dst, filepath.FromSlash(out))
		if err := os.MkdirAll(filepath.Dir(dp), 0o755); err != nil {
			return err
		}
		m.Files[name] = hashing.Entry{Path: out, Fingerprinted: out != name}
		return os.WriteFile(dp, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func notPage(name string) bool {
	return !strings.HasSuffix(name, ".html")
}

// TestCheckFixtures: on each real build, nothing renamed, the audit finds
// nothing (no false alarm on a generator's own output); with every file but
// the pages renamed and no reference rewritten, it finds every reference
// the independent scan of bench/sites/refcheck finds dangling.
func TestCheckFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			src := filepath.Join("..", "hashing", "testdata", "sites", fx)
			opts := siteaudit.Options{BaseURL: "https://" + fixtureHost + "/"}

			same := t.TempDir()
			m := copySite(t, src, same, func(string) bool { return false })
			rep, err := siteaudit.Check(context.Background(), same, m, opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Total != 0 || rep.Files == 0 {
				t.Errorf("the build as it is: %d files scanned, %d findings, want none: %v", rep.Files, rep.Total, rep.Findings)
			}

			broken := t.TempDir()
			m = copySite(t, src, broken, notPage)
			rep, err = siteaudit.Check(context.Background(), broken, m, opts)
			if err != nil {
				t.Fatal(err)
			}
			dangling, err := refcheck.Check(broken, refcheck.Options{Original: src, Hosts: []string{fixtureHost}})
			if err != nil {
				t.Fatal(err)
			}
			if len(dangling) == 0 {
				t.Fatal("refcheck finds no dangling reference once every file is renamed")
			}
			found := map[string]bool{}
			for _, f := range rep.Findings {
				found[fmt.Sprintf("%s:%d:%s", f.File, f.Line, f.Source)] = true
			}
			missed := 0
			for _, d := range dangling {
				target := d.Target
				if e, ok := m.Files[target]; !ok || e.Path == target {
					continue // refcheck resolved it elsewhere than a renamed file
				}
				if !found[fmt.Sprintf("%s:%d:%s", d.File, d.Line, target)] {
					missed++
					t.Errorf("the audit misses %v", d)
				}
			}
			t.Logf("%s: %d files (%d bytes) scanned, %d findings; refcheck: %d dangling", fx, rep.Files, rep.Bytes, rep.Total, len(dangling))
		})
	}
}

// TestAuditorSourceExists: a file already fingerprinted in the source is
// listed in the manifest under its plain name, which no source file had;
// a string naming that plain name is not the output's fault.
func TestAuditorSourceExists(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	write := func(dir, name, body string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page := `<script src="/app.0123456789.js"></script><script>/* app.js was the old name */ fetch("/data.json")</script>`
	write(src, "index.html", page)
	write(src, "app.0123456789.js", "1")
	write(src, "data.json", "{}")
	write(out, "index.html", page)
	write(out, "app.0123456789.js", "1")
	write(out, "data.9876543210.json", "{}")
	res := &hashing.Result{Manifest: &hashing.Manifest{Files: map[string]hashing.Entry{
		"index.html": {Path: "index.html"},
		"app.js":     {Path: "app.0123456789.js", Fingerprinted: true},
		"data.json":  {Path: "data.9876543210.json", Fingerprinted: true},
	}}}
	a := &siteaudit.Auditor{Source: os.DirFS(src)}
	err := a.Audit(context.Background(), out, res)
	var ae *siteaudit.Error
	if !errorsAs(err, &ae) {
		t.Fatalf("Audit = %v; want a *siteaudit.Error", err)
	}
	if len(ae.Report.Findings) != 1 || ae.Report.Findings[0].Source != "data.json" || ae.Report.Findings[0].Line != 1 {
		t.Errorf("findings = %v; want only data.json's", ae.Report.Findings)
	}
	for _, want := range []string{`index.html:1: "/data.json" names data.json, which the output has only as data.9876543210.json`, "--audit=warn"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}

	// Warn: the same findings, no error.
	a = &siteaudit.Auditor{Source: os.DirFS(src), Warn: true}
	if err := a.Audit(context.Background(), out, res); err != nil || a.Report.Total != 1 {
		t.Errorf("Warn: Audit = %v with %v findings; want nil and 1", err, a.Report)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestCheck: which strings of which files are findings. The site has
// img/logo.png renamed to img/logo.0123456789.png, and img/kept.png kept.
func TestCheck(t *testing.T) {
	tests := []struct {
		file, body string
		want       []string // "line:url" of the findings
	}{
		{"img/a.css", "a{background:url(logo.png)}\nb{background:url('kept.png')}", []string{"1:logo.png"}},
		{"img/b.css", "/* logo.png is the logo */ a{background:url(/img/logo.png?v=1)}", []string{"1:/img/logo.png?v"}},
		{"img/c.js", `const a = "logo.png";` + "\n" + `console.error("logo.png not found"); // logo.png` + "\n" + `const b = '../img/logo.png'`, []string{"1:logo.png", "3:../img/logo.png"}},
		{"d.json", `{"icons":[{"src":"img/logo.png"}],"name":"logo.png"}`, []string{"1:img/logo.png"}},
		{"img/e.txt", "logo.png: the logo\n/img/logo.png\n", []string{"2:/img/logo.png"}},
		{"f.html", "<p>img/logo.png</p><img src=img/logo.png alt=\"the logo.png\"><script>x=\"img\\/logo.png\"</script>\n<!-- <img src=img/logo.png> -->", []string{"1:img/logo.png"}},
		{"g.xml", "<url><loc>https://www.example.com/img/logo.png</loc><image:loc>https://other.example/img/logo.png</image:loc></url>", []string{"1:https://www.example.com/img/logo.png"}},
		{"h.svg", `<svg><image href="img/logo.png"/><use href="img/kept.png#x"/></svg>`, []string{"1:img/logo.png"}},
		{"i.js.map", `{"sources":["img/logo.png"]}`, nil}, // source maps are not scanned
		{"img/j.png", "logo.png", nil},                    // nor binaries
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{tt.file: tt.body, "img/logo.0123456789.png": "png", "img/kept.png": "png"}
			m := &hashing.Manifest{Files: map[string]hashing.Entry{
				tt.file:        {Path: tt.file},
				"img/logo.png": {Path: "img/logo.0123456789.png", Fingerprinted: true},
				"img/kept.png": {Path: "img/kept.png"},
			}}
			for name, body := range files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := siteaudit.Check(context.Background(), dir, m, siteaudit.Options{BaseURL: "https://www.example.com/"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				if f.File != tt.file || f.Source != "img/logo.png" || f.Output != "img/logo.0123456789.png" {
					t.Errorf("finding %+v", f)
				}
				got = append(got, fmt.Sprintf("%d:%s", f.Line, f.URL))
			}
			if !slices.Equal(got, tt.want) || rep.Total != len(tt.want) {
				t.Errorf("Check(%s %q) = %q (total %d); want %q", tt.file, tt.body, got, rep.Total, tt.want)
			}
		})
	}
}

// TestAuditorRecordsPasses: a pass is recorded in the output folder and
// trusted while the manifest is the same; a failure is never recorded.
func TestAuditorRecordsPasses(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "index.html"), []byte(`<img src="/logo.0123456789.png">`), 0o644)
	os.WriteFile(filepath.Join(out, "logo.0123456789.png"), []byte("png"), 0o644)
	res := &hashing.Result{Manifest: &hashing.Manifest{Files: map[string]hashing.Entry{
		"index.html": {Path: "index.html", SHA256: "a"},
		"logo.png":   {Path: "logo.0123456789.png", Fingerprinted: true},
	}}}
	a := &siteaudit.Auditor{}
	if err := a.Audit(context.Background(), out, res); err != nil || a.Report.Cached || a.Report.Files != 1 {
		t.Fatalf("first audit: %v, %+v", err, a.Report)
	}
	if _, err := os.Stat(filepath.Join(out, ".cdnctl", "audit.json")); err != nil {
		t.Fatalf("no record of the pass: %v", err)
	}
	if err := a.Audit(context.Background(), out, res); err != nil || !a.Report.Cached || a.Report.Files != 1 {
		t.Fatalf("second audit: %v, %+v; want the recorded pass", err, a.Report)
	}

	// The same output written again into a new folder (fingerprint's
	// staging folder): the pass recorded in the folder it replaces counts,
	// and is recorded in the new one.
	again := t.TempDir()
	os.CopyFS(again, os.DirFS(out))
	os.RemoveAll(filepath.Join(again, ".cdnctl"))
	b := &siteaudit.Auditor{Previous: out}
	if err := b.Audit(context.Background(), again, res); err != nil || !b.Report.Cached {
		t.Fatalf("new folder, same manifest: %v, %+v; want the pass recorded in Previous", err, b.Report)
	}
	if _, err := os.Stat(filepath.Join(again, ".cdnctl", "audit.json")); err != nil {
		t.Errorf("the pass is not recorded in the new folder: %v", err)
	}

	// The page changes (its SHA-256 in the manifest too): scanned again,
	// and the failure is not recorded.
	os.WriteFile(filepath.Join(out, "index.html"), []byte(`<img src="/logo.png">`), 0o644)
	res.Manifest.Files["index.html"] = hashing.Entry{Path: "index.html", SHA256: "b"}
	var ae *siteaudit.Error
	if err := a.Audit(context.Background(), out, res); !errors.As(err, &ae) || a.Report.Cached {
		t.Fatalf("changed page: %v, %+v; want a finding", err, a.Report)
	}
	a.Warn = true
	if err := a.Audit(context.Background(), out, res); err != nil || a.Report.Cached || a.Report.Total != 1 {
		t.Fatalf("changed page, warn: %v, %+v", err, a.Report)
	}
	if err := a.Audit(context.Background(), out, res); err != nil || a.Report.Cached {
		t.Fatalf("a failed audit was recorded as a pass: %+v", a.Report)
	}
}

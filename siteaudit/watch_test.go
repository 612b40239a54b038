package siteaudit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/siteaudit"
)

// TestAuditorWritten: files handed to the auditor as they are written are
// not read back, and give the findings a scan of the folder gives.
func TestAuditorWritten(t *testing.T) {
	files := map[string]string{
		"img/a.css":  "a{background:url(logo.png)}\nb{background:url('kept.png')}",
		"img/c.js":   `const a = "logo.png";` + "\n" + `console.error("logo.png not found"); // logo.png` + "\n" + `const b = '../img/logo.png'`,
		"d.json":     `{"icons":[{"src":"img/logo.png"}],"name":"logo.png"}`,
		"img/e.txt":  "logo.png: the logo\n/img/logo.png\n",
		"f.html":     "<p>img/logo.png</p><img src=img/logo.png alt=\"the logo.png\"><script>x=\"img\\/logo.png\"</script>\n<!-- <img src=img/logo.png> -->",
		"h.svg":      `<svg><image href="img/logo.png"/><use href="img/kept.png#x"/></svg>`,
		"img/k.html": `<img src="kept.png"><img src="/img/logo.0123456789.png">`,
	}
	// kept.png may be renamed when the files are planned, and is not in
	// the end: the strings naming it are no findings.
	disk, written := auditBothWays(t, files, map[string]string{
		"img/logo.png": "img/logo.0123456789.png",
		"img/kept.png": "img/kept.png",
	})
	if disk.Total == 0 {
		t.Fatal("the scan of the folder finds nothing: the test proves nothing")
	}
	sameReports(t, written, disk)
}

// TestAuditorWatchesFingerprint: on each real build, an audit that watched
// fingerprint write the output reports what a scan of the output folder
// reports, and every file it was handed is in the output with the bytes
// it was handed.
func TestAuditorWatchesFingerprint(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			src := filepath.Join("..", "hashing", "testdata", "sites", fx)
			out := filepath.Join(t.TempDir(), "out")
			rec := &recorder{}
			a := &siteaudit.Auditor{Source: os.DirFS(src), Options: siteaudit.Options{BaseURL: "https://" + fixtureHost + "/", Skip: []string{hashing.DefaultManifestName}}}
			res, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{
				Options: hashing.Options{BaseURL: "https://" + fixtureHost + "/"},
				Audit:   a.Audit,
				Watch:   watchers{a, rec},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.written) == 0 {
				t.Fatal("no file handed to the watcher")
			}
			for name, data := range rec.written {
				b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
				if err != nil || string(b) != data {
					t.Errorf("%s handed to the watcher is not the output file (%v)", name, err)
				}
			}
			for logical, e := range res.Manifest.Files {
				if e.Path != logical && !slices.Contains(rec.planned, logical) {
					t.Errorf("the manifest lists %s under %s, which was not planned as a name that may be", e.Path, logical)
				}
			}
			rep, err := siteaudit.Check(context.Background(), out, res.Manifest, siteaudit.Options{BaseURL: "https://" + fixtureHost + "/", Skip: []string{hashing.DefaultManifestName}})
			if err != nil {
				t.Fatal(err)
			}
			if a.Report.Files != rep.Files || a.Report.Bytes != rep.Bytes || a.Report.Total != rep.Total || a.Report.Cached {
				t.Errorf("watching audit: %+v; the scan of the output: %+v", a.Report, rep)
			}

			// A run that changes nothing writes nothing, but still tells
			// the watcher it started (so it forgets the last run's files).
			rec.written = nil
			if _, err := hashing.FingerprintDir(context.Background(), src, out, hashing.DirOptions{
				Options: hashing.Options{BaseURL: "https://" + fixtureHost + "/"},
				Audit:   a.Audit,
				Watch:   watchers{a, rec},
			}); err != nil {
				t.Fatal(err)
			}
			if rec.written == nil || len(rec.written) != 0 {
				t.Errorf("unchanged re-run: planned %v, wrote %d files; want planned and none written", rec.written != nil, len(rec.written))
			}
		})
	}
}

// recorder records what a watcher is handed.
type recorder struct {
	planned []string
	mu      chan struct{}
	written map[string]string
}

func (r *recorder) Planned(may []string) {
	r.planned = may
	r.mu = make(chan struct{}, 1)
	r.written = map[string]string{}
}

func (r *recorder) Written(name string, data []byte) {
	r.mu <- struct{}{}
	r.written[name] = string(data)
	<-r.mu
}

type watchers []hashing.OutputWatcher

func (ws watchers) Planned(may []string) {
	for _, w := range ws {
		w.Planned(may)
	}
}

func (ws watchers) Written(name string, data []byte) {
	for _, w := range ws {
		w.Written(name, data)
	}
}

// TestAuditorWrittenFewNames: when few files may be renamed, a file
// handed as written that holds none of their names is not scanned; the
// findings are still those of a scan of the folder, names spelt with
// percent escapes included.
func TestAuditorWrittenFewNames(t *testing.T) {
	files := map[string]string{
		"a.js":          `const a = "img/lo%67o.png", b = "/img%2Flogo.png", c = "%2e/img/logo%2Epng";`,
		"b.css":         `a{background:url("data:image/svg+xml,%3Csvg%3E%3C/svg%3E")}` + "\nb{background:url(img\\/logo.png)}",
		"c.json":        `{"x":"100%","y":"%zz","z":"%41"}`,
		"d.html":        `<img src="img/other.png"><a href="x%20y.html">`,
		"e.js":          `x = a%b; y = "img/log" + "o.png"`,
		"f.js":          "// none of the names\n",
		"img/g.html":    `<img src=lo%67o.png><img src="logo.0123456789.png">`,
		"img/h.svg":     `<svg><image href="%6C%6F%67%6F.png"/></svg>`,
		"img/i.txt":     "/img/lo%67o.png\n",
		"j.xml":         `<loc>https://example.com/x%2Fy</loc>`,
		"k.webmanifest": `{"icons":[{"src":"img/logo.png"}]}`,
	}
	disk, written := auditBothWays(t, files, map[string]string{
		"img/logo.png":  "img/logo.0123456789.png",
		"img/other.png": "img/other.png",
	})
	for _, want := range []string{"a.js:1:img/lo%67o.png:img/logo.png", "img/g.html:1:lo%67o.png:img/logo.png", "img/h.svg:1:%6C%6F%67%6F.png:img/logo.png", "a.js:1:/img%2Flogo.png:img/logo.png"} {
		if !slices.Contains(findingLines(disk), want) {
			t.Fatalf("the scan of the folder does not find %s (it finds %q): the test proves nothing", want, findingLines(disk))
		}
	}
	sameReports(t, written, disk)
}

// auditBothWays writes files and the targets of renamed (source name →
// output name; an output equal to its source keeps its name) into a
// folder, and audits them twice: by a scan of the folder, and handed to
// an auditor as written (every source of renamed planned as renamable),
// with each file removed from the folder once handed, so that it cannot
// be read back.
func auditBothWays(t *testing.T, files, renamed map[string]string) (disk, written *siteaudit.Report) {
	t.Helper()
	m := &hashing.Manifest{Files: map[string]hashing.Entry{}}
	dir := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var planned []string
	for src, out := range renamed {
		m.Files[src] = hashing.Entry{Path: out, Fingerprinted: out != src}
		planned = append(planned, src)
		write(out, "png")
	}
	slices.Sort(planned)
	for name, body := range files {
		m.Files[name] = hashing.Entry{Path: name}
		write(name, body)
	}
	res := &hashing.Result{Manifest: m}

	d := &siteaudit.Auditor{Warn: true}
	if err := d.Audit(context.Background(), dir, res); err != nil {
		t.Fatal(err)
	}
	a := &siteaudit.Auditor{Warn: true}
	a.Planned(planned)
	for name, body := range files {
		a.Written(name, []byte(body))
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Audit(context.Background(), dir, res); err != nil {
		t.Fatal(err)
	}
	return d.Report, a.Report
}

// findingLines lists a report's findings as file:line:url:source.
func findingLines(rep *siteaudit.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, fmt.Sprintf("%s:%d:%s:%s", f.File, f.Line, f.URL, f.Source))
	}
	return out
}

// sameReports fails unless the audit of the files handed as written
// reports what the folder's scan reports.
func sameReports(t *testing.T, written, disk *siteaudit.Report) {
	t.Helper()
	if got, want := findingLines(written), findingLines(disk); !slices.Equal(got, want) || written.Total != disk.Total {
		t.Errorf("findings of the files handed as written:\n%q\nwant those of the folder's scan:\n%q", got, want)
	}
	if written.Files != disk.Files || written.Bytes != disk.Bytes {
		t.Errorf("handed as written: %d files, %d bytes; the folder's scan: %d files, %d bytes", written.Files, written.Bytes, disk.Files, disk.Bytes)
	}
}

// Package siteaudit checks a fingerprinted site after it was written: every
// local URL-like string in its text files (HTML, CSS, JavaScript, JSON,
// text, XML, SVG, web manifests, feeds) that names a source file must
// name a file of the output. A string that still names a file by the name
// it had in the source, when fingerprint wrote that file under another
// name, is a reference fingerprint did not rewrite: the browser, a
// runtime or a service worker asking for it gets a 404.
//
// It is the safety net of cdnctl fingerprint and cdnctl deploy, for the
// cases the fingerprinting rules miss. So it shares nothing with package
// hashing's reference extraction: it parses no language (see the scanner
// in scan.go) and only needs the manifest (each source path and the output
// path it was written to) and the output's files.
package siteaudit

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/cdnctl/cdnctl/hashing"
)

// Options configure Check.
type Options struct {
	// BaseURL is where the site is served (hashing.Options.BaseURL):
	// absolute URLs on its host are local, and its path is the prefix of
	// root-relative ones. Empty: absolute URLs are not checked.
	BaseURL string
	// Skip lists output paths (slash-separated) not scanned: cdnctl's
	// manifest and the Vite-compatible one, which name the source files
	// by their source names on purpose.
	Skip []string
	// SourceExists reports whether the source had a file at a path
	// (slash-separated). Nil means every logical path of the manifest
	// was a source file; it is asked only about the paths a string
	// names, so it may stat the source lazily. (A source file already
	// fingerprinted, "app.3f9a1c0e2b.js", is listed in the manifest under
	// "app.js", which was not a source file.)
	SourceExists func(name string) bool
	// Workers bounds the files read at once (0: the number of CPUs).
	Workers int
	// MaxFindings bounds the findings kept (0: 1000); Report.Total
	// counts them all.
	MaxFindings int
}

// Finding is a string of the output that names a source file by its
// source name, which the output does not have.
type Finding struct {
	// File is the output file holding the string (slash-separated,
	// relative to the output folder), Line its 1-based line.
	File string `json:"file"`
	Line int    `json:"line"`
	// SourceFile is File's path in the source (the same when it kept
	// its name): the file to look at.
	SourceFile string `json:"source_file"`
	// URL is the string as found (escapes of "/" undone).
	URL string `json:"url"`
	// Source is the source file it names; Output where that file is in
	// the output.
	Source string `json:"source"`
	Output string `json:"output"`
}

func (f Finding) String() string {
	where := fmt.Sprintf("%s:%d", f.File, f.Line)
	if f.SourceFile != "" && f.SourceFile != f.File {
		where = fmt.Sprintf("%s:%d (%s in the output)", f.SourceFile, f.Line, f.File)
	}
	return fmt.Sprintf("%s: %q names %s, which the output has only as %s", where, f.URL, f.Source, f.Output)
}

// Report is what Check found.
type Report struct {
	// Files and Bytes count the files scanned.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Findings are sorted by file and line, at most Options.MaxFindings;
	// Total counts them all.
	Findings []Finding `json:"findings"`
	Total    int       `json:"total"`
	// Cached is set when the output is the one an earlier audit passed
	// (see Auditor.Audit): nothing was scanned again.
	Cached bool `json:"cached,omitempty"`
}

// textExts are the extensions of the files scanned.
var textExts = map[string]bool{
	".html": true, ".htm": true, ".xhtml": true, ".css": true, ".js": true, ".mjs": true, ".cjs": true,
	".json": true, ".txt": true, ".xml": true, ".svg": true, ".webmanifest": true, ".rss": true, ".atom": true,
}

// htmlExts are scanned as HTML: tags and the content of scripts and style
// sheets, not the page's text.
var htmlExts = map[string]bool{".html": true, ".htm": true, ".xhtml": true}

// jsExts are scripts: a line starting with "//" is a comment, not a
// request (but for a sourceMappingURL).
var jsExts = map[string]bool{".js": true, ".mjs": true, ".cjs": true}

// Check scans the output in dir, described by m, and returns what it found.
func Check(ctx context.Context, dir string, m *hashing.Manifest, opts Options) (*Report, error) {
	return check(ctx, dir, m, opts, nil)
}

// check is Check, with the files of pre scanned already (as they were
// written: see Auditor.Written), not read again.
func check(ctx context.Context, dir string, m *hashing.Manifest, opts Options, pre map[string]scanned) (*Report, error) {
	s, err := siteOf(m, opts)
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for _, p := range opts.Skip {
		skip[p] = true
	}
	var files []string
	logical := map[string]string{}
	for l, e := range m.Files {
		if _, dup := logical[e.Path]; dup || skip[e.Path] || !textExts[strings.ToLower(path.Ext(e.Path))] {
			continue
		}
		logical[e.Path] = l
		files = append(files, e.Path)
	}
	slices.Sort(files)

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	maxFindings := opts.MaxFindings
	if maxFindings <= 0 {
		maxFindings = 1000
	}
	var (
		mu   sync.Mutex
		rep  = &Report{}
		errs []error
		next = make(chan string)
		wg   sync.WaitGroup
	)
	confirmed := map[string]bool{}
	sourceExists := func(name string) bool {
		if opts.SourceExists == nil {
			return true
		}
		mu.Lock()
		ok, done := confirmed[name]
		mu.Unlock()
		if !done {
			ok = opts.SourceExists(name)
			mu.Lock()
			confirmed[name] = ok
			mu.Unlock()
		}
		return ok
	}
	for range min(workers, max(len(files), 1)) {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for f := range next {
				sc, ok := pre[f]
				var err error
				if !ok {
					sc, err = s.scanFile(ctx, dir, f, buf)
				}
				found := s.findings(f, sc, sourceExists)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				rep.Files++
				rep.Bytes += sc.size
				rep.Total += len(found)
				rep.Findings = append(rep.Findings, found...)
				mu.Unlock()
			}
		})
	}
feed:
	for _, f := range files {
		select {
		case next <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i := range rep.Findings {
		rep.Findings[i].SourceFile = logical[rep.Findings[i].File]
	}
	slices.SortFunc(rep.Findings, func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.URL, b.URL))
	})
	if len(rep.Findings) > maxFindings {
		rep.Findings = rep.Findings[:maxFindings]
	}
	return rep, nil
}

// siteOf indexes the manifest.
func siteOf(m *hashing.Manifest, opts Options) (*site, error) {
	out := make(map[string]bool, len(m.Files))
	renamed := map[string]string{}
	for logical, e := range m.Files {
		out[e.Path] = true
		for _, enc := range e.Encodings {
			out[enc.Path] = true
		}
		if e.Path != logical {
			renamed[logical] = e.Path
		}
	}
	for _, p := range opts.Skip {
		out[p] = true
	}
	var hosts []string
	basePath := ""
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("audit: base URL %q: want an absolute URL such as https://www.example.com/", opts.BaseURL)
		}
		hosts = append(hosts, u.Host)
		basePath = u.Path
	}
	return newSite(out, renamed, hosts, basePath), nil
}

// candidate is a string of an output file that may name a renamed
// file (see candidates): a finding if it does.
type candidate struct {
	line int
	url  string
}

// scanned is what the scan of one output file found.
type scanned struct {
	cands []candidate
	size  int64
}

// candidates scans the output file name, whose bytes write writes to the
// scanner (returning how many), for the strings whose last segment is
// one of bases (each once per line).
func candidates(name string, bases *baseSet, write func(w io.Writer) (int64, error)) (scanned, error) {
	var out []candidate
	seen := map[candidate]bool{}
	ext := strings.ToLower(path.Ext(name))
	// A text file is prose as often as data (a license naming the font
	// files it covers): there only names with a folder count
	// ("/img/a.png", "static/chunks/a.js" in an RSC payload).
	prose := ext == ".txt"
	sc := newScanner(htmlExts[ext], jsExts[ext], func(t token) {
		tok := t.text
		// A name without a folder ("highlight.js", "logo.png") is a
		// reference when it is a whole string, url() argument or
		// attribute value; in prose or code ("highlight.js not
		// detected!", a banner comment " * reveal.js") it is a word.
		if bytes.IndexByte(tok, '/') < 0 && (prose || !t.quoted()) {
			return
		}
		c := candidate{line: t.line, url: string(tok)}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	})
	sc.bases = bases // tokens that cannot name one of them are not emitted
	n, err := write(sc)
	sc.Close()
	return scanned{cands: out, size: n}, err
}

// findings returns the candidates of the output file name that name a
// source file the output has only under another name.
func (s *site) findings(name string, sc scanned, sourceExists func(string) bool) []Finding {
	folder := path.Dir(name)
	if folder == "." {
		folder = ""
	}
	var found []Finding
	for _, c := range sc.cands {
		// The candidates of a file scanned as it was written were
		// chosen among the files that might be renamed.
		if !s.mayName([]byte(c.url)) {
			continue
		}
		src, ok := s.dangling(folder, c.url)
		if !ok || !sourceExists(src) {
			continue
		}
		found = append(found, Finding{File: name, Line: c.line, URL: c.url, Source: src, Output: s.renamed[src]})
	}
	return found
}

// scanFile reads and scans one output file.
func (s *site) scanFile(ctx context.Context, dir, name string, buf []byte) (scanned, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return scanned{}, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	return candidates(name, s.bases, func(w io.Writer) (int64, error) {
		var n int64
		for {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			k, err := f.Read(buf)
			n += int64(k)
			w.Write(buf[:k])
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return n, fmt.Errorf("audit: %s: %w", name, err)
			}
		}
	})
}

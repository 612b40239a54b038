package siteaudit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cdnctl/cdnctl/hashing"
)

// Auditor runs Check at the end of a fingerprint run: its Audit method is
// hashing.DirOptions.Audit.
type Auditor struct {
	// Source is the site fingerprinted: a string is a finding only when
	// it names a file of it. Nil: every logical path of the manifest is
	// taken for a source file.
	Source  fs.FS
	Options Options
	// Warn makes findings no error: they are only in Report, for the
	// caller to show.
	Warn bool
	// Report is the last run's, set by Audit.
	Report *Report
	// Previous is the output folder the new output replaces: an output
	// whose manifest is the one a pass recorded there needs no scan.
	Previous string

	// The files scanned as they were written (see Written), for Audit.
	mu      sync.Mutex
	planned *baseSet
	written map[string]scanned
}

// Planned implements hashing.OutputWatcher: names lists the names under
// which the manifest may list a file written under another path, before
// any is written.
func (a *Auditor) Planned(names []string) {
	bases := newBaseSet()
	for _, p := range names {
		bases.add(p)
	}
	a.mu.Lock()
	a.planned, a.written = bases, map[string]scanned{}
	a.mu.Unlock()
}

// Written implements hashing.OutputWatcher: it scans an output file as it
// is written (the same bytes, so Audit need not read it back), keeping
// the strings that may name a file of Planned.
func (a *Auditor) Written(name string, data []byte) {
	if !textExts[strings.ToLower(path.Ext(name))] || slices.Contains(a.Options.Skip, name) {
		return
	}
	a.mu.Lock()
	bases := a.planned
	a.mu.Unlock()
	if bases == nil {
		return
	}
	// A file that holds none of a few names has no candidate: not
	// scanned (most files of a site whose bundler named its files).
	sc := scanned{size: int64(len(data))}
	if !bases.absentFrom(data) {
		sc, _ = candidates(name, bases, func(w io.Writer) (int64, error) {
			n, err := w.Write(data)
			return int64(n), err
		})
	}
	a.mu.Lock()
	a.written[name] = sc
	a.mu.Unlock()
}

// takeWritten returns the files scanned as they were written, and
// forgets them.
func (a *Auditor) takeWritten() map[string]scanned {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.written
	a.planned, a.written = nil, nil
	return w
}

// Audit checks the output in dir; with findings (and not Warn) it returns
// an *Error. An output that passed an audit is not scanned again while
// it stays the same: the pass is recorded in dir/.cdnctl/audit.json with
// a digest of the manifest (every output path and SHA-256) and the
// audit's options, so a re-run that changed nothing (whether fingerprint
// keeps the folder or writes it again from its cache) costs no second
// scan.
func (a *Auditor) Audit(ctx context.Context, dir string, res *hashing.Result) error {
	opts := a.Options
	if a.Source != nil && opts.SourceExists == nil {
		src := a.Source
		opts.SourceExists = func(name string) bool {
			st, err := fs.Stat(src, name)
			return err == nil && st.Mode().IsRegular()
		}
	}
	written := a.takeWritten()
	key, err := passKey(res.Manifest, opts)
	if err != nil {
		return err
	}
	if rep := readPass(dir, key); rep != nil {
		a.Report = rep
		return nil
	}
	if a.Previous != "" {
		if rep := readPass(a.Previous, key); rep != nil {
			a.Report = rep
			writePass(dir, key, rep)
			return nil
		}
	}
	rep, err := check(ctx, dir, res.Manifest, opts, written)
	if err != nil {
		return err
	}
	a.Report = rep
	if rep.Total > 0 {
		if !a.Warn {
			return &Error{Report: rep}
		}
		return nil
	}
	// The record is an optimisation: not writing it only costs a scan.
	writePass(dir, key, rep)
	return nil
}

// passVersion changes when what the audit checks changes, so that an
// older pass is not trusted.
const passVersion = "siteaudit/1"

// passFile records the last pass of the audit in an output folder.
const passFile = ".cdnctl/audit.json"

type pass struct {
	Key   string `json:"key"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// passKey digests what an audit's verdict depends on.
func passKey(m *hashing.Manifest, opts Options) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%q\n", passVersion, opts.BaseURL, opts.Skip)
	if _, err := m.WriteTo(h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readPass(dir, key string) *Report {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(passFile)))
	if err != nil {
		return nil
	}
	var p pass
	if json.Unmarshal(b, &p) != nil || p.Key != key {
		return nil
	}
	return &Report{Files: p.Files, Bytes: p.Bytes, Findings: []Finding{}, Cached: true}
}

func writePass(dir, key string, rep *Report) {
	b, err := json.Marshal(pass{Key: key, Files: rep.Files, Bytes: rep.Bytes})
	if err != nil {
		return
	}
	p := filepath.Join(dir, filepath.FromSlash(passFile))
	if os.MkdirAll(filepath.Dir(p), 0o755) != nil {
		return
	}
	tmp := p + ".tmp"
	if os.WriteFile(tmp, b, 0o644) != nil || os.Rename(tmp, p) != nil {
		os.Remove(tmp)
	}
}

// Error is a failed audit.
type Error struct {
	Report *Report
}

// globEscaper escapes the characters of a glob.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`, `{`, `\{`, `}`, `\}`)

// shown is how many findings an Error's message lists.
const shown = 20

func (e *Error) Error() string {
	var b strings.Builder
	r := e.Report
	files := map[string]bool{}
	for _, f := range r.Findings {
		files[f.Source] = true
	}
	fmt.Fprintf(&b, "audit: %d reference(s) of the output name %d file(s) by their source names, but fingerprint wrote them under other names: a browser asking for them would get a 404 (references cdnctl did not rewrite: please report it)", r.Total, len(files))
	for i, f := range r.Findings {
		if i == shown {
			break
		}
		b.WriteString("\n  ")
		b.WriteString(f.String())
	}
	if r.Total > shown {
		fmt.Fprintf(&b, "\n  … and %d more", r.Total-shown)
	}
	var keep []string
	for src := range files {
		keep = append(keep, "--keep "+globEscaper.Replace("/"+src))
	}
	slices.Sort(keep)
	if len(keep) > 5 {
		keep = append(keep[:5], "…")
	}
	fmt.Fprintf(&b, "\nthe output folder was left as it was; keep those files under their names (%s), or write the output anyway with --audit=warn (fingerprint.audit: warn in cdnctl.yaml)", strings.Join(keep, " "))
	return b.String()
}

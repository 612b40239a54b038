package siteaudit

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

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
}

// Audit checks the output in dir; with findings (and not Warn) it returns
// an *Error.
func (a *Auditor) Audit(ctx context.Context, dir string, res *hashing.Result) error {
	opts := a.Options
	if a.Source != nil && opts.SourceExists == nil {
		src := a.Source
		opts.SourceExists = func(name string) bool {
			st, err := fs.Stat(src, name)
			return err == nil && st.Mode().IsRegular()
		}
	}
	rep, err := Check(ctx, dir, res.Manifest, opts)
	if err != nil {
		return err
	}
	a.Report = rep
	if rep.Total > 0 && !a.Warn {
		return &Error{Report: rep}
	}
	return nil
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

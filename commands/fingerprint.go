package commands

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/sample"
	"github.com/cdnctl/cdnctl/siteaudit"
)

// FingerprintOptions are the inputs of `cdnctl fingerprint`.
type FingerprintOptions struct {
	IO *IOStreams
	// LookupEnv reads the environment (GOGC: see collectLessOften).
	LookupEnv func(string) (string, bool)
	JSON      bool
	Logger    *slog.Logger
	Now       func() time.Time

	// Src is the source folder; empty when Sample is set.
	Src    string
	Sample bool
	// Out is the output folder (may be empty for a dry run).
	Out     string
	DryRun  bool
	Force   bool
	NoCache bool
	Build   hashing.Options
	// Audit is AuditError or AuditWarn: what the end-of-run audit's
	// findings do.
	Audit string
}

func newCmdFingerprint(f *Factory) *cobra.Command {
	opts := &FingerprintOptions{IO: f.IO, LookupEnv: f.LookupEnv}
	var (
		hashLength       int
		keep, prehashed  []string
		exclude          []string
		allowDotfiles    []string
		baseURL          string
		strict           bool
		hashUnreferenced bool
		compress         []string
		compressMinSize  int64
		manifest, vite   string
		audit            string
	)
	cmd := &cobra.Command{
		Use:   "fingerprint [SRC] --out DIR",
		Short: "Copy a site into content-hashed names, rewrite its references, write a manifest",
		Long: `Copy the site in SRC to DIR, renaming every asset to name.<hash>.ext (the first
hex digits of its SHA-256) and rewriting the references to it in HTML, CSS,
JavaScript (relative ES module imports, new URL(…, import.meta.url), workers,
sourceMappingURL comments), source maps and web app manifests, so the site
works as before while every asset can be cached for a year. The scripts of
an ES module import cycle keep their names (with a warning).

Entry points keep their names: pages (*.html), robots.txt, sitemaps, feeds,
favicon.ico, web app manifests, service workers, .well-known/ and allowed
dotfiles, plus --keep globs. Files already fingerprinted (an earlier
output) keep theirs: fingerprinting an output again changes nothing.
Dotfiles and hidden folders (.env, .npmrc, .cache/; not .well-known/) are
not copied unless --allow-dotfile names them.

DIR also gets precompressed .br and .gz copies of compressible files (when
smaller), and cdnctl-manifest.json: for every file its hashed path, SHA-256,
SRI integrity, size, Content-Type, Cache-Control (immutable for hashed
files, revalidated for entry points, or what the config's rules say),
headers, cache tags and precompressed copies. References to missing files
are reported (an error with --strict). A rule's cache tag that a CDN of
cdnctl.yaml cannot match (CloudFront and Cloudflare take printable ASCII,
Fastly no spaces, Akamai HTTP token characters) is refused before anything
is written, with that CDN's rule.

An audit ends every run: before DIR is replaced, every URL-like string in
the new output's text files (HTML, CSS, JavaScript, JSON, text, XML, SVG,
web manifests) that names a source file must name a file of the output. A
string that still names a renamed file by its source name (a reference
fingerprint did not rewrite) fails the run, naming the file and line;
--audit=warn only reports it.

DIR is replaced as a whole when the run succeeds and left as it was when it
fails. Re-running into the same DIR reuses the files that did not change.

With --sample-site, the source is cdnctl's embedded sample site. SRC, DIR and
every option can also come from the fingerprint section of cdnctl.yaml.`,
		Example: `  cdnctl fingerprint ./public --out ./dist
  cdnctl fingerprint --sample-site --out /tmp/cdnctl-site
  cdnctl fingerprint ./public --out ./dist --base-url https://www.example.com/ --strict
  cdnctl fingerprint ./public --dry-run --json | jq '.files[] | select(.fingerprinted)'`,
		Args: wrapArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			opts.JSON, opts.Logger, opts.Now = f.JSON, f.Logger, f.Now
			build, err := cfg.Fingerprint.options()
			if err != nil {
				return configError(fmt.Errorf("%s: fingerprint section: %w", configName(cfg), err))
			}
			fl := cmd.Flags()
			if fl.Changed("hash-length") {
				build.HashLength = hashLength
			}
			build.Keep = append(build.Keep, keep...)
			build.Prehashed = append(build.Prehashed, prehashed...)
			build.Exclude = append(build.Exclude, exclude...)
			build.AllowDotfiles = append(build.AllowDotfiles, allowDotfiles...)
			if fl.Changed("base-url") {
				build.BaseURL = baseURL
			}
			if fl.Changed("strict") {
				build.Strict = strict
			}
			if fl.Changed("hash-unreferenced") {
				build.HashUnreferenced = hashUnreferenced
			}
			if fl.Changed("compress") {
				build.Encodings = compressList(compress)
			}
			if fl.Changed("compress-min-size") {
				if compressMinSize <= 0 {
					return usageErrorf("--compress-min-size %d: want a positive number of bytes", compressMinSize)
				}
				build.CompressMinSize = compressMinSize
			}
			if fl.Changed("manifest") {
				build.ManifestName = manifest
			}
			if fl.Changed("vite-manifest") {
				build.ViteManifest = vite
			}
			if err := build.Validate(); err != nil {
				return &UsageError{Err: err}
			}
			opts.Audit = cfg.Fingerprint.Audit
			if fl.Changed("audit") {
				if err := checkAudit(audit); err != nil {
					return &UsageError{Err: fmt.Errorf("--audit: %w", err)}
				}
				opts.Audit = audit
			}
			if err := tagRulesOf(cfg.CDNs).checkRules(build.Rules); err != nil {
				return configError(fmt.Errorf("%s: fingerprint section: %w", configName(cfg), err))
			}
			opts.Build = build

			switch {
			case len(args) == 1 && opts.Sample:
				return usageErrorf("give SRC or --sample-site, not both")
			case len(args) == 1:
				opts.Src = args[0]
			case !opts.Sample:
				opts.Src = cfg.Fingerprint.Src
			}
			if opts.Src == "" && !opts.Sample {
				return usageErrorf("no source: give SRC, --sample-site, or fingerprint.src in cdnctl.yaml")
			}
			if !opts.Sample {
				if err := checkFolder(opts.Src); err != nil {
					return err
				}
			}
			if !fl.Changed("out") {
				opts.Out = cfg.Fingerprint.Out
			}
			if opts.Out == "" && !opts.DryRun {
				return usageErrorf("no output folder: give --out DIR (or fingerprint.out in cdnctl.yaml)")
			}
			return runFingerprint(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Out, "out", "o", "", "output folder, replaced as a whole (config fingerprint.out)")
	fl.BoolVar(&opts.Sample, "sample-site", false, "fingerprint cdnctl's embedded sample site instead of SRC")
	fl.BoolVarP(&opts.DryRun, "dry-run", "n", false, "list what would be written, write nothing")
	fl.BoolVar(&opts.Force, "force", false, "replace DIR even if it holds files fingerprint did not write")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "read and write every file again instead of reusing the previous run's output")
	fl.IntVar(&hashLength, "hash-length", hashing.DefaultHashLength, "hex digits of the hash in fingerprinted names ("+strconv.Itoa(hashing.MinHashLength)+"–"+strconv.Itoa(hashing.MaxHashLength)+")")
	listVar(fl, &keep, "keep", "", nil, "globs of more entry points that keep their names; repeatable (added to fingerprint.keep)")
	listVar(fl, &prehashed, "prehashed", "", nil, "globs of files already content-hashed by another tool: names kept, served immutable; repeatable (added to fingerprint.prehashed)")
	listVar(fl, &exclude, "exclude", "", nil, "globs of files not to copy; repeatable (added to fingerprint.exclude)")
	listVar(fl, &allowDotfiles, "allow-dotfile", "", nil, "globs of dotfiles to copy anyway, e.g. /.htaccess; repeatable (added to fingerprint.allow_dotfiles)")
	fl.StringVar(&baseURL, "base-url", "", "URL the site is served at: absolute references under it are rewritten too")
	fl.BoolVar(&strict, "strict", false, "fail on references to missing files instead of reporting them")
	fl.BoolVar(&hashUnreferenced, "hash-unreferenced", false, "fingerprint files no file of the site names too (by default they keep their names when SRC has HTML pages)")
	listVar(fl, &compress, "compress", "", []string{"br", "gzip"}, "precompressed copies to write: br, gzip, or none")
	fl.Int64Var(&compressMinSize, "compress-min-size", hashing.DefaultCompressMinSize, "smallest file (bytes) to precompress")
	fl.StringVar(&manifest, "manifest", hashing.DefaultManifestName, "path of the manifest in DIR")
	fl.StringVar(&vite, "vite-manifest", "", "also write a Vite-compatible manifest at this path in DIR (e.g. .vite/manifest.json)")
	fl.StringVar(&audit, "audit", AuditError, "what references the end-of-run audit finds to renamed files do: error (fail, DIR left as it was) or warn (report them)")
	aliasFlag(cmd, "sample", "sample-site")
	return cmd
}

// configName names where the config came from, for errors.
func configName(cfg *Config) string {
	if cfg.Path != "" {
		return cfg.Path
	}
	return "configuration (CDNCTL_* environment)"
}

// fingerprintSummary is what `cdnctl fingerprint --json` prints.
type fingerprintSummary struct {
	Source       string               `json:"source"`
	Output       string               `json:"output,omitempty"`
	DryRun       bool                 `json:"dry_run"`
	Manifest     string               `json:"manifest,omitempty"`
	ViteManifest string               `json:"vite_manifest,omitempty"`
	Stats        hashing.Stats        `json:"stats"`
	Missing      []hashing.MissingRef `json:"missing"`
	Skipped      []hashing.Skipped    `json:"skipped"`
	Pinned       []hashing.Pinned     `json:"pinned"`
	Detected     []hashing.Detection  `json:"detected"`
	// ServiceWorkers lists the Angular service worker manifests kept
	// true (ngsw.json: URLs and SHA-1 hashes of the files it caches).
	ServiceWorkers []hashing.NgswReport `json:"service_worker_manifests"`
	// Audit is the end-of-run audit's report (none for a dry run).
	Audit      *siteaudit.Report `json:"audit,omitempty"`
	Files      []fingerprintFile `json:"files,omitempty"`
	DurationMS int64             `json:"duration_ms"`
}

// fingerprintFile is one file of a dry run's listing.
type fingerprintFile struct {
	Logical       string   `json:"logical"`
	Path          string   `json:"path"`
	Fingerprinted bool     `json:"fingerprinted"`
	Size          int64    `json:"size"`
	ContentType   string   `json:"content_type"`
	CacheControl  string   `json:"cache_control"`
	Encodings     []string `json:"encodings,omitempty"`
}

func runFingerprint(ctx context.Context, opts *FingerprintOptions) error {
	start := opts.Now()
	var (
		src   fs.FS
		label string
		res   *hashing.Result
		err   error
	)
	if opts.Sample {
		src, label = sample.Site(), "sample site"
	} else {
		src, label = nil, opts.Src
	}
	dirOpts := hashing.DirOptions{Options: opts.Build, Force: opts.Force, NoCache: opts.NoCache}
	auditor := newAuditor(opts.Build, opts.Audit)
	if opts.Sample {
		auditor.Source = src
	} else {
		auditor.Source = os.DirFS(opts.Src)
	}
	auditor.Previous = opts.Out
	dirOpts.Audit, dirOpts.Watch = auditor.Audit, auditor
	ui := newFingerprintUI(opts.IO, opts.Logger)
	dirOpts.Progress = ui.update
	output := opts.Out
	if opts.DryRun {
		output = "(dry run: nothing written)"
	}
	if opts.DryRun && !opts.Sample {
		check := hashing.CheckSource(opts.Src)
		if opts.Out != "" {
			check = hashing.CheckPaths(opts.Src, opts.Out)
		}
		if check != nil {
			return fmt.Errorf("fingerprint: %w", check)
		}
		src = os.DirFS(opts.Src)
	}
	ui.start(label, output)
	defer collectLessOften(opts.LookupEnv)()
	switch {
	case opts.DryRun:
		res, err = hashing.Build(ctx, src, hashing.Discard, dirOpts.Options)
	case opts.Sample:
		res, err = hashing.Fingerprint(ctx, src, opts.Out, dirOpts)
	default:
		res, err = hashing.FingerprintDir(ctx, opts.Src, opts.Out, dirOpts)
	}
	ui.stop()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			// DIR is replaced only when a run succeeds (hashing writes to a
			// temporary folder first).
			kept := "DIR is as it was"
			if opts.Out != "" {
				kept = opts.Out + " is as it was"
			}
			if opts.DryRun {
				kept = "nothing was written"
			}
			return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("fingerprint interrupted: %s. Run the same command again to finish", kept)}
		}
		return fmt.Errorf("fingerprint: %w", err)
	}
	for _, m := range res.Missing {
		opts.Logger.Warn("reference to a missing file", "file", m.File, "line", m.Line, "url", m.URL, "target", m.Target)
	}
	for _, s := range res.Skipped {
		opts.Logger.Debug("not copied", "file", s.Path, "reason", s.Reason)
	}
	logPinned(opts.Logger, res.Pinned)
	logAudit(opts.Logger, auditor.Report)
	ui.finished(res)
	sum := fingerprintSummary{
		Source:         label,
		Output:         opts.Out,
		DryRun:         opts.DryRun,
		Stats:          res.Stats,
		Missing:        append([]hashing.MissingRef{}, res.Missing...),
		Skipped:        append([]hashing.Skipped{}, res.Skipped...),
		Pinned:         append([]hashing.Pinned{}, res.Pinned...),
		Detected:       append([]hashing.Detection{}, res.Detected...),
		ServiceWorkers: append([]hashing.NgswReport{}, res.Ngsw...),
		DurationMS:     opts.Now().Sub(start).Milliseconds(),
	}
	if !opts.DryRun {
		sum.Audit = auditor.Report
		sum.Manifest = manifestPath(opts.Out, opts.Build.ManifestName, hashing.DefaultManifestName)
		if opts.Build.ViteManifest != "" {
			sum.ViteManifest = manifestPath(opts.Out, opts.Build.ViteManifest, "")
		}
	} else {
		sum.Files = dryRunFiles(res.Manifest)
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, sum)
	}
	if opts.DryRun {
		t := newTable(opts.IO, "SOURCE", "OUTPUT", "SIZE", "ENCODINGS", "CACHE-CONTROL")
		for _, f := range sum.Files {
			t.Row(f.Logical, f.Path, strconv.FormatInt(f.Size, 10), strings.Join(f.Encodings, ","), f.CacheControl)
		}
		if err := t.Render(opts.IO.Out); err != nil {
			return err
		}
		st := sum.Stats
		fmt.Fprintf(opts.IO.ErrOut, "dry run: would write %d files (%d fingerprinted, %d entry points, %s) and the manifest; nothing written\n",
			st.Files, st.Fingerprinted, st.Kept, humanBytes(st.Bytes))
		if line := dotfilesLine(sum.Skipped); line != "" {
			fmt.Fprintf(opts.IO.ErrOut, "dry run: %s\n", line)
		}
		return nil
	}
	return printFingerprintSummary(opts, sum)
}

func printFingerprintSummary(opts *FingerprintOptions, s fingerprintSummary) error {
	w, st := opts.IO.Out, s.Stats
	fmt.Fprintf(w, "fingerprinted %s into %s in %s\n", s.Source, s.Output, time.Duration(s.DurationMS)*time.Millisecond)
	fmt.Fprintf(w, "  files:    %d (%d fingerprinted, %d entry points, %d with rewritten references, %d unchanged since the last run)\n",
		st.Files, st.Fingerprinted, st.Kept, st.Rewritten, st.Reused)
	fmt.Fprintf(w, "  size:     %s\n", humanBytes(st.Bytes))
	for _, d := range s.Detected {
		fmt.Fprintf(w, "  detected: %s\n", d)
	}
	for _, sw := range s.ServiceWorkers {
		fmt.Fprintf(w, "  sw:       %s\n", sw)
	}
	encs := make([]string, 0, len(st.Encoded))
	for enc := range st.Encoded {
		encs = append(encs, enc)
	}
	slices.Sort(encs)
	for _, enc := range encs {
		e := st.Encoded[enc]
		fmt.Fprintf(w, "  %-9s %d precompressed copies, %s\n", enc+":", e.Files, humanBytes(e.Bytes))
	}
	if n := len(s.Pinned); n > 0 {
		files := "files keep their names"
		if n == 1 {
			files = "file keeps its name"
		}
		fmt.Fprintf(w, "  pinned:   %d %s for how they are named (listed above, with the place that names them; --json: .pinned)\n", n, files)
	}
	fmt.Fprintf(w, "  manifest: %s\n", s.Manifest)
	if s.ViteManifest != "" {
		fmt.Fprintf(w, "  vite:     %s\n", s.ViteManifest)
	}
	if line := dotfilesLine(s.Skipped); line != "" {
		fmt.Fprintf(w, "  dotfiles: %s\n", line)
	}
	if a := s.Audit; a != nil {
		switch {
		case a.Total == 0 && a.Cached:
			fmt.Fprintf(w, "  audit:    %d text files (%s) as the last run's audit passed them: every reference to a renamed file names its new name\n", a.Files, humanBytes(a.Bytes))
		case a.Total == 0:
			fmt.Fprintf(w, "  audit:    %d text files (%s) checked: every reference to a renamed file names its new name\n", a.Files, humanBytes(a.Bytes))
		default:
			fmt.Fprintf(w, "  audit:    %d references still name renamed files by their source names (see the warnings above): those requests get a 404\n", a.Total)
		}
	}
	if n := len(s.Missing); n > 0 {
		_, err := fmt.Fprintf(w, "  missing:  %d references to files not in the source (see the warnings above; --strict makes them an error)\n", n)
		return err
	}
	return nil
}

// newAuditor returns the end-of-run audit of a build with these options
// (its Source is for the caller to set).
func newAuditor(o hashing.Options, mode string) *siteaudit.Auditor {
	manifest := o.ManifestName
	if manifest == "" {
		manifest = hashing.DefaultManifestName
	}
	skip := []string{manifest}
	if o.ViteManifest != "" {
		skip = append(skip, o.ViteManifest)
	}
	return &siteaudit.Auditor{Warn: mode == AuditWarn, Options: siteaudit.Options{BaseURL: o.BaseURL, Skip: skip}}
}

// logAudit warns about each finding of an audit that did not fail the run
// (--audit=warn).
func logAudit(log *slog.Logger, r *siteaudit.Report) {
	if r == nil {
		return
	}
	for _, f := range r.Findings {
		log.Warn("a reference still names a renamed file by its source name", "file", f.File, "line", f.Line, "url", f.URL, "renamed_to", f.Output)
	}
	if r.Total > len(r.Findings) {
		log.Warn("more references name renamed files", "count", r.Total-len(r.Findings))
	}
}

// dotfilesLine says which dotfiles were not copied ("" for none).
func dotfilesLine(skipped []hashing.Skipped) string {
	var names []string
	for _, s := range skipped {
		if s.Reason == hashing.ReasonDotfile {
			names = append(names, s.Path)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("%d not copied (they often hold secrets): %s; copy one with --allow-dotfile GLOB or fingerprint.allow_dotfiles",
		len(names), strings.Join(names, ", "))
}

// logPinned reports the files that keep their names because of how they
// are referenced, one line per reason: a warning for import cycles (the
// files lose far-future caching), information for the rest.
func logPinned(log *slog.Logger, pinned []hashing.Pinned) {
	var reasons []string
	files := map[string][]string{}
	for _, p := range pinned {
		if _, ok := files[p.Reason]; !ok {
			reasons = append(reasons, p.Reason)
		}
		name := p.Path
		if p.At != "" {
			name += " (" + p.At + ")"
		}
		files[p.Reason] = append(files[p.Reason], name)
	}
	for _, r := range reasons {
		fs := files[r]
		list := strings.Join(fs[:min(len(fs), 10)], ", ")
		if len(fs) > 10 {
			list += fmt.Sprintf(", … (%d files)", len(fs))
		}
		if strings.Contains(r, "import cycle") {
			log.Warn("files keep their names and are revalidated instead of cached immutably", "reason", r, "files", list)
		} else {
			log.Info("files keep their names", "reason", r, "files", list)
		}
	}
}

func dryRunFiles(m *hashing.Manifest) []fingerprintFile {
	var files []fingerprintFile
	for _, logical := range m.LogicalPaths() {
		e := m.Files[logical]
		f := fingerprintFile{
			Logical: logical, Path: e.Path, Fingerprinted: e.Fingerprinted, Size: e.Size,
			ContentType: e.ContentType, CacheControl: e.CacheControl,
		}
		for enc := range e.Encodings {
			f.Encodings = append(f.Encodings, enc)
		}
		slices.Sort(f.Encodings)
		files = append(files, f)
	}
	return files
}

func manifestPath(dir, name, def string) string {
	if name == "" {
		name = def
	}
	return filepath.Join(dir, filepath.FromSlash(name))
}

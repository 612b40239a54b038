package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/verify"
)

// VerifyOptions are the inputs of `cdnctl verify`.
type VerifyOptions struct {
	Dir         string
	DeployID    string
	To          string
	Keys        []string
	All         bool
	Sample      int
	Concurrency int
	Encodings   []string
	Timeout     time.Duration
	edge        edgeOptions
}

func newCmdVerify(f *Factory) *cobra.Command {
	opts := &VerifyOptions{}
	def := defaultDeployConfig()
	cmd := &cobra.Command{
		Use:   "verify [DIR] [--edge NAME=IP | --subnet CIDR] [--base-url URL]",
		Short: "Check that every PoP serves the deployed content (no stale 200s)",
		Long: `Verify fetches a site's URLs through every PoP of a CDN and checks that the
SHA-256 of each body (decoded when the edge compressed it) is the deployed
file's: a PoP that still serves the previous page after a purge — a stale
200 — fails it, with the PoP, the URL and the headers it answered with.
cdnctl deploy runs the same check as its last step.

What is expected: the files of DIR (a fingerprinted build, or any folder),
or without DIR the last deploy recorded at the origin (origin.target, or
--to; --deploy ID for another one). Checked: every un-fingerprinted file
(entry points such as pages, robots.txt), plus --sample fingerprinted assets
spread over the site (--all: every file; --key: these files only). Each
URL is requested with the first --encodings value, and with the others
when the response varies on Accept-Encoding.

PoPs: as for cdnctl prewarm (--edge, --subnet, or the local topology). Exit
code 1 when any answer is not the deployed content.`,
		Example: `  cdnctl verify
  cdnctl verify dist --base-url https://www.example.com/ --edge iad=203.0.113.10 --edge fra=198.51.100.7
  cdnctl verify --key about/index.html --json`,
		Args: wrapArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			return runVerify(cmd.Context(), cmd, f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.DeployID, "deploy", "", "without DIR: verify this deploy of the origin's history (default: the last)")
	fl.StringVar(&opts.To, "to", "", "without DIR: the origin (default origin.target)")
	fl.StringArrayVar(&opts.Keys, "key", nil, "check only this file, as an object key such as about/index.html; repeatable")
	fl.BoolVar(&opts.All, "all", false, "check every file, not a sample of the fingerprinted ones")
	fl.IntVar(&opts.Sample, "sample", def.Verify.Sample, "fingerprinted assets checked (deploy.verify.sample; -1: all)")
	fl.IntVar(&opts.Concurrency, "concurrency", def.Prewarm.Concurrency, "requests in flight per PoP")
	listVar(fl, &opts.Encodings, "encodings", "", def.Prewarm.Encodings, "Accept-Encoding variants requested (deploy.prewarm.encodings)")
	fl.DurationVar(&opts.Timeout, "timeout", def.Verify.Timeout, "timeout of each request (deploy.verify.timeout)")
	opts.edge.register(cmd)
	return cmd
}

func runVerify(ctx context.Context, cmd *cobra.Command, f *Factory, opts *VerifyOptions) error {
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	if !fl.Changed("sample") {
		opts.Sample = cfg.Deploy.Verify.Sample
	}
	if !fl.Changed("encodings") {
		opts.Encodings = cfg.Deploy.Prewarm.Encodings
	}
	if !fl.Changed("timeout") {
		opts.Timeout = cfg.Deploy.Verify.Timeout
	}
	if opts.Sample < -1 || opts.Concurrency < 1 || opts.Timeout <= 0 {
		return usageErrorf("verify: --sample must be -1 or more, --concurrency at least 1, --timeout positive")
	}
	files, manifest, what, err := verifyFiles(ctx, f, cfg, opts)
	if err != nil {
		return err
	}
	private := privatePaths(ctx, f, cfg, opts.To)
	site := verify.NewSite(files, manifest)
	entries, assets := site.Keys()
	keys := opts.Keys
	switch {
	case len(keys) > 0:
		for _, k := range keys {
			if !site.Has(k) {
				return usageErrorf("verify: --key %s: not a file of %s", k, what)
			}
		}
	case opts.All:
		keys = append(entries, assets...)
	default:
		keys = append(entries, verify.Sample(assets, opts.Sample)...)
	}
	exp := site.Expect(keys)
	if len(exp) == 0 {
		return usageErrorf("verify: nothing to check in %s", what)
	}
	base, err := opts.edge.base(cfg)
	if err != nil {
		return err
	}
	edges, err := opts.edge.find(ctx, cmd, f, cfg, base.Hostname(), urlPort(base))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	v := verify.Verifier{Encodings: opts.Encodings, Concurrency: opts.Concurrency, Timeout: opts.Timeout,
		Insecure: opts.edge.Insecure || cfg.Deploy.Prewarm.Insecure}
	f.Logger.Info("verify: checking", "what", what, "urls", len(exp), "state paths", len(private), "pops", len(edges))
	rep, err := v.Verify(ctx, append(verify.Checks(base, exp), verify.PrivateChecks(base, private)...), edges)
	if rep == nil {
		return usageErrorf("%v", err)
	}
	if f.JSON {
		if jerr := writeJSON(f.IO.Out, rep); jerr != nil {
			return jerr
		}
	} else if perr := printVerify(f.IO.Out, rep, base); perr != nil {
		return perr
	}
	var ve *verify.Error
	if errors.As(err, &ve) {
		exposed := 0
		for _, fl := range ve.Failures {
			if fl.Private {
				exposed++
			}
		}
		if exposed > 0 {
			return &ExitError{Code: ExitFailure, Err: fmt.Errorf("verify: %d stale or wrong answers at %d URLs; cdnctl's deploy state answered 200 at %d: make the CDN refuse /.cdnctl/, or move the state with origin.state (docs/deploy.md#state)", len(ve.Failures)-exposed, len(exp), exposed)}
		}
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("verify: %s at %s", count(len(ve.Failures), "stale or wrong answer", "stale or wrong answers"), count(len(exp), "URL", "URLs"))}
	}
	return err
}

// privatePaths are the paths under the base URL that must not serve
// cdnctl's deploy state: /.cdnctl/history.json always, and, when the
// origin is configured, the state's own history.json wherever a CDN of
// cdnctl.yaml (by its origin_path) or the site's own tree would serve it.
func privatePaths(ctx context.Context, f *Factory, cfg *Config, to string) []string {
	legacy := "/" + providers.StateDir + "/" + providers.HistoryName
	paths := []string{legacy}
	oc := cfg.Origin
	if to != "" {
		oc.Target = to
	}
	if oc.Target == "" {
		return paths
	}
	tgt, err := parseTarget(oc.Target)
	if err != nil {
		return paths
	}
	store, closeStore, err := openStore(ctx, tgt, oc, f.Logger)
	if err != nil {
		return paths
	}
	defer closeStore()
	loc := store.StateLocation()
	if loc.Key == "" {
		return paths
	}
	add := func(p string) {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	key := loc.Key + "/" + providers.HistoryName
	if rel, ok := strings.CutPrefix(key, tgt.prefix+"/"); ok || tgt.prefix == "" {
		if tgt.prefix == "" {
			rel = key
		}
		add("/" + rel)
	}
	for _, c := range cfg.CDNs {
		if ps, err := providers.KeyPaths(key, c.OriginPath); err == nil {
			add(ps[0])
		}
	}
	return paths
}

// verifyFiles returns the files to expect: DIR scanned, or a deploy of
// the origin's history.
func verifyFiles(ctx context.Context, f *Factory, cfg *Config, opts *VerifyOptions) ([]*providers.LocalFile, *hashing.Manifest, string, error) {
	compiled, err := cfg.Origin.compile()
	if err != nil {
		return nil, nil, "", configError(fmt.Errorf("config: %w", err))
	}
	if opts.Dir != "" {
		if err := checkFolder(opts.Dir); err != nil {
			return nil, nil, "", err
		}
		set, err := providers.ScanDir(ctx, opts.Dir, compiled.scan)
		if err != nil {
			return nil, nil, "", &UsageError{Err: fmt.Errorf("verify: %w", err)}
		}
		if set.Manifest == nil {
			if build := buildFolderNear(opts.Dir, cfg.Fingerprint.Out, manifestName(cfg)); build != "" {
				return nil, nil, "", &UsageError{NoHint: true, Err: fmt.Errorf(
					"verify: %s has no %s: did you mean the build folder %s? (verify compares the CDN with what was deployed: the fingerprinted build, not its source)",
					opts.Dir, manifestName(cfg), build)}
			}
		}
		return set.Files, set.Manifest, opts.Dir, nil
	}
	target := cfg.Origin.Target
	if opts.To != "" {
		target = opts.To
	}
	if target == "" {
		return nil, nil, "", usageErrorf("verify: give DIR, or an origin (--to, origin.target) whose last deploy to verify")
	}
	tgt, err := parseTarget(target)
	if err != nil {
		return nil, nil, "", &UsageError{Err: err}
	}
	store, closeStore, err := openStore(ctx, tgt, cfg.Origin, f.Logger)
	if err != nil {
		return nil, nil, "", err
	}
	defer closeStore()
	read, closeRead, err := readableState(ctx, f, store, tgt, cfg.Origin)
	if err != nil {
		return nil, nil, "", fmt.Errorf("verify: %w", err)
	}
	defer closeRead()
	store = read
	h, err := providers.ReadHistory(ctx, store)
	if err != nil {
		return nil, nil, "", fmt.Errorf("verify: %w", err)
	}
	d := h.Last()
	if opts.DeployID != "" {
		d = h.Find(opts.DeployID)
	}
	if d == nil {
		return nil, nil, "", usageErrorf("verify: %s has no deploy %s in its history", tgt, orDefault(opts.DeployID, "yet"))
	}
	snap, err := providers.ReadSnapshot(ctx, store, d)
	if err != nil {
		return nil, nil, "", fmt.Errorf("verify: %w", err)
	}
	var files []*providers.LocalFile
	for k, e := range snap.Objects {
		files = append(files, &providers.LocalFile{Key: k, SHA256: e.SHA256, Size: e.Size, Meta: e.Metadata, Fingerprinted: e.Fingerprinted})
	}
	return files, nil, fmt.Sprintf("deploy %s of %s", d.ID, tgt), nil
}

func printVerify(w io.Writer, rep *verify.Report, base *url.URL) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POP\tADDR\tREQUESTS\tFAILED")
	for _, p := range rep.Pops {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", p.Name, p.Addr, p.Requests, p.Failed)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range rep.Failures {
		if f.Private {
			fmt.Fprintf(w, "EXPOSED %s\n  status %d\n", f.String(), f.Status)
			continue
		}
		fmt.Fprintf(w, "STALE %s\n  status %d, sha256 %s, want %s\n", f.String(), f.Status, shortDigest(f.Got), shortDigest(f.Want))
		for _, h := range []string{"Cache-Status", "X-Cache", "CF-Cache-Status", "Age", "X-Served-By", "ETag", "Last-Modified", "Content-Encoding"} {
			if v := f.Headers[h]; v != "" {
				fmt.Fprintf(w, "  %s: %s\n", h, v)
			}
		}
	}
	state := "every answer has the deployed content"
	if !rep.Passed {
		state = fmt.Sprintf("%s NOT the deployed content", count(len(rep.Failures), "answer is", "answers are"))
	}
	_, err := fmt.Fprintf(w, "%s under %s, %s through %s in %s: %s\n",
		count(rep.Checks, "URL", "URLs"), base, count(rep.Requests, "request", "requests"), count(len(rep.Pops), "PoP", "PoPs"),
		time.Duration(rep.DurationMS)*time.Millisecond, state)
	return err
}

// manifestName is the fingerprint manifest's file name for this config.
func manifestName(cfg *Config) string {
	if cfg.Origin.Manifest != "" {
		return cfg.Origin.Manifest
	}
	return orDefault(cfg.Fingerprint.Manifest, hashing.DefaultManifestName)
}

// buildFolderNear finds the fingerprinted build a user likely meant when
// they gave verify a folder without a manifest (the site's source): the
// configured fingerprint output, else a folder beside dir that has the
// manifest. "" when there is none: dir is then a site that was deployed
// without fingerprinting, and verify goes on.
func buildFolderNear(dir, configured, manifest string) string {
	has := func(d string) bool {
		st, err := os.Stat(filepath.Join(d, manifest))
		return err == nil && st.Mode().IsRegular()
	}
	if configured != "" && has(configured) && filepath.Clean(configured) != filepath.Clean(dir) {
		return configured
	}
	parent := filepath.Dir(filepath.Clean(dir))
	ents, err := os.ReadDir(parent)
	if err != nil {
		return ""
	}
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if d := filepath.Join(parent, e.Name()); has(d) {
				return d
			}
		}
	}
	return ""
}

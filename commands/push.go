package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/progress"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/local"
	"github.com/cdnctl/cdnctl/providers/s3"
)

// PushOptions are the inputs of `cdnctl push`.
type PushOptions struct {
	IO     *IOStreams
	Config func() (*Config, error)

	Dir        string
	DryRun     bool
	Force      bool
	NoManifest bool
	JSON       bool

	// origin holds the origin: section with flags applied.
	origin OriginConfig
	lock   lockFlags
	// tags are the configured CDNs' tag rules and headers.
	tags cdnTags
}

func newCmdPush(f *Factory) *cobra.Command {
	opts := &PushOptions{IO: f.IO, Config: f.Config}
	var flags OriginConfig // values of flags; applied only when Changed
	cmd := &cobra.Command{
		Use:   "push DIR [--to s3://bucket/prefix | file:///path]",
		Short: "Upload a site folder to origin storage, changing only what changed",
		Long: `Push makes origin storage (an S3 bucket prefix, an S3-compatible service such
as Cloudflare R2 or MinIO, or a local folder) hold exactly the files of DIR.

It plans first: each file is uploaded if it is new or its SHA-256 differs,
updated in place if only its headers differ (no body is sent again), kept if
it is unchanged; objects no file names are deleted, except fingerprinted
assets still within retention (clients may hold HTML naming them), keys
under protected prefixes, and everything when more than --max-deletes
would go. Headers come from the fingerprint manifest in DIR when there is
one, else from the file type, then from origin.rules in cdnctl.yaml. Cache
tags are checked against the rules of the CDNs in cdnctl.yaml (a file
with a tag one of them cannot match is refused before any upload), and
written as the headers those CDNs read: Surrogate-Key for Fastly,
Edge-Cache-Tag for Akamai (x-amz-meta-… on S3).

Uploads go in groups: fingerprinted assets first, then other files, then
entry points (HTML, manifests) last, each group only after the previous
one completed, so no visitor gets a page naming a missing asset. An
interrupted push leaves the live site working; running it again finishes.

Credentials come from the AWS default chain (environment, shared config,
--profile, SSO, roles) and are never printed. See docs/push.md.`,
		Example: `  cdnctl push public --to s3://my-site/www --dry-run
  cdnctl push public --to s3://assets --endpoint https://ACCOUNT.r2.cloudflarestorage.com
  cdnctl push dist --to file:///srv/origin --json`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := opts.Config()
			if err != nil {
				return err
			}
			opts.Dir = args[0]
			opts.JSON = f.JSON
			opts.origin = cfg.Origin
			opts.tags = tagRulesOf(cfg.CDNs)
			fl := cmd.Flags()
			set := func(name string, apply func()) {
				if fl.Changed(name) {
					apply()
				}
			}
			set("to", func() { opts.origin.Target = flags.Target })
			set("endpoint", func() { opts.origin.Endpoint = flags.Endpoint })
			set("region", func() { opts.origin.Region = flags.Region })
			set("profile", func() { opts.origin.Profile = flags.Profile })
			set("concurrency", func() { opts.origin.Concurrency = flags.Concurrency })
			set("max-deletes", func() { opts.origin.MaxDeletes = flags.MaxDeletes })
			set("protect", func() { opts.origin.Protect = flags.Protect })
			set("keep-deploys", func() { opts.origin.KeepDeploys = flags.KeepDeploys })
			set("keep-for", func() { opts.origin.KeepFor = flags.KeepFor })
			set("manifest", func() { opts.origin.Manifest = flags.Manifest })
			set("exclude", func() { opts.origin.Exclude = append(opts.origin.Exclude, flags.Exclude...) })
			set("allow-dotfile", func() { opts.origin.AllowDotfiles = append(opts.origin.AllowDotfiles, flags.AllowDotfiles...) })
			set("precompressed", func() { opts.origin.Precompressed = flags.Precompressed })
			set("state", func() { opts.origin.State = flags.State })
			return runPush(cmd.Context(), f, opts)
		},
	}
	def := defaultOriginConfig()
	fl := cmd.Flags()
	fl.StringVar(&flags.Target, "to", "", "target: s3://bucket/prefix, file:///path or a folder (origin.target)")
	fl.StringVar(&flags.Endpoint, "endpoint", "", "S3-compatible endpoint URL, e.g. for R2 or MinIO; uses path-style addressing (origin.endpoint)")
	fl.StringVar(&flags.Region, "region", "", "AWS region of the bucket (origin.region; default: AWS_REGION or the profile's)")
	fl.StringVar(&flags.Profile, "profile", "", "AWS shared config profile (origin.profile; default: AWS_PROFILE)")
	fl.BoolVarP(&opts.DryRun, "dry-run", "n", false, "print the plan (counts, bytes, each change and its reason) and change nothing")
	fl.BoolVar(&opts.Force, "reupload", false, "upload every file again, changed or not")
	fl.IntVar(&flags.MaxDeletes, "max-deletes", def.MaxDeletes, "delete nothing if more than this many objects would be deleted; -1 for no limit (origin.max_deletes)")
	fl.IntVar(&flags.Concurrency, "concurrency", def.Concurrency, "parallel uploads (origin.concurrency)")
	listVar(fl, &flags.Protect, "protect", "", nil, "key prefixes never deleted, for shared buckets; repeatable (origin.protect)")
	fl.IntVar(&flags.KeepDeploys, "keep-deploys", def.KeepDeploys, "keep unreferenced fingerprinted assets for this many deploys (origin.keep_deploys)")
	fl.DurationVar(&flags.KeepFor, "keep-for", def.KeepFor, "…and for at least this long (origin.keep_for)")
	fl.StringVar(&flags.Manifest, "manifest", "", "fingerprint manifest in DIR (origin.manifest; default cdnctl-manifest.json)")
	fl.BoolVar(&opts.NoManifest, "no-manifest", false, "ignore the fingerprint manifest: headers from file types and rules only")
	listVar(fl, &flags.Exclude, "exclude", "", nil, "globs of files not to upload; repeatable (added to origin.exclude)")
	listVar(fl, &flags.AllowDotfiles, "allow-dotfile", "", nil, "globs of dotfiles to upload anyway, e.g. /.htaccess; repeatable (added to origin.allow_dotfiles)")
	fl.StringVar(&flags.Precompressed, "precompressed", def.Precompressed, "precompressed siblings (.br, .gz): siblings, none, gzip or br (origin.precompressed)")
	fl.StringVar(&flags.State, "state", "", "where the deploy state lives: s3://bucket/prefix or a folder (origin.state; default beside the site, see docs/deploy.md#state)")
	aliasFlag(cmd, "force", "reupload")
	opts.lock.register(fl)
	return cmd
}

// pushReport is what --json prints.
type pushReport struct {
	Target string            `json:"target"`
	DryRun bool              `json:"dry_run"`
	Plan   *providers.Plan   `json:"plan"`
	Result *providers.Result `json:"result,omitempty"`
	// SkippedDotfiles are the dotfiles not uploaded (origin.allow_dotfiles
	// names the ones to upload).
	SkippedDotfiles []providers.SkippedDotfile `json:"skipped_dotfiles"`
}

func runPush(ctx context.Context, f *Factory, opts *PushOptions) error {
	compiled, err := opts.origin.compile()
	if err != nil {
		return configError(err)
	}
	if err := checkFolder(opts.Dir); err != nil {
		return err
	}
	if opts.origin.Target == "" {
		return usageErrorf("push: no target: pass --to s3://bucket/prefix or file:///path, or set origin.target in cdnctl.yaml")
	}
	tgt, err := parseTarget(opts.origin.Target)
	if err != nil {
		return &UsageError{Err: err}
	}
	if tgt.dir != "" {
		if opts.origin.Endpoint != "" {
			return usageErrorf("push: --endpoint applies to s3:// targets, not %s", opts.origin.Target)
		}
		if err := checkNotNested(opts.Dir, tgt.dir); err != nil {
			return &UsageError{Err: err}
		}
	}
	compiled.plan.Force = opts.Force
	compiled.scan.NoManifest = opts.NoManifest
	opts.tags.scanOptions(&compiled.scan)
	log := f.Logger

	store, closeStore, err := openStore(ctx, tgt, opts.origin, log)
	if err != nil {
		return err
	}
	defer closeStore()
	prog := &providers.Progress{}
	pusher := &providers.Pusher{
		Store: store, Options: compiled.plan, Concurrency: opts.origin.Concurrency,
		Logger: log, Now: f.Now, Progress: prog, GitCommit: gitCommitFromEnv(f.LookupEnv),
	}
	var lock *providers.Lock
	if opts.DryRun {
		read, closeRead, err := readableState(ctx, f, store, tgt, opts.origin)
		if err != nil {
			return fmt.Errorf("push: %w", err)
		}
		defer closeRead()
		pusher.Store = read
	} else {
		l, lctx, err := takeLock(ctx, f, store, "push", opts.origin, opts.lock)
		if err != nil {
			return err
		}
		lock = l
		defer func() {
			if err := lock.Release(ctx); err != nil {
				log.Warn("push: " + err.Error())
			}
		}()
		ctx = lctx
		pusher.User, pusher.CI = holderWho(lock.Held().Holder)
	}

	// Hash the local files while the store is listed.
	var (
		set    *providers.LocalSet
		remote *providers.Remote
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		set, err = providers.ScanDir(gctx, opts.Dir, compiled.scan)
		return err
	})
	g.Go(func() error {
		var err error
		remote, err = pusher.Fetch(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	for _, w := range set.Warnings {
		log.Warn("push: " + w)
	}
	pusher.ManifestDigest = set.ManifestDigest
	plan, err := pusher.PlanAgainst(ctx, set.Files, remote)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	for _, w := range plan.Warnings {
		log.Warn("push: " + w)
	}
	if lock != nil && plan.Record {
		// The ID the deploy is recorded with, in the lock too, so that
		// others (and cdnctl history) can tell which push holds it.
		pusher.DeployID = providers.NewDeployID(f.Now(), plan.ContentDigest)
		if err := lock.SetDeployID(ctx, pusher.DeployID); err != nil {
			return fmt.Errorf("push: %w", err)
		}
	}
	report := pushReport{Target: tgt.String(), DryRun: opts.DryRun, Plan: plan, SkippedDotfiles: set.SkippedDotfiles}
	if opts.DryRun {
		if opts.JSON {
			return writeJSON(f.IO.Out, report)
		}
		if err := printPlan(f.IO, tgt.String(), plan); err != nil {
			return err
		}
		printSkippedDotfiles(f.IO.Out, set.SkippedDotfiles, false)
		return nil
	}

	stop := watchProgress(f, prog, plan)
	res, err := pusher.Apply(ctx, plan)
	stop()
	err = lostLock(ctx, err)
	report.Result = res
	if opts.JSON {
		if jerr := writeJSON(f.IO.Out, report); jerr != nil && err == nil {
			err = jerr
		}
	} else if res != nil {
		printResult(f.IO.Out, tgt.String(), plan, res, errors.Is(err, context.Canceled))
		printSkippedDotfiles(f.IO.Out, set.SkippedDotfiles, true)
	}
	if errors.Is(err, context.Canceled) {
		done := 0
		if res != nil {
			done = res.Uploaded + res.Updated
		}
		total := plan.Summary.Upload + plan.Summary.Update
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("push interrupted: %d of %d %s uploaded; the live site still works (entry points go last). Run the same command again to finish", done, total, plural(total, "file", "files"))}
	}
	return err
}

// printSkippedDotfiles says which dotfiles were (or, in a dry run, will
// be) left out, and how to upload them.
func printSkippedDotfiles(w io.Writer, skipped []providers.SkippedDotfile, done bool) {
	if len(skipped) == 0 {
		return
	}
	names := make([]string, len(skipped))
	files := 0
	for i, s := range skipped {
		names[i] = s.Path
		if strings.HasSuffix(s.Path, "/") {
			names[i] = fmt.Sprintf("%s (%d files)", s.Path, s.Files)
		}
		files += s.Files
	}
	verb, noun := "Not uploading", "dotfiles"
	if done {
		verb = "Not uploaded"
	}
	if files == 1 {
		noun = "dotfile"
	}
	fmt.Fprintf(w, "%s %d %s (they often hold secrets): %s; upload one with --allow-dotfile GLOB or origin.allow_dotfiles\n",
		verb, files, noun, strings.Join(names, ", "))
}

// target is a parsed --to.
type target struct {
	bucket, prefix string // s3://
	dir            string // file:// or a folder
}

func (t target) String() string {
	if t.dir != "" {
		return "file://" + filepath.ToSlash(t.dir)
	}
	if t.prefix == "" {
		return "s3://" + t.bucket
	}
	return "s3://" + t.bucket + "/" + t.prefix
}

// parseTarget reads s3://bucket/prefix, file:///abs/path, file://rel/path
// (Hugo's form) or a plain folder path.
func parseTarget(s string) (target, error) { return parseLocation("--to", s) }

// parseLocation is parseTarget for the flag or key named what.
func parseLocation(what, s string) (target, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		abs, err := filepath.Abs(s)
		if err != nil {
			return target{}, fmt.Errorf("%s %q: %w", what, s, err)
		}
		return target{dir: abs}, nil
	}
	switch strings.ToLower(scheme) {
	case "s3":
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return target{}, fmt.Errorf("%s %q: want s3://bucket/prefix", what, s)
		}
		return target{bucket: u.Host, prefix: strings.Trim(u.Path, "/")}, nil
	case "file":
		p := rest
		if p == "" {
			return target{}, fmt.Errorf("%s %q: want file:///path", what, s)
		}
		if unescaped, err := url.PathUnescape(p); err == nil {
			p = unescaped
		}
		abs, err := filepath.Abs(filepath.FromSlash(p))
		if err != nil {
			return target{}, fmt.Errorf("%s %q: %w", what, s, err)
		}
		return target{dir: abs}, nil
	default:
		return target{}, fmt.Errorf("%s %q: unsupported scheme %q: want s3://bucket/prefix, file:///path or a folder", what, s, scheme)
	}
}

// checkNotNested refuses a target folder that is the site folder, inside
// it, or contains it: a push would upload or delete itself.
func checkNotNested(dir, out string) error {
	a, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	inside := func(child, parent string) bool {
		rel, err := filepath.Rel(parent, child)
		return err == nil && (rel == "." || !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && rel != "..")
	}
	if inside(out, a) || inside(a, out) {
		return fmt.Errorf("push: target folder %s and site folder %s overlap: pick a folder outside the site", out, a)
	}
	return nil
}

// openStore opens the origin store of target t, with its deploy state
// where origin.state says (o.State).
func openStore(ctx context.Context, t target, o OriginConfig, log *slog.Logger) (providers.Store, func(), error) {
	var state target
	if o.State != "" {
		var err error
		if state, err = parseLocation("origin.state", o.State); err != nil {
			return nil, nil, &UsageError{Err: err}
		}
		switch {
		case t.dir != "" && state.dir == "":
			return nil, nil, usageErrorf("origin.state %q: the origin is a folder (%s): give a folder for its state", o.State, t)
		case t.dir == "" && state.dir != "":
			return nil, nil, usageErrorf("origin.state %q: the origin is an S3 bucket (%s): give s3://bucket/prefix for its state", o.State, t)
		case t.dir == "" && state.bucket == t.bucket && state.prefix == "":
			return nil, nil, usageErrorf("origin.state %q: name a prefix of the bucket beside the site, such as s3://%s/%s", o.State, t.bucket, s3.DefaultStatePrefix(t.prefix))
		}
	}
	if t.dir != "" {
		s, err := local.NewStoreWithState(t.dir, state.dir)
		if err != nil {
			return nil, nil, &UsageError{Err: fmt.Errorf("push: %w", err)}
		}
		return s, func() { s.Close() }, nil
	}
	s, err := s3.New(ctx, s3.Config{
		Bucket: t.bucket, Prefix: t.prefix, Endpoint: o.Endpoint, VirtualHostStyle: o.VirtualHostStyle,
		Region: o.Region, Profile: o.Profile, Concurrency: o.Concurrency, Logger: log,
		MultipartThreshold: o.MultipartThreshold, PartSize: o.PartSize,
		StateBucket: state.bucket, StatePrefix: state.prefix,
	})
	if errors.Is(err, s3.ErrStateLocation) {
		return nil, nil, configError(fmt.Errorf("origin.state: %w", err))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("push: %w", err)
	}
	return s, func() {}, nil
}

// gitCommitFromEnv reads the commit CI systems export.
func gitCommitFromEnv(lookup func(string) (string, bool)) string {
	for _, k := range []string{"GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT", "CIRCLE_SHA1", "GIT_COMMIT"} {
		if v, ok := lookup(k); ok && v != "" {
			return v
		}
	}
	return ""
}

// printPlan writes a dry run's plan: every change but keeps, then totals.
func printPlan(ios *IOStreams, tgt string, plan *providers.Plan) error {
	out := ios.Out
	if ios.IsStdoutTTY() {
		fmt.Fprintf(out, "Plan for %s (dry run, nothing changed):\n", tgt)
	}
	tb := newTable(ios, "OP", "KEY", "SIZE", "GROUP", "REASON", "DETAIL")
	for _, c := range plan.Changes {
		if c.Op == providers.OpKeep {
			continue
		}
		tb.Row(string(c.Op), c.Key, humanBytes(c.Size), string(c.Group), string(c.Reason), c.Detail)
	}
	if err := tb.Render(out); err != nil {
		return err
	}
	_, err := fmt.Fprintln(out, planSummary(plan, true))
	return err
}

func planSummary(plan *providers.Plan, dry bool) string {
	s := plan.Summary
	verb := func(now, future string) string {
		if dry {
			return future
		}
		return now
	}
	return fmt.Sprintf("%d files (%s): %d %s (%s), %d %s, %d unchanged, %d %s (%s), %d retained",
		s.Files, humanBytes(s.Bytes), s.Upload, verb("uploaded", "to upload"), humanBytes(s.UploadBytes),
		s.Update, verb("updated", "to update"), s.Keep, s.Delete, verb("deleted", "to delete"), humanBytes(s.DeleteBytes), s.Retain)
}

func printResult(w io.Writer, tgt string, plan *providers.Plan, res *providers.Result, interrupted bool) {
	state := "Pushed"
	switch {
	case interrupted:
		state = "Push INTERRUPTED:"
	case !res.Complete:
		state = "Push incomplete:"
	}
	deploy := "nothing changed"
	switch {
	case res.Recorded:
		deploy = fmt.Sprintf("deploy #%d %s", res.Seq, res.DeployID)
	case interrupted || !res.Complete:
		deploy = "not recorded in the deploy history yet"
	case res.Uploaded+res.Updated+res.Deleted > 0:
		deploy = "not recorded in the deploy history"
	}
	fmt.Fprintf(w, "%s %s: %d uploaded (%s), %d updated, %d unchanged, %d deleted, %d retained%s in %s (%s)\n",
		state, tgt, res.Uploaded, humanBytes(res.BytesUploaded), res.Updated, res.Kept, res.Deleted, res.Retained, retriedText(res.Retries),
		(time.Duration(res.DurationMS) * time.Millisecond).String(), deploy)
	for _, fl := range res.Failures {
		fmt.Fprintf(w, "  failed: %s %s: %s\n", fl.Op, fl.Key, fl.Error)
	}
}

// retriedText is ", 7 requests retried" (throttled, failed or timed
// out, and sent again), or "" when none was.
func retriedText(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + count(n, "request retried", "requests retried")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// watchProgress shows a progress bar on a terminal, or logs a line every
// few seconds otherwise, until the returned stop is called.
func watchProgress(f *Factory, prog *providers.Progress, plan *providers.Plan) (stop func()) {
	if !plan.Pending() {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	tty := f.IO.IsStderrTTY()
	interval := 10 * time.Second
	if tty {
		interval = 100 * time.Millisecond
	}
	var bar progress.Model
	if f.IO.ColorEnabled() {
		bar = progress.New(progress.WithWidth(30), progress.WithDefaultBlend())
	}
	start := time.Now()
	render := func(final bool) {
		files, total := prog.FilesDone.Load(), prog.FilesTotal.Load()
		b, bt := prog.BytesDone.Load(), prog.BytesTotal.Load()
		pct := 1.0
		if bt > 0 {
			pct = float64(b) / float64(bt)
		} else if total > 0 {
			pct = float64(files) / float64(total)
		}
		rate := float64(b) / max(time.Since(start).Seconds(), 0.001)
		if !tty {
			f.Logger.Info("push: progress", "changes", fmt.Sprintf("%d/%d", files, total),
				"bytes", fmt.Sprintf("%s/%s", humanBytes(b), humanBytes(bt)), "rate", humanBytes(int64(rate))+"/s")
			return
		}
		var barStr string
		if f.IO.ColorEnabled() {
			barStr = bar.ViewAs(pct)
		} else {
			n := int(pct * 30)
			barStr = "[" + strings.Repeat("#", n) + strings.Repeat(" ", 30-n) + fmt.Sprintf("] %3.0f%%", pct*100)
		}
		w := f.IO.SyncErr()
		fmt.Fprintf(w, "\r%s  %d/%d changes  %s/%s  %s/s\x1b[K", barStr, files, total, humanBytes(b), humanBytes(bt), humanBytes(int64(rate)))
		if final {
			fmt.Fprintln(w)
		}
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					render(true)
				}
				return
			case <-t.C:
				render(false)
			}
		}
	}()
	return func() { close(done); <-finished }
}

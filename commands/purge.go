package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/akamai"
	"github.com/cdnctl/cdnctl/providers/cloudflare"
	"github.com/cdnctl/cdnctl/providers/cloudfront"
	"github.com/cdnctl/cdnctl/providers/fastly"
	"github.com/cdnctl/cdnctl/providers/local"
)

// PurgeOptions are the inputs of `cdnctl purge`.
type PurgeOptions struct {
	Targets  []string // URLs and paths (arguments)
	Prefixes []string
	Tags     []string
	Hosts    []string
	Keys     []string
	CPCodes  []int
	Headers  []string // "Name: value"
	All      bool
	// Files hold more targets, one per line; "-" is stdin. Repeated
	// --file flags add up.
	Files []string

	// CDNs names the cdns entry to purge (--cdn): one, or none for the
	// default.
	CDNs    []string
	Profile string // CloudFront: overrides the entry's profile
	Region  string
	Admin   string   // local: overrides the entry's admin_url
	Pops    []string // local: overrides the entry's pops

	Soft    bool
	Delete  bool // Akamai: delete instead of invalidate
	Wait    bool
	Timeout time.Duration
	DryRun  bool
	Yes     bool

	// newPurger builds the purger of a target (tests replace it).
	newPurger func(ctx context.Context, f *Factory, c CDNConfig) (providers.Purger, error)
}

// defaultPurgeTimeout bounds a purge, waiting included.
const defaultPurgeTimeout = 15 * time.Minute

func newCmdPurge(f *Factory) *cobra.Command {
	opts := &PurgeOptions{newPurger: buildPurger}
	cmd := &cobra.Command{
		Use:   "purge [URL|PATH...] [--prefix P] [--tag T] [--host H] [--all]",
		Short: "Purge URLs, prefixes, tags, hosts or everything from a CDN's caches",
		Long: `Purge removes content from the caches of a CDN named in cdnctl.yaml (cdns:):
a CloudFront distribution (invalidations), a Cloudflare zone (purge_cache),
a Fastly service (purge API), Akamai (Fast Purge v3) or the local edge of a
running cdnctl serve (its admin API).

Targets are URLs (https://www.example.com/app.css) or paths (/app.css, purged
on every hostname of the CDN), plus --prefix, --tag, --host, --key (an
object key as pushed, mapped through the CDN's origin_path), --cpcode
(Akamai) and --all. --file F reads more targets, one per line ("-" is
stdin; repeat --file for several files): a line is a URL or a path, or
prefix:P, tag:T, host:H, key:K or cpcode:N; blank lines and lines starting
with # are skipped.

Before anything is sent, the request is checked against what the CDN can do
(CloudFront cannot purge by host; Fastly and Akamai not by prefix; soft
purges are for Fastly, Akamai and the local edge) and split into batches
that fit the provider's limits; --dry-run prints those batches and stops.
Purging everything, or more items than the entry's confirm_above (default
100), asks for confirmation on a terminal and needs --yes without one.

Every purge prints a record: provider, target, batches with their purge and
request IDs and results, how long it took (--json for JSON). CloudFront
invalidations complete minutes later: --wait polls until they have. Akamai
estimates how long its purges take and has no status to poll: --wait sleeps
that estimate. If any batch fails, the items not purged are listed and
cdnctl exits with 1.

Credentials: CloudFront uses the AWS default chain (--profile, --region);
Cloudflare reads CLOUDFLARE_API_TOKEN and Fastly FASTLY_API_TOKEN (or the
entry's token_env); Akamai reads ~/.edgerc (the entry's edgerc and section,
AKAMAI_EDGERC, AKAMAI_EDGERC_SECTION) or AKAMAI_HOST, AKAMAI_CLIENT_TOKEN,
AKAMAI_CLIENT_SECRET and AKAMAI_ACCESS_TOKEN; the local edge reads
CDNCTL_ADMIN_TOKEN. They are never printed. See docs/purge.md.`,
		Example: `  cdnctl purge /index.html /about/
  cdnctl purge --prefix /assets/ --tag css --wait
  cdnctl purge --cdn staging --all --yes
  git diff --name-only HEAD~1 -- public | sed 's|^public||' | cdnctl purge --file - --dry-run
  cdnctl purge --cdn fastly --tag product-42 --soft
  cdnctl purge --cdn akamai --cpcode 123456 --wait
  cdnctl purge --cdn local --soft /index.html`,
		Args: wrapArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Targets = args
			return runPurge(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Prefixes, "prefix", nil, "purge everything under this path or URL prefix; repeatable")
	listVar(fl, &opts.Tags, "tag", "", nil, "purge everything tagged so (Cache-Tag, Surrogate-Key, CloudFront cache tags); repeatable")
	listVar(fl, &opts.Hosts, "host", "", nil, "purge everything of this hostname (one of the CDN's hostnames); repeatable")
	fl.IntSliceVar(&opts.CPCodes, "cpcode", nil, "purge everything under this Akamai CP code; repeatable")
	fl.StringArrayVar(&opts.Keys, "key", nil, "purge the URLs of this object key (as pushed), through the CDN's origin_path; repeatable")
	fl.StringArrayVarP(&opts.Headers, "header", "H", nil, `purge one cache-key variant of the URLs, e.g. "CF-Device-Type: mobile" (Cloudflare); repeatable`)
	fl.BoolVar(&opts.All, "all", false, "purge everything")
	fl.StringArrayVarP(&opts.Files, "file", "f", nil, `read targets from a file, one per line ("-" for stdin); repeatable`)
	listVar(fl, &opts.CDNs, "cdn", "", nil, "the cdns entry to purge, by name or provider (default: the only or default entry)")
	fl.StringVar(&opts.Profile, "profile", "", "AWS shared config profile, for CloudFront (default: the entry's, then AWS_PROFILE)")
	fl.StringVar(&opts.Region, "region", "", "AWS region, for CloudFront (default: the entry's, then AWS_REGION)")
	listVar(fl, &opts.Pops, "pop", "", nil, "purge only this PoP of the local edge (and the shield it fetches from); repeatable (default: the entry's pops, then all)")
	fl.StringVar(&opts.Admin, "admin", "", "admin API URL of a cdnctl serve, for the local provider (default: the entry's admin_url, else the local CDN running for this folder, else serve.admin)")
	fl.BoolVar(&opts.Soft, "soft", false, "mark entries stale instead of removing them (Fastly, Akamai invalidate, local edge)")
	fl.BoolVar(&opts.Delete, "delete", false, "Akamai: delete the objects instead of invalidating them")
	fl.BoolVar(&opts.Wait, "wait", false, "wait until the purge has completed everywhere (CloudFront: polls; Akamai: sleeps its estimate)")
	fl.DurationVar(&opts.Timeout, "timeout", defaultPurgeTimeout, "give up after this long, waiting included")
	fl.BoolVarP(&opts.DryRun, "dry-run", "n", false, "print the batches that would be sent and send nothing")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	aliasFlag(cmd, "provider", "cdn")
	return cmd
}

// request builds the purge request from arguments, flags and --file.
func (o *PurgeOptions) request(stdin io.Reader) (providers.PurgeRequest, error) {
	req := providers.PurgeRequest{
		Prefixes: o.Prefixes, Tags: o.Tags, Hosts: o.Hosts, Keys: o.Keys, CPCodes: o.CPCodes,
		Everything: o.All, Soft: o.Soft,
	}
	for _, t := range o.Targets {
		if err := checkPurgeTarget(t); err != nil {
			return req, err
		}
		req.URLs = append(req.URLs, t)
	}
	stdinRead := false
	for _, name := range o.Files {
		if name == "-" {
			if stdinRead {
				return req, usageErrorf(`--file -: stdin can be read once`)
			}
			stdinRead = true
		}
		if err := readPurgeFile(name, stdin, &req); err != nil {
			return req, err
		}
	}
	for _, h := range o.Headers {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return req, usageErrorf("--header %q: want \"Name: value\"", h)
		}
		if req.Headers == nil {
			req.Headers = map[string]string{}
		}
		req.Headers[name] = value
	}
	if req.Empty() {
		return req, usageErrorf("purge: nothing to purge: give URLs or paths, --prefix, --tag, --host, --key, --cpcode, --file or --all")
	}
	return req, nil
}

// checkPurgeTarget accepts a path or an http(s) URL, and says what was
// probably meant otherwise.
func checkPurgeTarget(t string) error {
	switch {
	case strings.HasPrefix(t, "/"), strings.HasPrefix(t, "http://"), strings.HasPrefix(t, "https://"):
		return nil
	case strings.Contains(t, "://"):
		return usageErrorf("purge: %q: want an http(s) URL or a path starting with /", t)
	}
	return usageErrorf("purge: %q is neither a path nor a URL: did you mean %q?", t, "/"+t)
}

// readPurgeFile adds the targets of a file (or stdin) to req.
func readPurgeFile(name string, stdin io.Reader, req *providers.PurgeRequest) error {
	return readTargetFile(name, stdin, func(line, where string) error {
		kind, rest, ok := strings.Cut(line, ":")
		rest = strings.TrimSpace(rest)
		switch {
		case ok && kind == "tag":
			req.Tags = append(req.Tags, rest)
		case ok && kind == "prefix":
			req.Prefixes = append(req.Prefixes, rest)
		case ok && kind == "host":
			req.Hosts = append(req.Hosts, rest)
		case ok && kind == "key":
			req.Keys = append(req.Keys, rest)
		case ok && kind == "cpcode":
			n, err := strconv.Atoi(rest)
			if err != nil || n <= 0 {
				return usageErrorf("%scpcode:%s: want a CP code number such as cpcode:123456", where, rest)
			}
			req.CPCodes = append(req.CPCodes, n)
		default:
			if err := checkPurgeTarget(line); err != nil {
				return &UsageError{Err: fmt.Errorf("%s%w", where, err)}
			}
			req.URLs = append(req.URLs, line)
		}
		return nil
	})
}

// readTargetFile calls add for each line of the file name ("-" for
// stdin) that is neither blank nor a # comment, trimmed, with where naming
// the line ("urls.txt:3: ") for its errors.
func readTargetFile(name string, stdin io.Reader, add func(line, where string) error) error {
	r := stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--file: %w", err)}
		}
		defer fh.Close()
		r = fh
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := add(line, fmt.Sprintf("%s:%d: ", fileLabel(name), n)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", fileLabel(name), err)
	}
	return nil
}

func fileLabel(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

func runPurge(ctx context.Context, f *Factory, opts *PurgeOptions) error {
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	if err := validateCDNs(cfg.CDNs); err != nil {
		return configError(fmt.Errorf("config: %w", err))
	}
	req, err := opts.request(f.IO.In)
	if err != nil {
		return err
	}
	if len(opts.CDNs) > 1 {
		return usageErrorf("purge: --cdn %s: purge one CDN at a time (run cdnctl purge once for each)", strings.Join(opts.CDNs, ","))
	}
	var name string
	if len(opts.CDNs) == 1 {
		name = opts.CDNs[0]
	}
	target, err := resolveCDN(cfg.CDNs, name)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("purge: %w", err)}
	}
	if opts.Profile != "" || opts.Region != "" {
		if target.Provider != providerCloudFront {
			return usageErrorf("purge: --profile and --region apply to CloudFront, not to %s", target.noun())
		}
		if opts.Profile != "" {
			target.Profile = opts.Profile
		}
		if opts.Region != "" {
			target.Region = opts.Region
		}
	}
	if opts.Admin != "" || len(opts.Pops) > 0 {
		if target.Provider != providerLocal {
			return usageErrorf("purge: --admin and --pop apply to the local provider, not to %s", target.noun())
		}
		if opts.Admin != "" {
			target.AdminURL = opts.Admin
		}
		if len(opts.Pops) > 0 {
			target.Pops = opts.Pops
		}
	}
	if opts.Delete {
		if target.Provider != providerAkamai {
			return usageErrorf("purge: --delete applies to Akamai, not to %s", target.noun())
		}
		if opts.Soft {
			return usageErrorf("purge: --soft (invalidate) and --delete contradict each other: give one")
		}
		target.Method = akamai.MethodDelete
	}
	if err := f.localTarget(ctx, cfg, &target); err != nil {
		if !opts.DryRun {
			return fmt.Errorf("purge: %s: %w", target.noun(), err)
		}
		f.Logger.Warn("purge: " + err.Error())
	}
	if opts.Timeout <= 0 {
		return usageErrorf("purge: --timeout %s: want a positive duration", opts.Timeout)
	}
	purger, err := opts.newPurger(ctx, f, target)
	if err != nil {
		return configError(fmt.Errorf("purge: %s: %w", target.noun(), err))
	}
	rec, err := purger.Plan(req)
	if err != nil {
		if errors.Is(err, providers.ErrNotSupported) || errors.Is(err, providers.ErrInvalidPurge) {
			return &UsageError{Err: fmt.Errorf("purge: %w", err)}
		}
		return fmt.Errorf("purge: %w", err)
	}
	rec.Name = target.Name
	if opts.DryRun {
		if f.JSON {
			return writeJSON(f.IO.Out, rec)
		}
		return printPurgePlan(f.IO, target, rec)
	}
	if err := confirmPurge(f.IO, opts.Yes, target, rec); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	err = purger.Purge(ctx, rec)
	if err == nil && opts.Wait {
		if w, ok := purger.(providers.PurgeWaiter); ok && rec.Status == providers.PurgeInProgress {
			err = w.Wait(ctx, rec, purgeProgress(f))
		}
	}
	if rec.Status != providers.PurgePlanned {
		var perr error
		if f.JSON {
			perr = writeJSON(f.IO.Out, rec)
		} else {
			perr = printPurgeRecord(f.IO, target, rec, opts.Wait)
		}
		if err == nil {
			err = perr
		}
	}
	if err != nil {
		var pe *providers.PurgeError
		if errors.As(err, &pe) && len(pe.NotPurged) > 0 {
			fmt.Fprintf(f.IO.ErrOut, "Not purged (%d):\n", len(pe.NotPurged))
			for _, it := range pe.NotPurged {
				fmt.Fprintf(f.IO.ErrOut, "  %s\n", it)
			}
		}
		if errors.Is(err, adminclient.ErrUnauthorized) {
			err = fmt.Errorf("%w; cdnctl purge reads it from %s", err, target.tokenEnv())
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("purge: gave up after --timeout %s: %w", opts.Timeout, err)
		}
		return fmt.Errorf("purge: %w", err)
	}
	return nil
}

// confirmPurge asks before purging everything or more than the entry's
// confirm_above items; without a terminal it needs --yes.
func confirmPurge(ios *IOStreams, yes bool, target CDNConfig, rec *providers.PurgeRecord) error {
	n := rec.Items()
	limit := target.confirmAbove()
	if yes || !(rec.Everything || (limit >= 0 && n > limit)) {
		return nil
	}
	what := count(n, "item", "items")
	if rec.Everything {
		what = "EVERYTHING"
	}
	if !ios.CanPrompt() {
		return usageErrorf("purge: refusing to purge %s from %s without --yes (no terminal to confirm on)", what, target.noun())
	}
	fmt.Fprintf(ios.ErrOut, "Purge %s from %s in %s? [y/N] ", what, target.noun(), count(len(rec.Batches), "batch", "batches"))
	line, err := bufio.NewReader(ios.In).ReadString('\n')
	if err != nil && line == "" {
		return &ExitError{Code: ExitFailure, Err: errors.New("purge: cancelled (no answer)")}
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &ExitError{Code: ExitFailure, Err: errors.New("purge: cancelled; nothing was sent")}
}

// purgeProgress reports waiting progress on stderr: a status line on a
// terminal, a log line whenever the count changes otherwise.
func purgeProgress(f *Factory) func(providers.PurgeProgress) {
	last := -1
	return func(p providers.PurgeProgress) {
		if f.IO.IsStderrTTY() {
			fmt.Fprintf(f.IO.ErrOut, "\rwaiting: %d/%d completed (%s)\x1b[K", p.Completed, p.Total, p.Elapsed.Round(time.Second))
			if p.Completed == p.Total {
				fmt.Fprintln(f.IO.ErrOut)
			}
			return
		}
		if p.Completed != last {
			last = p.Completed
			f.Logger.Info("purge: waiting for completion", "completed", p.Completed, "total", p.Total, "elapsed", p.Elapsed.Round(time.Second).String())
		}
	}
}

// buildPurger returns the purger of a cdns entry. Tokens are read from
// the environment here and nowhere else.
func buildPurger(ctx context.Context, f *Factory, c CDNConfig) (providers.Purger, error) {
	token := func() providers.Secret {
		v, _ := f.LookupEnv(c.tokenEnv())
		if v = strings.TrimSpace(v); v == "" && c.Provider == providerLocal {
			v = c.adminToken // the running local CDN's
		}
		if v == "" && c.Provider == providerLocal {
			// Like inspect: serve.token, when cdnctl.yaml sets one.
			if cfg, err := f.Config(); err == nil {
				v = cfg.Serve.Token
			}
		}
		return providers.Secret(v)
	}
	switch c.Provider {
	case providerCloudFront:
		return cloudfront.New(ctx, cloudfront.Config{
			DistributionID: c.DistributionID, Hostnames: c.Hostnames, OriginPath: c.OriginPath,
			CollapseAbove: c.CollapseAbove, CollapseTo: c.CollapseTo,
			Profile: c.Profile, Region: c.Region, Endpoint: c.Endpoint,
			Logger: f.Logger, Now: f.Now,
		})
	case providerCloudflare:
		return cloudflare.New(cloudflare.Config{
			ZoneID: c.ZoneID, Hostnames: c.Hostnames, OriginPath: c.OriginPath,
			BatchSize: c.BatchSize, URLRate: c.URLsPerSecond, Rate: c.RequestsPerSecond, Burst: c.Burst,
			Token: token(), TokenEnv: c.tokenEnv(), BaseURL: c.Endpoint, Logger: f.Logger, Now: f.Now,
		})
	case providerFastly:
		return fastly.New(fastly.Config{
			ServiceID: c.ServiceID, Hostnames: c.Hostnames, OriginPath: c.OriginPath,
			Token: token(), TokenEnv: c.tokenEnv(), BaseURL: c.Endpoint, Logger: f.Logger, Now: f.Now,
		})
	case providerAkamai:
		return akamai.New(akamai.Config{
			Network: c.Network, Method: c.Method, Hostnames: c.Hostnames, OriginPath: c.OriginPath,
			CPCodes: c.CPCodes, BaseURL: c.Endpoint, Logger: f.Logger, Now: f.Now,
			Credentials: func() (*akamai.Credentials, error) {
				return akamai.LoadCredentials(akamai.CredentialOptions{Edgerc: c.Edgerc, Section: c.Section, LookupEnv: f.LookupEnv})
			},
		})
	case providerLocal:
		return local.NewPurger(local.PurgerConfig{
			AdminURL: c.AdminURL, Token: token(), Pops: c.Pops, OriginPath: c.OriginPath,
			BatchSize: c.BatchSize, Logger: f.Logger, Now: f.Now,
		})
	}
	return nil, fmt.Errorf("provider %q: want %s", c.Provider, providerNames)
}

// printPurgePlan prints a dry run: every item of every batch.
func printPurgePlan(ios *IOStreams, target CDNConfig, rec *providers.PurgeRecord) error {
	head := fmt.Sprintf("Dry run: %s would be purged in %d %s; nothing was sent.",
		countItems(rec), len(rec.Batches), plural(len(rec.Batches), "batch", "batches"))
	printPurgeHeader(ios, target.noun(), head, rec)
	tb := newTable(ios, "BATCH", "KIND", "ITEM")
	for i, b := range rec.Batches {
		if len(b.Items) == 0 {
			tb.Row(fmt.Sprint(i+1), b.Kind, "*")
		}
		for _, it := range b.Items {
			tb.Row(fmt.Sprint(i+1), b.Kind, it)
		}
	}
	return tb.Render(ios.Out)
}

// printPurgeRecord prints what a purge did: a summary, then a row per
// batch.
func printPurgeRecord(ios *IOStreams, target CDNConfig, rec *providers.PurgeRecord, waited bool) error {
	dur := (time.Duration(rec.DurationMS) * time.Millisecond).Round(time.Millisecond)
	var state string
	switch rec.Status {
	case providers.PurgeCompleted:
		state = "purged"
	case providers.PurgeInProgress:
		state = "accepted, still in progress"
		estimate := 0
		for _, b := range rec.Batches {
			estimate = max(estimate, b.EstimatedSeconds)
		}
		switch {
		case waited:
		case estimate > 0:
			state += fmt.Sprintf(" (%s estimates %d s; --wait sleeps that long: there is no status to poll)", target.Provider, estimate)
		default:
			state += " (--wait waits for completion)"
		}
	case providers.PurgePartial:
		state = "PARTLY purged"
	default:
		state = "NOT purged"
	}
	head := fmt.Sprintf("%s: %s in %d %s, %s.", countItems(rec), state, len(rec.Batches), plural(len(rec.Batches), "batch", "batches"), dur)
	printPurgeHeader(ios, target.noun(), head, rec)
	tb := newTable(ios, "BATCH", "KIND", "ITEMS", "ID", "STATUS", "ATTEMPTS", "PURGED", "DETAIL")
	for i, b := range rec.Batches {
		purged := ""
		if b.Purged != nil {
			purged = fmt.Sprint(*b.Purged)
		}
		detail := b.Error
		if detail == "" {
			detail = strings.Join(b.Items, " ")
			if ios.IsStdoutTTY() && len(detail) > 60 {
				detail = detail[:57] + "..."
			}
		}
		id := b.ID
		switch {
		case id == "" && len(b.ItemIDs) > 0:
			id = fmt.Sprintf("%d purge IDs", len(b.ItemIDs))
		case b.RequestID != "" && id == "":
			id = "request " + b.RequestID
		}
		tb.Row(fmt.Sprint(i+1), b.Kind, fmt.Sprint(max(len(b.Items), 1)), id, string(b.Status), fmt.Sprint(b.Attempts), purged, detail)
	}
	if err := tb.Render(ios.Out); err != nil {
		return err
	}
	printItemIDs(ios, rec)
	return nil
}

// printItemIDs lists the purge ID of each item of the batches that have
// one per item (Fastly's batch key purges): with the summary, on stdout on
// a terminal, on stderr when stdout is a pipe.
func printItemIDs(ios *IOStreams, rec *providers.PurgeRecord) {
	w := ios.ErrOut
	if ios.IsStdoutTTY() {
		w = ios.Out
	}
	for i, b := range rec.Batches {
		if len(b.ItemIDs) < 2 {
			continue
		}
		fmt.Fprintf(w, "Purge IDs of batch %d:\n", i+1)
		for _, it := range b.Items {
			if id := b.ItemIDs[it]; id != "" {
				fmt.Fprintf(w, "  %s  %s\n", it, id)
			}
		}
	}
}

// printPurgeHeader prints the target, the summary, the billable estimate
// and the notes: on stdout above the table on a terminal, on stderr when
// stdout is a pipe (which gets only the rows).
func printPurgeHeader(ios *IOStreams, noun, head string, rec *providers.PurgeRecord) {
	w := ios.ErrOut
	if ios.IsStdoutTTY() {
		w = ios.Out
	}
	fmt.Fprintf(w, "Target: %s\n%s\n", noun, head)
	if rec.EstimatedBillablePaths != nil && rec.Status != providers.PurgeFailed && rec.Status != providers.PurgePartial {
		fmt.Fprintf(w, "Estimated billable invalidation paths: %d (the first 1,000 a month are free for the account).\n", *rec.EstimatedBillablePaths)
	}
	for _, n := range rec.Notes {
		fmt.Fprintf(w, "Note: %s.\n", n)
	}
	if rec.Soft {
		fmt.Fprintln(w, "Soft purge: entries are marked stale, not removed.")
	}
}

func countItems(rec *providers.PurgeRecord) string {
	if rec.Everything {
		return "Everything"
	}
	n := rec.Items()
	return fmt.Sprintf("%d %s", n, plural(n, "item", "items"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

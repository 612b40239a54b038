package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/local"
	"github.com/cdnctl/cdnctl/providers/prewarm"
)

// DeployOptions are the inputs of `cdnctl deploy`.
type DeployOptions struct {
	Site     string
	Env      string
	PlanOnly bool
	Yes      bool
	// Rollback is the deploy ID to roll back to ("previous": the one
	// before the last); RollbackSet says --rollback was given.
	Rollback      string
	RollbackSet   bool
	To            string
	CDNs          []string
	NoPrewarm     bool
	NoVerify      bool
	Wait          bool
	Force         bool
	NoFingerprint bool
	State         string
	Lock          lockFlags
}

// rollbackPrevious is --rollback without an ID.
const rollbackPrevious = "previous"

func newCmdDeploy(f *Factory) *cobra.Command {
	opts := &DeployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy [SITE] [--env NAME] [--dry-run] [--yes] [--rollback [ID]]",
		Short: "Fingerprint, upload, purge, prewarm and verify a site in one planned, safe step",
		Long: `Deploy takes a site folder to a live, warm CDN. It computes one plan before
anything changes, shows it, and then runs it step by step:

  fingerprint          content-hash SITE into the build folder (local only)
  upload-assets        upload new fingerprinted files first
  upload-files         then the other un-fingerprinted files
  upload-entry-points  then HTML, manifests, service workers: the switch
  delete               remove files no longer in the site (old assets are
                       kept for deploy.keep_deploys deploys)
  purge                purge every CDN of the changed entry points and
                       un-fingerprinted files (never of fingerprinted files:
                       their URLs are new), by URL or by tag
  wait                 wait for asynchronous purges (CloudFront; Akamai's
                       estimate), if asked
  prewarm              request what changed through every PoP
  verify               fetch the changed entry points and a sample of
                       assets through every PoP and check their SHA-256

Settings come from cdnctl.yaml: the deploy section (site, prewarm, verify),
origin (where to upload) and cdns (what to purge); --env NAME applies the
environments.NAME section over them. --dry-run prints the plan and exits;
--json prints it (or the result) as JSON (schema in docs/deploy.md). On a
terminal the plan asks for confirmation (--yes skips it); without one it
runs at once.

Every deploy is recorded in the origin's deploy history before its first
upload (cdnctl history lists them). The history lives in the deploy state,
beside the site where no CDN serves it (origin.state; docs/deploy.md#state);
deploy warns at every run, and verify fails, if a CDN serves it. One deploy
runs at a time: a second one fails naming the deploy that holds the lock
(--lock-wait waits for it; a lock not refreshed for origin.lock_stale_after,
or whose holder on this machine is gone, is taken over; --force-unlock takes
it anyway).

--rollback re-points the site to the previous deploy (or --rollback=ID; on
a terminal without an ID, it lists the deploys to choose from): its
fingerprinted assets are still in the origin, and its entry points are
restored from the copies deploy kept, then purged.

Exit codes: 0 deployed; 3 failed before anything changed; 4 failed after
uploading some files but before switching entry points (the live site is
the previous deploy); 5 failed after switching (purge, wait or verify: run
again to finish); 2 usage; 130 interrupted. An interrupted or failed
deploy never leaves the site broken, and running it again finishes it.`,
		Example: `  cdnctl deploy --dry-run
  cdnctl deploy public --env staging --yes
  cdnctl deploy --env production --json > deploy.json
  cdnctl deploy --rollback --yes
  cdnctl deploy --rollback=20261123T130405Z-3f9a1c0e --dry-run`,
		Args: wrapArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Site = args[0]
			}
			opts.RollbackSet = cmd.Flags().Changed("rollback")
			if !cmd.Flags().Changed("env") {
				if v, ok := f.LookupEnv(envPrefix + "ENV"); ok {
					opts.Env = v
				}
			}
			return runDeploy(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Env, "env", "", "apply the environments.NAME section of cdnctl.yaml (env CDNCTL_ENV)")
	fl.BoolVarP(&opts.PlanOnly, "dry-run", "n", false, "print the plan and exit: nothing is uploaded or purged")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	fl.StringVar(&opts.Rollback, "rollback", "", "roll back to the previous deploy, or to deploy ID (--rollback=ID)")
	fl.Lookup("rollback").NoOptDefVal = rollbackPrevious
	fl.StringVar(&opts.To, "to", "", "origin target, overriding origin.target: s3://bucket/prefix or file:///path")
	listVar(fl, &opts.CDNs, "cdn", "", nil, "deploy to these cdns entries only, by name or provider; repeatable (default: deploy.cdns, else all)")
	fl.BoolVar(&opts.NoPrewarm, "no-prewarm", false, "skip prewarm")
	fl.BoolVar(&opts.NoVerify, "no-verify", false, "skip verify")
	fl.BoolVar(&opts.Wait, "wait", false, "wait for asynchronous purges (CloudFront, Akamai) to complete (deploy.wait)")
	fl.BoolVar(&opts.Force, "reupload", false, "upload every file again, changed or not")
	fl.BoolVar(&opts.NoFingerprint, "no-fingerprint", false, "push SITE as it is (it was fingerprinted already)")
	fl.StringVar(&opts.State, "state", "", "where the deploy state lives, overriding origin.state: s3://bucket/prefix or a folder")
	opts.Lock.register(fl)
	aliasFlag(cmd, "plan", "dry-run")
	aliasFlag(cmd, "force", "reupload")
	return cmd
}

// deployRun is a deploy ready to plan, and what to clean up after it.
type deployRun struct {
	cfg     deploy.Config
	target  target
	origin  OriginConfig
	cleanup []func()
}

func (r *deployRun) close() {
	for i := len(r.cleanup) - 1; i >= 0; i-- {
		r.cleanup[i]()
	}
}

func runDeploy(ctx context.Context, f *Factory, opts *DeployOptions) error {
	defer collectLessOften(f.LookupEnv)()
	ui := newDeployUI(f)
	run, err := buildDeploy(ctx, f, opts, ui)
	if err != nil {
		return err
	}
	defer run.close()
	op := "deploy"
	if opts.RollbackSet {
		op = "rollback"
	}
	unchanged := func(err error) error {
		ui.stop()
		if errors.Is(err, context.Canceled) {
			ui.annotate("error", "deploy interrupted before changing anything")
			return &ExitError{Code: ExitInterrupted, Err: errors.New("deploy interrupted before anything was uploaded: nothing was changed")}
		}
		ui.annotate("error", fmt.Sprintf("deploy failed before changing anything: %v", err))
		return &ExitError{Code: ExitDeployUnchanged, Err: fmt.Errorf("%w (exit %d: nothing was changed)", err, ExitDeployUnchanged)}
	}
	var lock *providers.Lock
	if opts.PlanOnly {
		read, closeRead, err := readableState(ctx, f, run.cfg.Store, run.target, run.origin)
		if err != nil {
			return unchanged(err)
		}
		run.cleanup = append(run.cleanup, closeRead)
		run.cfg.Store = read
	} else {
		l, lctx, err := takeLock(ctx, f, run.cfg.Store, op, run.origin, opts.Lock)
		if err != nil {
			return unchanged(err)
		}
		lock = l
		defer func() {
			if err := lock.Release(ctx); err != nil {
				f.Logger.Warn("deploy: " + err.Error())
			}
		}()
		ctx = lctx
		run.cfg.User, run.cfg.CI = holderWho(lock.Held().Holder)
	}
	d := deploy.New(run.cfg)

	var plan *deploy.Plan
	if opts.RollbackSet {
		id := opts.Rollback
		if id == rollbackPrevious {
			id = ""
			if !opts.Yes && f.IO.CanPrompt() && !f.JSON {
				ui.stop()
				if id, err = chooseRollback(ctx, f, run.cfg.Store); err != nil {
					return unchanged(err)
				}
			}
		}
		plan, err = d.PlanRollback(ctx, id)
	} else {
		plan, err = d.Plan(ctx)
	}
	ui.stop()
	if err != nil {
		return unchanged(lostLock(ctx, err))
	}
	if lock != nil && plan.ID != "" {
		if err := lock.SetDeployID(ctx, plan.ID); err != nil {
			return unchanged(err)
		}
	}
	for _, w := range plan.Warnings {
		f.Logger.Warn("deploy: " + w)
	}
	if opts.PlanOnly {
		if f.JSON {
			return writeJSON(f.IO.Out, plan.Report)
		}
		return printDeployPlan(f.IO.Out, &plan.Report, true)
	}
	if !f.JSON {
		if err := printDeployPlan(f.IO.Out, &plan.Report, false); err != nil {
			return err
		}
	}
	if plan.Changes && !opts.Yes && f.IO.CanPrompt() {
		if err := confirmDeploy(f.IO, &plan.Report); err != nil {
			return err
		}
	}

	rep, err := d.Apply(ctx, plan)
	err = lostLock(ctx, err)
	ui.stop()
	if f.JSON {
		if jerr := writeJSON(f.IO.Out, rep); jerr != nil && err == nil {
			return jerr
		}
	} else if perr := printDeploySummary(f.IO.Out, rep); perr != nil && err == nil {
		return perr
	}
	ui.finish(rep, err)
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("deploy interrupted: %s", interruptedText(rep))}
	}
	return &ExitError{Code: deployExitCode(rep.Status), Err: err}
}

// deployExitCode maps a deploy's outcome to the process exit code.
func deployExitCode(outcome string) int {
	switch outcome {
	case deploy.OutcomeSucceeded:
		return ExitOK
	case deploy.OutcomeFailedUnchanged:
		return ExitDeployUnchanged
	case deploy.OutcomeFailedPartial:
		return ExitDeployPartial
	case deploy.OutcomeFailedSwitched:
		return ExitDeploySwitched
	}
	return ExitFailure
}

func confirmDeploy(ios *IOStreams, rep *deploy.Report) error {
	what := "Deploy"
	if rep.Kind == "rollback" {
		what = "Roll back to " + rep.RollbackOf
	}
	fmt.Fprintf(ios.ErrOut, "%s to %s? [y/N] ", what, rep.Origin)
	line, err := ios.ReadLine()
	if err != nil && line == "" {
		return &ExitError{Code: ExitDeployUnchanged, Err: errors.New("deploy: cancelled (no answer); nothing was changed")}
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &ExitError{Code: ExitDeployUnchanged, Err: errors.New("deploy: cancelled; nothing was changed")}
}

// buildDeploy reads the configuration (with --env and the flags) and
// builds the deploy: the site, the origin store, the CDNs.
func buildDeploy(ctx context.Context, f *Factory, opts *DeployOptions, ui *deployUI) (*deployRun, error) {
	base, err := f.Config()
	if err != nil {
		return nil, err
	}
	cfg, err := base.WithEnvironment(opts.Env, f.LookupEnv)
	if err != nil {
		return nil, configError(fmt.Errorf("config: %w", err))
	}
	dc := cfg.Deploy
	if opts.Site != "" {
		dc.Site = opts.Site
	}
	if opts.NoFingerprint {
		dc.Fingerprint = false
	}
	if opts.NoPrewarm {
		dc.Prewarm.Enabled = false
	}
	if opts.NoVerify {
		dc.Verify.Enabled = false
	}
	if opts.Wait {
		dc.Wait = true
	}
	if len(opts.CDNs) > 0 {
		dc.CDNs = opts.CDNs
	}
	if err := dc.validate(); err != nil {
		return nil, configError(fmt.Errorf("config: %w", err))
	}
	oc := cfg.Origin
	if opts.To != "" {
		oc.Target = opts.To
	}
	if opts.State != "" {
		oc.State = opts.State
	}
	compiled, err := oc.compile()
	if err != nil {
		return nil, configError(fmt.Errorf("config: %w", err))
	}
	compiled.plan.Force = opts.Force
	tags := tagRulesOf(cfg.CDNs)
	tags.scanOptions(&compiled.scan)
	if oc.Target == "" {
		return nil, usageErrorf("deploy: no origin: set origin.target in cdnctl.yaml (or environments.NAME.origin.target), or pass --to")
	}
	tgt, err := parseTarget(oc.Target)
	if err != nil {
		return nil, &UsageError{Err: err}
	}

	run := &deployRun{target: tgt, origin: oc}
	dcfg := deploy.Config{
		Target: tgt.String(), KeyPrefix: tgt.prefix,
		Scan: compiled.scan, Plan: compiled.plan, Concurrency: oc.Concurrency,
		Wait: dc.Wait, WaitTimeout: dc.WaitTimeout, NoRollbackCopies: !dc.RollbackCopies,
		Environment: opts.Env, Logger: f.Logger, Now: f.Now,
		OnEvent: ui.event, Progress: ui.progress,
	}

	// The site.
	if !opts.RollbackSet {
		if dc.Site == "" {
			return nil, usageErrorf("deploy: no site folder: give SITE, or set deploy.site in cdnctl.yaml")
		}
		if err := checkFolder(dc.Site); err != nil {
			return nil, err
		}
		if tgt.dir != "" {
			if err := checkNotNested(dc.Site, tgt.dir); err != nil {
				return nil, &UsageError{Err: err}
			}
		}
		if dc.Fingerprint {
			fo, err := cfg.Fingerprint.options()
			if err == nil {
				err = tags.checkRules(fo.Rules)
			}
			if err != nil {
				return nil, configError(fmt.Errorf("%s: fingerprint section: %w", configName(cfg), err))
			}
			out := dc.Out
			if out == "" {
				out = cfg.Fingerprint.Out
			}
			if out == "" {
				tmp, err := os.MkdirTemp("", "cdnctl-deploy-")
				if err != nil {
					return nil, fmt.Errorf("deploy: %w", err)
				}
				run.cleanup = append(run.cleanup, func() { os.RemoveAll(tmp) })
				out = filepath.Join(tmp, "site")
			}
			if tgt.dir != "" {
				if err := checkNotNested(out, tgt.dir); err != nil {
					return nil, &UsageError{Err: err}
				}
			}
			dcfg.Source, dcfg.Dir = dc.Site, out
			dcfg.Fingerprint = hashing.DirOptions{Options: fo}
			// The audit ends the fingerprint step: with findings, the
			// deploy stops before uploading anything.
			auditor := newAuditor(fo, cfg.Fingerprint.Audit)
			auditor.Source, auditor.Previous = os.DirFS(dc.Site), out
			dcfg.Fingerprint.Audit = func(ctx context.Context, dir string, res *hashing.Result) error {
				// What fingerprint recognised and kept, as the
				// fingerprint command says it.
				for _, d := range res.Detected {
					f.Logger.Info("generator detected", "generator", d.Generator, "files", d.Files, "detail", d.String())
				}
				logPinned(f.Logger, res.Pinned)
				err := auditor.Audit(ctx, dir, res)
				if err == nil {
					logAudit(f.Logger, auditor.Report)
				}
				return err
			}
			dcfg.Fingerprint.Watch = auditor
			if fo.ManifestName != "" {
				dcfg.Scan.Manifest = fo.ManifestName
			}
		} else {
			dcfg.Dir = dc.Site
		}
		dcfg.GitCommit = gitCommit(ctx, f, dc.Site)
		dcfg.GitMessage = gitMessage(ctx, f, dc.Site)
	}

	// The origin.
	store, closeStore, err := openStore(ctx, tgt, oc, f.Logger)
	if err != nil {
		run.close()
		return nil, err
	}
	run.cleanup = append(run.cleanup, closeStore)
	dcfg.Store = store

	// The CDNs.
	cdns, err := selectCDNs(cfg.CDNs, dc.CDNs)
	if err != nil {
		run.close()
		return nil, configError(fmt.Errorf("config: %w", err))
	}
	for _, c := range cdns {
		if err := f.localTarget(ctx, cfg, &c); err != nil {
			if !opts.PlanOnly {
				run.close()
				return nil, fmt.Errorf("deploy: %s: %w", c.noun(), err)
			}
			f.Logger.Warn("deploy: " + c.noun() + ": " + err.Error())
		}
		dc, err := deployCDN(ctx, f, cfg, dc, c)
		if err != nil {
			run.close()
			return nil, err
		}
		dcfg.CDNs = append(dcfg.CDNs, dc)
	}
	dcfg.Prewarm = deploy.PrewarmConfig{Enabled: dc.Prewarm.Enabled, What: dc.Prewarm.What, Warmer: prewarm.Warmer{
		Concurrency: dc.Prewarm.Concurrency, Rate: dc.Prewarm.Rate, Encodings: dc.Prewarm.Encodings,
		Timeout: dc.Prewarm.Timeout, Insecure: dc.Prewarm.Insecure, Logger: f.Logger,
	}}
	dcfg.Verify = deploy.VerifyConfig{Enabled: dc.Verify.Enabled, Sample: dc.Verify.Sample}
	dcfg.Verify.Verifier.Encodings = dc.Prewarm.Encodings
	dcfg.Verify.Verifier.Concurrency = dc.Prewarm.Concurrency
	dcfg.Verify.Verifier.Timeout = dc.Verify.Timeout
	dcfg.Verify.Verifier.Insecure = dc.Prewarm.Insecure
	run.cfg = dcfg
	return run, nil
}

// selectCDNs returns the cdns entries named (all when none is).
func selectCDNs(all []CDNConfig, names []string) ([]CDNConfig, error) {
	if err := validateCDNs(all); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return all, nil
	}
	var out []CDNConfig
	for _, n := range names {
		i := slices.IndexFunc(all, func(c CDNConfig) bool { return c.Name == n })
		if i < 0 {
			if n == providerLocal {
				out = append(out, implicitLocalCDN())
				continue
			}
			var have []string
			for _, c := range all {
				have = append(have, c.Name)
			}
			return nil, fmt.Errorf("deploy.cdns: %q is not a cdns entry (entries: %s)", n, strings.Join(have, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// deployCDN builds what deploy needs of one cdns entry: its purger, where
// it serves the site, and how to find its PoPs.
func deployCDN(ctx context.Context, f *Factory, cfg *Config, dc DeployConfig, c CDNConfig) (deploy.CDN, error) {
	purger, err := buildPurger(ctx, f, c)
	if err != nil {
		return deploy.CDN{}, configError(fmt.Errorf("deploy: %s: %w", c.noun(), err))
	}
	out := deploy.CDN{Name: c.Name, Provider: c.Provider, Purger: purger, OriginPath: c.OriginPath, PurgeBy: dc.PurgeBy}
	rawBase := dc.BaseURL
	switch {
	case rawBase != "":
	case c.Provider == providerLocal:
		rawBase = localSiteBase(cfg)
	case len(c.Hostnames) > 0:
		rawBase = "https://" + c.Hostnames[0] + "/"
	default:
		f.Logger.Warn("deploy: no hostname for this CDN: not warmed or verified (set its hostnames, or deploy.base_url)", "cdn", c.Name)
		return out, nil
	}
	base, err := prewarm.ParseBase(rawBase)
	if err != nil {
		return deploy.CDN{}, &UsageError{Err: fmt.Errorf("deploy: cdn %s: %w", c.Name, err)}
	}
	out.BaseURL = base
	host, port := base.Hostname(), base.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[base.Scheme]
	}
	p := dc.Prewarm
	switch {
	case c.Provider == providerLocal:
		admin := c.AdminURL
		if admin == "" {
			admin = local.DefaultAdminURL
		}
		token := ""
		if v, ok := f.LookupEnv(c.tokenEnv()); ok {
			token = strings.TrimSpace(v)
		}
		if token == "" {
			token = c.adminToken
		}
		if token == "" {
			token = cfg.Serve.Token
		}
		client := &adminclient.Client{BaseURL: strings.TrimSuffix(admin, "/"), Token: token}
		out.Edges = func(ctx context.Context) ([]prewarm.Edge, error) {
			info, err := client.Topology(ctx)
			if err != nil {
				return nil, err
			}
			return prewarm.LocalEdges(ctx, info, host)
		}
	case len(p.Edges) > 0:
		var edges []prewarm.Edge
		for _, s := range p.Edges {
			e, err := prewarm.ParseEdge(s, port)
			if err != nil {
				return deploy.CDN{}, configError(fmt.Errorf("deploy.prewarm.edges: %w", err))
			}
			edges = append(edges, e)
		}
		out.Edges = func(context.Context) ([]prewarm.Edge, error) { return edges, nil }
	case len(p.Regions) > 0:
		var regions []prewarm.Region
		for _, r := range p.Regions {
			pre, _ := netip.ParsePrefix(r)
			regions = append(regions, prewarm.Region{Name: pre.String(), Prefix: pre})
		}
		finder := prewarm.Finder{Resolver: p.Resolver}
		out.Edges = func(ctx context.Context) ([]prewarm.Edge, error) { return finder.Find(ctx, host, port, regions) }
	default:
		// The PoP this machine's resolver picks.
		out.Edges = func(ctx context.Context) ([]prewarm.Edge, error) {
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil || len(ips) == 0 {
				return nil, fmt.Errorf("resolve %s: %v (set deploy.prewarm.edges or regions)", host, err)
			}
			return []prewarm.Edge{{Name: host, Addr: net.JoinHostPort(ips[0].Unmap().String(), port), Via: "dns"}}, nil
		}
	}
	return out, nil
}

// localSiteBase is the site's URL at the local topology: https:// when
// serve.https.enabled, http:// otherwise, and localSiteHost.
func localSiteBase(cfg *Config) string {
	scheme := "http"
	if cfg.Serve.HTTPS.Enabled {
		scheme = "https"
	}
	return scheme + "://" + localSiteHost(cfg) + "/"
}

// localSiteHost is the customer hostname of the local topology: the first
// of dns.hosts (www.example.test by default, contracts §4).
func localSiteHost(cfg *Config) string {
	hosts := make([]string, 0, len(cfg.DNS.Hosts))
	for h := range cfg.DNS.Hosts {
		hosts = append(hosts, strings.TrimSuffix(h, "."))
	}
	sort.Strings(hosts)
	if len(hosts) == 0 {
		return "www.example.test"
	}
	return hosts[0]
}

// gitCommit is the commit being deployed: what CI exports, else the
// site folder's git HEAD, else "".
func gitCommit(ctx context.Context, f *Factory, dir string) string {
	if c := gitCommitFromEnv(f.LookupEnv); c != "" {
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--verify", "-q", "HEAD")
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

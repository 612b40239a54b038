package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/providers/akamai"
	"github.com/cdnctl/cdnctl/providers/s3"
	"github.com/cdnctl/cdnctl/sitedetect"
)

// Check statuses of `cdnctl doctor`.
const (
	checkOK   = "ok"
	checkFail = "fail"
	checkSkip = "skip"
)

// doctorCheck is one line of `cdnctl doctor`.
type doctorCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Detail says what was found (never a secret).
	Detail string `json:"detail"`
	// Fix says what to do when the check failed.
	Fix string `json:"fix,omitempty"`
}

// doctorReport is the --json output of `cdnctl doctor`.
type doctorReport struct {
	Config string        `json:"config"`
	OK     bool          `json:"ok"`
	Checks []doctorCheck `json:"checks"`
}

// DoctorOptions are the inputs of `cdnctl doctor`.
type DoctorOptions struct {
	Env     string
	Timeout time.Duration
}

func newCmdDoctor(f *Factory) *cobra.Command {
	opts := &DoctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what a deploy needs: config, build folder, credentials, origin, CDNs, local CDN",
		Long: `Doctor checks, one line each, what cdnctl deploy needs, and for each check
that fails says how to fix it:

  - config: cdnctl.yaml (or --config) loads, every key known and valid;
  - site: the build folder (deploy.site) exists and has files;
  - credentials: for an S3 origin or CloudFront, which link of the AWS chain
    supplies them (environment, shared config or profile, SSO, web identity,
    container or instance role); secrets are never printed;
  - origin: the origin storage is reachable and writable (a small file is
    written to and deleted from the deploy state's folder, never the site);
  - deploy state: not where the CDN serves it to anyone;
  - each CDN of cdns: its credentials are found (the environment variable,
    the .edgerc section, the AWS chain); Cloudflare and Fastly tokens are
    verified with their API (active; Fastly: the purge_select scope for the
    service); for the local CDN, that one runs for this folder and accepts
    its token.

Nothing is uploaded or purged. Exit code 1 when any check fails; --json
prints the checks as JSON.`,
		Example: `  cdnctl doctor
  cdnctl doctor --env staging --json | jq '.checks[] | select(.status == "fail")'`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("env") {
				if v, ok := f.LookupEnv(envPrefix + "ENV"); ok {
					opts.Env = v
				}
			}
			return runDoctor(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Env, "env", "", "apply the environments.NAME section of cdnctl.yaml (env CDNCTL_ENV)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 20*time.Second, "give up on a check that talks to a server after this long")
	return cmd
}

func runDoctor(ctx context.Context, f *Factory, opts *DoctorOptions) error {
	rep := doctorReport{Config: f.configPath}
	add := func(c doctorCheck) { rep.Checks = append(rep.Checks, c) }
	cfg, err := doctorConfig(f, opts.Env)
	if err != nil {
		add(doctorCheck{Name: "config", Status: checkFail, Detail: err.Error(),
			Fix: "correct the key named above (docs/config.md lists every key); `cdnctl init` writes a commented file"})
	} else {
		what := "no config file: defaults and environment"
		if cfg.Path != "" {
			rep.Config = cfg.Path
			what = cfg.Path + " loads; every key is known and valid"
		}
		add(doctorCheck{Name: "config", Status: checkOK, Detail: what})
		for _, c := range doctorChecks(ctx, f, cfg, opts.Timeout) {
			add(c)
		}
	}
	rep.OK = true
	for _, c := range rep.Checks {
		if c.Status == checkFail {
			rep.OK = false
		}
	}
	if f.JSON {
		if err := writeJSON(f.IO.Out, rep); err != nil {
			return err
		}
	} else if err := printDoctor(f.IO, rep); err != nil {
		return err
	}
	if !rep.OK {
		return &ExitError{Code: ExitFailure}
	}
	return nil
}

// doctorConfig loads the configuration (of an environment) and checks the
// sections deploy validates.
func doctorConfig(f *Factory, env string) (*Config, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	if env != "" {
		if cfg, err = cfg.WithEnvironment(env, f.LookupEnv); err != nil {
			return nil, err
		}
	}
	if err := validateCDNs(cfg.CDNs); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := cfg.Deploy.validate(); err != nil {
		return nil, err
	}
	if err := cfg.DNS.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// doctorChecks runs every check after the configuration's.
func doctorChecks(ctx context.Context, f *Factory, cfg *Config, timeout time.Duration) []doctorCheck {
	var out []doctorCheck
	out = append(out, checkSite(f, cfg))
	out = append(out, checkOrigin(ctx, f, cfg, timeout)...)
	for _, c := range cfg.CDNs {
		out = append(out, checkCDN(ctx, f, cfg, c, timeout))
	}
	if len(cfg.CDNs) == 0 {
		out = append(out, doctorCheck{Name: "cdn", Status: checkSkip, Detail: "no cdns entry: deploys are not purged, warmed or verified",
			Fix: "add one to cdns (docs/config.md#cdns)"})
	}
	return out
}

// checkSite checks the build folder.
func checkSite(f *Factory, cfg *Config) doctorCheck {
	c := doctorCheck{Name: "site"}
	site := cfg.Deploy.Site
	build := "your generator's build"
	if wd, err := f.workDir(); err == nil {
		if det := sitedetect.Detect(os.DirFS(wd)); det.Build != "" {
			build = "`" + det.Build + "`"
		}
	}
	if site == "" {
		c.Status, c.Detail, c.Fix = checkFail, "deploy.site is not set", "set deploy.site to the build folder, or give it to cdnctl deploy as DIR"
		return c
	}
	files := 0
	err := filepath.WalkDir(site, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files++
		}
		return nil
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Status, c.Detail, c.Fix = checkFail, site+"/ does not exist", "build the site first ("+build+"), or set deploy.site to its build folder"
	case err != nil:
		c.Status, c.Detail, c.Fix = checkFail, fmt.Sprintf("%s/: %v", site, err), "make the build folder readable"
	case files == 0:
		c.Status, c.Detail, c.Fix = checkFail, site+"/ is empty", "build the site first ("+build+")"
	default:
		c.Status, c.Detail = checkOK, fmt.Sprintf("%s/: %d %s", site, files, plural(files, "file", "files"))
	}
	return c
}

// checkOrigin checks the credentials, the origin storage (reachable,
// writable) and where its deploy state lies.
func checkOrigin(ctx context.Context, f *Factory, cfg *Config, timeout time.Duration) []doctorCheck {
	oc := cfg.Origin
	if oc.Target == "" {
		return []doctorCheck{{Name: "origin", Status: checkFail, Detail: "origin.target is not set",
			Fix: "set origin.target to s3://BUCKET/PREFIX or file://DIR (`cdnctl init` writes one)"}}
	}
	tgt, err := parseLocation("origin.target", oc.Target)
	if err != nil {
		return []doctorCheck{{Name: "origin", Status: checkFail, Detail: err.Error(), Fix: "give s3://BUCKET/PREFIX or file://DIR"}}
	}
	var out []doctorCheck
	if tgt.bucket != "" {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		chain, err := s3.CredentialChain(cctx, oc.Profile)
		cancel()
		if err != nil {
			return append(out, doctorCheck{Name: "credentials", Status: checkFail, Detail: err.Error(),
				Fix: "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run `aws sso login`, or name a profile in origin.profile"})
		}
		out = append(out, doctorCheck{Name: "credentials", Status: checkOK, Detail: "AWS: " + chain})
	}
	store, closeStore, err := openStore(ctx, tgt, oc, f.Logger)
	if err != nil {
		return append(out, doctorCheck{Name: "origin", Status: checkFail, Detail: err.Error(), Fix: "correct origin.target, origin.region or origin.endpoint"})
	}
	defer closeStore()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	loc := store.StateLocation()
	if _, err := store.ListState(cctx); err != nil {
		return append(out, doctorCheck{Name: "origin", Status: checkFail, Detail: fmt.Sprintf("%s: not reachable: %v", tgt, err),
			Fix: "check the bucket name, origin.endpoint and origin.region, and that the credentials may list it"})
	}
	var r [6]byte
	rand.Read(r[:])
	probe := "doctor-" + hex.EncodeToString(r[:]) + ".tmp"
	if err := store.WriteState(cctx, probe, []byte("cdnctl doctor: safe to delete\n")); err != nil {
		return append(out, doctorCheck{Name: "origin", Status: checkFail, Detail: fmt.Sprintf("%s: reachable but not writable: %v", tgt, err),
			Fix: "allow the credentials to put and delete objects (s3:PutObject, s3:DeleteObject) under the site and its state"})
	}
	if err := store.DeleteState(cctx, probe); err != nil {
		return append(out, doctorCheck{Name: "origin", Status: checkFail, Detail: fmt.Sprintf("%s: writable, but a file written could not be deleted (%s/%s): %v", tgt, loc.URL, probe, err),
			Fix: "allow the credentials to delete objects (s3:DeleteObject), and delete that file"})
	}
	out = append(out, doctorCheck{Name: "origin", Status: checkOK, Detail: fmt.Sprintf("%s: reachable and writable", tgt)})
	st := doctorCheck{Name: "deploy state", Status: checkOK}
	switch {
	case loc.InSite && !loc.HiddenByOrigin:
		st.Status, st.Detail = checkFail, loc.URL+": under the site's prefix, so the CDN serves it to anyone (deploy history, who deployed)"
		st.Fix = "set origin.state to a prefix beside the site, such as s3://" + tgt.bucket + "/" + s3.DefaultStatePrefix(tgt.prefix) + " (a deploy moves it)"
	case loc.InSite:
		st.Detail = loc.URL + ": inside the served folder, which cdnctl's origin never serves"
	default:
		st.Detail = loc.URL + ": outside what the CDN serves"
	}
	return append(out, st)
}

// tokenChecker is implemented by purgers that can ask their API about
// their token (Cloudflare, Fastly).
type tokenChecker interface {
	CheckToken(ctx context.Context) (string, error)
}

// checkCDN checks that a CDN's credentials are found, and for the local
// CDN that it runs and accepts its token.
func checkCDN(ctx context.Context, f *Factory, cfg *Config, c CDNConfig, timeout time.Duration) doctorCheck {
	dc := doctorCheck{Name: "cdn " + c.Name, Status: checkOK}
	env := c.tokenEnv()
	tokenFrom := func() (string, bool) {
		v, ok := f.LookupEnv(env)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	switch c.Provider {
	case providerLocal:
		if err := f.localTarget(ctx, cfg, &c); err != nil {
			dc.Status, dc.Detail, dc.Fix = checkFail, err.Error(), "start it in this folder: cdnctl serve (or cdnctl serve --free-ports &)"
			return dc
		}
		token, _ := tokenFrom()
		if token == "" {
			token = c.adminToken
		}
		if token == "" {
			token = cfg.Serve.Token
		}
		cl := &adminclient.Client{BaseURL: strings.TrimSuffix(c.AdminURL, "/"), Token: token}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if _, err := cl.Stats(cctx); err != nil {
			dc.Status, dc.Detail = checkFail, fmt.Sprintf("%s: %v", c.noun(), err)
			dc.Fix = "start cdnctl serve in this folder, or set " + env + " to the token it printed"
			return dc
		}
		dc.Detail = c.noun() + ": reachable, token accepted"
	case providerCloudflare, providerFastly:
		if _, ok := tokenFrom(); !ok {
			dc.Status, dc.Detail = checkFail, fmt.Sprintf("%s: no API token: %s is not set", c.noun(), env)
			perm := map[string]string{providerCloudflare: "a Cloudflare API token with Zone > Cache Purge for the zone", providerFastly: "a Fastly API token with the purge_select scope (purge_all for --all)"}[c.Provider]
			dc.Fix = "export " + env + " with " + perm
			return dc
		}
		p, err := buildPurger(ctx, f, c)
		if err != nil {
			dc.Status, dc.Detail, dc.Fix = checkFail, fmt.Sprintf("%s: %v", c.noun(), err), "correct the cdns entry (docs/config.md#cdns)"
			return dc
		}
		tc, ok := p.(tokenChecker)
		if !ok {
			dc.Detail = fmt.Sprintf("%s: API token found in %s (not printed)", c.noun(), env)
			return dc
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		what, err := tc.CheckToken(cctx)
		if err != nil {
			perm := map[string]string{providerCloudflare: "a Cloudflare API token with Zone > Cache Purge for the zone", providerFastly: "a Fastly API token with the purge_select scope (purge_all for --all) for this service"}[c.Provider]
			dc.Status, dc.Detail, dc.Fix = checkFail, fmt.Sprintf("%s: %v", c.noun(), err), "export "+env+" with "+perm
			return dc
		}
		dc.Detail = fmt.Sprintf("%s: API token in %s %s", c.noun(), env, what)
	case providerCloudFront:
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		chain, err := s3.CredentialChain(cctx, c.Profile)
		if err != nil {
			dc.Status, dc.Detail = checkFail, fmt.Sprintf("%s: %v", c.noun(), err)
			dc.Fix = "give credentials allowed cloudfront:CreateInvalidation and cloudfront:GetInvalidation (environment, profile, SSO)"
			return dc
		}
		dc.Detail = fmt.Sprintf("%s: AWS credentials from %s", c.noun(), chain)
	case providerAkamai:
		if _, err := akamai.LoadCredentials(akamai.CredentialOptions{Edgerc: c.Edgerc, Section: c.Section, LookupEnv: f.LookupEnv}); err != nil {
			dc.Status, dc.Detail = checkFail, fmt.Sprintf("%s: %v", c.noun(), err)
			dc.Fix = "create an API client with the CCU APIs (Fast Purge) READ-WRITE grant and put it in ~/.edgerc, or set AKAMAI_HOST, AKAMAI_CLIENT_TOKEN, AKAMAI_CLIENT_SECRET and AKAMAI_ACCESS_TOKEN"
			return dc
		}
		dc.Detail = c.noun() + ": EdgeGrid credentials found (not printed)"
	}
	return dc
}

// printDoctor prints one line per check and, under each failure, its fix.
func printDoctor(ios *IOStreams, rep doctorReport) error {
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	failed := 0
	for _, c := range rep.Checks {
		status := c.Status
		if status == checkFail {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", status, c.Name, c.Detail)
		if c.Fix != "" && c.Status == checkFail {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		_, err := fmt.Fprintf(ios.Out, "%d of %d %s failed.\n", failed, len(rep.Checks), plural(len(rep.Checks), "check", "checks"))
		return err
	}
	_, err := fmt.Fprintf(ios.Out, "All %s passed: ready to deploy.\n", count(len(rep.Checks), "check", "checks"))
	return err
}

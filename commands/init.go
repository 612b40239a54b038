package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cdnctl/cdnctl/sitedetect"
)

// InitOptions are the inputs of `cdnctl init`.
type InitOptions struct {
	// File is the config file written (--config, default cdnctl.yaml).
	File string
	// Site is the build folder ("": detected).
	Site string
	// Origin is origin.target ("": a folder the local CDN serves).
	Origin string
	// CDN is local, none, cloudfront:ID, cloudflare:ZONE_ID,
	// fastly:SERVICE_ID or akamai.
	CDN string
	// BaseURL is where the site is served (a real CDN's hostname).
	BaseURL string
	Force   bool
	// set says which of the above a flag gave (the others are asked on
	// a terminal).
	set map[string]bool
}

// defaultLocalOrigin is the folder init makes the origin when no --to
// is given: deploys land there and cdnctl serve serves it.
const defaultLocalOrigin = ".cdnctl/origin"

// initAnswers is what init writes, after detection, flags and questions.
type initAnswers struct {
	Detected sitedetect.Result `json:"-"`
	File     string            `json:"file"`
	Site     string            `json:"site"`
	Origin   string            `json:"origin"`
	// LocalOrigin is the origin folder when the origin is a folder.
	LocalOrigin string `json:"local_origin,omitempty"`
	CDN         string `json:"cdn"`
	BaseURL     string `json:"base_url,omitempty"`
	Generator   string `json:"generator,omitempty"`
	Evidence    string `json:"found_by,omitempty"`
}

func newCmdInit(f *Factory) *cobra.Command {
	opts := &InitOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented cdnctl.yaml for the site in this folder",
		Long: `Init writes a commented cdnctl.yaml for the site in the current folder: it
recognises the static-site generator (Hugo, Next.js, Astro, Nuxt, SvelteKit,
Gatsby, Docusaurus, VitePress, Eleventy, Vite, Jekyll, MkDocs, Zola, from
their config files and package.json) and the folder its build writes, and
takes the origin storage and the CDN from flags or, on a terminal, asks.

Without --to and --cdn the site is set up for the local CDN: deploys go
to the folder .cdnctl/origin (created), which cdnctl serve serves, and
deploy and purge target the local CDN that cdnctl serve runs in this
folder. The file is checked by the same loader every command uses before
init says it is done.

An existing file is never replaced: init stops and says so (--force
replaces it).`,
		Example: `  cdnctl init
  cdnctl init --site dist
  cdnctl init --to s3://my-bucket/site --cdn cloudfront:E2QWRUHAPOMQZL --base-url https://www.example.com/
  cdnctl init --cdn cloudflare:023e105f4ecef8ad9ca31a8372d0c353 --to s3://my-bucket --force`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.File = f.configPath
			if opts.File == "" {
				opts.File = DefaultConfigFile
			}
			opts.set = map[string]bool{}
			for _, n := range []string{"site", "to", "cdn", "base-url"} {
				opts.set[n] = cmd.Flags().Changed(n)
			}
			opts.set["origin"] = cmd.Flags().Changed("to")
			return runInit(f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Site, "site", "", "the build folder to deploy (default: the generator's, detected)")
	fl.StringVar(&opts.Origin, "to", "", "the origin target deploys go to: s3://BUCKET[/PREFIX] or file://DIR (default: file://"+defaultLocalOrigin+", served by cdnctl serve)")
	fl.StringVar(&opts.CDN, "cdn", "local", "the CDN: local, none, cloudfront:DISTRIBUTION_ID, cloudflare:ZONE_ID, fastly:SERVICE_ID or akamai")
	fl.StringVar(&opts.BaseURL, "base-url", "", "where the site is served, such as https://www.example.com/ (a real CDN's hostname)")
	fl.BoolVar(&opts.Force, "force", false, "replace an existing config file")
	aliasFlag(cmd, "origin", "to")
	return cmd
}

func runInit(f *Factory, opts *InitOptions) error {
	if _, err := os.Stat(opts.File); err == nil && !opts.Force {
		return fmt.Errorf("init: %s already exists: not replaced (--force replaces it; cdnctl doctor checks it)", opts.File)
	}
	wd, err := f.workDir()
	if err != nil {
		return err
	}
	det := sitedetect.Detect(os.DirFS(wd))
	a := initAnswers{Detected: det, File: opts.File, Site: opts.Site, Origin: opts.Origin, CDN: opts.CDN, BaseURL: opts.BaseURL,
		Generator: det.Generator, Evidence: det.Evidence}
	if a.Site == "" {
		a.Site = det.Output
	}
	if det.Generator != "" {
		fmt.Fprintf(f.IO.ErrOut, "Found a %s site (%s): it builds into %s/.\n", det.Generator, det.Evidence, det.Output)
		if det.Note != "" {
			fmt.Fprintf(f.IO.ErrOut, "Note: %s.\n", det.Note)
		}
	}
	if f.IO.CanPrompt() && !f.JSON {
		if err := askInit(f.IO, opts, &a); err != nil {
			return err
		}
	}
	if a.Site == "" {
		return usageErrorf("init: no static-site generator or build folder found here: give the build folder with --site DIR")
	}
	if err := a.check(); err != nil {
		return err
	}
	text := initYAML(a)
	if a.LocalOrigin != "" {
		if err := os.MkdirAll(a.LocalOrigin, 0o755); err != nil {
			return fmt.Errorf("init: origin folder: %w", err)
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opts.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	if dir := filepath.Dir(opts.File); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	w, err := os.OpenFile(opts.File, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("init: %s already exists: not replaced (--force replaces it)", opts.File)
	}
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if _, err := w.WriteString(text); err != nil {
		w.Close()
		return fmt.Errorf("init: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	// What was written must load as every command loads it.
	cfg, err := LoadConfig(opts.File, true, nil)
	if err == nil {
		err = validateCDNs(cfg.CDNs)
	}
	if err != nil {
		return fmt.Errorf("init: wrote %s, but it does not load (a bug in cdnctl init, please report it): %w", opts.File, err)
	}
	if f.JSON {
		return writeJSON(f.IO.Out, a)
	}
	return printInitDone(f.IO, a)
}

// check validates the answers, with the flag to fix in each message.
func (a *initAnswers) check() error {
	if filepath.IsAbs(a.Site) || strings.HasPrefix(filepath.Clean(a.Site), "..") {
		return usageErrorf("init: --site %s: want a folder inside this one (a relative path such as public)", a.Site)
	}
	switch {
	case a.Origin == "":
		a.Origin = "file://" + defaultLocalOrigin
		a.LocalOrigin = defaultLocalOrigin
	case strings.HasPrefix(a.Origin, "file://"):
		a.LocalOrigin = strings.TrimPrefix(a.Origin, "file://")
		if a.LocalOrigin == "" {
			return usageErrorf("init: --to %s: want file://DIR", a.Origin)
		}
	case strings.HasPrefix(a.Origin, "s3://"):
		u, err := url.Parse(a.Origin)
		if err != nil || u.Host == "" {
			return usageErrorf("init: --to %s: want s3://BUCKET or s3://BUCKET/PREFIX", a.Origin)
		}
	default:
		return usageErrorf("init: --to %q: want s3://BUCKET[/PREFIX] or file://DIR", a.Origin)
	}
	provider, id, _ := strings.Cut(a.CDN, ":")
	switch provider {
	case providerLocal, "none", providerAkamai:
		if id != "" {
			return usageErrorf("init: --cdn %s: %s takes no ID", a.CDN, provider)
		}
	case providerCloudFront, providerCloudflare, providerFastly:
		if id == "" {
			return usageErrorf("init: --cdn %s: want %s:%s", a.CDN, provider, map[string]string{
				providerCloudFront: "DISTRIBUTION_ID", providerCloudflare: "ZONE_ID", providerFastly: "SERVICE_ID"}[provider])
		}
	default:
		return usageErrorf("init: --cdn %q: want local, none, cloudfront:DISTRIBUTION_ID, cloudflare:ZONE_ID, fastly:SERVICE_ID or akamai", a.CDN)
	}
	if provider == providerLocal && a.LocalOrigin == "" {
		return usageErrorf("init: --cdn local serves a folder origin: give --to file://DIR, or a real CDN with --cdn")
	}
	if a.BaseURL != "" {
		u, err := url.Parse(a.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("init: --base-url %q: want the site's URL, such as https://www.example.com/", a.BaseURL)
		}
		if !strings.HasSuffix(a.BaseURL, "/") {
			a.BaseURL += "/"
		}
	}
	return nil
}

// askInit asks on a terminal for what no flag gave, showing the detected
// or default answer (Enter keeps it).
func askInit(ios *IOStreams, opts *InitOptions, a *initAnswers) error {
	ask := func(flag, question string, v *string) error {
		if opts.set[flag] {
			return nil
		}
		fmt.Fprintf(ios.ErrOut, "%s [%s]: ", question, *v)
		line, err := ios.ReadLine()
		if err != nil && line == "" {
			return fmt.Errorf("init: %w", err)
		}
		if line = strings.TrimSpace(line); line != "" {
			*v = line
		}
		return nil
	}
	if err := ask("site", "Build folder to deploy", &a.Site); err != nil {
		return err
	}
	if a.Origin == "" {
		a.Origin = "file://" + defaultLocalOrigin
	}
	if err := ask("to", "Origin storage (s3://BUCKET/PREFIX, or file://DIR for the local CDN)", &a.Origin); err != nil {
		return err
	}
	if !strings.HasPrefix(a.Origin, "file://") && a.CDN == providerLocal && !opts.set["cdn"] {
		a.CDN = "none"
	}
	if err := ask("cdn", "CDN (local, none, cloudfront:ID, cloudflare:ZONE_ID, fastly:SERVICE_ID, akamai)", &a.CDN); err != nil {
		return err
	}
	if a.CDN != providerLocal && a.CDN != "none" {
		return ask("base-url", "Site URL (such as https://www.example.com/)", &a.BaseURL)
	}
	return nil
}

// yamlString quotes s for YAML (a JSON string is a YAML double-quoted
// scalar).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// initYAML is the commented cdnctl.yaml of the answers.
func initYAML(a initAnswers) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	what := "this site"
	if a.Generator != "" {
		what = "a " + a.Generator + " site (found by " + a.Evidence + ")"
	}
	w("# cdnctl.yaml, written by `cdnctl init` for %s.\n", what)
	w("# Every key is documented in docs/config.md. `cdnctl doctor` checks what a\n")
	w("# deploy needs; `cdnctl config view` shows every value and where it comes from.\n\n")

	w("deploy:\n")
	w("  # The build folder `cdnctl deploy` publishes (cdnctl does not build it")
	if a.Detected.Build != "" {
		w(":\n  # run `%s` first).\n", a.Detected.Build)
	} else {
		w(").\n")
	}
	w("  site: %s\n", yamlString(a.Site))
	w("  # Content-hash assets (app.3f9a1c2b.css) so they can be cached for a year,\n")
	w("  # and rewrite the pages that name them (docs/fingerprint.md).\n")
	w("  fingerprint: true\n")
	if a.BaseURL != "" {
		w("  # Where the site is served: deploy warms and verifies these URLs.\n")
		w("  base_url: %s\n", yamlString(a.BaseURL))
	}
	w("\norigin:\n")
	if a.LocalOrigin != "" {
		w("  # Where deploys are uploaded: this folder, which `cdnctl serve` serves as\n")
		w("  # the local CDN's origin. For real storage: s3://BUCKET/PREFIX (docs/push.md).\n")
	} else {
		w("  # Where deploys are uploaded (docs/push.md). Credentials come from the AWS\n")
		w("  # default chain: environment, shared config (profile), SSO, instance role.\n")
	}
	w("  target: %s\n", yamlString(a.Origin))
	if a.LocalOrigin == "" {
		w("  # region: us-east-1\n  # profile: default\n  # endpoint: https://<account>.r2.cloudflarestorage.com   # S3-compatible stores\n")
	}
	if a.LocalOrigin != "" {
		w("\nserve:\n")
		w("  # `cdnctl serve` runs a local CDN (edge PoPs, a shield, a GeoDNS) in front\n")
		w("  # of the deployed folder; the other commands find it by themselves.\n")
		w("  origin: %s\n", yamlString(a.LocalOrigin))
	}
	provider, id, _ := strings.Cut(a.CDN, ":")
	if provider == "none" {
		w("\n# cdns: the CDNs deploy purges and `cdnctl purge` targets (docs/config.md#cdns).\n")
		w("# cdns:\n#   - name: prod\n#     provider: cloudfront\n#     distribution_id: E2QWRUHAPOMQZL\n")
		return b.String()
	}
	w("\ncdns:\n")
	w("  # The CDN deploy purges, warms and verifies, and `cdnctl purge` targets.\n")
	var host string
	if u, err := url.Parse(a.BaseURL); err == nil {
		host = u.Hostname()
	}
	switch provider {
	case providerLocal:
		w("  # The local CDN of `cdnctl serve`, found by itself when it runs in this folder.\n")
		w("  - name: local\n    provider: local\n")
		return b.String()
	case providerCloudFront:
		w("  # Credentials: the AWS default chain (as for the origin).\n")
		w("  - name: prod\n    provider: cloudfront\n    distribution_id: %s\n", yamlString(id))
	case providerCloudflare:
		w("  # The API token is read from CLOUDFLARE_API_TOKEN (Zone > Cache Purge).\n")
		w("  - name: prod\n    provider: cloudflare\n    zone_id: %s\n", yamlString(id))
	case providerFastly:
		w("  # The API token is read from FASTLY_API_TOKEN (purge_select scope).\n")
		w("  - name: prod\n    provider: fastly\n    service_id: %s\n", yamlString(id))
	case providerAkamai:
		w("  # EdgeGrid credentials are read from ~/.edgerc (section default).\n")
		w("  - name: prod\n    provider: akamai\n    network: production\n")
	}
	if host != "" {
		w("    hostnames: [%s]\n", yamlString(host))
	} else {
		w("    # hostnames: [www.example.com]   # paths are purged on each\n")
	}
	return b.String()
}

// printInitDone says what was written and what to do next.
func printInitDone(ios *IOStreams, a initAnswers) error {
	fmt.Fprintf(ios.Out, "Wrote %s: deploys %s/ to %s", a.File, strings.TrimSuffix(a.Site, "/"), a.Origin)
	switch {
	case a.CDN == providerLocal:
		fmt.Fprintf(ios.Out, ", served by the local CDN of cdnctl serve.\n")
	case a.CDN == "none":
		fmt.Fprintf(ios.Out, ", no CDN.\n")
	default:
		fmt.Fprintf(ios.Out, ", CDN %s.\n", a.CDN)
	}
	fmt.Fprintln(ios.Out, "Next:")
	if a.Detected.Build != "" {
		fmt.Fprintf(ios.Out, "  %-22s # build the site\n", a.Detected.Build)
	}
	if a.CDN == providerLocal {
		fmt.Fprintf(ios.Out, "  %-22s # the local CDN (another terminal, or &)\n", "cdnctl serve")
	}
	fmt.Fprintf(ios.Out, "  %-22s # check what a deploy needs\n", "cdnctl doctor")
	_, err := fmt.Fprintf(ios.Out, "  %-22s # publish it\n", "cdnctl deploy")
	return err
}

package commands

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/cdnctl/cdnctl/providers/deploy"
	"github.com/cdnctl/cdnctl/providers/prewarm"
	"github.com/cdnctl/cdnctl/providers/verify"
)

// DeployConfig is the `deploy:` section of cdnctl.yaml: what `cdnctl
// deploy` builds, where it goes (with the origin and cdns sections), and
// how it is purged, warmed and verified. docs/config.md documents every
// key.
type DeployConfig struct {
	// Site is the folder deployed: fingerprinted into Out when
	// Fingerprint is set, pushed as it is otherwise.
	Site        string `yaml:"site" json:"site"`
	Fingerprint bool   `yaml:"fingerprint" json:"fingerprint"`
	// Out is the fingerprint output ("": fingerprint.out, else a
	// temporary folder).
	Out string `yaml:"out" json:"out,omitempty"`
	// CDNs names the cdns entries deployed to (empty: all of them).
	CDNs []string `yaml:"cdns" json:"cdns,omitempty"`
	// BaseURL is where the site is served, for prewarm and verify (empty:
	// https://<first hostname> of each CDN; the local edge:
	// http://www.example.test/).
	BaseURL string `yaml:"base_url" json:"base_url,omitempty"`
	// PurgeBy is auto, urls or tags.
	PurgeBy string `yaml:"purge_by" json:"purge_by"`
	// Wait waits for purges that complete later (CloudFront).
	Wait        bool          `yaml:"wait" json:"wait"`
	WaitTimeout time.Duration `yaml:"wait_timeout" json:"wait_timeout"`
	// RollbackCopies keeps a copy of every un-fingerprinted file for
	// --rollback.
	RollbackCopies bool                `yaml:"rollback_copies" json:"rollback_copies"`
	Prewarm        DeployPrewarmConfig `yaml:"prewarm" json:"prewarm"`
	Verify         DeployVerifyConfig  `yaml:"verify" json:"verify"`
}

// DeployPrewarmConfig is deploy.prewarm (also the defaults of `cdnctl
// prewarm`).
type DeployPrewarmConfig struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// What is changed, all or entry-points.
	What        string        `yaml:"what" json:"what"`
	Concurrency int           `yaml:"concurrency" json:"concurrency"`
	Rate        float64       `yaml:"rate" json:"rate"`
	Encodings   []string      `yaml:"encodings" json:"encodings"`
	Timeout     time.Duration `yaml:"timeout" json:"timeout"`
	// Edges are a CDN's PoPs as NAME=IP[:PORT]; Regions are client
	// networks the CDN hostname is resolved for at Resolver.
	Edges    []string `yaml:"edges" json:"edges,omitempty"`
	Regions  []string `yaml:"regions" json:"regions,omitempty"`
	Resolver string   `yaml:"resolver" json:"resolver,omitempty"`
	// Insecure skips TLS verification (self-signed staging edges).
	Insecure bool `yaml:"insecure" json:"insecure,omitempty"`
}

// DeployVerifyConfig is deploy.verify.
type DeployVerifyConfig struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Sample is how many fingerprinted assets are checked besides every
	// changed entry point (-1: all).
	Sample  int           `yaml:"sample" json:"sample"`
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
}

func defaultDeployConfig() DeployConfig {
	return DeployConfig{
		Fingerprint:    true,
		PurgeBy:        deploy.PurgeAuto,
		WaitTimeout:    defaultPurgeTimeout,
		RollbackCopies: true,
		Prewarm: DeployPrewarmConfig{
			Enabled: true, What: deploy.WarmChanged, Concurrency: prewarm.DefaultConcurrency,
			Encodings: prewarm.DefaultEncodings(), Timeout: prewarm.DefaultTimeout,
		},
		Verify: DeployVerifyConfig{Enabled: true, Sample: 20, Timeout: verify.DefaultTimeout},
	}
}

// validate checks the section; errors name the key.
func (c DeployConfig) validate() error {
	switch c.PurgeBy {
	case deploy.PurgeAuto, deploy.PurgeURLs, deploy.PurgeTags:
	default:
		return fmt.Errorf("deploy.purge_by %q: want auto, urls or tags", c.PurgeBy)
	}
	switch c.Prewarm.What {
	case deploy.WarmChanged, deploy.WarmAll, deploy.WarmEntryPoints:
	default:
		return fmt.Errorf("deploy.prewarm.what %q: want changed, all or entry-points", c.Prewarm.What)
	}
	if c.Prewarm.Concurrency < 1 || c.Prewarm.Concurrency > 256 {
		return fmt.Errorf("deploy.prewarm.concurrency %d: want 1 to 256", c.Prewarm.Concurrency)
	}
	if c.Prewarm.Rate < 0 {
		return fmt.Errorf("deploy.prewarm.rate %v: want 0 (no limit) or more requests per second", c.Prewarm.Rate)
	}
	for _, e := range c.Prewarm.Encodings {
		if e == "" || strings.ContainsAny(e, ", ") {
			return fmt.Errorf("deploy.prewarm.encodings: %q: want one content coding per item, such as br, gzip or identity", e)
		}
	}
	for _, e := range c.Prewarm.Edges {
		if _, err := prewarm.ParseEdge(e, "443"); err != nil {
			return fmt.Errorf("deploy.prewarm.edges: %w", err)
		}
	}
	for _, r := range c.Prewarm.Regions {
		if _, err := netip.ParsePrefix(r); err != nil {
			return fmt.Errorf("deploy.prewarm.regions: %q: want a network such as 198.51.100.0/24", r)
		}
	}
	if len(c.Prewarm.Regions) > 0 && c.Prewarm.Resolver == "" {
		return fmt.Errorf("deploy.prewarm.regions need deploy.prewarm.resolver: a DNS server that honours EDNS Client Subnet (such as 8.8.8.8:53)")
	}
	if c.Verify.Sample < -1 {
		return fmt.Errorf("deploy.verify.sample %d: want -1 (every asset), 0 or more", c.Verify.Sample)
	}
	for key, d := range map[string]time.Duration{"deploy.wait_timeout": c.WaitTimeout, "deploy.prewarm.timeout": c.Prewarm.Timeout, "deploy.verify.timeout": c.Verify.Timeout} {
		if d <= 0 {
			return fmt.Errorf("%s %s: want a positive duration", key, d)
		}
	}
	if c.BaseURL != "" {
		if _, err := prewarm.ParseBase(c.BaseURL); err != nil {
			return fmt.Errorf("deploy.base_url: %w", err)
		}
	}
	return nil
}

// EnvironmentConfig is one entry of `environments:`: the sections it sets
// replace the top-level ones key by key (a list replaces the whole list),
// so `cdnctl deploy --env staging` deploys elsewhere with the same
// settings otherwise.
type EnvironmentConfig struct {
	Fingerprint map[string]any `yaml:"fingerprint" json:"fingerprint,omitempty"`
	Origin      map[string]any `yaml:"origin" json:"origin,omitempty"`
	Deploy      map[string]any `yaml:"deploy" json:"deploy,omitempty"`
	CDNs        []CDNConfig    `yaml:"cdns" json:"cdns,omitempty"`
}

// WithEnvironment returns a copy of cfg with the named environment's
// sections applied over the top-level ones, then the CDNCTL_* variables
// again (they override the file, environments included). An unknown name
// or key is an error naming the environment.
func (cfg *Config) WithEnvironment(name string, lookupEnv func(string) (string, bool)) (*Config, error) {
	if name == "" {
		return cfg, nil
	}
	env, ok := cfg.Environments[name]
	if !ok {
		names := slices.Sorted(maps.Keys(cfg.Environments))
		if len(names) == 0 {
			return nil, fmt.Errorf("--env %s: %s defines no environments (see docs/config.md#environments)", name, configName(cfg))
		}
		return nil, fmt.Errorf("--env %s: no such environment in %s (it has %s)", name, configName(cfg), strings.Join(names, ", "))
	}
	out := *cfg
	overlay := func(section string, raw map[string]any, dst any) error {
		if raw == nil {
			return nil
		}
		b, err := yaml.Marshal(raw)
		if err != nil {
			return fmt.Errorf("environments.%s.%s: %w", name, section, err)
		}
		if err := yaml.UnmarshalWithOptions(b, dst, yaml.DisallowUnknownField()); err != nil {
			msg := firstLine(err.Error())
			if s := suggestField(dst, err); s != "" {
				msg += fmt.Sprintf(": did you mean %q?", s)
			}
			return fmt.Errorf("environments.%s.%s: %s", name, section, msg)
		}
		return nil
	}
	out.Origin.Exclude = slices.Clone(cfg.Origin.Exclude)
	if err := overlay("fingerprint", env.Fingerprint, &out.Fingerprint); err != nil {
		return nil, err
	}
	if err := overlay("origin", env.Origin, &out.Origin); err != nil {
		return nil, err
	}
	if err := overlay("deploy", env.Deploy, &out.Deploy); err != nil {
		return nil, err
	}
	if env.CDNs != nil {
		out.CDNs = env.CDNs
	}
	if lookupEnv != nil {
		if err := applyEnv(reflect.ValueOf(&out).Elem(), envPrefix, lookupEnv); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

package commands

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cdnctl/cdnctl/providers/akamai"
	"github.com/cdnctl/cdnctl/providers/cloudflare"
	"github.com/cdnctl/cdnctl/providers/fastly"
	"github.com/cdnctl/cdnctl/providers/local"
)

// CDNConfig is one entry of the `cdns:` list of cdnctl.yaml: a CDN that
// purge (and deploy) can target, so an on-call engineer types `cdnctl purge
// /index.html`, not IDs. docs/config.md documents every key.
type CDNConfig struct {
	// Name identifies the entry (`--cdn prod`).
	Name string `yaml:"name" json:"name"`
	// Provider is cloudfront, cloudflare, fastly, akamai or local.
	Provider string `yaml:"provider" json:"provider"`
	// Default makes this entry the target when --cdn is not given
	// and there are several.
	Default bool `yaml:"default" json:"default,omitempty"`
	// Hostnames the CDN serves: a path is purged on each of them
	// (Cloudflare, Fastly, Akamai), and a URL or --host on another host
	// is refused.
	Hostnames []string `yaml:"hostnames" json:"hostnames,omitempty"`
	// OriginPath is the storage prefix the CDN reads the site from (the
	// distribution's OriginPath): object keys are mapped through it.
	OriginPath string `yaml:"origin_path" json:"origin_path,omitempty"`
	// ConfirmAbove: purging more items than this asks for confirmation
	// (0: 100; -1: only purging everything asks).
	ConfirmAbove int `yaml:"confirm_above" json:"confirm_above,omitempty"`
	// BatchSize is the number of items per API request (Cloudflare: 30
	// URLs, at most 100 tags, hosts or prefixes; local: 1000).
	BatchSize int `yaml:"batch_size" json:"batch_size,omitempty"`
	// Endpoint overrides the provider's API URL (a proxy, a test server).
	Endpoint string `yaml:"endpoint" json:"endpoint,omitempty"`

	// CloudFront.
	DistributionID string `yaml:"distribution_id" json:"distribution_id,omitempty"`
	Profile        string `yaml:"profile" json:"profile,omitempty"`
	Region         string `yaml:"region" json:"region,omitempty"`
	CollapseAbove  int    `yaml:"collapse_above" json:"collapse_above,omitempty"`
	CollapseTo     int    `yaml:"collapse_to" json:"collapse_to,omitempty"`

	// Cloudflare.
	ZoneID            string  `yaml:"zone_id" json:"zone_id,omitempty"`
	URLsPerSecond     float64 `yaml:"urls_per_second" json:"urls_per_second,omitempty"`
	RequestsPerSecond float64 `yaml:"requests_per_second" json:"requests_per_second,omitempty"`
	Burst             int     `yaml:"burst" json:"burst,omitempty"`

	// Fastly.
	ServiceID string `yaml:"service_id" json:"service_id,omitempty"`

	// Akamai: the network (production or staging), the method
	// (invalidate or delete), the CP codes --all purges, and where the
	// EdgeGrid credentials are (edgerc file and section).
	Network string `yaml:"network" json:"network,omitempty"`
	Method  string `yaml:"method" json:"method,omitempty"`
	CPCodes []int  `yaml:"cp_codes" json:"cp_codes,omitempty"`
	Edgerc  string `yaml:"edgerc" json:"edgerc,omitempty"`
	Section string `yaml:"section" json:"section,omitempty"`

	// Cloudflare, Fastly and local: the environment variable holding the
	// token (CLOUDFLARE_API_TOKEN, FASTLY_API_TOKEN, CDNCTL_ADMIN_TOKEN).
	// Tokens are never read from the file.
	TokenEnv string `yaml:"token_env" json:"token_env,omitempty"`

	// Local edge.
	AdminURL string   `yaml:"admin_url" json:"admin_url,omitempty"`
	Pops     []string `yaml:"pops" json:"pops,omitempty"`

	// adminToken is the token of the running local CDN whose admin API
	// AdminURL was found to be (localTarget); never from the file.
	adminToken string
}

// Providers a cdns entry can name.
const (
	providerCloudFront = "cloudfront"
	providerCloudflare = "cloudflare"
	providerFastly     = "fastly"
	providerAkamai     = "akamai"
	providerLocal      = "local"
)

// providerNames lists the providers a cdns entry can name, for messages.
const providerNames = "cloudfront, cloudflare, fastly, akamai or local"

// Defaults of the cdns keys that are not the providers' own.
const (
	defaultConfirmAbove = 100
	// AdminTokenEnv holds the admin token of a local `cdnctl serve`.
	AdminTokenEnv = "CDNCTL_ADMIN_TOKEN"
)

var cdnNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// implicitLocalCDN is the target of `--cdn local` when cdnctl.yaml
// has no local entry: the default topology's admin API (contracts §4).
func implicitLocalCDN() CDNConfig {
	return CDNConfig{Name: providerLocal, Provider: providerLocal}
}

// confirmAbove is the entry's threshold with the default applied.
func (c CDNConfig) confirmAbove() int {
	if c.ConfirmAbove == 0 {
		return defaultConfirmAbove
	}
	return c.ConfirmAbove
}

// tokenEnv is the environment variable the entry's token is read from.
func (c CDNConfig) tokenEnv() string {
	switch {
	case c.TokenEnv != "":
		return c.TokenEnv
	case c.Provider == providerCloudflare:
		return cloudflare.TokenEnv
	case c.Provider == providerFastly:
		return fastly.TokenEnv
	case c.Provider == providerLocal:
		return AdminTokenEnv
	}
	return ""
}

// noun is how messages name the entry's target: "cloudfront distribution
// E2QWRUHAPOMQZL (prod)".
func (c CDNConfig) noun() string {
	var s string
	switch c.Provider {
	case providerCloudFront:
		s = "cloudfront distribution " + c.DistributionID
	case providerCloudflare:
		s = "cloudflare zone " + c.ZoneID
	case providerFastly:
		s = "fastly service " + c.ServiceID
	case providerAkamai:
		network := c.Network
		if network == "" {
			network = akamai.NetworkProduction
		}
		s = "akamai " + network + " network"
	case providerLocal:
		url := c.AdminURL
		if url == "" {
			url = local.DefaultAdminURL
		}
		s = "local edge " + url
	default:
		s = c.Provider
	}
	if c.Name != "" && c.Name != c.Provider {
		s += " (" + c.Name + ")"
	}
	return s
}

// validateCDNs checks the cdns list: names, providers, the keys each
// provider needs and the keys it does not take. Errors name the entry and
// the key.
func validateCDNs(cdns []CDNConfig) error {
	seen := map[string]bool{}
	defaults := 0
	for i, c := range cdns {
		where := fmt.Sprintf("cdns[%d]", i)
		if c.Name != "" {
			where += " (" + c.Name + ")"
		}
		if !cdnNameRe.MatchString(c.Name) {
			return fmt.Errorf("%s: name %q: want a short lower-case name such as prod", where, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("%s: name %q is used by another entry", where, c.Name)
		}
		seen[c.Name] = true
		if c.Default {
			defaults++
		}
		if err := c.validate(where); err != nil {
			return err
		}
	}
	if defaults > 1 {
		return fmt.Errorf("cdns: %d entries say default: true; at most one may", defaults)
	}
	return nil
}

func (c CDNConfig) validate(where string) error {
	// keys lists the provider-specific keys that are set.
	set := map[string]bool{
		"distribution_id":     c.DistributionID != "",
		"profile":             c.Profile != "",
		"region":              c.Region != "",
		"collapse_above":      c.CollapseAbove != 0,
		"collapse_to":         c.CollapseTo != 0,
		"zone_id":             c.ZoneID != "",
		"urls_per_second":     c.URLsPerSecond != 0,
		"requests_per_second": c.RequestsPerSecond != 0,
		"burst":               c.Burst != 0,
		"token_env":           c.TokenEnv != "",
		"admin_url":           c.AdminURL != "",
		"pops":                len(c.Pops) > 0,
		"batch_size":          c.BatchSize != 0,
		"service_id":          c.ServiceID != "",
		"network":             c.Network != "",
		"method":              c.Method != "",
		"cp_codes":            len(c.CPCodes) > 0,
		"edgerc":              c.Edgerc != "",
		"section":             c.Section != "",
	}
	var allowed []string
	switch c.Provider {
	case providerCloudFront:
		if c.DistributionID == "" {
			return fmt.Errorf("%s: distribution_id is required for provider cloudfront", where)
		}
		allowed = []string{"distribution_id", "profile", "region", "collapse_above", "collapse_to"}
	case providerCloudflare:
		if c.ZoneID == "" {
			return fmt.Errorf("%s: zone_id is required for provider cloudflare", where)
		}
		allowed = []string{"zone_id", "urls_per_second", "requests_per_second", "burst", "token_env", "batch_size"}
	case providerFastly:
		if c.ServiceID == "" {
			return fmt.Errorf("%s: service_id is required for provider fastly", where)
		}
		allowed = []string{"service_id", "token_env"}
	case providerAkamai:
		allowed = []string{"network", "method", "cp_codes", "edgerc", "section"}
		switch c.Network {
		case "", akamai.NetworkProduction, akamai.NetworkStaging:
		default:
			return fmt.Errorf("%s: network %q: want production (the default) or staging", where, c.Network)
		}
		switch c.Method {
		case "", akamai.MethodInvalidate, akamai.MethodDelete:
		default:
			return fmt.Errorf("%s: method %q: want invalidate (the default: objects are marked stale) or delete (they are removed)", where, c.Method)
		}
		for _, code := range c.CPCodes {
			if code <= 0 {
				return fmt.Errorf("%s: cp_codes: %d: want the positive CP code numbers of the property", where, code)
			}
		}
	case providerLocal:
		allowed = []string{"admin_url", "pops", "token_env", "batch_size"}
		if c.Endpoint != "" {
			return fmt.Errorf("%s: endpoint: the local provider uses admin_url", where)
		}
	default:
		return fmt.Errorf("%s: provider %q: want %s", where, c.Provider, providerNames)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if set[k] && !slices.Contains(allowed, k) {
			return fmt.Errorf("%s: %s does not apply to provider %s (its keys: %s)", where, k, c.Provider, strings.Join(allowed, ", "))
		}
	}
	switch {
	case c.ConfirmAbove < -1:
		return fmt.Errorf("%s: confirm_above %d: want -1 (only purging everything asks), 0 (default %d) or more", where, c.ConfirmAbove, defaultConfirmAbove)
	case c.BatchSize < 0:
		return fmt.Errorf("%s: batch_size %d: want a positive number of items per request", where, c.BatchSize)
	case c.Burst < 0 || c.RequestsPerSecond < 0 || c.URLsPerSecond < 0:
		return fmt.Errorf("%s: urls_per_second, requests_per_second and burst: want positive numbers", where)
	}
	for _, h := range c.Hostnames {
		if h == "" || strings.ContainsAny(h, "/: ") {
			return fmt.Errorf("%s: hostnames: %q: want a bare hostname such as www.example.com", where, h)
		}
	}
	if c.OriginPath != "" && !strings.HasPrefix(c.OriginPath, "/") {
		return fmt.Errorf("%s: origin_path %q: want a path starting with /, such as /site", where, c.OriginPath)
	}
	return nil
}

// resolveCDN picks the target: the entry named name, else the one entry
// of provider name; with no name, the only entry or the default one.
// `--cdn local` works without any entry (the default local
// topology).
func resolveCDN(cdns []CDNConfig, name string) (CDNConfig, error) {
	names := make([]string, len(cdns))
	for i, c := range cdns {
		names[i] = c.Name
	}
	have := strings.Join(names, ", ")
	if name != "" {
		for _, c := range cdns {
			if c.Name == name {
				return c, nil
			}
		}
		var of []CDNConfig
		for _, c := range cdns {
			if c.Provider == name {
				of = append(of, c)
			}
		}
		switch {
		case len(of) == 1:
			return of[0], nil
		case len(of) > 1:
			var ns []string
			for _, c := range of {
				ns = append(ns, c.Name)
			}
			return CDNConfig{}, fmt.Errorf("--cdn %s: %d cdns entries use provider %s (%s); name one", name, len(of), name, strings.Join(ns, ", "))
		case name == providerLocal:
			return implicitLocalCDN(), nil
		}
		if len(cdns) == 0 {
			return CDNConfig{}, fmt.Errorf("--cdn %s: cdnctl.yaml has no cdns entries (see docs/config.md), and only local works without one", name)
		}
		return CDNConfig{}, fmt.Errorf("--cdn %s: no cdns entry has that name or provider (entries: %s)", name, have)
	}
	switch len(cdns) {
	case 0:
		return CDNConfig{}, fmt.Errorf("no CDN to purge: add a cdns entry to cdnctl.yaml (see docs/config.md), or pass --cdn local for a local cdnctl serve")
	case 1:
		return cdns[0], nil
	}
	for _, c := range cdns {
		if c.Default {
			return c, nil
		}
	}
	return CDNConfig{}, fmt.Errorf("cdnctl.yaml lists %d CDNs (%s) and none is default: true; pick one with --cdn", len(cdns), have)
}

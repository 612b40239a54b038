package commands

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgecompress"
	"github.com/cdnctl/cdnctl/localedge/localca"
	"github.com/cdnctl/cdnctl/localedge/origin"
	"github.com/cdnctl/cdnctl/siterules"
)

// ServeConfig is the `serve:` section of cdnctl.yaml: the local CDN that
// `cdnctl serve` runs. docs/config.md documents every key.
type ServeConfig struct {
	// Name names the local CDN (serve --name): serve records where it
	// listens under this name, and client commands with the same name
	// find it wherever they run. "": it is known by the directory serve
	// was started in.
	Name string `yaml:"name" json:"name"`
	// Origin is a folder served as the origin ("" with no Upstream: the
	// built-in sample site).
	Origin string `yaml:"origin" json:"origin"`
	// Upstream is an existing origin server's URL, instead of a folder.
	Upstream string `yaml:"upstream" json:"upstream"`
	// OriginAddr is where the folder origin listens.
	OriginAddr string `yaml:"origin_addr" json:"origin_addr"`
	// DefaultCacheControl is the folder origin's Cache-Control for files
	// without metadata.
	DefaultCacheControl string `yaml:"default_cache_control" json:"default_cache_control"`
	// AllowDotfiles are globs of dotfiles the folder origin serves (the
	// others, but /.well-known/, are not found).
	AllowDotfiles []string `yaml:"allow_dotfiles" json:"allow_dotfiles"`
	// Static are the folder origin's static-host rules.
	Static ServeStaticConfig `yaml:"static" json:"static"`
	// Admin is the admin API's URL (or host:port); Token its bearer token ("":
	// generated at start).
	Admin string `yaml:"admin" json:"admin"`
	Token string `yaml:"token" json:"-"`
	// AccessLog is where a line per request (with its cache status)
	// goes: off, stdout, stderr or a file; unset, stderr on a terminal
	// and off otherwise (see AccessLogSetting).
	AccessLog AccessLogSetting `yaml:"access_log" json:"access_log"`
	// Delay is every PoP's simulated network delay to its upstream, unless
	// the PoP sets its own.
	Delay time.Duration `yaml:"delay" json:"delay"`
	// ShutdownTimeout bounds the wait for in-flight requests on exit.
	ShutdownTimeout time.Duration       `yaml:"shutdown_timeout" json:"shutdown_timeout"`
	Shield          ServeShieldConfig   `yaml:"shield" json:"shield"`
	PoPs            []ServePoPConfig    `yaml:"pops" json:"pops"`
	Cache           ServeCacheConfig    `yaml:"cache" json:"cache"`
	HTTPS           ServeHTTPSConfig    `yaml:"https" json:"https"`
	Compress        ServeCompressConfig `yaml:"compress" json:"compress"`
	// EdgeRules are the edges' rules: header changes, redirects, rewrites
	// and fixed responses by host and path (package edgerules).
	EdgeRules []ServeEdgeRule `yaml:"edge_rules" json:"edge_rules,omitempty"`
	// RateLimit limits each client's request rate at the edges.
	RateLimit ServeRateLimitConfig `yaml:"rate_limit" json:"rate_limit"`
	// ESI processes Edge Side Includes at the edges.
	ESI ServeESIConfig `yaml:"esi" json:"esi"`

	// fixedPorts are the keys (admin, shield.addr, origin_addr) whose
	// address a flag gave: --free-ports leaves their port alone.
	fixedPorts map[string]bool
}

// ServeCompressConfig is serve.compress: compression at the edges, with
// CloudFront's conditions by default (localedge/edgecompress).
type ServeCompressConfig struct {
	// Enabled compresses eligible responses at every edge (--compress).
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Encodings are the codings produced, in order of preference among
	// equal weights: br, zstd, gzip.
	Encodings []string `yaml:"encodings" json:"encodings"`
	// MinSize and MaxSize bound the Content-Length of the responses
	// compressed (byte sizes).
	MinSize string `yaml:"min_size" json:"min_size"`
	MaxSize string `yaml:"max_size" json:"max_size"`
	// Types are the media types compressed (empty: CloudFront's list).
	Types []string `yaml:"types" json:"types"`
	// MaxConcurrent bounds the responses each edge compresses at once (0:
	// twice the processors, at least 4).
	MaxConcurrent int `yaml:"max_concurrent" json:"max_concurrent"`
}

// compression checks the section and turns it into the topology's
// compression (nil when disabled).
func (c ServeCompressConfig) compression() (*localedge.CompressionConfig, error) {
	if !c.Enabled {
		return nil, nil
	}
	pol := edgecompress.DefaultPolicy()
	if len(c.Encodings) > 0 {
		pol.Encodings = c.Encodings
	}
	if len(c.Types) > 0 {
		pol.Types = c.Types
	}
	var err error
	if c.MinSize != "" {
		if pol.MinSize, err = parseByteSize("serve.compress.min_size", c.MinSize); err != nil {
			return nil, err
		}
	}
	if c.MaxSize != "" {
		if pol.MaxSize, err = parseByteSize("serve.compress.max_size", c.MaxSize); err != nil {
			return nil, err
		}
	}
	if c.MaxConcurrent < 0 {
		return nil, configErrorf("serve.compress.max_concurrent %d: want 0 (the default) or more", c.MaxConcurrent)
	}
	if err := pol.Check(); err != nil {
		return nil, configErrorf("serve.compress.%v", err)
	}
	return &localedge.CompressionConfig{Policy: pol, MaxConcurrent: c.MaxConcurrent}, nil
}

// ServeHTTPSConfig is serve.https: HTTPS and HTTP/2 at every edge, with
// certificates from the user's local CA.
type ServeHTTPSConfig struct {
	// Enabled serves HTTPS (and HTTP/2) besides HTTP on every edge's
	// address (--https).
	Enabled bool `yaml:"enabled" json:"enabled"`
	// CADir is the local CA's folder ("": <user config dir>/cdnctl/ca),
	// created on first use.
	CADir string `yaml:"ca_dir" json:"ca_dir"`
	// Names are further names the edges' certificate lists, besides the
	// dns.hosts names, their CDN names, dns.cdn_names, each PoP's name and
	// address and localhost.
	Names []string `yaml:"names" json:"names"`
	// Policy is the viewer protocol policy of the hosts HostPolicies does
	// not name: allow-all, redirect-to-https or https-only.
	Policy string `yaml:"policy" json:"policy"`
	// HostPolicies maps hostnames to their viewer protocol policy.
	HostPolicies map[string]string `yaml:"host_policies" json:"host_policies"`
}

// ServeStaticConfig is serve.static: how the folder origin behaves as a
// static host (localedge/origin's Options).
type ServeStaticConfig struct {
	// HTMLHandling is the clean-URL and trailing-slash policy:
	// auto-trailing-slash, force-trailing-slash, drop-trailing-slash or
	// none.
	HTMLHandling string `yaml:"html_handling" json:"html_handling"`
	// NotFound is 404-page, single-page-application or none.
	NotFound string `yaml:"not_found" json:"not_found"`
	// Redirects and Headers read the site's _redirects and _headers.
	Redirects bool `yaml:"redirects" json:"redirects"`
	Headers   bool `yaml:"headers" json:"headers"`
	// RedirectStatus is the status of _redirects rules that give none.
	RedirectStatus int `yaml:"redirect_status" json:"redirect_status"`
	// ForceRedirects applies every _redirects rule even where a file
	// answers the path (Cloudflare Pages), not only those marked "!".
	ForceRedirects bool `yaml:"force_redirects" json:"force_redirects"`
}

// originOptions checks the section and turns it into the origin's options.
func (c ServeStaticConfig) originOptions() (origin.Options, error) {
	var o origin.Options
	var err error
	if o.HTMLHandling, err = origin.ParseHTMLHandling(c.HTMLHandling); err != nil {
		return o, configErrorf("serve.static.html_handling (--html-handling) %v", err)
	}
	if o.NotFound, err = origin.ParseNotFoundHandling(c.NotFound); err != nil {
		return o, configErrorf("serve.static.not_found (--not-found) %v", err)
	}
	switch c.RedirectStatus {
	case 301, 302, 303, 307, 308:
	default:
		return o, configErrorf("serve.static.redirect_status %d: want 301, 302, 303, 307 or 308", c.RedirectStatus)
	}
	o.RedirectStatus = c.RedirectStatus
	o.IgnoreRedirectsFile, o.IgnoreHeadersFile = !c.Redirects, !c.Headers
	o.ForceRedirects = c.ForceRedirects
	return o, nil
}

// ServeShieldConfig is serve.shield.
type ServeShieldConfig struct {
	Enabled bool          `yaml:"enabled" json:"enabled"`
	Addr    string        `yaml:"addr" json:"addr"`
	Delay   time.Duration `yaml:"delay" json:"delay"`
}

// ServePoPConfig is one entry of serve.pops.
type ServePoPConfig struct {
	Name     string               `yaml:"name" json:"name"`
	Addr     string               `yaml:"addr" json:"addr"`
	Regions  []string             `yaml:"regions" json:"regions"`
	Location *ServeLocationConfig `yaml:"location" json:"location,omitempty"`
	// Delay overrides serve.delay for this PoP (0: use serve.delay).
	Delay time.Duration `yaml:"delay" json:"delay"`

	// fixedPort: --pop gave the address, which --free-ports leaves alone.
	fixedPort bool
}

// ServeLocationConfig places a PoP on the map (GeoDNS nearest-PoP).
type ServeLocationConfig struct {
	Lat float64 `yaml:"lat" json:"lat"`
	Lon float64 `yaml:"lon" json:"lon"`
}

// ServeCacheConfig is serve.cache: every PoP's cache.
type ServeCacheConfig struct {
	// Capacity and MaxObjectSize are byte sizes: "64MiB", "512k", 1048576.
	Capacity      string `yaml:"capacity" json:"capacity"`
	MaxObjectSize string `yaml:"max_object_size" json:"max_object_size"`
	// FillBudget and SliceSize are byte sizes too; empty: the default
	// (a SliceSize of 0: no slices).
	FillBudget string `yaml:"fill_budget" json:"fill_budget"`
	SliceSize  string `yaml:"slice_size" json:"slice_size"`
	// Dir keeps each PoP's cache on disk in Dir/<pop>, across restarts.
	Dir                       string        `yaml:"dir" json:"dir"`
	SoftPurgeGrace            time.Duration `yaml:"soft_purge_grace" json:"soft_purge_grace"`
	StaleIfError              time.Duration `yaml:"stale_if_error" json:"stale_if_error"`
	StaleTimeout              time.Duration `yaml:"stale_timeout" json:"stale_timeout"`
	UpstreamTimeout           time.Duration `yaml:"upstream_timeout" json:"upstream_timeout"`
	IdleSendTimeout           time.Duration `yaml:"idle_send_timeout" json:"idle_send_timeout"`
	SendTimeout               time.Duration `yaml:"send_timeout" json:"send_timeout"`
	IgnoreRequestCacheControl bool          `yaml:"ignore_request_cache_control" json:"ignore_request_cache_control"`
	// CookiePaths are path prefixes whose responses to requests with
	// cookies may be stored without public or s-maxage.
	CookiePaths []string       `yaml:"cookie_paths" json:"cookie_paths"`
	Key         ServeKeyConfig `yaml:"key" json:"key"`
}

// ServeKeyConfig is serve.cache.key.
type ServeKeyConfig struct {
	IgnoreQuery  bool     `yaml:"ignore_query" json:"ignore_query"`
	SortQuery    bool     `yaml:"sort_query" json:"sort_query"`
	IgnoreParams []string `yaml:"ignore_params" json:"ignore_params"`
	Headers      []string `yaml:"headers" json:"headers"`
}

func defaultServeConfig() ServeConfig {
	def := localedge.DefaultTopologyConfig(false)
	cfg := ServeConfig{
		OriginAddr:          def.Origin.Addr,
		DefaultCacheControl: "public, max-age=60",
		Static: ServeStaticConfig{
			HTMLHandling:   string(origin.AutoTrailingSlash),
			NotFound:       string(origin.NotFoundPage),
			Redirects:      true,
			Headers:        true,
			RedirectStatus: siterules.DefaultStatus,
		},
		Admin:           "http://" + def.AdminAddr,
		ShutdownTimeout: 10 * time.Second,
		Shield:          ServeShieldConfig{Enabled: true, Addr: def.Shield.Addr},
		HTTPS:           ServeHTTPSConfig{Policy: string(localedge.AllowAll)},
		RateLimit:       defaultServeRateLimitConfig(),
		ESI:             defaultServeESIConfig(),
		Compress: ServeCompressConfig{
			Enabled:   true,
			Encodings: slices.Clone(edgecompress.DefaultEncodings),
			MinSize:   strconv.Itoa(edgecompress.DefaultMinSize),
			MaxSize:   strconv.Itoa(edgecompress.DefaultMaxSize),
		},
		Cache: ServeCacheConfig{
			Capacity:        "64MiB",
			MaxObjectSize:   "8MiB",
			SliceSize:       "1MiB",
			SoftPurgeGrace:  localedge.DefaultSoftPurgeGrace,
			StaleIfError:    localedge.DefaultStaleIfError,
			StaleTimeout:    localedge.DefaultStaleTimeout,
			UpstreamTimeout: localedge.DefaultUpstreamTimeout,
			IdleSendTimeout: localedge.DefaultIdleSendTimeout,
			SendTimeout:     localedge.DefaultSendTimeout,
		},
	}
	for _, p := range def.PoPs {
		pc := ServePoPConfig{Name: p.Name, Addr: p.Addr, Regions: p.Regions}
		if p.Location != nil {
			pc.Location = &ServeLocationConfig{Lat: p.Location.Lat, Lon: p.Location.Lon}
		}
		cfg.PoPs = append(cfg.PoPs, pc)
	}
	return cfg
}

// topology turns the section into a localedge topology (without the
// origin handler, which the command builds). freePorts sets every port to
// 0.
func (c ServeConfig) topology(freePorts bool) (localedge.TopologyConfig, error) {
	addr := func(key, a string, fixed bool) (string, error) {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return "", configErrorf("serve.%s %q: want host:port (port 0: a free port)", key, a)
		}
		if freePorts && !fixed {
			port = "0"
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", configErrorf("serve.%s %q: invalid port", key, a)
		}
		return net.JoinHostPort(host, port), nil
	}
	var tc localedge.TopologyConfig
	var err error
	if c.Origin != "" && c.Upstream != "" {
		return tc, configErrorf("serve.origin and serve.upstream: give a folder or an upstream URL, not both")
	}
	tc.Origin.URL = c.Upstream
	if tc.Origin.Addr, err = addr("origin_addr", c.OriginAddr, c.fixedPorts["origin_addr"]); err != nil {
		return tc, err
	}
	adminAddr, err := adminHostPort(c.Admin)
	if err != nil {
		return tc, configErrorf("serve.admin %q: %v", c.Admin, err)
	}
	if tc.AdminAddr, err = addr("admin", adminAddr, c.fixedPorts["admin"]); err != nil {
		return tc, err
	}
	tc.Token = c.Token
	tc.ShutdownTimeout = c.ShutdownTimeout
	if len(c.PoPs) == 0 {
		return tc, configErrorf("serve.pops: at least one PoP is needed")
	}
	for i, p := range c.PoPs {
		a, err := addr(fmt.Sprintf("pops[%d].addr", i), p.Addr, p.fixedPort)
		if err != nil {
			return tc, err
		}
		delay := p.Delay
		if delay == 0 {
			delay = c.Delay
		}
		if delay < 0 {
			return tc, configErrorf("serve.pops[%d].delay %s: want a positive duration", i, delay)
		}
		pc := localedge.PoPConfig{Name: p.Name, Addr: a, Regions: p.Regions, Delay: delay}
		if p.Location != nil {
			pc.Location = &localedge.Location{Lat: p.Location.Lat, Lon: p.Location.Lon}
		}
		tc.PoPs = append(tc.PoPs, pc)
	}
	if c.Shield.Enabled {
		a, err := addr("shield.addr", c.Shield.Addr, c.fixedPorts["shield.addr"])
		if err != nil {
			return tc, err
		}
		tc.Shield = &localedge.PoPConfig{Name: "shield", Addr: a, Delay: c.Shield.Delay}
	}
	cc := c.Cache
	if tc.Cache.Capacity, err = parseByteSize("serve.cache.capacity", cc.Capacity); err != nil {
		return tc, err
	}
	if tc.Cache.MaxObjectSize, err = parseByteSize("serve.cache.max_object_size", cc.MaxObjectSize); err != nil {
		return tc, err
	}
	if tc.Cache.MaxObjectSize > tc.Cache.Capacity && tc.Cache.Capacity > 0 {
		return tc, configErrorf("serve.cache.max_object_size %s is larger than serve.cache.capacity %s", cc.MaxObjectSize, cc.Capacity)
	}
	if tc.Cache.FillBudget, err = parseByteSize("serve.cache.fill_budget", cc.FillBudget); err != nil {
		return tc, err
	}
	if maxObj := cmp.Or(tc.Cache.MaxObjectSize, localedge.DefaultMaxObjectSize); tc.Cache.FillBudget > 0 && tc.Cache.FillBudget < maxObj {
		return tc, configErrorf("serve.cache.fill_budget %s is smaller than serve.cache.max_object_size %s: the largest objects could never be stored", cc.FillBudget, cmp.Or(cc.MaxObjectSize, "8MiB"))
	}
	if tc.Cache.SliceSize, err = parseByteSize("serve.cache.slice_size", cc.SliceSize); err != nil {
		return tc, err
	}
	switch {
	case cc.SliceSize != "" && tc.Cache.SliceSize == 0:
		tc.Cache.SliceSize = -1 // 0 in the file means no slices
	case tc.Cache.SliceSize > tc.Cache.MaxObjectSize && tc.Cache.MaxObjectSize > 0:
		return tc, configErrorf("serve.cache.slice_size %s is larger than serve.cache.max_object_size %s", cc.SliceSize, cc.MaxObjectSize)
	}
	tc.Cache.Dir = cc.Dir
	tc.Cache.SoftPurgeGrace = cc.SoftPurgeGrace
	if tc.Cache.SoftPurgeGrace == 0 {
		tc.Cache.SoftPurgeGrace = -1 // 0 in the file means no grace
	}
	tc.Cache.StaleIfError = cc.StaleIfError
	tc.Cache.StaleTimeout = cc.StaleTimeout
	switch {
	case tc.Cache.StaleTimeout < 0:
		return tc, configErrorf("serve.cache.stale_timeout %s: want a positive duration (0s: wait for the upstream to fail)", cc.StaleTimeout)
	case tc.Cache.StaleTimeout == 0:
		tc.Cache.StaleTimeout = -1 // 0 in the file means wait for the upstream
	}
	tc.Cache.UpstreamTimeout = cc.UpstreamTimeout
	tc.Cache.IdleSendTimeout, tc.Cache.SendTimeout = cc.IdleSendTimeout, cc.SendTimeout
	for _, t := range []struct {
		key string
		d   *time.Duration
	}{{"idle_send_timeout", &tc.Cache.IdleSendTimeout}, {"send_timeout", &tc.Cache.SendTimeout}} {
		switch {
		case *t.d < 0:
			return tc, configErrorf("serve.cache.%s %s: want a positive duration (0s: never)", t.key, *t.d)
		case *t.d == 0:
			*t.d = -1 // 0 in the file means never
		}
	}
	tc.Cache.IgnoreRequestCacheControl = cc.IgnoreRequestCacheControl
	for i, prefix := range cc.CookiePaths {
		if !strings.HasPrefix(prefix, "/") {
			return tc, configErrorf("serve.cache.cookie_paths[%d] %q: want a path prefix starting with / (such as /assets/)", i, prefix)
		}
	}
	tc.Cache.CookiePaths = cc.CookiePaths
	if tc.Rules, err = compileEdgeRules(c.EdgeRules); err != nil {
		return tc, err
	}
	if tc.RateLimit, err = c.RateLimit.limiterConfig(); err != nil {
		return tc, err
	}
	if tc.ESI, err = c.ESI.esiOptions(); err != nil {
		return tc, err
	}
	tc.Cache.Key = localedge.KeyOptions{
		IgnoreQuery: cc.Key.IgnoreQuery, SortQuery: cc.Key.SortQuery,
		IgnoreParams: cc.Key.IgnoreParams, Headers: cc.Key.Headers,
	}
	if tc.Compression, err = c.Compress.compression(); err != nil {
		return tc, err
	}
	return tc, nil
}

// parseByteSize reads "64MiB", "1.5GB", "512k", "1048576" (bytes). k, M,
// G and T are powers of 1024 with or without "i" and "B", as in most
// cache configurations.
func parseByteSize(key, s string) (int64, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, nil
	}
	num := strings.TrimRightFunc(v, func(r rune) bool { return r < '0' || r > '9' && r != '.' })
	unit := strings.ToLower(strings.TrimSpace(v[len(num):]))
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i")
	mult := map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[unit]
	n, err := strconv.ParseFloat(num, 64)
	if strings.Trim(num, "0123456789.") != "" || strings.Count(num, ".") > 1 {
		err = fmt.Errorf("not a decimal number")
	}
	if err != nil || mult == 0 || n < 0 || n*mult > 1<<50 {
		return 0, configErrorf("%s %q: want a size such as 64MiB, 512k or a number of bytes", key, s)
	}
	return int64(n * mult), nil
}

// caDir is where the local CA lives: serve.https.ca_dir, else the user's
// config directory.
func (c ServeHTTPSConfig) caDir() (string, error) {
	if c.CADir != "" {
		return c.CADir, nil
	}
	dir, err := localca.DefaultDir()
	if err != nil {
		return "", configErrorf("serve.https: %v", err)
	}
	return dir, nil
}

// check validates the section without touching the CA.
func (c ServeHTTPSConfig) check() error {
	if _, err := localedge.ParseViewerProtocolPolicy(c.Policy); err != nil {
		return configErrorf("serve.https.policy: %v", err)
	}
	for h, p := range c.HostPolicies {
		if _, err := localedge.ParseViewerProtocolPolicy(p); err != nil {
			return configErrorf("serve.https.host_policies[%s]: %v", h, err)
		}
	}
	if _, err := localca.ParseNames(c.Names); err != nil {
		return configErrorf("serve.https.names: %v", err)
	}
	return nil
}

// topologyHTTPS loads (or creates) the CA and describes the edges' HTTPS:
// the certificate names the dns section's hostnames and CDN names besides
// serve.https.names. created says whether the CA was made now.
func (c ServeHTTPSConfig) topologyHTTPS(dnsCfg DNSConfig, now time.Time) (_ *localedge.HTTPSConfig, created bool, err error) {
	if err := c.check(); err != nil {
		return nil, false, err
	}
	dir, err := c.caDir()
	if err != nil {
		return nil, false, err
	}
	ca, created, err := localca.LoadOrCreate(dir, now)
	if err != nil {
		return nil, false, fmt.Errorf("serve: %w", err)
	}
	names := append([]string(nil), c.Names...)
	for h, cdn := range dnsCfg.Hosts {
		names = append(names, h, cdn)
	}
	names = append(names, dnsCfg.CDNNames...)
	slices.Sort(names)
	hc := &localedge.HTTPSConfig{CA: ca, Names: names, Policy: localedge.ViewerProtocolPolicy(c.Policy)}
	if len(c.HostPolicies) > 0 {
		hc.HostPolicies = map[string]localedge.ViewerProtocolPolicy{}
		for h, p := range c.HostPolicies {
			hc.HostPolicies[h] = localedge.ViewerProtocolPolicy(p)
		}
	}
	return hc, created, nil
}

// adminHostPort reads serve.admin (and serve --admin): the admin API's URL,
// http://HOST:PORT as inspect.admin and cdns[].admin_url write it, or
// HOST:PORT as older configs do. It returns HOST:PORT.
func adminHostPort(v string) (string, error) {
	if !strings.Contains(v, "://") {
		return v, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("want the admin API's URL, such as http://127.0.0.1:8099, or host:port")
	}
	if u.Scheme != "http" {
		return "", fmt.Errorf("the admin API speaks plain HTTP on loopback: want http://%s", u.Host)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("want only http://HOST:PORT, without a path")
	}
	return u.Host, nil
}

// serveAdminURL is the URL a client uses to reach the admin API that
// serve.admin names ("" when it does not parse; serve reports that).
func serveAdminURL(v string) string {
	hp, err := adminHostPort(v)
	if err != nil {
		return ""
	}
	return "http://" + localedge.ClientAddr(hp)
}

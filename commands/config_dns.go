package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/geodns"
)

// DNSConfig is the `dns:` section of cdnctl.yaml: the GeoDNS server that
// `cdnctl serve` runs, and the server `cdnctl resolve` asks. The PoPs
// themselves (addresses, regions, locations) come from the serve topology.
type DNSConfig struct {
	// Enabled runs the DNS server with `cdnctl serve`.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Listen is the UDP and TCP address (port 0: a free port).
	Listen string `yaml:"listen" json:"listen"`
	// Zone is the CDN's zone.
	Zone string `yaml:"zone" json:"zone"`
	// Zones are further zones served (customers' or test zones).
	Zones []string `yaml:"zones" json:"zones"`
	// Hosts maps customer hostnames to CDN names (CNAMEs).
	Hosts map[string]string `yaml:"hosts" json:"hosts"`
	// CDNNames are further CDN names answered with a PoP.
	CDNNames []string `yaml:"cdn_names" json:"cdn_names"`
	// Records are static records in zone-file syntax.
	Records []string `yaml:"records" json:"records"`
	// TTL of CDN answers.
	TTL time.Duration `yaml:"ttl" json:"ttl"`
	// NegativeTTL is the TTL of NXDOMAIN/NODATA answers.
	NegativeTTL time.Duration `yaml:"negative_ttl" json:"negative_ttl"`
	// DefaultPoP answers clients no region matches ("" = the first PoP).
	DefaultPoP string `yaml:"default_pop" json:"default_pop"`
	// Policy chooses among equally good PoPs: weighted or least-loaded.
	Policy string `yaml:"policy" json:"policy"`
	// Weights are the PoPs' shares under the weighted policy (1 when
	// absent).
	Weights map[string]int `yaml:"weights" json:"weights"`
	// Locations place client networks on the map, for nearest-PoP
	// answers to clients no region matches.
	Locations []DNSLocationConfig `yaml:"locations" json:"locations"`
	// Health configures the PoP health checks.
	Health DNSHealthConfig `yaml:"health" json:"health"`
	// MaxUDPSize caps UDP responses (larger ones are truncated).
	MaxUDPSize int `yaml:"max_udp_size" json:"max_udp_size"`
	// RateLimit is UDP responses per second per client network (0: off).
	RateLimit int `yaml:"rate_limit" json:"rate_limit"`
	// QueryLog logs every query at info level.
	QueryLog bool `yaml:"query_log" json:"query_log"`
	// QueryLogRate caps the query log, in lines per second (-1: no cap);
	// queries over it are counted and summarized every 10 s.
	QueryLogRate int `yaml:"query_log_rate" json:"query_log_rate"`
}

// DNSLocationConfig is one entry of dns.locations.
type DNSLocationConfig struct {
	Network string  `yaml:"network" json:"network"`
	Lat     float64 `yaml:"lat" json:"lat"`
	Lon     float64 `yaml:"lon" json:"lon"`
}

// DNSHealthConfig is dns.health.
type DNSHealthConfig struct {
	// Path is requested on each PoP's HTTP address (contracts.md §1).
	Path     string        `yaml:"path" json:"path"`
	Interval time.Duration `yaml:"interval" json:"interval"`
	Timeout  time.Duration `yaml:"timeout" json:"timeout"`
	// Fall failures in a row mark a PoP down; Rise successes mark it up.
	Fall int `yaml:"fall" json:"fall"`
	Rise int `yaml:"rise" json:"rise"`
}

func defaultDNSConfig() DNSConfig {
	return DNSConfig{
		Enabled:     true,
		Listen:      geodns.DefaultAddr,
		Zone:        geodns.DefaultZone,
		Zones:       []string{"example.test."},
		Hosts:       map[string]string{"www.example.test": "www.example.cdn.test"},
		TTL:         geodns.DefaultTTL,
		NegativeTTL: geodns.DefaultNegativeTTL,
		Policy:      string(geodns.PolicyWeighted),
		Health: DNSHealthConfig{
			Path:     geodns.DefaultHealthPath,
			Interval: 2 * time.Second,
			Timeout:  time.Second,
			Fall:     2,
			Rise:     2,
		},
		MaxUDPSize:   geodns.DefaultMaxUDPSize,
		QueryLog:     true,
		QueryLogRate: geodns.DefaultQueryLogRate,
	}
}

// validate checks what can be checked without the topology, naming the
// key at fault.
func (c *DNSConfig) validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return usageErrorf("config dns.listen %q: want host:port such as %s", c.Listen, geodns.DefaultAddr)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"dns.ttl", c.TTL}, {"dns.negative_ttl", c.NegativeTTL}, {"dns.health.interval", c.Health.Interval}, {"dns.health.timeout", c.Health.Timeout}} {
		if d.v < 0 {
			return usageErrorf("config %s %v: want a positive duration", d.key, d.v)
		}
		if d.v > 0 && d.v < time.Second && (d.key == "dns.ttl" || d.key == "dns.negative_ttl") {
			return usageErrorf("config %s %v: DNS TTLs are whole seconds; want 1s or more", d.key, d.v)
		}
	}
	if c.Health.Fall < 0 || c.Health.Rise < 0 {
		return usageErrorf("config dns.health.fall/rise: want 1 or more")
	}
	if c.RateLimit < 0 {
		return usageErrorf("config dns.rate_limit %d: want 0 (off) or more", c.RateLimit)
	}
	if c.QueryLogRate == 0 || c.QueryLogRate < -1 {
		return usageErrorf("config dns.query_log_rate %d: want lines per second (1 or more), or -1 to log every query", c.QueryLogRate)
	}
	if c.MaxUDPSize != 0 && (c.MaxUDPSize < 512 || c.MaxUDPSize > 65535) {
		return usageErrorf("config dns.max_udp_size %d: want 512..65535", c.MaxUDPSize)
	}
	switch geodns.Policy(c.Policy) {
	case "", geodns.PolicyWeighted, geodns.PolicyLeastLoaded:
	default:
		return usageErrorf("config dns.policy %q: want %s or %s", c.Policy, geodns.PolicyWeighted, geodns.PolicyLeastLoaded)
	}
	for i, l := range c.Locations {
		if _, err := netip.ParsePrefix(l.Network); err != nil {
			return usageErrorf("config dns.locations[%d].network %q: want a CIDR such as 10.0.0.0/8", i, l.Network)
		}
	}
	return nil
}

// geoDNSConfig turns the section into the server's configuration for the
// given PoPs (from the serve topology). Metrics go to reg; the query log
// and health changes to logger.
func (c *DNSConfig) geoDNSConfig(pops []geodns.PoP, logger *slog.Logger, reg prometheus.Registerer) (geodns.Config, error) {
	if err := c.validate(); err != nil {
		return geodns.Config{}, err
	}
	cfg := geodns.Config{
		Zone:        c.Zone,
		Zones:       c.Zones,
		Hosts:       c.Hosts,
		CDNNames:    c.CDNNames,
		Records:     c.Records,
		TTL:         c.TTL,
		NegativeTTL: c.NegativeTTL,
		PoPs:        pops,
		DefaultPoP:  c.DefaultPoP,
		Policy:      geodns.Policy(c.Policy),
		Health: geodns.HealthConfig{
			Interval: c.Health.Interval,
			Timeout:  c.Health.Timeout,
			Fall:     c.Health.Fall,
			Rise:     c.Health.Rise,
		},
		MaxUDPSize: c.MaxUDPSize,
		RateLimit:  c.RateLimit,
		Logger:     logger,
		Registerer: reg,
	}
	if c.QueryLog {
		cfg.QueryLog = logger
		cfg.QueryLogRate = c.QueryLogRate
	}
	if host, _, err := net.SplitHostPort(c.Listen); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
			cfg.NSAddrs = []netip.Addr{ip}
		}
	}
	for _, l := range c.Locations {
		p, _ := netip.ParsePrefix(l.Network)
		cfg.Locations = append(cfg.Locations, geodns.Location{Network: p, Lat: l.Lat, Lon: l.Lon})
	}
	if err := checkGeoDNS(cfg); err != nil {
		return geodns.Config{}, err
	}
	return cfg, nil
}

// checkGeoDNS builds the server once to report configuration errors as
// usage errors (exit 2) naming the section.
func checkGeoDNS(cfg geodns.Config) error {
	cfg.Registerer = nil
	if _, err := geodns.New(cfg); err != nil {
		return usageErrorf("config dns: %v", err)
	}
	return nil
}

// topologyPoPs turns the edges of a running topology into the GeoDNS's
// PoPs: each answered with its listening address, serving its regions,
// checked at its health endpoint.
func (c *DNSConfig) topologyPoPs(info localedge.TopologyInfo) ([]geodns.PoP, error) {
	path := c.Health.Path
	if path == "" {
		path = geodns.DefaultHealthPath
	}
	var pops []geodns.PoP
	for _, p := range info.PoPs {
		if p.Role != localedge.RoleEdge {
			continue
		}
		host, _, err := net.SplitHostPort(p.Addr)
		if err != nil {
			return nil, fmt.Errorf("dns: PoP %s: address %q: %w", p.Name, p.Addr, err)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return nil, fmt.Errorf("dns: PoP %s listens on %q: the GeoDNS needs an IP address to answer with", p.Name, host)
		}
		if ip.IsUnspecified() {
			ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		gp := geodns.PoP{
			Name:      p.Name,
			Addrs:     []netip.Addr{ip},
			HealthURL: strings.TrimSuffix(p.URL, "/") + path,
			Weight:    c.Weights[p.Name],
		}
		for _, r := range p.Regions {
			n, err := netip.ParsePrefix(r)
			if err != nil {
				return nil, fmt.Errorf("dns: PoP %s: region %q: want a CIDR such as 127.1.0.0/16", p.Name, r)
			}
			gp.Regions = append(gp.Regions, n)
		}
		if p.Location != nil {
			gp.Location = &geodns.Location{Lat: p.Location.Lat, Lon: p.Location.Lon}
		}
		pops = append(pops, gp)
	}
	for name := range c.Weights {
		if !slices.ContainsFunc(pops, func(p geodns.PoP) bool { return p.Name == name }) {
			return nil, usageErrorf("config dns.weights: %q is not one of the PoPs", name)
		}
	}
	return pops, nil
}

// startGeoDNS binds the GeoDNS server of a started topology: the
// topology's edges are its PoPs, their health endpoints are checked, its
// metrics go on the topology's registry (the admin /metrics), and it
// serves for as long as the topology runs. listen, when not "", replaces
// dns.listen (a command-line flag).
func (c *DNSConfig) startGeoDNS(top *localedge.Topology, listen string, logger *slog.Logger) (*geodns.Server, error) {
	if listen != "" {
		c.Listen = listen
	}
	pops, err := c.topologyPoPs(top.Info())
	if err != nil {
		return nil, err
	}
	cfg, err := c.geoDNSConfig(pops, logger, top.Registry())
	if err != nil {
		return nil, err
	}
	var loads *loadTracker
	if cfg.Policy == geodns.PolicyLeastLoaded {
		loads = &loadTracker{top: top, every: cfg.Health.Interval}
		cfg.Load = loads.load
	}
	s, err := geodns.New(cfg)
	if err != nil {
		return nil, usageErrorf("config dns: %v", err)
	}
	if err := s.Listen(c.Listen); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("dns: cannot listen on %s: the address is already in use (another cdnctl serve, or a DNS server?); set dns.listen to another port, or port 0 for a free one", c.Listen)
		}
		return nil, err
	}
	top.SetDNS(localedge.DNSInfo{Addr: s.Addr(), Zone: dns.Fqdn(strings.ToLower(cfg.Zone))})
	top.Go(s.Serve)
	if loads != nil {
		top.Go(loads.run)
	}
	return s, nil
}

// loadTracker measures each edge's requests per second from its counters,
// for the least-loaded policy.
type loadTracker struct {
	top   *localedge.Topology
	every time.Duration

	mu   sync.Mutex // guards last and rate
	last map[string]int64
	rate map[string]float64
}

func (l *loadTracker) run(ctx context.Context) error {
	every := l.every
	if every <= 0 {
		every = 2 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	prev := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			l.sample(now.Sub(prev))
			prev = now
		}
	}
}

func (l *loadTracker) sample(elapsed time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.rate = map[string]int64{}, map[string]float64{}
	}
	for _, p := range l.top.PoPs() {
		if p.Role != localedge.RoleEdge || p.Proxy == nil {
			continue
		}
		n := p.Proxy.Stats().Requests
		if prev, ok := l.last[p.Name]; ok && elapsed > 0 {
			l.rate[p.Name] = float64(n-prev) / elapsed.Seconds()
		}
		l.last[p.Name] = n
	}
}

func (l *loadTracker) load(pop string) (float64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.rate[pop]
	return r, ok
}

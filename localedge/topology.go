package localedge

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/cdnctl/cdnctl/localedge/edgecompress"
	"github.com/cdnctl/cdnctl/localedge/edgerules"
	"github.com/cdnctl/cdnctl/localedge/localca"
	"github.com/cdnctl/cdnctl/localedge/ratelimit"
)

// Location is a PoP's position, for nearest-PoP answers of the GeoDNS.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// PoPConfig describes one PoP (or the shield) of a topology.
type PoPConfig struct {
	Name string
	// Addr is the listen address host:port; port 0 picks a free port.
	Addr string
	// Regions are the client networks (CIDRs) the PoP serves, for GeoDNS.
	Regions  []string
	Location *Location
	// Delay is added before each request to the PoP's upstream: a
	// simulated network distance, so a hit is visibly faster than a miss.
	Delay time.Duration
	// IgnorePurges is a test knob: the PoP acknowledges purges without
	// applying them (see Proxy.IgnorePurges).
	IgnorePurges bool
}

// CacheConfig configures the cache of every PoP.
type CacheConfig struct {
	// Capacity is each PoP's cache size in bytes
	// (DefaultMemoryCapacity when 0).
	Capacity int64
	// MaxObjectSize is the largest response stored
	// (DefaultMaxObjectSize when 0).
	MaxObjectSize int64
	// FillBudget bounds each PoP's response bodies in memory outside its
	// store (see Proxy.FillBudget; DefaultFillBudget when 0).
	FillBudget int64
	// SliceSize is the size of the slices objects larger than
	// MaxObjectSize are cached in (see Proxy.SliceSize; DefaultSliceSize
	// when 0, none when negative).
	SliceSize int64
	// IdleSendTimeout and SendTimeout disconnect clients that stop
	// reading (see Proxy; defaults when 0, never when negative).
	IdleSendTimeout time.Duration
	SendTimeout     time.Duration
	// Dir, when set, makes each PoP keep its cache on disk in Dir/<name>,
	// surviving restarts.
	Dir            string
	Key            KeyOptions
	SoftPurgeGrace time.Duration
	StaleIfError   time.Duration
	// StaleTimeout: see Proxy.StaleTimeout.
	StaleTimeout time.Duration
	// UpstreamTimeout is every cache's wait for its upstream; an edge in
	// front of the shield waits shieldAnswerMargin more, so the shield's
	// own answer at its timeout (a stale response, a 504) reaches it.
	UpstreamTimeout           time.Duration
	IgnoreRequestCacheControl bool
	// CookiePaths are the path prefixes under which responses to requests
	// with cookies are stored by the ordinary rules (Proxy.CookiePaths).
	CookiePaths []string
}

// OriginConfig says where the topology's content comes from: an existing
// server (URL), or a handler the topology serves itself on Addr (the
// directory origin, the sample site).
type OriginConfig struct {
	URL     string
	Handler http.Handler
	Addr    string
	// Dir is the served folder, shown in the topology description.
	Dir string
}

// TopologyConfig describes a local CDN: edge PoPs, an optional shield
// between them and the origin, the origin and the admin API.
type TopologyConfig struct {
	PoPs   []PoPConfig
	Shield *PoPConfig // nil: edges fetch from the origin directly
	Origin OriginConfig
	// AdminAddr is the admin API's listen address.
	AdminAddr string
	// Token authorises admin requests; generated when empty.
	Token string
	Cache CacheConfig
	// Logger receives the topology's logs (default: discard); AccessLog,
	// when set, one record per request of every PoP.
	Logger    *slog.Logger
	AccessLog *slog.Logger
	// Now is the clock of every cache (default time.Now).
	Now func() time.Time
	// ShutdownTimeout bounds the wait for in-flight requests at shutdown
	// (default 10s).
	ShutdownTimeout time.Duration
	// Rules are the edge rules every edge applies (package edgerules);
	// the shield applies none.
	Rules *edgerules.Rules
	// ESI, when set, makes every edge process Edge Side Includes.
	ESI *ESIOptions
	// RateLimit, when set, gives every edge its own rate limiter (package
	// ratelimit); Now, when set, is its clock too.
	RateLimit *ratelimit.Config
	// HTTPS, when set, makes every edge answer HTTPS and HTTP/2 as well
	// as HTTP on its address (see HTTPSConfig).
	HTTPS *HTTPSConfig
	// Compression, when set, makes every edge compress eligible responses
	// (the shield stores them as the origin sends them).
	Compression *CompressionConfig
}

// Default addresses of the local topology (contract §4).
const (
	DefaultOriginAddr = "127.0.0.1:8000"
	DefaultShieldAddr = "127.0.0.1:8090"
	DefaultAdminAddr  = "127.0.0.1:8099"
)

// defaultLocations place the default PoPs (GeoDNS nearest-PoP answers).
var defaultLocations = []Location{{Lat: 1.35, Lon: 103.8}, {Lat: 38.9, Lon: -77.4}, {Lat: 50.1, Lon: 8.7}}

// DefaultTopologyConfig is the topology of `cdnctl serve` with no
// configuration (contract §4): pop1..pop3 on 127.0.i.1:808i serving
// clients in 127.i.0.0/16, a shield on 127.0.0.1:8090, the origin on
// 127.0.0.1:8000 and the admin API on 127.0.0.1:8099. With anyPort, every
// port is 0 (free ports, for tests).
func DefaultTopologyConfig(anyPort bool) TopologyConfig {
	port := func(p int) int {
		if anyPort {
			return 0
		}
		return p
	}
	cfg := TopologyConfig{
		Shield:    &PoPConfig{Name: "shield", Addr: fmt.Sprintf("127.0.0.1:%d", port(8090))},
		Origin:    OriginConfig{Addr: fmt.Sprintf("127.0.0.1:%d", port(8000))},
		AdminAddr: fmt.Sprintf("127.0.0.1:%d", port(8099)),
	}
	for i := 1; i <= 3; i++ {
		loc := defaultLocations[i-1]
		cfg.PoPs = append(cfg.PoPs, PoPConfig{
			Name:     fmt.Sprintf("pop%d", i),
			Addr:     fmt.Sprintf("127.0.%d.1:%d", i, port(8080+i)),
			Regions:  []string{fmt.Sprintf("127.%d.0.0/16", i)},
			Location: &loc,
		})
	}
	return cfg
}

// PoP is a running cache of a topology: an edge or the shield.
type PoP struct {
	Name     string
	Role     string
	Regions  []string
	Location *Location
	Proxy    *Proxy

	cfg   PoPConfig
	store Store
	ln    net.Listener
	srv   *http.Server
	// With HTTPS, ln's connections are split between plainLn (served by
	// srv) and tlsLn (served by tlsSrv).
	plainLn net.Listener
	tlsLn   net.Listener
	tlsSrv  *http.Server
}

// URL is the PoP's base URL once the topology has started.
func (p *PoP) URL() string { return "http://" + p.Addr() }

// HTTPSURL is the PoP's HTTPS base URL ("" when it serves no HTTPS).
func (p *PoP) HTTPSURL() string {
	if p.tlsSrv == nil {
		return ""
	}
	return "https://" + p.Addr()
}

// Addr is the PoP's listen address once the topology has started.
func (p *PoP) Addr() string {
	if p.ln == nil {
		return p.cfg.Addr
	}
	return p.ln.Addr().String()
}

// TopologyInfo describes where a running topology listens (contract §2 and
// §3): the object of GET /api/v1/topology and of `cdnctl serve --json`.
type TopologyInfo struct {
	PoPs   []PoPInfo  `json:"pops"`
	Origin OriginInfo `json:"origin"`
	Admin  AdminInfo  `json:"admin"`
	DNS    *DNSInfo   `json:"dns,omitempty"`
	Token  string     `json:"token,omitempty"`
	// HTTPS describes the edges' HTTPS (absent without it).
	HTTPS *HTTPSInfo `json:"https,omitempty"`
}

// PoPInfo describes one PoP.
type PoPInfo struct {
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	URL      string    `json:"url"`
	HTTPSURL string    `json:"https_url,omitempty"`
	Addr     string    `json:"addr"`
	Regions  []string  `json:"regions,omitempty"`
	Location *Location `json:"location,omitempty"`
}

// OriginInfo describes the origin.
type OriginInfo struct {
	URL string `json:"url"`
	Dir string `json:"dir,omitempty"`
}

// AdminInfo describes the admin API.
type AdminInfo struct {
	URL string `json:"url"`
}

// DNSInfo describes the GeoDNS server run with the topology.
type DNSInfo struct {
	Addr string `json:"addr"`
	Zone string `json:"zone"`
}

// Topology runs a local CDN: Start binds every listener (so ports 0 are
// known), Run serves until its context ends and then shuts down
// gracefully. Extra servers (the GeoDNS) join with Go.
type Topology struct {
	cfg      TopologyConfig
	leaves   *localca.Leaves // the edges' certificate (with HTTPS)
	log      *slog.Logger
	token    string
	secret   string // the edges' proof to the shield (Proxy.EdgeSecret)
	registry *prometheus.Registry

	edges  []*PoP
	shield *PoP

	originURL *url.URL
	originLn  net.Listener
	originSrv *http.Server
	adminLn   net.Listener
	adminSrv  *http.Server

	mu      sync.Mutex
	dns     *DNSInfo                      // guarded by mu
	extra   []func(context.Context) error // guarded by mu
	started bool                          // guarded by mu
}

// NewTopology validates cfg and builds the PoPs' caches (nothing listens
// yet).
func NewTopology(cfg TopologyConfig) (*Topology, error) {
	if len(cfg.PoPs) == 0 {
		return nil, errors.New("topology: no PoP")
	}
	if cfg.Origin.URL == "" && cfg.Origin.Handler == nil {
		return nil, errors.New("topology: no origin: give an upstream URL or a handler to serve")
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	t := &Topology{cfg: cfg, log: cfg.Logger, token: cfg.Token, registry: prometheus.NewRegistry()}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.token == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("topology: token: %w", err)
		}
		t.token = base64.RawURLEncoding.EncodeToString(b[:])
	}
	var s [24]byte
	if _, err := rand.Read(s[:]); err != nil {
		return nil, fmt.Errorf("topology: edge secret: %w", err)
	}
	t.secret = base64.RawURLEncoding.EncodeToString(s[:])
	if cfg.Origin.URL != "" {
		u, err := url.Parse(cfg.Origin.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("topology: origin URL %q: want http://host[:port][/path]", cfg.Origin.URL)
		}
		t.originURL = u
	}
	names := map[string]bool{}
	add := func(c PoPConfig, role string) (*PoP, error) {
		if c.Name == "" || !isSFToken(c.Name) {
			return nil, fmt.Errorf("topology: PoP name %q: want letters, digits, '-' or '_', starting with a letter", c.Name)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("topology: two PoPs named %q", c.Name)
		}
		names[c.Name] = true
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return nil, fmt.Errorf("topology: %s: address %q: want host:port", c.Name, c.Addr)
		}
		for _, r := range c.Regions {
			if _, _, err := net.ParseCIDR(r); err != nil {
				return nil, fmt.Errorf("topology: %s: region %q: want a CIDR such as 127.1.0.0/16", c.Name, r)
			}
		}
		return &PoP{Name: c.Name, Role: role, Regions: c.Regions, Location: c.Location, cfg: c}, nil
	}
	for _, c := range cfg.PoPs {
		p, err := add(c, RoleEdge)
		if err != nil {
			return nil, err
		}
		t.edges = append(t.edges, p)
	}
	if cfg.Shield != nil {
		p, err := add(*cfg.Shield, RoleShield)
		if err != nil {
			return nil, err
		}
		t.shield = p
	}
	if cfg.RateLimit != nil {
		if err := cfg.RateLimit.Validate(); err != nil {
			return nil, fmt.Errorf("topology: rate limit: %w", err)
		}
	}
	if cc := cfg.Compression; cc != nil {
		if err := cc.Policy.Check(); err != nil {
			return nil, fmt.Errorf("topology: edge compression: %w", err)
		}
	}
	if cfg.HTTPS != nil {
		hc := *cfg.HTTPS
		if err := hc.validate(); err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
		t.cfg.HTTPS = &hc
		names, err := t.certNames()
		if err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
		t.leaves = &localca.Leaves{CA: hc.CA, Names: names, Lifetime: hc.LeafLifetime, Now: hc.Now}
	}
	t.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewEdgeCollector(t.proxies),
		newRateLimitCollector(t.proxies),
		NewCompressCollector(t.proxies),
		NewUpgradeCollector(t.proxies),
	)
	return t, nil
}

// Token is the admin API's bearer token.
func (t *Topology) Token() string { return t.token }

// Registry is the topology's Prometheus registry, served at /metrics of
// the admin API; other servers of the topology (the GeoDNS) register their
// collectors on it.
func (t *Topology) Registry() *prometheus.Registry { return t.registry }

// PoPs returns the edges, then the shield if any.
func (t *Topology) PoPs() []*PoP {
	out := append([]*PoP(nil), t.edges...)
	if t.shield != nil {
		out = append(out, t.shield)
	}
	return out
}

// PoP returns the PoP (or shield) with that name.
func (t *Topology) PoP(name string) (*PoP, bool) {
	for _, p := range t.PoPs() {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

func (t *Topology) proxies() []*Proxy {
	var out []*Proxy
	for _, p := range t.PoPs() {
		if p.Proxy != nil {
			out = append(out, p.Proxy)
		}
	}
	return out
}

// SetDNS records the GeoDNS server run with the topology, for Info.
func (t *Topology) SetDNS(info DNSInfo) {
	t.mu.Lock()
	t.dns = &info
	t.mu.Unlock()
}

// Go adds a server to run alongside the topology's own during Run (the
// GeoDNS). fn must return when its context is done; an error it returns
// stops the topology.
func (t *Topology) Go(fn func(ctx context.Context) error) {
	t.mu.Lock()
	t.extra = append(t.extra, fn)
	t.mu.Unlock()
}

// Info describes the running topology (without the token).
func (t *Topology) Info() TopologyInfo {
	info := TopologyInfo{Admin: AdminInfo{URL: "http://" + addrOf(t.adminLn, t.cfg.AdminAddr)}}
	for _, p := range t.PoPs() {
		info.PoPs = append(info.PoPs, PoPInfo{Name: p.Name, Role: p.Role, URL: p.URL(), HTTPSURL: p.HTTPSURL(), Addr: p.Addr(), Regions: p.Regions, Location: p.Location})
	}
	if t.cfg.HTTPS != nil {
		info.HTTPS = t.cfg.HTTPS.info(t.leaves.Names)
	}
	if t.originURL != nil {
		info.Origin.URL = t.originURL.String()
	}
	info.Origin.Dir = t.cfg.Origin.Dir
	t.mu.Lock()
	if t.dns != nil {
		d := *t.dns
		info.DNS = &d
	}
	t.mu.Unlock()
	return info
}

func addrOf(ln net.Listener, fallback string) string {
	if ln == nil {
		return fallback
	}
	return ln.Addr().String()
}

// Start binds every listener and builds the caches; on an error nothing is
// left listening. Calling it twice is an error.
func (t *Topology) Start(ctx context.Context) (err error) {
	t.mu.Lock()
	if t.started {
		t.mu.Unlock()
		return errors.New("topology: already started")
	}
	t.started = true
	t.mu.Unlock()
	defer func() {
		if err != nil {
			t.closeAll()
		}
	}()
	if t.leaves != nil {
		// Issue the certificate now: a CA that cannot sign fails the start,
		// not every handshake.
		if _, err := t.leaves.Certificate(); err != nil {
			return fmt.Errorf("https: %w", err)
		}
	}
	if t.originURL == nil {
		ln, err := listen(ctx, "origin", t.cfg.Origin.Addr)
		if err != nil {
			return err
		}
		t.originLn = ln
		t.originURL = &url.URL{Scheme: "http", Host: ln.Addr().String()}
		t.originSrv = t.newServer(t.cfg.Origin.Handler)
	}
	upstream := t.originURL
	if t.shield != nil {
		if err := t.startPoP(ctx, t.shield, upstream, t.secret); err != nil {
			return err
		}
		upstream = &url.URL{Scheme: "http", Host: t.shield.Addr()}
	}
	for _, p := range t.edges {
		secret := ""
		if t.shield != nil {
			secret = t.secret // only to the shield, never to the origin
		}
		if err := t.startPoP(ctx, p, upstream, secret); err != nil {
			return err
		}
	}
	ln, err := listen(ctx, "admin", t.cfg.AdminAddr)
	if err != nil {
		return err
	}
	t.adminLn = ln
	t.adminSrv = t.newServer(newAdmin(t))
	return nil
}

func (t *Topology) startPoP(ctx context.Context, p *PoP, upstream *url.URL, secret string) error {
	store, err := t.newStore(p.Name)
	if err != nil {
		return err
	}
	p.store = store
	c := t.cfg.Cache
	upstreamTimeout := c.UpstreamTimeout
	if upstreamTimeout <= 0 {
		upstreamTimeout = DefaultUpstreamTimeout
	}
	if p.Role == RoleEdge && t.shield != nil {
		upstreamTimeout += shieldAnswerMargin
	}
	var compressor *edgecompress.Compressor
	if cc := t.cfg.Compression; cc != nil && p.Role == RoleEdge {
		if compressor, err = edgecompress.New(cc.Policy, cc.MaxConcurrent); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	p.Proxy = &Proxy{
		Name:                      p.Name,
		Role:                      p.Role,
		Upstream:                  upstream,
		Store:                     store,
		Now:                       t.cfg.Now,
		Logger:                    t.log,
		AccessLog:                 t.cfg.AccessLog,
		Key:                       c.Key,
		MaxObjectSize:             c.MaxObjectSize,
		FillBudget:                c.FillBudget,
		SliceSize:                 c.SliceSize,
		IdleSendTimeout:           c.IdleSendTimeout,
		SendTimeout:               c.SendTimeout,
		SoftPurgeGrace:            c.SoftPurgeGrace,
		StaleIfError:              c.StaleIfError,
		StaleTimeout:              c.StaleTimeout,
		UpstreamTimeout:           upstreamTimeout,
		IgnoreRequestCacheControl: c.IgnoreRequestCacheControl,
		CookiePaths:               c.CookiePaths,
		Delay:                     p.cfg.Delay,
		TrustForwarded:            p.Role == RoleShield,
		EdgeSecret:                secret,
		IgnorePurges:              p.cfg.IgnorePurges,
		Compress:                  compressor,
	}
	if p.Role == RoleEdge {
		p.Proxy.Rules = t.cfg.Rules
		p.Proxy.ESI = t.cfg.ESI
		if rl := t.cfg.RateLimit; rl != nil {
			c := *rl
			if c.Now == nil {
				c.Now = t.cfg.Now
			}
			if p.Proxy.RateLimit, err = ratelimit.New(c); err != nil {
				return fmt.Errorf("%s: rate limit: %w", p.Name, err)
			}
		}
	}
	ln, err := listen(ctx, p.Name, p.cfg.Addr)
	if err != nil {
		return err
	}
	p.ln = ln
	if t.cfg.HTTPS == nil || p.Role != RoleEdge {
		p.srv = t.newServer(p.Proxy)
		return nil
	}
	hc := t.cfg.HTTPS
	p.plainLn, p.tlsLn = splitByProtocol(ln, readHeaderTimeout)
	p.srv = t.newServer(&viewerPolicy{pop: p.Name, cfg: hc, next: p.Proxy, accessLog: t.cfg.AccessLog})
	p.tlsSrv = t.newServer(p.Proxy)
	p.tlsSrv.TLSConfig = t.tlsConfig()
	p.tlsSrv.HTTP2 = hc.http2()
	return nil
}

// shieldAnswerMargin is how much longer than the shield an edge waits for
// its upstream: with equal timeouts the edge would give up at the moment
// the shield answers.
const shieldAnswerMargin = 5 * time.Second

// newStore builds a PoP's cache store: on disk under Cache.Dir, or in
// memory.
func (t *Topology) newStore(name string) (Store, error) {
	c := t.cfg.Cache
	if c.Dir == "" {
		return NewMemoryStore(c.Capacity), nil
	}
	s, err := OpenDiskStore(filepath.Join(c.Dir, name), DiskStoreOptions{Capacity: c.Capacity, Logger: t.log})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func (t *Topology) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(&slogWriter{t.log}, "", 0),
	}
}

// readHeaderTimeout bounds the wait for a request's header (and, with
// HTTPS, for a connection's first byte and its TLS handshake).
const readHeaderTimeout = 10 * time.Second

// slogWriter forwards net/http's server log lines (TLS errors, panics) to
// slog.
type slogWriter struct{ log *slog.Logger }

func (w *slogWriter) Write(b []byte) (int, error) {
	msg := string(trimNewline(b))
	if quietTLSError(msg) {
		w.log.Debug("http server", "msg", msg)
	} else {
		w.log.Warn("http server", "msg", msg)
	}
	return len(b), nil
}

// quietTLSError reports a handshake that the client gave up before it
// began (a connection opened and closed unused, as HTTP/2 clients and
// browsers do): worth a debug line, not a warning. A refused certificate
// ("unknown certificate authority") stays a warning: it tells the user to
// trust the CA.
func quietTLSError(msg string) bool {
	return strings.HasPrefix(msg, "http: TLS handshake error") &&
		(strings.HasSuffix(msg, ": EOF") || strings.HasSuffix(msg, "connection reset by peer"))
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// listen binds addr, turning the common failures into advice.
func listen(ctx context.Context, what, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err == nil {
		return ln, nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("%s: cannot listen on %s: the address is already in use (another cdnctl serve, or another server?); choose another port, or port 0 for a free one", what, addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, fmt.Errorf("%s: cannot listen on %s: no such local address (on macOS, add it first: sudo ifconfig lo0 alias %s)", what, addr, hostOf(addr))
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("%s: cannot listen on %s: permission denied (ports below 1024 need privileges)", what, addr)
	}
	return nil, fmt.Errorf("%s: listen %s: %w", what, addr, err)
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// Run serves until ctx is done, then shuts down gracefully: health
// endpoints answer 503 (draining), in-flight requests finish (within the
// shutdown timeout), background revalidations stop and disk stores are
// flushed. It starts the topology first if Start was not called.
func (t *Topology) Run(ctx context.Context) error {
	t.mu.Lock()
	started := t.started
	t.mu.Unlock()
	if !started {
		if err := t.Start(ctx); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	serve := func(name string, srv *http.Server, ln net.Listener) {
		g.Go(func() error {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	if t.originSrv != nil {
		serve("origin", t.originSrv, t.originLn)
	}
	for _, p := range t.PoPs() {
		if p.tlsSrv == nil {
			serve(p.Name, p.srv, p.ln)
			continue
		}
		serve(p.Name, p.srv, p.plainLn)
		g.Go(func() error {
			if err := p.tlsSrv.ServeTLS(p.tlsLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s (https): %w", p.Name, err)
			}
			return nil
		})
	}
	serve("admin", t.adminSrv, t.adminLn)
	t.mu.Lock()
	extra := append([]func(context.Context) error(nil), t.extra...)
	t.mu.Unlock()
	for _, fn := range extra {
		g.Go(func() error { return fn(gctx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		return t.shutdown()
	})
	err := g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// shutdown stops every server gracefully and closes the caches, tier by
// tier — edges, then the shield, then the origin and the admin API — and
// closes each tier's upstream connections once it has stopped, so that a
// connection a proxy dialled but never used does not hold up the next
// tier's shutdown (a server waits 5 s for a connection that sent no
// request).
func (t *Topology) shutdown() error {
	for _, p := range t.PoPs() {
		if p.Proxy != nil {
			p.Proxy.SetDraining(true)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	var mu sync.Mutex
	stop := func(servers []*http.Server, pops []*PoP) {
		var wg sync.WaitGroup
		for _, srv := range servers {
			if srv == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := srv.Shutdown(ctx); err != nil {
					srv.Close()
					mu.Lock()
					errs = append(errs, fmt.Errorf("shutdown: %w", err))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, p := range pops {
			if p.Proxy != nil {
				p.Proxy.Close()
			}
		}
	}
	var edgeServers []*http.Server
	for _, p := range t.edges {
		edgeServers = append(edgeServers, p.srv)
		if p.tlsSrv != nil {
			edgeServers = append(edgeServers, p.tlsSrv)
		}
	}
	stop(edgeServers, t.edges)
	if t.shield != nil {
		stop([]*http.Server{t.shield.srv}, []*PoP{t.shield})
	}
	stop([]*http.Server{t.originSrv, t.adminSrv}, nil)
	t.closeCaches(&errs)
	return errors.Join(errs...)
}

// closeCaches stops the proxies and closes (flushes) their stores.
func (t *Topology) closeCaches(errs *[]error) {
	for _, p := range t.PoPs() {
		if p.Proxy != nil {
			p.Proxy.Close()
		}
		if c, ok := p.store.(io.Closer); ok {
			if err := c.Close(); err != nil {
				*errs = append(*errs, fmt.Errorf("%s: close cache: %w", p.Name, err))
			}
		}
	}
}

// closeAll releases what Start had opened when it fails.
func (t *Topology) closeAll() {
	for _, ln := range []net.Listener{t.originLn, t.adminLn} {
		if ln != nil {
			ln.Close()
		}
	}
	for _, p := range t.PoPs() {
		if p.ln != nil {
			p.ln.Close()
		}
	}
	var errs []error
	t.closeCaches(&errs)
	for _, err := range errs {
		t.log.Warn("close after failed start", "err", err)
	}
}

// ClientAddr turns a listen address into one a client can dial: an
// unspecified host ("0.0.0.0:5353", ":5353") becomes 127.0.0.1.
func ClientAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Package geodns is cdnctl's authoritative GeoDNS server: it answers the
// CDN's names with the address of the nearest healthy PoP for each client.
//
// Customer hostnames are CNAMEs into the CDN zone
// (www.example.test → www.example.cdn.test); a CDN name's A/AAAA answer
// is chosen per query by longest-prefix match of the client's network —
// the EDNS Client Subnet when present (RFC 7871, scope echoed), else the
// source address — against the regions each PoP serves, with failover to
// the next-best healthy PoP (enclosing regions, then by distance) when
// health checks of the PoP's HTTP health endpoint fail. It is authoritative
// only (no recursion: REFUSED outside its zones), speaks UDP and TCP with
// EDNS(0) and truncation, and answers ANY minimally (RFC 8482).
// github.com/miekg/dns does the wire format and serving; the policy is
// here.
package geodns

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Server is a GeoDNS server. Create it with New, bind it with Listen, run
// it with Serve.
type Server struct {
	zones   *zoneSet
	router  *router
	health  *healthChecker
	metrics *metrics
	limiter *rateLimiter
	maxUDP  int
	logger  *slog.Logger
	qlog    *queryLog // nil: no query log
	now     func() time.Time

	cookieSecret [16]byte // keys the server cookies (RFC 9018)

	mu  sync.Mutex // guards udp and tcp
	udp net.PacketConn
	tcp net.Listener
}

// New validates cfg and builds the server's zones and routing table.
func New(cfg Config) (*Server, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pops, def, err := validatePoPs(cfg.PoPs, cfg.DefaultPoP)
	if err != nil {
		return nil, err
	}
	for i, l := range cfg.Locations {
		if !l.Network.IsValid() || !validLocation(l) {
			return nil, fmt.Errorf("dns: location %d (%s): want a network and lat -90..90, lon -180..180", i+1, l.Network)
		}
	}
	switch cfg.Policy {
	case "", PolicyWeighted, PolicyLeastLoaded:
	default:
		return nil, fmt.Errorf("dns: policy %q: want %s or %s", cfg.Policy, PolicyWeighted, PolicyLeastLoaded)
	}
	if len(cfg.NSAddrs) == 0 {
		cfg.NSAddrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	if cfg.Zone == "" {
		cfg.Zone = DefaultZone
	}
	zs, err := buildZones(&cfg, pops, uint32(now().Unix()))
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	maxUDP := cfg.MaxUDPSize
	if maxUDP == 0 {
		maxUDP = DefaultMaxUDPSize
	}
	if maxUDP < dns.MinMsgSize || maxUDP > dns.MaxMsgSize {
		return nil, fmt.Errorf("dns: max UDP size %d: want %d..%d", maxUDP, dns.MinMsgSize, dns.MaxMsgSize)
	}
	if cfg.RateLimit < 0 {
		return nil, fmt.Errorf("dns: rate limit %d: want 0 (off) or more", cfg.RateLimit)
	}
	m, err := newMetrics(cfg.Registerer, pops)
	if err != nil {
		return nil, err
	}
	s := &Server{
		zones:   zs,
		router:  newRouter(pops, def, cfg.Locations, cfg.Policy, cfg.Load),
		metrics: m,
		maxUDP:  maxUDP,
		logger:  logger,
		qlog:    newQueryLog(&cfg, now, m),
		now:     now,
	}
	rand.Read(s.cookieSecret[:])
	if cfg.RateLimit > 0 {
		s.limiter = newRateLimiter(cfg.RateLimit, now)
	}
	hc := cfg.Health.withDefaults()
	if hc.Client == nil {
		hc.Client = defaultHealthClient(hc.Timeout)
	}
	s.health = &healthChecker{cfg: hc, router: s.router, logger: logger, metrics: m}
	return s, nil
}

func validatePoPs(in []PoP, defaultPoP string) ([]PoP, int, error) {
	if len(in) == 0 {
		return nil, 0, errors.New("dns: no PoPs to answer with")
	}
	pops := make([]PoP, len(in))
	seen := make(map[string]bool)
	def := -1
	for i, p := range in {
		if p.Name == "" {
			return nil, 0, fmt.Errorf("dns: PoP %d has no name", i+1)
		}
		if seen[p.Name] {
			return nil, 0, fmt.Errorf("dns: PoP %s: listed twice", p.Name)
		}
		seen[p.Name] = true
		if len(p.Addrs) == 0 {
			return nil, 0, fmt.Errorf("dns: PoP %s: no address to answer with", p.Name)
		}
		if p.Weight < 0 {
			return nil, 0, fmt.Errorf("dns: PoP %s: weight %d: want 1 or more", p.Name, p.Weight)
		}
		if p.Location != nil && !validLocation(*p.Location) {
			return nil, 0, fmt.Errorf("dns: PoP %s: location lat %v lon %v: want -90..90 and -180..180", p.Name, p.Location.Lat, p.Location.Lon)
		}
		q := p
		q.Addrs = make([]netip.Addr, len(p.Addrs))
		for j, a := range p.Addrs {
			if !a.IsValid() {
				return nil, 0, fmt.Errorf("dns: PoP %s: invalid address", p.Name)
			}
			q.Addrs[j] = a.Unmap()
		}
		for _, r := range p.Regions {
			if !r.IsValid() {
				return nil, 0, fmt.Errorf("dns: PoP %s: invalid region", p.Name)
			}
		}
		pops[i] = q
		if p.Name == defaultPoP {
			def = i
		}
	}
	if defaultPoP == "" {
		def = 0
	} else if def < 0 {
		return nil, 0, fmt.Errorf("dns: default PoP %q is not one of the PoPs", defaultPoP)
	}
	return pops, def, nil
}

// Listen binds UDP and TCP on addr (host:port; port 0 picks a port free
// for both).
func (s *Server) Listen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("dns: listen %q: want host:port", addr)
	}
	var lastErr error
	for range 20 {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("dns: %w", err)
		}
		p := port
		if p == "0" {
			p = strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port)
		}
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err != nil {
			udp.Close()
			lastErr = err
			if port == "0" {
				continue // that port is taken for TCP: try another
			}
			return fmt.Errorf("dns: %w", err)
		}
		s.mu.Lock()
		s.udp, s.tcp = udp, tcp
		s.mu.Unlock()
		return nil
	}
	return fmt.Errorf("dns: no port free for both UDP and TCP on %s: %w", host, lastErr)
}

// Addr returns the bound address ("127.0.0.1:5353"; UDP and TCP share
// it), or "" before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return ""
	}
	return s.udp.LocalAddr().String()
}

// Healthy reports whether the named PoP currently passes its health
// checks (false for an unknown name).
func (s *Server) Healthy(pop string) bool {
	for i, p := range s.router.pops {
		if p.Name == pop {
			return s.router.healthy[i].Load()
		}
	}
	return false
}

// Serve answers queries on the listeners bound by Listen and checks the
// PoPs' health until ctx is done, then stops both and returns nil.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	udp, tcp := s.udp, s.tcp
	s.mu.Unlock()
	if udp == nil {
		return errors.New("dns: Serve before Listen")
	}
	tcpServer := newTCPServer(s, tcp)
	errc := make(chan error, 1)
	go func() { errc <- tcpServer.serve() }()
	udpDone := make(chan struct{})
	go func() {
		defer close(udpDone)
		s.serveUDP(udp)
	}()

	hctx, stopHealth := context.WithCancel(ctx)
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		s.health.run(hctx)
	}()
	// The query log's summaries stop after the listeners, so the last one
	// counts every query.
	qctx, stopQueryLog := context.WithCancel(context.Background())
	qlogDone := make(chan struct{})
	go func() {
		defer close(qlogDone)
		s.qlog.run(qctx)
	}()

	var err error
	tcpStopped := false
	select {
	case <-ctx.Done():
	case err = <-errc:
		tcpStopped = true
		if err == nil {
			err = errors.New("listener closed")
		}
		err = fmt.Errorf("dns: tcp: %w", err)
	}
	stopHealth()
	udp.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tcpServer.shutdown(sctx)
	if !tcpStopped {
		<-errc
	}
	<-udpDone
	<-healthDone
	stopQueryLog()
	<-qlogDone
	return err
}

// Run is Listen then Serve.
func (s *Server) Run(ctx context.Context, addr string) error {
	if err := s.Listen(addr); err != nil {
		return err
	}
	return s.Serve(ctx)
}

func (s *Server) invalid(m []byte, err error) {
	s.logger.Debug("dns: malformed message", "bytes", len(m), "err", err)
}

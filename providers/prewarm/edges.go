package prewarm

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/resolver"
	"github.com/cdnctl/cdnctl/providers/probe"
)

// Edge is one PoP that requests go through: every request for the site's
// URLs is sent to Addr, with the URL's host as Host header and TLS server
// name, the way a client that DNS sent to this PoP would send it.
type Edge struct {
	// Name labels the PoP ("pop1", "iad").
	Name string `json:"name"`
	// Addr is the address dialled (host:port).
	Addr string `json:"addr"`
	// Region is the client network the PoP was resolved for, if any.
	Region string `json:"region,omitempty"`
	// Via says how Addr was found: "address" (given), "dns" (the CDN
	// hostname resolved for Region), "topology" (a local topology's PoP
	// address).
	Via string `json:"via"`
}

// ParseEdge reads an edge given as NAME=IP[:PORT] or IP[:PORT] (like curl
// --connect-to); an address without a port takes port.
func ParseEdge(spec, port string) (Edge, error) {
	name, addr, ok := strings.Cut(spec, "=")
	if !ok {
		name, addr = spec, spec
	}
	if name == "" || addr == "" {
		return Edge{}, fmt.Errorf("edge %q: want NAME=IP[:PORT] or IP[:PORT], such as iad=203.0.113.10", spec)
	}
	if host, p, err := net.SplitHostPort(addr); err == nil {
		if _, err := netip.ParseAddr(host); err != nil || p == "" {
			return Edge{}, fmt.Errorf("edge %q: %q is not an IP address with a port", spec, addr)
		}
		return Edge{Name: name, Addr: addr, Via: "address"}, nil
	}
	ip, err := netip.ParseAddr(strings.Trim(addr, "[]"))
	if err != nil {
		return Edge{}, fmt.Errorf("edge %q: want NAME=IP[:PORT] or IP[:PORT], such as iad=203.0.113.10", spec)
	}
	return Edge{Name: name, Addr: net.JoinHostPort(ip.String(), port), Via: "address"}, nil
}

// Region is a client network to resolve the CDN hostname for.
type Region struct {
	Name   string
	Prefix netip.Prefix
}

// Finder finds a CDN's edges the way its clients do: by resolving the
// CDN hostname at a DNS server as a client of each region (EDNS Client
// Subnet, RFC 7871), which cdnctl's GeoDNS and the big public resolvers
// honour.
type Finder struct {
	// Resolver is the DNS server (host:port). Required.
	Resolver string
	// Locate maps an address DNS answered to the PoP listening there and
	// its host:port (the local topology's PoPs each have a port of their
	// own); nil or !ok: the address with the URL's port, named after the
	// region or the GeoDNS's answer.
	Locate func(ip netip.Addr) (pop, addr string, ok bool)
	// Timeout bounds one lookup (resolver.DefaultTimeout when 0).
	Timeout time.Duration
}

// Find resolves host once per region and returns one edge per distinct
// address, in region order. port is the URL's port. Two regions sent to
// the same PoP (a failover, or a CDN with fewer PoPs than regions) give
// one edge.
func (f Finder) Find(ctx context.Context, host, port string, regions []Region) ([]Edge, error) {
	if f.Resolver == "" {
		return nil, fmt.Errorf("prewarm: finding edges by region needs a DNS server")
	}
	var edges []Edge
	for _, reg := range regions {
		r := &resolver.Resolver{Server: f.Resolver, Subnet: reg.Prefix.Masked(), Timeout: f.Timeout}
		addrs, err := r.LookupAddrs(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("prewarm: region %s: %w", reg.Name, err)
		}
		ip := addrs[0].Unmap()
		e := Edge{Name: reg.Name, Addr: net.JoinHostPort(ip.String(), port), Region: reg.Prefix.String(), Via: "dns"}
		if f.Locate != nil {
			if pop, addr, ok := f.Locate(ip); ok {
				e.Name, e.Addr = pop, addr
			}
		}
		if slices.ContainsFunc(edges, func(o Edge) bool { return o.Addr == e.Addr }) {
			continue
		}
		edges = append(edges, e)
	}
	return edges, nil
}

// LocalEdges returns the edge PoPs of a local topology (`cdnctl serve`):
// when it runs a GeoDNS, each is found as its clients find it, by
// resolving host for the PoP's first region there; otherwise (or
// without regions) its own address is used.
func LocalEdges(ctx context.Context, info localedge.TopologyInfo, host string) ([]Edge, error) {
	viaDNS := info.DNS != nil
	local, err := probe.LocalTargets(info, nil, viaDNS)
	if err != nil {
		return nil, fmt.Errorf("prewarm: %w", err)
	}
	var edges []Edge
	for _, t := range local.Targets {
		if t.Addr != "" {
			edges = append(edges, Edge{Name: t.Name, Addr: t.Addr, Via: "topology"})
			continue
		}
		f := Finder{Resolver: localedge.ClientAddr(info.DNS.Addr), Locate: local.Locate}
		found, err := f.Find(ctx, host, "80", []Region{{Name: t.Name, Prefix: t.Region}})
		if err != nil {
			return nil, err
		}
		for _, e := range found {
			if !slices.ContainsFunc(edges, func(o Edge) bool { return o.Addr == e.Addr }) {
				edges = append(edges, e)
			}
		}
	}
	if len(edges) == 0 {
		return nil, fmt.Errorf("prewarm: the topology has no edge PoP")
	}
	return edges, nil
}

// Client returns an http.Client that sends every request to e.Addr
// whatever the URL's host, keeping that host as the Host header and TLS
// server name (SNI), with up to conns connections; it does not decompress
// bodies (they are measured and hashed as sent) nor follow redirects (a
// cached redirect is an answer like any other: prewarm and verify follow
// the ones within the site themselves, see SiteRedirect). close closes every
// connection the client opened, including those a dial still in progress
// opens later: none is left idle at the PoP (a server shutting down waits
// for a connection that never sent a request).
func (e Edge) Client(conns int, timeout time.Duration, insecure bool) (client *http.Client, close func()) {
	addr := e.Addr
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	var (
		mu     sync.Mutex // guards open and closed
		open   = map[net.Conn]bool{}
		closed bool
	)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if closed {
			c.Close()
			return nil, net.ErrClosed
		}
		open[c] = true
		return &trackedConn{Conn: c, forget: func() { mu.Lock(); delete(open, c); mu.Unlock() }}, nil
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: insecure},
		ForceAttemptHTTP2:     true,
		DisableCompression:    true,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	client = &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return client, func() {
		tr.CloseIdleConnections()
		mu.Lock()
		closed = true
		conns := make([]net.Conn, 0, len(open))
		for c := range open {
			conns = append(conns, c)
		}
		mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
}

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	once   sync.Once
	forget func()
}

func (c *trackedConn) Close() error {
	c.once.Do(c.forget)
	return c.Conn.Close()
}

// MaxRedirects bounds the same-site redirects SiteRedirect's callers
// follow for one URL.
const MaxRedirects = 3

// SiteRedirect returns the URL a redirect answer leads to when it stays on
// the site (same scheme and host): a static host's canonical URL
// (/about.html → /about, /docs → /docs/, as Cloudflare Pages, Netlify and
// cdnctl serve answer) or a _redirects rule. Other answers, and redirects
// to another site, return false.
func SiteRedirect(resp *http.Response) (string, bool) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return "", false
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", false
	}
	from := resp.Request.URL
	if loc.Scheme != from.Scheme || !strings.EqualFold(loc.Host, from.Host) {
		return "", false
	}
	loc.Fragment, loc.RawFragment = "", ""
	return loc.String(), true
}

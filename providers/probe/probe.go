// Package probe requests one URL through several CDN edges — the PoPs of a
// local `cdnctl serve` topology, or a real CDN's edges reached by address
// or through DNS as a client of a chosen region — and reports, for each,
// what a person debugging a cache wants side by side: status, Age,
// Cache-Control, ETag, a hash of the body, the cache verdict decoded from
// Cache-Status (RFC 9211), CF-Cache-Status, X-Cache and X-Served-By,
// Server-Timing, and where the time went (DNS, connect, TLS, first byte).
package probe

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/cdnctl/cdnctl/localedge/resolver"
)

// DefaultTimeout bounds one target's request, body included.
const DefaultTimeout = 15 * time.Second

// DefaultAcceptEncoding is what a current browser sends, so the probe sees
// the variant real users get (the body is hashed as received).
const DefaultAcceptEncoding = "gzip, deflate, br, zstd"

// Target is one way to reach the URL.
type Target struct {
	// Name labels the target: a PoP, an edge, a region.
	Name string `json:"name"`
	// Addr, when set, is dialled directly (host:port, or an IP address
	// that takes the URL's port), like curl --connect-to.
	Addr string `json:"addr,omitempty"`
	// Region, when valid and Addr is empty, is the client network the
	// URL's host is resolved for (EDNS Client Subnet, RFC 7871): it needs
	// Prober.Resolver.
	Region netip.Prefix `json:"region,omitzero"`
}

// Prober sends the requests. The zero value probes with GET through the
// system resolver.
type Prober struct {
	// Resolver is the DNS server (host:port) that resolves the URL's host
	// for targets without Addr; "" uses the system resolver, which cannot
	// locate a client in a region.
	Resolver string
	// Locate maps an address DNS answered to the PoP listening there and
	// its host:port (in a local topology each PoP has its own port); nil
	// or !ok: the address with the URL's port.
	Locate func(ip netip.Addr) (pop, addr string, ok bool)
	// Method is GET (default) or HEAD.
	Method string
	// Header is added to every request (Accept-Encoding defaults to
	// DefaultAcceptEncoding; Host overrides the URL's host).
	Header http.Header
	// Timeout bounds each target's request (DefaultTimeout when 0).
	Timeout time.Duration
	// Insecure skips TLS certificate verification (self-signed edges).
	Insecure bool
	// RootCAs are the roots certificates are checked against (nil: the
	// system's); a local topology's CA is added to them.
	RootCAs *x509.CertPool
}

// Report is the outcome of probing one URL through every target.
type Report struct {
	URL     string   `json:"url"`
	Method  string   `json:"method"`
	Results []Result `json:"results"`
	// SameContent is true when every successful answer had the same body
	// hash (and there were at least two).
	SameContent bool `json:"same_content"`
	// Cached counts the answers some cache served from storage.
	Cached int `json:"cached"`
}

// Result is what one target answered.
type Result struct {
	Target string `json:"target"`
	Region string `json:"region,omitempty"`
	// DNS is the lookup, when the target was resolved.
	DNS *DNSAnswer `json:"dns,omitempty"`
	// PoP is the PoP that was reached, when known (Locate, GeoDNS).
	PoP string `json:"pop,omitempty"`
	// Addr is the address connected to.
	Addr   string `json:"addr,omitempty"`
	Status int    `json:"status,omitempty"`
	Proto  string `json:"proto,omitempty"`
	// Age is the Age header in seconds (nil when absent).
	Age             *int64 `json:"age,omitempty"`
	CacheControl    string `json:"cache_control,omitempty"`
	ETag            string `json:"etag,omitempty"`
	LastModified    string `json:"last_modified,omitempty"`
	ContentType     string `json:"content_type,omitempty"`
	ContentEncoding string `json:"content_encoding,omitempty"`
	Vary            string `json:"vary,omitempty"`
	// Size and SHA256 describe the body as received (still encoded).
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	// Headers are the cache-related response headers as sent:
	// Cache-Status, CF-Cache-Status, X-Cache, X-Cache-Hits, X-Served-By,
	// Server-Timing, Via, X-Amz-Cf-Pop, CF-Ray.
	Headers      map[string]string `json:"headers,omitempty"`
	Verdict      Verdict           `json:"verdict"`
	ServerTiming []ServerTiming    `json:"server_timing,omitempty"`
	Timing       Timing            `json:"timing"`
	// Note explains something surprising (DNS sent the region elsewhere).
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
}

// DNSAnswer is how a target's address was found.
type DNSAnswer struct {
	Server string   `json:"server,omitempty"`
	Name   string   `json:"name"`
	Addrs  []string `json:"addrs"`
	// PoP and Detail are what cdnctl's GeoDNS says about its choice.
	PoP    string `json:"pop,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Timing is where the time of one request went, in milliseconds from its
// start: DNS, TCP connect and TLS handshake are durations; FirstByte and
// Total are from the start of the request.
type Timing struct {
	DNSMs       float64 `json:"dns_ms"`
	ConnectMs   float64 `json:"connect_ms"`
	TLSMs       float64 `json:"tls_ms"`
	FirstByteMs float64 `json:"first_byte_ms"`
	TotalMs     float64 `json:"total_ms"`
}

// cacheHeaders are copied into Result.Headers.
var cacheHeaders = []string{"Cache-Status", "CF-Cache-Status", "X-Cache", "X-Cache-Hits", "X-Served-By", "Server-Timing", "Via", "X-Amz-Cf-Pop", "CF-Ray"}

// Probe requests rawURL through each target in turn (in order: a miss at
// the first can fill a shared shield for the next) and reports each
// answer. Per-target failures are in Result.Error; the error is for a URL
// or configuration that cannot be probed at all.
func (p *Prober) Probe(ctx context.Context, rawURL string, targets []Target) (*Report, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("probe: URL %q: want http(s)://host/path", rawURL)
	}
	method := p.Method
	if method == "" {
		method = http.MethodGet
	}
	if method != http.MethodGet && method != http.MethodHead {
		return nil, fmt.Errorf("probe: method %q: want GET or HEAD", method)
	}
	if len(targets) == 0 {
		return nil, errors.New("probe: no target: give edges, regions or a topology")
	}
	for _, t := range targets {
		if t.Addr == "" && t.Region.IsValid() && p.Resolver == "" {
			return nil, fmt.Errorf("probe: target %s: a client region needs a DNS server that honours EDNS Client Subnet (--resolver)", t.Name)
		}
	}
	rep := &Report{URL: u.String(), Method: method}
	hashes := map[string]bool{}
	for _, t := range targets {
		r := p.probeOne(ctx, u, method, t)
		if r.Error == "" && method == http.MethodGet {
			hashes[r.SHA256] = true
		}
		if r.Verdict.Cached {
			rep.Cached++
		}
		rep.Results = append(rep.Results, r)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	ok := 0
	for _, r := range rep.Results {
		if r.Error == "" {
			ok++
		}
	}
	rep.SameContent = ok >= 2 && len(hashes) == 1
	return rep, nil
}

func (p *Prober) probeOne(ctx context.Context, u *url.URL, method string, t Target) Result {
	res := Result{Target: t.Name}
	if t.Region.IsValid() {
		res.Region = t.Region.String()
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	start := time.Now()
	addr, err := p.dialAddr(ctx, u.Hostname(), port, t, &res)
	res.Timing.DNSMs = ms(time.Since(start))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Addr = addr

	var connStart, tlsStart time.Time
	var firstByte time.Duration
	reqStart := time.Now()
	trace := &httptrace.ClientTrace{
		ConnectStart: func(string, string) { connStart = time.Now() },
		ConnectDone: func(string, string, error) {
			if !connStart.IsZero() {
				res.Timing.ConnectMs = ms(time.Since(connStart))
			}
		},
		TLSHandshakeStart: func() { tlsStart = time.Now() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			if !tlsStart.IsZero() {
				res.Timing.TLSMs = ms(time.Since(tlsStart))
			}
		},
		GotFirstResponseByte: func() { firstByte = time.Since(reqStart) },
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: p.Insecure, RootCAs: p.RootCAs},
		ForceAttemptHTTP2:   true,
		DisableKeepAlives:   true,
		DisableCompression:  true,
		TLSHandshakeTimeout: timeout,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// A probe shows what the edge answered, redirects included.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, u.String(), nil)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("User-Agent", "cdnctl-probe")
	req.Header.Set("Accept-Encoding", DefaultAcceptEncoding)
	for k, vs := range p.Header {
		if strings.EqualFold(k, "Host") {
			if len(vs) > 0 {
				req.Host = vs[0]
			}
			continue
		}
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		res.Error = describeFailure(err, addr)
		return res
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	res.Timing.FirstByteMs = ms(firstByte)
	res.Timing.TotalMs = ms(time.Since(reqStart))
	if err != nil {
		res.Error = fmt.Sprintf("reading the body after %d bytes: %v", n, err)
	}
	res.Status, res.Proto, res.Size = resp.StatusCode, resp.Proto, n
	if method == http.MethodGet {
		res.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	rh := resp.Header
	if a := rh.Get("Age"); a != "" {
		if v, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64); err == nil {
			res.Age = &v
		}
	}
	res.CacheControl = strings.Join(rh.Values("Cache-Control"), ", ")
	res.ETag = rh.Get("ETag")
	res.LastModified = rh.Get("Last-Modified")
	res.ContentType = rh.Get("Content-Type")
	res.ContentEncoding = rh.Get("Content-Encoding")
	res.Vary = strings.Join(rh.Values("Vary"), ", ")
	for _, k := range cacheHeaders {
		if vs := rh.Values(k); len(vs) > 0 {
			if res.Headers == nil {
				res.Headers = map[string]string{}
			}
			res.Headers[k] = strings.Join(vs, ", ")
		}
	}
	res.Verdict = Decode(rh)
	res.ServerTiming = ParseServerTiming(rh.Values("Server-Timing"))
	if res.PoP == "" {
		// X-Served-By lists the caches, the one closest to the client
		// last (contracts §1, Fastly).
		if nodes := splitList(rh.Get("X-Served-By")); len(nodes) > 0 {
			res.PoP = nodes[len(nodes)-1]
		}
	}
	return res
}

// dialAddr decides where to connect for target t, resolving host when
// needed, and records the lookup in res.
func (p *Prober) dialAddr(ctx context.Context, host, port string, t Target, res *Result) (string, error) {
	if t.Addr != "" {
		if _, _, err := net.SplitHostPort(t.Addr); err == nil {
			return t.Addr, nil
		}
		ip, err := netip.ParseAddr(strings.Trim(t.Addr, "[]"))
		if err != nil {
			return "", fmt.Errorf("edge address %q: want an IP address or host:port", t.Addr)
		}
		return net.JoinHostPort(ip.String(), port), nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return net.JoinHostPort(ip.String(), port), nil
	}
	ans := &DNSAnswer{Name: host, Addrs: []string{}}
	res.DNS = ans
	var addrs []netip.Addr
	if p.Resolver == "" {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", host, err)
		}
		addrs = ips
	} else {
		ans.Server = p.Resolver
		r := &resolver.Resolver{Server: p.Resolver, Subnet: t.Region}
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			a, err := r.Lookup(ctx, host, qtype)
			if err != nil {
				return "", err
			}
			if a.PoP != nil {
				ans.PoP, ans.Detail = a.PoP.PoP, a.PoP.Detail
			}
			if a.Rcode != dns.RcodeSuccess {
				return "", &resolver.Error{Name: host, Server: p.Resolver, Rcode: a.Rcode}
			}
			if len(a.Addrs) > 0 {
				addrs = a.Addrs
				break
			}
		}
		if len(addrs) == 0 {
			return "", &resolver.Error{Name: host, Server: p.Resolver}
		}
	}
	for _, a := range addrs {
		ans.Addrs = append(ans.Addrs, a.Unmap().String())
	}
	ip := addrs[0].Unmap()
	if p.Locate != nil {
		if pop, addr, ok := p.Locate(ip); ok {
			res.PoP = pop
			if t.Name != "" && pop != t.Name && ans.PoP != "" {
				res.Note = fmt.Sprintf("DNS sent %s's clients to %s: %s", t.Name, pop, ans.Detail)
			}
			return addr, nil
		}
	}
	if ans.PoP != "" {
		res.PoP = ans.PoP
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// describeFailure turns a transport error into one line naming the
// address.
func describeFailure(err error, addr string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s: timed out", addr)
	case isRefused(err):
		return fmt.Sprintf("%s: connection refused (nothing listens there)", addr)
	}
	return fmt.Sprintf("%s: %v", addr, err)
}

func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && strings.Contains(op.Err.Error(), "refused")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Package resolver looks names up at one DNS server — normally cdnctl's
// GeoDNS — the way a client in a chosen region would: from a chosen source
// address, or with an EDNS Client Subnet option for a chosen network. Its
// DialContext plugs into an http.Transport, so prewarm, probe and deploy
// requests connect to the PoP that DNS picked for that region.
package resolver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/cdnctl/cdnctl/localedge/geodns"
)

// DefaultTimeout bounds one exchange with the server.
const DefaultTimeout = 2 * time.Second

// Resolver asks Server. The zero value is not usable: Server is required.
// A Resolver is safe for concurrent use; it caches answers for their TTL.
type Resolver struct {
	// Server is the DNS server's address (host:port).
	Server string
	// Subnet, when valid, is sent as the EDNS Client Subnet option
	// (RFC 7871): the server answers as for a client in that network.
	Subnet netip.Prefix
	// LocalAddr, when valid, is the source address of the queries (any
	// address of 127.0.0.0/8 works on loopback): the server routes by it
	// when no Subnet is given.
	LocalAddr netip.Addr
	// Timeout of one exchange (DefaultTimeout when 0).
	Timeout time.Duration
	// Ports, when it has an entry for an address DNS answered, is the
	// port DialContext connects to there instead of the requested one:
	// the local topology's PoPs each listen on a port of their own
	// (127.0.1.1:8081, 127.0.2.1:8082, …), where a real CDN's all use 443.
	Ports map[netip.Addr]string

	mu    sync.Mutex // guards cache
	cache map[cacheKey]cacheEntry
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	answer  *Answer
	expires time.Time
}

// Answer is the server's response to one question.
type Answer struct {
	// Name and Type are the question.
	Name string
	Type uint16
	// Rcode is the response code (dns.RcodeSuccess, dns.RcodeNameError…).
	Rcode int
	// Records is the answer section: the CNAME chain, then the addresses.
	Records []dns.RR
	// Addrs are the addresses of the A/AAAA records.
	Addrs []netip.Addr
	// Scope is the ECS scope prefix length of the answer (-1 when the
	// server sent no ECS option).
	Scope int
	// PoP is what cdnctl's GeoDNS says about its choice (nil for other
	// servers, or answers that did not involve one).
	PoP *geodns.Debug
	// TCP is true when the answer came over TCP (after a truncated UDP
	// response).
	TCP bool
	// RTT is the time the exchange took.
	RTT time.Duration
}

// TTL returns the lowest TTL of the answer's records (0 with none).
func (a *Answer) TTL() time.Duration {
	if len(a.Records) == 0 {
		return 0
	}
	ttl := a.Records[0].Header().Ttl
	for _, rr := range a.Records[1:] {
		ttl = min(ttl, rr.Header().Ttl)
	}
	return time.Duration(ttl) * time.Second
}

// Error is a lookup that the server answered with an error code, or with
// no address.
type Error struct {
	Name   string
	Server string
	Rcode  int
}

func (e *Error) Error() string {
	if e.Rcode == dns.RcodeSuccess {
		return fmt.Sprintf("resolve %s at %s: no address", e.Name, e.Server)
	}
	return fmt.Sprintf("resolve %s at %s: %s", e.Name, e.Server, dns.RcodeToString[e.Rcode])
}

// Lookup asks the server one question, over UDP and, if the answer is
// truncated, again over TCP. A response with an error code is an Answer,
// not an error; errors are for transport failures and bad responses.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	if r.Server == "" {
		return nil, errors.New("resolver: no server")
	}
	name = dns.Fqdn(name)
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("resolver: %q is not a domain name", name)
	}
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true
	q.SetEdns0(dns.DefaultMsgSize, false)
	opt := q.IsEdns0()
	if r.Subnet.IsValid() {
		p := r.Subnet.Masked()
		family := uint16(1)
		if p.Addr().Is6() {
			family = 2
		}
		opt.Option = append(opt.Option, &dns.EDNS0_SUBNET{
			Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice(),
		})
	}
	opt.Option = append(opt.Option, &dns.EDNS0_LOCAL{Code: geodns.DebugOption})

	resp, rtt, err := r.exchange(ctx, q, "udp")
	tcp := false
	if err == nil && resp.Truncated {
		resp, rtt, err = r.exchange(ctx, q, "tcp")
		tcp = true
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s at %s: %w", strings.TrimSuffix(name, "."), r.Server, err)
	}
	if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, name) || resp.Question[0].Qtype != qtype {
		return nil, fmt.Errorf("resolve %s at %s: response to another question %v", name, r.Server, resp.Question)
	}
	a := &Answer{Name: name, Type: qtype, Rcode: resp.Rcode, Records: resp.Answer, Scope: -1, TCP: tcp, RTT: rtt}
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(rr.A); ok {
				a.Addrs = append(a.Addrs, ip.Unmap())
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(rr.AAAA); ok {
				a.Addrs = append(a.Addrs, ip)
			}
		}
	}
	if ro := resp.IsEdns0(); ro != nil {
		for _, o := range ro.Option {
			switch o := o.(type) {
			case *dns.EDNS0_SUBNET:
				a.Scope = int(o.SourceScope)
			case *dns.EDNS0_LOCAL:
				if o.Code == geodns.DebugOption {
					var d geodns.Debug
					if json.Unmarshal(o.Data, &d) == nil && d.PoP != "" {
						a.PoP = &d
					}
				}
			}
		}
	}
	return a, nil
}

func (r *Resolver) exchange(ctx context.Context, q *dns.Msg, network string) (*dns.Msg, time.Duration, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &net.Dialer{Timeout: timeout}
	if r.LocalAddr.IsValid() {
		if network == "tcp" {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(r.LocalAddr, 0))
		} else {
			d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.LocalAddr, 0))
		}
	}
	c := &dns.Client{Net: network, Dialer: d, Timeout: timeout, UDPSize: dns.DefaultMsgSize}
	return c.ExchangeContext(ctx, q, r.Server)
}

// LookupAddrs returns host's addresses: IPv4 first, then IPv6 when there
// is no IPv4 address. Answers are cached for their TTL.
func (r *Resolver) LookupAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	var lastErr error
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := r.cachedLookup(ctx, host, qtype)
		if err != nil {
			return nil, err
		}
		if len(a.Addrs) > 0 {
			return a.Addrs, nil
		}
		lastErr = &Error{Name: strings.TrimSuffix(dns.Fqdn(host), "."), Server: r.Server, Rcode: a.Rcode}
		if a.Rcode != dns.RcodeSuccess {
			break // NXDOMAIN, SERVFAIL, REFUSED: no point asking for AAAA
		}
	}
	return nil, lastErr
}

func (r *Resolver) cachedLookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	k := cacheKey{strings.ToLower(dns.Fqdn(name)), qtype}
	now := time.Now()
	r.mu.Lock()
	if e, ok := r.cache[k]; ok && now.Before(e.expires) {
		r.mu.Unlock()
		return e.answer, nil
	}
	r.mu.Unlock()
	a, err := r.Lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	if ttl := a.TTL(); a.Rcode == dns.RcodeSuccess && len(a.Addrs) > 0 && ttl > 0 {
		r.mu.Lock()
		if r.cache == nil {
			r.cache = make(map[cacheKey]cacheEntry)
		}
		r.cache[k] = cacheEntry{answer: a, expires: now.Add(ttl)}
		r.mu.Unlock()
	}
	return a, nil
}

// DialContext resolves the host of address (host:port) with LookupAddrs
// and connects to its addresses in turn: the DialContext of an
// http.Transport whose requests must reach the PoP DNS chose. IP literals
// are dialled directly.
func (r *Resolver) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("resolver: dial %q: %w", address, err)
	}
	addrs, err := r.LookupAddrs(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var errs []error
	for _, a := range addrs {
		p := port
		if mapped, ok := r.Ports[a]; ok {
			p = mapped
		}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), p))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("resolver: dial %s: %w", address, errors.Join(errs...))
}

// Transport returns an http.Transport like http.DefaultTransport, but
// without proxies and connecting through r.DialContext. The request's Host
// (and TLS server name) stay the URL's host, as for a real client.
func (r *Resolver) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = r.DialContext
	return t
}

// NetResolver returns a net.Resolver that sends every query to Server
// (from LocalAddr when set), for code that wants the standard library's
// API. It cannot send the ECS option: use Lookup or DialContext for that.
func (r *Resolver) NetResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: r.Timeout}
			if d.Timeout <= 0 {
				d.Timeout = DefaultTimeout
			}
			if r.LocalAddr.IsValid() {
				if strings.HasPrefix(network, "tcp") {
					d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(r.LocalAddr, 0))
				} else {
					d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.LocalAddr, 0))
				}
			}
			return d.DialContext(ctx, network, r.Server)
		},
	}
}

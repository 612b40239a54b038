package geodns

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// TestECSScope checks the scope of routing decisions (RFC 7871 §7.2.1)
// against the routing itself: every address of the scope's network must
// get the answer given, and (where the choice is not hashed) the network
// one bit shorter must hold an address that gets another.
func TestECSScope(t *testing.T) {
	pfx := netip.MustParsePrefix
	regions := func(pops []PoP, byPoP ...[]string) []PoP {
		for i, rs := range byPoP {
			pops[i].Regions = nil
			for _, r := range rs {
				pops[i].Regions = append(pops[i].Regions, pfx(r))
			}
		}
		return pops
	}
	located := func(pops []PoP) []PoP {
		for i := range pops {
			pops[i].Location = &Location{Lat: float64(10 * i), Lon: float64(10 * i)}
		}
		return pops
	}
	tests := []struct {
		name      string
		pops      []PoP
		locations []Location
		down      []int // PoPs marked down
		ecs       string
		wantPoP   string
		wantScope int
		// exact: the scope is the shortest that holds. Otherwise it may be
		// longer: it follows the configured networks, not health or the
		// coincidence of two networks sharing a PoP, and a hashed choice
		// holds for a /24.
		exact bool
	}{
		// The issue: 127.0.0.0/8 with 127.2.0.0/16 going to another PoP.
		{"region with a more specific one of another PoP", regions(DefaultPoPs(3), []string{"127.0.0.0/8"}, []string{"127.2.0.0/16"}, nil),
			nil, nil, "127.0.0.0/8", "pop1", 15, true},
		{"the more specific region itself", regions(DefaultPoPs(3), []string{"127.0.0.0/8"}, []string{"127.2.0.0/16"}, nil),
			nil, nil, "127.2.0.0/16", "pop2", 16, true},
		{"source shorter than the region it starts", regions(DefaultPoPs(3), []string{"127.0.0.0/8"}, []string{"127.2.0.0/16"}, nil),
			nil, nil, "127.2.0.0/15", "pop2", 16, true},
		{"region starting at the network's first address", regions(DefaultPoPs(3), []string{"10.0.0.0/8"}, []string{"10.0.0.0/16"}, nil),
			nil, nil, "10.0.0.0/8", "pop2", 16, true},
		{"default topology, default PoP (also 127.1.0.0/16's)", DefaultPoPs(3), nil, nil, "127.0.0.0/8", "pop1", 16, false},
		{"default topology, wide network", DefaultPoPs(3), nil, nil, "96.0.0.0/3", "pop1", 4, true},
		{"exact region", DefaultPoPs(3), nil, nil, "127.3.9.0/24", "pop3", 16, true},
		{"whole IPv4 space", DefaultPoPs(3), nil, nil, "0.0.0.0/1", "pop1", 2, true},
		{"two PoPs share a region: hashed per /24", regions(DefaultPoPs(3), nil, []string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}),
			nil, nil, "10.0.0.0/8", "", 24, false},
		{"failover to the enclosing region", regions(DefaultPoPs(3), []string{"127.0.0.0/8"}, []string{"127.2.0.0/16"}, nil),
			nil, []int{1}, "127.2.0.0/16", "pop1", 16, false},
		{"location network", located(DefaultPoPs(3)), []Location{{Network: pfx("192.0.2.0/24"), Lat: 20, Lon: 20}},
			nil, "192.0.2.0/24", "pop3", 24, true},
		{"beside a location network", located(DefaultPoPs(3)), []Location{{Network: pfx("192.0.2.0/24"), Lat: 20, Lon: 20}},
			nil, "192.0.0.0/16", "pop1", 23, true},
		{"IPv6 beside a nested region", regions(DefaultPoPs(3), nil, []string{"2001:db8::/32"}, []string{"2001:db8:ff00::/40"}),
			nil, nil, "2001:db8::/29", "pop2", 33, true},
		{"IPv6 nested region", regions(DefaultPoPs(3), nil, []string{"2001:db8::/32"}, []string{"2001:db8:ff00::/40"}),
			nil, nil, "2001:db8:ff00::/36", "pop3", 40, true},
		{"IPv4-mapped IPv6 counts IPv6 bits", DefaultPoPs(3), nil, nil, "::ffff:127.2.0.0/104", "pop2", 112, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouter(tt.pops, 0, tt.locations, PolicyWeighted, nil)
			for _, i := range tt.down {
				r.healthy[i].Store(false)
			}
			client := pfx(tt.ecs)
			d := r.route(client, "ecs")
			if d.pop < 0 {
				t.Fatalf("route(%s): no PoP", client)
			}
			got := r.pops[d.pop].Name
			if (tt.wantPoP != "" && got != tt.wantPoP) || d.scope != tt.wantScope {
				t.Fatalf("route(%s) = %s scope /%d; want %s scope /%d (%s)", client, got, d.scope, tt.wantPoP, tt.wantScope, d.String(r.pops))
			}
			addr, scope := client.Addr().Unmap(), d.scope
			if client.Addr().Is4In6() {
				scope -= 96
			}
			if a, ok := otherAnswer(r, tt.pops, tt.locations, netip.PrefixFrom(addr, scope), d.pop); ok {
				t.Errorf("route(%s) = %s with scope /%d, but %s in that network gets %s", client, got, d.scope, a, r.pops[routeAddr(r, a)].Name)
			}
			if tt.exact && scope > 0 {
				if _, ok := otherAnswer(r, tt.pops, tt.locations, netip.PrefixFrom(addr, scope-1), d.pop); !ok {
					t.Errorf("route(%s): scope /%d is longer than needed: all of /%d gets %s", client, d.scope, d.scope-1, got)
				}
			}
		})
	}
}

// otherAnswer looks for an address of n that is not routed to pop: the
// first and last addresses of n and of every region and location network
// inside it, the first address of each overlapping one, and random ones.
func otherAnswer(r *router, pops []PoP, locations []Location, n netip.Prefix, pop int) (netip.Addr, bool) {
	n = n.Masked()
	nets := []netip.Prefix{n}
	for _, p := range pops {
		nets = append(nets, p.Regions...)
	}
	for _, l := range locations {
		nets = append(nets, l.Network)
	}
	var cands []netip.Addr
	for _, p := range nets {
		p = p.Masked()
		if !p.Overlaps(n) {
			continue
		}
		inner := p
		if n.Bits() > p.Bits() {
			inner = n
		}
		cands = append(cands, inner.Addr(), lastAddr(inner))
	}
	rng := rand.New(rand.NewPCG(1, uint64(n.Bits())))
	for range 2000 {
		cands = append(cands, randomIn(rng, n))
	}
	for _, a := range cands {
		if !n.Contains(a) {
			continue
		}
		if routeAddr(r, a) != pop {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func routeAddr(r *router, a netip.Addr) int {
	return r.route(netip.PrefixFrom(a, a.BitLen()), "source").pop
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func randomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if rng.IntN(2) == 1 {
			b[i/8] |= 1 << (7 - i%8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// TestECSScopeOverUDP is the attack of the issue over real UDP: ECS
// 127.0.0.0/8 where 127.2.0.0/16 belongs to another PoP must not be
// answered for the whole /8.
func TestECSScopeOverUDP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PoPs[0].Regions = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	_, addr := startServer(t, cfg)

	for _, tt := range []struct {
		subnet    string
		wantPoP   string
		wantScope uint8
	}{
		{"127.0.0.0/8", "pop1", 15},
		{"127.2.0.0/16", "pop2", 16},
		{"127.2.0.0/15", "pop2", 16},
		{"127.4.0.0/14", "pop1", 14},
	} {
		p := netip.MustParsePrefix(tt.subnet)
		r := exchange(t, addr, "udp", region1, withDebug(withECS(query("www.example.test.", dns.TypeA), p)))
		e := ecsOf(r)
		if r.Rcode != dns.RcodeSuccess || e == nil {
			t.Fatalf("ECS %s: rcode %s, ECS %v", p, dns.RcodeToString[r.Rcode], e)
		}
		if d := debugOf(t, r); d.PoP != tt.wantPoP || e.SourceScope != tt.wantScope || int(e.SourceNetmask) != p.Bits() {
			t.Errorf("ECS %s: %s, echoed %s; want %s with source /%d scope /%d", p, d.PoP, e, tt.wantPoP, p.Bits(), tt.wantScope)
		}
		// The answer's addresses are the chosen PoP's.
		want := cfg.PoPs[map[string]int{"pop1": 0, "pop2": 1, "pop3": 2}[tt.wantPoP]].Addrs[0]
		var got []netip.Addr
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				ip, _ := netip.AddrFromSlice(a.A)
				got = append(got, ip.Unmap())
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("ECS %s: A %v; want %v", p, got, want)
		}
	}
}

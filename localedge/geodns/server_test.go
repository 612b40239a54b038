package geodns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// testConfig is the default topology plus static records of every kind.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Hosts["assets.example.test"] = "example.cdn.test"
	cfg.Records = []string{
		"example.test. 300 IN TXT \"v=spf1 -all\"",
		"api.example.test. 120 IN A 127.0.0.10",
		"api.example.test. 120 IN AAAA ::10",
		"a.deep.example.test. IN A 127.0.0.11", // deep.example.test is an empty non-terminal
		"alias.example.test. 60 IN CNAME elsewhere.example.org.",
		"chain.example.test. 60 IN CNAME api.example.test.",
		"www.example.cdn.test. IN TXT \"served by cdnctl\"",
	}
	return cfg
}

func TestAnswers(t *testing.T) {
	_, addr := startServer(t, testConfig())

	type want struct {
		rcode  int
		aa     bool
		answer []string // RR strings, in order
		ns     []uint16 // authority section types
		extra  []string
	}
	rr := func(s string) string {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r.String()
	}
	tests := []struct {
		name  string
		qname string
		qtype uint16
		from  netip.Addr
		want  want
	}{
		{"customer host CNAME chain to PoP 2", "www.example.test.", dns.TypeA, region2, want{
			rcode: dns.RcodeSuccess, aa: true,
			answer: []string{rr("www.example.test. 30 IN CNAME www.example.cdn.test."), rr("www.example.cdn.test. 30 IN A 127.0.2.1")},
		}},
		{"mixed case", "WwW.ExAmPlE.TeSt.", dns.TypeA, region1, want{
			rcode: dns.RcodeSuccess, aa: true,
			answer: []string{rr("www.example.test. 30 IN CNAME www.example.cdn.test."), rr("www.example.cdn.test. 30 IN A 127.0.1.1")},
		}},
		{"second customer host", "assets.example.test.", dns.TypeA, region3, want{
			rcode: dns.RcodeSuccess, aa: true,
			answer: []string{rr("assets.example.test. 30 IN CNAME example.cdn.test."), rr("example.cdn.test. 30 IN A 127.0.3.1")},
		}},
		{"CDN name directly", "www.example.cdn.test.", dns.TypeA, region3, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr("www.example.cdn.test. 30 IN A 127.0.3.1")},
		}},
		{"CDN name, no IPv6 PoP: NODATA", "www.example.cdn.test.", dns.TypeAAAA, region1, want{
			rcode: dns.RcodeSuccess, aa: true, ns: []uint16{dns.TypeSOA},
		}},
		{"static TXT on a CDN name", "www.example.cdn.test.", dns.TypeTXT, region1, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr(`www.example.cdn.test. 300 IN TXT "served by cdnctl"`)},
		}},
		{"CNAME query returns the CNAME", "www.example.test.", dns.TypeCNAME, region1, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr("www.example.test. 30 IN CNAME www.example.cdn.test.")},
		}},
		{"SOA at apex", "cdn.test.", dns.TypeSOA, noRegion, want{rcode: dns.RcodeSuccess, aa: true}},
		{"NS at apex with glue", "cdn.test.", dns.TypeNS, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr("cdn.test. 300 IN NS ns1.cdn.test.")},
			extra: []string{rr("ns1.cdn.test. 300 IN A 127.0.0.1")},
		}},
		{"NS of the customer zone", "example.test.", dns.TypeNS, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr("example.test. 300 IN NS ns1.cdn.test.")},
			extra: []string{rr("ns1.cdn.test. 300 IN A 127.0.0.1")},
		}},
		{"name server address", "ns1.cdn.test.", dns.TypeA, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr("ns1.cdn.test. 300 IN A 127.0.0.1")},
		}},
		{"static A and AAAA", "api.example.test.", dns.TypeAAAA, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr("api.example.test. 120 IN AAAA ::10")},
		}},
		{"static TXT at apex", "example.test.", dns.TypeTXT, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr(`example.test. 300 IN TXT "v=spf1 -all"`)},
		}},
		{"static CNAME chain inside the zone", "chain.example.test.", dns.TypeA, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true,
			answer: []string{rr("chain.example.test. 60 IN CNAME api.example.test."), rr("api.example.test. 120 IN A 127.0.0.10")},
		}},
		{"CNAME out of our zones is not chased", "alias.example.test.", dns.TypeA, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, answer: []string{rr("alias.example.test. 60 IN CNAME elsewhere.example.org.")},
		}},
		{"unknown name in CDN zone: NXDOMAIN + SOA", "nope.cdn.test.", dns.TypeA, noRegion, want{
			rcode: dns.RcodeNameError, aa: true, ns: []uint16{dns.TypeSOA},
		}},
		{"unknown name in customer zone", "nope.example.test.", dns.TypeAAAA, noRegion, want{
			rcode: dns.RcodeNameError, aa: true, ns: []uint16{dns.TypeSOA},
		}},
		{"below a CDN name", "x.www.example.cdn.test.", dns.TypeA, noRegion, want{
			rcode: dns.RcodeNameError, aa: true, ns: []uint16{dns.TypeSOA},
		}},
		{"empty non-terminal: NODATA", "deep.example.test.", dns.TypeA, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, ns: []uint16{dns.TypeSOA},
		}},
		{"known name, missing type: NODATA", "api.example.test.", dns.TypeMX, noRegion, want{
			rcode: dns.RcodeSuccess, aa: true, ns: []uint16{dns.TypeSOA},
		}},
		{"outside our zones: REFUSED", "example.com.", dns.TypeA, noRegion, want{rcode: dns.RcodeRefused}},
		{"parent of a zone: REFUSED", "test.", dns.TypeNS, noRegion, want{rcode: dns.RcodeRefused}},
		{"root: REFUSED", ".", dns.TypeNS, noRegion, want{rcode: dns.RcodeRefused}},
		{"suffix look-alike: REFUSED", "xcdn.test.", dns.TypeA, noRegion, want{rcode: dns.RcodeRefused}},
	}
	for _, proto := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(proto+"/"+tt.name, func(t *testing.T) {
				r := exchange(t, addr, proto, tt.from, query(tt.qname, tt.qtype))
				if r.Rcode != tt.want.rcode {
					t.Fatalf("rcode = %s; want %s\n%v", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.want.rcode], r)
				}
				if r.Authoritative != tt.want.aa {
					t.Errorf("AA = %v; want %v", r.Authoritative, tt.want.aa)
				}
				if r.RecursionAvailable {
					t.Errorf("RA set: this server does not recurse")
				}
				if !r.RecursionDesired {
					t.Errorf("RD not copied from the query")
				}
				if len(r.Question) != 1 || r.Question[0].Name != tt.qname {
					t.Errorf("question = %v; want %s echoed as sent", r.Question, tt.qname)
				}
				if tt.want.answer != nil || tt.qtype != dns.TypeSOA {
					var got []string
					for _, a := range r.Answer {
						got = append(got, a.String())
					}
					if !slices.Equal(got, tt.want.answer) {
						t.Errorf("answer =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want.answer, "\n"))
					}
				}
				var ns []uint16
				for _, a := range r.Ns {
					ns = append(ns, a.Header().Rrtype)
				}
				if !slices.Equal(ns, tt.want.ns) {
					t.Errorf("authority types = %v; want %v\n%v", ns, tt.want.ns, r)
				}
				if tt.want.extra != nil {
					var got []string
					for _, a := range r.Extra {
						got = append(got, a.String())
					}
					if !slices.Equal(got, tt.want.extra) {
						t.Errorf("additional = %v; want %v", got, tt.want.extra)
					}
				}
				if tt.want.rcode == dns.RcodeNameError || (tt.want.rcode == dns.RcodeSuccess && len(tt.want.ns) > 0) {
					soa := r.Ns[0].(*dns.SOA)
					if soa.Hdr.Ttl != 30 || soa.Minttl != 30 {
						t.Errorf("negative SOA TTL %d minimum %d; want 30 and 30 (RFC 2308)", soa.Hdr.Ttl, soa.Minttl)
					}
				}
			})
		}
	}
	// SOA content.
	r := exchange(t, addr, "udp", noRegion, query("cdn.test.", dns.TypeSOA))
	soa, ok := r.Answer[0].(*dns.SOA)
	if !ok || soa.Ns != "ns1.cdn.test." || soa.Mbox != "hostmaster.cdn.test." || soa.Serial == 0 {
		t.Errorf("SOA = %v; want ns1.cdn.test. hostmaster.cdn.test. and a serial", r.Answer)
	}
}

func TestRefusedAndUnsupported(t *testing.T) {
	_, addr := startServer(t, testConfig())
	tests := []struct {
		name  string
		msg   *dns.Msg
		proto string
		rcode int
	}{
		{"class CH", func() *dns.Msg {
			m := query("version.bind.", dns.TypeTXT)
			m.Question[0].Qclass = dns.ClassCHAOS
			return m
		}(), "udp", dns.RcodeRefused},
		{"class ANY", func() *dns.Msg {
			m := query("www.example.test.", dns.TypeA)
			m.Question[0].Qclass = dns.ClassANY
			return m
		}(), "udp", dns.RcodeRefused},
		{"AXFR", query("cdn.test.", dns.TypeAXFR), "tcp", dns.RcodeRefused},
		{"IXFR", query("cdn.test.", dns.TypeIXFR), "tcp", dns.RcodeRefused},
		{"MAILB", query("cdn.test.", dns.TypeMAILB), "udp", dns.RcodeNotImplemented},
		{"UPDATE", func() *dns.Msg { m := new(dns.Msg); m.SetUpdate("cdn.test."); return m }(), "udp", dns.RcodeNotImplemented},
		{"NOTIFY", func() *dns.Msg { m := query("cdn.test.", dns.TypeSOA); m.Opcode = dns.OpcodeNotify; return m }(), "udp", dns.RcodeNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, addr, tt.proto, noRegion, tt.msg)
			if r.Rcode != tt.rcode {
				t.Errorf("rcode = %s; want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if len(r.Answer)+len(r.Ns) != 0 || r.Authoritative {
				t.Errorf("refusal carries data or AA:\n%v", r)
			}
		})
	}
}

func TestAnyIsMinimal(t *testing.T) {
	_, addr := startServer(t, testConfig())
	for _, tt := range []struct {
		qname     string
		wantTypes []uint16
	}{
		{"www.example.cdn.test.", []uint16{dns.TypeA}},
		{"www.example.test.", []uint16{dns.TypeCNAME}},
		{"api.example.test.", []uint16{dns.TypeA}},
		{"example.test.", []uint16{dns.TypeNS}},
	} {
		q := query(tt.qname, dns.TypeANY)
		r := exchange(t, addr, "udp", region1, q)
		var types []uint16
		for _, a := range r.Answer {
			if !slices.Contains(types, a.Header().Rrtype) {
				types = append(types, a.Header().Rrtype)
			}
		}
		if r.Rcode != dns.RcodeSuccess || !slices.Equal(types, tt.wantTypes) {
			t.Errorf("ANY %s = %s %v; want one RRset of %v (RFC 8482)", tt.qname, dns.RcodeToString[r.Rcode], types, tt.wantTypes)
		}
		packedQ, _ := q.Pack()
		packedR, _ := r.Pack()
		if len(packedR) > 4*len(packedQ) {
			t.Errorf("ANY %s: %d-byte response to a %d-byte query", tt.qname, len(packedR), len(packedQ))
		}
	}
}

func TestSourceAddressRouting(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	tests := []struct {
		from    string
		wantIP  string
		wantPoP string
		reason  string
	}{
		{"127.1.0.1", "127.0.1.1", "pop1", ReasonRegion},
		{"127.1.200.7", "127.0.1.1", "pop1", ReasonRegion},
		{"127.2.0.1", "127.0.2.1", "pop2", ReasonRegion},
		{"127.3.9.9", "127.0.3.1", "pop3", ReasonRegion},
		{"127.0.0.1", "127.0.1.1", "pop1", ReasonDefault},
		{"127.4.0.1", "127.0.1.1", "pop1", ReasonDefault},
	}
	for _, tt := range tests {
		for _, proto := range []string{"udp", "tcp"} {
			from := netip.MustParseAddr(tt.from)
			r := exchange(t, addr, proto, from, withDebug(query("www.example.test.", dns.TypeA)))
			if got := addrsOf(r); !slices.Equal(got, []string{tt.wantIP}) {
				t.Errorf("%s from %s: addresses %v; want [%s]", proto, tt.from, got, tt.wantIP)
			}
			d := debugOf(t, r)
			if d.PoP != tt.wantPoP || d.Reason != tt.reason || d.Via != "source" || d.Client != tt.from+"/32" {
				t.Errorf("%s from %s: debug %+v; want pop %s, reason %s, via source", proto, tt.from, d, tt.wantPoP, tt.reason)
			}
		}
	}
	// Without the debug option, no debug data.
	r := exchange(t, addr, "udp", region2, query("www.example.test.", dns.TypeA))
	if r.IsEdns0() != nil {
		t.Errorf("EDNS in the response to a query without it:\n%v", r)
	}
}

func TestECS(t *testing.T) {
	cfg := DefaultConfig()
	// A more specific region inside another, to check the scope.
	cfg.PoPs[0].Regions = append(cfg.PoPs[0].Regions, netip.MustParsePrefix("10.0.0.0/8"))
	cfg.PoPs[1].Regions = append(cfg.PoPs[1].Regions, netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("2001:db8::/32"))
	_, addr := startServer(t, cfg)

	tests := []struct {
		name      string
		subnet    string
		from      netip.Addr
		wantPoP   string
		wantVia   string
		wantScope uint8
	}{
		{"ECS overrides the source", "127.3.0.0/24", region1, "pop3", "ecs", 16},
		{"ECS of the source's own region", "127.2.5.0/24", region2, "pop2", "ecs", 16},
		// 127.0.0.0/12 holds the regions of pop2 and pop3: the default
		// answer holds for 127.0.0.0/16 only (RFC 7871 §7.2.1).
		{"less specific than the region", "127.0.0.0/12", region1, "pop1", "ecs", 16},
		{"inside a nested region", "10.1.2.0/24", region3, "pop2", "ecs", 16},
		{"beside a nested region", "10.2.3.0/24", region3, "pop1", "ecs", 15},
		{"far from the nested region", "10.200.0.0/24", region3, "pop1", "ecs", 9},
		{"no region: default", "192.0.2.0/24", region3, "pop1", "ecs", 1},
		{"IPv6 region", "2001:db8:1::/48", region1, "pop2", "ecs", 32},
		{"source prefix 0: route the source, scope 0", "0.0.0.0/0", region3, "pop3", "source", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.subnet)
			for _, proto := range []string{"udp", "tcp"} {
				r := exchange(t, addr, proto, tt.from, withDebug(withECS(query("www.example.test.", dns.TypeA), p)))
				if r.Rcode != dns.RcodeSuccess {
					t.Fatalf("rcode %s", dns.RcodeToString[r.Rcode])
				}
				d := debugOf(t, r)
				if d.PoP != tt.wantPoP || d.Via != tt.wantVia {
					t.Errorf("%s: pop %s via %s; want %s via %s (%s)", proto, d.PoP, d.Via, tt.wantPoP, tt.wantVia, d.Detail)
				}
				e := ecsOf(r)
				if e == nil {
					t.Fatalf("%s: no ECS option echoed:\n%v", proto, r)
				}
				if int(e.SourceNetmask) != p.Bits() || e.SourceScope != tt.wantScope {
					t.Errorf("%s: ECS echoed %s; want source /%d scope /%d", proto, e, p.Bits(), tt.wantScope)
				}
				if got, _ := netip.AddrFromSlice(e.Address); got.Unmap() != p.Addr() {
					t.Errorf("%s: ECS address %v; want %v", proto, e.Address, p.Addr())
				}
			}
		})
	}

	// An answer that does not depend on the subnet has scope 0.
	r := exchange(t, addr, "udp", region1, withECS(query("nope.cdn.test.", dns.TypeA), netip.MustParsePrefix("127.3.0.0/24")))
	if e := ecsOf(r); e == nil || e.SourceScope != 0 || r.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN with ECS: %v %v; want scope 0", dns.RcodeToString[r.Rcode], e)
	}
}

func TestEDNS(t *testing.T) {
	_, addr := startServer(t, testConfig())

	q := query("www.example.test.", dns.TypeA)
	q.SetEdns0(4096, true)
	r := exchange(t, addr, "udp", region1, q)
	opt := r.IsEdns0()
	if opt == nil || opt.UDPSize() != DefaultMaxUDPSize || !opt.Do() || opt.Version() != 0 {
		t.Errorf("OPT = %v; want version 0, size %d, DO echoed", opt, DefaultMaxUDPSize)
	}

	q = query("www.example.test.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	r = exchange(t, addr, "udp", region1, q)
	if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || r.IsEdns0().Version() != 0 || len(r.Answer) != 0 {
		t.Errorf("EDNS version 1: rcode %s OPT %v; want BADVERS with an OPT of version 0", dns.RcodeToString[r.Rcode], r.IsEdns0())
	}

	// Two OPT records: FORMERR.
	q = query("www.example.test.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.SetEdns0(1232, false)
	r = exchange(t, addr, "udp", region1, q)
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("two OPT records: rcode %s; want FORMERR", dns.RcodeToString[r.Rcode])
	}

	// Unknown options are ignored.
	q = query("www.example.test.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: 65000, Data: []byte("x")}, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
	r = exchange(t, addr, "udp", region1, q)
	if r.Rcode != dns.RcodeSuccess || len(addrsOf(r)) != 1 {
		t.Errorf("unknown options: %s %v; want an answer", dns.RcodeToString[r.Rcode], r.Answer)
	}
}

func TestInvalidECS(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	// The library masks what it packs and refuses bad prefix lengths:
	// build the option bytes.
	for _, opt := range []struct {
		name string
		data []byte
	}{
		{"address bits beyond the prefix", []byte{0, 1, 16, 0, 127, 2, 9}},
		{"scope set in a query", []byte{0, 1, 24, 24, 127, 2, 0}},
		{"IPv4 /33", []byte{0, 1, 33, 0, 127, 2, 0, 0, 0}},
		{"IPv6 /129", append([]byte{0, 2, 129, 0}, make([]byte, 17)...)},
		{"unknown family", []byte{0, 9, 8, 0, 10}},
		{"family 0 with a prefix", []byte{0, 0, 8, 0, 10}},
		{"truncated option", []byte{0, 1}},
		{"two ECS options", nil},
	} {
		q := query("www.example.test.", dns.TypeA)
		q.SetEdns0(1232, false)
		if opt.data == nil {
			e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: []byte{127, 2, 0, 0}}
			q.IsEdns0().Option = []dns.EDNS0{e, e}
		} else {
			q.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: opt.data}}
		}
		raw, err := q.Pack()
		if err != nil {
			t.Fatalf("%s: pack: %v", opt.name, err)
		}
		resp := sendRaw(t, addr, raw)
		if resp == nil {
			t.Errorf("%s: no response; want FORMERR", opt.name)
			continue
		}
		if resp.Rcode != dns.RcodeFormatError || len(resp.Answer) != 0 {
			t.Errorf("%s: rcode %s; want FORMERR", opt.name, dns.RcodeToString[resp.Rcode])
		}
	}
}

func TestNestedZones(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Zone = "cdn.shop.test."
	cfg.Zones = []string{"shop.test."}
	cfg.Hosts = map[string]string{"www.shop.test": "www.cdn.shop.test"}
	_, addr := startServer(t, cfg)

	r := exchange(t, addr, "udp", region2, query("www.shop.test.", dns.TypeA))
	if got := addrsOf(r); len(r.Answer) != 2 || !slices.Equal(got, []string{"127.0.2.1"}) {
		t.Errorf("www.shop.test = %v; want CNAME then 127.0.2.1", r.Answer)
	}
	for _, tt := range []struct{ qname, soaOwner string }{
		{"nope.cdn.shop.test.", "cdn.shop.test."},
		{"nope.shop.test.", "shop.test."},
	} {
		r := exchange(t, addr, "udp", noRegion, query(tt.qname, dns.TypeA))
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Name != tt.soaOwner {
			t.Errorf("%s: %s %v; want NXDOMAIN with the SOA of %s", tt.qname, dns.RcodeToString[r.Rcode], r.Ns, tt.soaOwner)
		}
	}
	r = exchange(t, addr, "udp", noRegion, query("cdn.shop.test.", dns.TypeSOA))
	if len(r.Answer) != 1 || r.Answer[0].Header().Name != "cdn.shop.test." {
		t.Errorf("SOA of the inner zone: %v", r.Answer)
	}
}

func TestEscapedDotIsNotALabelBoundary(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	// One label "x.cdn" under "test.": not in cdn.test.
	r := exchange(t, addr, "udp", noRegion, query(`x\.cdn.test.`, dns.TypeA))
	if r.Rcode != dns.RcodeRefused {
		t.Errorf(`x\.cdn.test.: %s; want REFUSED (outside our zones)`, dns.RcodeToString[r.Rcode])
	}
	r = exchange(t, addr, "udp", noRegion, query(`a\.b.cdn.test.`, dns.TypeA))
	if r.Rcode != dns.RcodeNameError || !r.Authoritative {
		t.Errorf(`a\.b.cdn.test.: %s; want NXDOMAIN in cdn.test.`, dns.RcodeToString[r.Rcode])
	}
}

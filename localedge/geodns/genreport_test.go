package geodns

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestGenreport runs the EDNS, FULL and COMMON test sets of ISC's DNS
// compliance tester (genreport, behind ednscomp.isc.org) against the
// apex of each zone, over real UDP (and TCP where the test says so or
// the answer is truncated), and judges each response by genreport's
// rules. Every test must come out "ok", as it would for a compliant
// server in genreport's report. The equivalent dig command is given for
// each.
func TestGenreport(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	const (
		nsid   = "\x00\x03\x00\x00"
		ecs    = "\x00\x08\x00\x04\x00\x01\x00\x00"
		expire = "\x00\x09\x00\x00"
		cookie = "\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"
		opt100 = "\x00\x64\x00\x00"
	)
	type grTest struct {
		name    string
		udpsize uint16 // 0: no EDNS
		eflags  uint16 // EDNS flags
		version uint8
		tcp     bool
		cookie  bool // the OPT has a client cookie
		ignore  bool // ignore TC (do not retry over TCP)
		bits    uint16
		opcode  int
		qtype   uint16
		rdata   string // EDNS options, wire form
		dig     string
	}
	const (
		tc = bitTC
		rd = bitRD
		ra = bitRA
		cd = bitCD
		ad = bitAD
		aa = bitAA
		z  = bitZ
	)
	tests := []grTest{
		{name: "dns", qtype: dns.TypeSOA, dig: "+noedns +noad +norec SOA"},
		{name: "aa", bits: aa, qtype: dns.TypeSOA, dig: "+noedns +noad +norec +aaflag SOA"},
		{name: "ad", bits: ad, qtype: dns.TypeSOA, dig: "+noedns +ad +norec SOA"},
		{name: "cd", bits: cd, qtype: dns.TypeSOA, dig: "+noedns +noad +norec +cd SOA"},
		{name: "ra", bits: ra, qtype: dns.TypeSOA, dig: "+noedns +noad +norec +raflag SOA"},
		{name: "rd", bits: rd, qtype: dns.TypeSOA, dig: "+noedns +noad +rec SOA"},
		{name: "tc", bits: tc, qtype: dns.TypeSOA, dig: "+noedns +noad +norec +tcflag SOA"},
		{name: "zflag", bits: z, qtype: dns.TypeSOA, dig: "+noedns +noad +norec +zflag SOA"},
		{name: "opcode", opcode: 15, dig: "+noedns +noad +norec +header-only +opcode=15"},
		{name: "opcodeflg", opcode: 15, bits: tc | rd | ra | cd | ad | aa | z, dig: "+noedns +header-only +opcode=15 +tcflag +rec +raflag +cd +ad +aaflag +zflag"},
		{name: "type666", qtype: 666, dig: "+noedns +noad +norec TYPE666"},
		{name: "tcp", tcp: true, qtype: dns.TypeSOA, dig: "+noedns +noad +norec +tcp SOA"},
		{name: "edns", udpsize: 4096, qtype: dns.TypeSOA, dig: "+edns=0 +nocookie +noad +norec SOA"},
		{name: "edns1", udpsize: 4096, version: 1, qtype: dns.TypeSOA, dig: "+edns=1 +noednsneg +nocookie +noad +norec SOA"},
		{name: "edns@512", udpsize: 512, eflags: 0x8000, ignore: true, qtype: dns.TypeDNSKEY, dig: "+edns=0 +nocookie +noad +norec +dnssec +ignoretc +bufsize=512 DNSKEY"},
		{name: "ednsopt", udpsize: 4096, qtype: dns.TypeSOA, rdata: opt100, dig: "+edns=0 +nocookie +noad +norec +ednsopt=100 SOA"},
		{name: "edns1opt", udpsize: 4096, version: 1, qtype: dns.TypeSOA, rdata: opt100, dig: "+edns=1 +noednsneg +nocookie +noad +norec +ednsopt=100 SOA"},
		{name: "do", udpsize: 4096, eflags: 0x8000, qtype: dns.TypeSOA, dig: "+edns=0 +nocookie +noad +norec +dnssec SOA"},
		{name: "docd", udpsize: 4096, eflags: 0x8000, bits: cd, qtype: dns.TypeSOA, dig: "+edns=0 +nocookie +noad +norec +dnssec +cd SOA"},
		{name: "edns1do", udpsize: 4096, eflags: 0x8000, version: 1, qtype: dns.TypeSOA, dig: "+edns=1 +noednsneg +nocookie +noad +norec +dnssec SOA"},
		{name: "ednsflags", udpsize: 4096, eflags: 0x0080, qtype: dns.TypeSOA, dig: "+edns=0 +nocookie +noad +norec +ednsflags=0x0080 SOA"},
		{name: "optlist", udpsize: 4096, cookie: true, qtype: dns.TypeSOA, rdata: nsid + ecs + expire + cookie, dig: "+edns=0 +noad +norec +nsid +subnet=0.0.0.0/0 +expire +cookie=0102030405060708 SOA"},
		{name: "ednsnsid", udpsize: 4096, qtype: dns.TypeSOA, rdata: nsid, dig: "+edns=0 +nocookie +noad +norec +nsid SOA"},
		{name: "ednscookie", udpsize: 4096, cookie: true, qtype: dns.TypeSOA, rdata: cookie, dig: "+edns=0 +noad +norec +cookie=0102030405060708 SOA"},
		{name: "ednsexpire", udpsize: 4096, qtype: dns.TypeSOA, rdata: expire, dig: "+edns=0 +nocookie +noad +norec +expire SOA"},
		{name: "ednssubnet", udpsize: 4096, qtype: dns.TypeSOA, rdata: ecs, dig: "+edns=0 +nocookie +noad +norec +subnet=0.0.0.0/0 SOA"},
		{name: "edns1nsid", udpsize: 4096, version: 1, qtype: dns.TypeSOA, rdata: nsid, dig: "+edns=1 +noednsneg +nocookie +noad +norec +nsid SOA"},
		{name: "edns1cookie", udpsize: 4096, version: 1, cookie: true, qtype: dns.TypeSOA, rdata: cookie, dig: "+edns=1 +noednsneg +noad +norec +cookie=0102030405060708 SOA"},
		{name: "edns1expire", udpsize: 4096, version: 1, qtype: dns.TypeSOA, rdata: expire, dig: "+edns=1 +noednsneg +nocookie +noad +norec +expire SOA"},
		{name: "edns1subnet", udpsize: 4096, version: 1, qtype: dns.TypeSOA, rdata: ecs, dig: "+edns=1 +noednsneg +nocookie +noad +norec +subnet=0.0.0.0/0 SOA"},
		{name: "ednstcp", udpsize: 512, eflags: 0x8000, tcp: true, qtype: dns.TypeDNSKEY, dig: "+edns=0 +nocookie +noad +norec +dnssec +bufsize=512 +tcp DNSKEY"},
		{name: "bind11", udpsize: 4096, eflags: 0x8000, cookie: true, qtype: dns.TypeSOA, rdata: cookie, dig: "+edns=0 +cookie=0102030405060708 +noad +norec +dnssec SOA"},
		{name: "dig11", udpsize: 4096, cookie: true, bits: rd | ad, qtype: dns.TypeSOA, rdata: cookie, dig: "+edns=0 +cookie=0102030405060708 +ad +rec SOA"},
	}

	// build makes the query as genreport does: res_mkquery, flags and
	// opcode patched in, an OPT appended by hand.
	build := func(tt grTest, zone string, id uint16) []byte {
		q := new(dns.Msg)
		q.Id = id
		if tt.opcode == 0 {
			q.Question = []dns.Question{{Name: zone, Qtype: tt.qtype, Qclass: dns.ClassINET}}
		}
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		binary.BigEndian.PutUint16(b[2:], uint16(tt.opcode)<<11|tt.bits)
		if tt.udpsize > 0 {
			b = append(b, 0)
			b = binary.BigEndian.AppendUint16(b, dns.TypeOPT)
			b = binary.BigEndian.AppendUint16(b, tt.udpsize)
			b = binary.BigEndian.AppendUint32(b, uint32(tt.version)<<16|uint32(tt.eflags))
			b = binary.BigEndian.AppendUint16(b, uint16(len(tt.rdata)))
			b = append(b, tt.rdata...)
			binary.BigEndian.PutUint16(b[10:], 1)
		}
		return b
	}

	// judge applies genreport's checks (its process()) to a response and
	// returns the tags it would print; nil means "ok".
	judge := func(tt grTest, zone string, id uint16, b []byte, udp bool) []string {
		var tags []string
		add := func(tag string) { tags = append(tags, tag) }
		r := new(dns.Msg)
		if err := r.Unpack(b); err != nil || len(b) < 12 {
			return []string{"malformed"}
		}
		flags := binary.BigEndian.Uint16(b[2:])
		if r.Id != id || flags&bitQR == 0 {
			return []string{"mismatch"}
		}
		if tt.opcode != 0 {
			for _, n := range []struct {
				count int
				tag   string
			}{{len(r.Question), "non-empty-question-section"}, {len(r.Answer), "non-empty-answer-section"}, {len(r.Ns), "non-empty-authority-section"}, {len(r.Extra), "non-empty-additional-section"}} {
				if n.count != 0 {
					add(n.tag)
				}
			}
		} else if len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, zone) || r.Question[0].Qtype != tt.qtype {
			return []string{"mismatch"}
		}
		var (
			seenOpt, seenSOA, seenEcho, badCookie bool
			ednsTTL                               uint32
		)
		for _, rr := range r.Answer {
			if rr.Header().Rrtype == dns.TypeSOA && strings.EqualFold(rr.Header().Name, zone) {
				seenSOA = true
			}
		}
		if opt := r.IsEdns0(); opt != nil {
			seenOpt = true
			ednsTTL = opt.Hdr.Ttl
			for _, o := range opt.Option {
				switch o := o.(type) {
				case *dns.EDNS0_LOCAL:
					if o.Code == 100 {
						seenEcho = true
					}
				case *dns.EDNS0_COOKIE:
					if l := len(o.Cookie) / 2; l >= 16 && l <= 40 && !strings.HasPrefix(o.Cookie, "0102030405060708") && tt.cookie {
						badCookie = true
					}
				}
			}
		}
		rcode := r.Rcode
		if r.Opcode != tt.opcode {
			add("opcode")
		}
		if tt.version == 0 {
			if tt.opcode == 0 && rcode != dns.RcodeSuccess && !(tt.cookie && rcode == dns.RcodeBadCookie) {
				add(dns.RcodeToString[rcode])
			}
			if tt.opcode != 0 && rcode != dns.RcodeNotImplemented {
				add(dns.RcodeToString[rcode])
			}
		} else if rcode != dns.RcodeBadVers {
			add(dns.RcodeToString[rcode])
		}
		ednsVers := uint8(ednsTTL >> 16)
		if seenOpt && ednsVers != 0 {
			add("version-not-zero")
		}
		if seenOpt && ((ednsVers < tt.version && rcode != dns.RcodeBadVers) || (ednsVers >= tt.version && rcode == dns.RcodeBadVers)) {
			add("badversion")
		}
		if !seenOpt && tt.udpsize > 0 {
			add("noopt")
		}
		if seenOpt && tt.udpsize == 0 {
			add("opt")
		}
		if tt.qtype == dns.TypeSOA && tt.version == 0 && !tt.ignore && !seenSOA && rcode == dns.RcodeSuccess {
			add("nosoa")
		}
		if tt.qtype == dns.TypeSOA && seenSOA && (tt.version != 0 || rcode != dns.RcodeSuccess) {
			add("soa")
		}
		if seenEcho {
			add("echoed")
		}
		if badCookie {
			add("cookie-mismatch")
		}
		if flags&bitAA == 0 && tt.version == 0 && rcode == dns.RcodeSuccess && tt.opcode == 0 {
			add("noaa")
		}
		if flags&bitAA != 0 && tt.opcode != 0 {
			add("aa")
		}
		if flags&bitRA != 0 && tt.opcode != 0 {
			add("ra")
		}
		if flags&bitRD != 0 && (tt.opcode != 0 || tt.bits&bitRD == 0) {
			add("rd")
		}
		if flags&bitRD == 0 && tt.bits&bitRD != 0 && tt.opcode == 0 {
			add("nord")
		}
		if flags&bitAD != 0 && (tt.opcode != 0 || (tt.bits&bitAD == 0 && tt.eflags&0x8000 == 0)) {
			add("ad")
		}
		if flags&bitCD != 0 && (tt.opcode != 0 || tt.bits&bitCD == 0) {
			add("cd")
		}
		if flags&bitZ != 0 {
			add("z")
		}
		if ednsTTL&0x7fff != 0 {
			add("mbz")
		}
		if limit := max(int(tt.udpsize), 512); udp && tt.ignore && len(b) > limit {
			add("toobig")
		}
		return tags
	}

	// genreport sends over UDP unless a test says TCP; every test is
	// also sent over TCP, which must answer alike (RFC 7766).
	for _, run := range []struct{ zone, transport string }{{"cdn.test.", "udp"}, {"example.test.", "udp"}, {"cdn.test.", "tcp"}} {
		zone := run.zone
		var report []string
		for i, tt := range tests {
			id := uint16(1000 + i)
			pkt := build(tt, zone, id)
			proto := run.transport
			if tt.tcp {
				proto = "tcp"
			}
			b := sendRawProto(t, addr, proto, pkt)
			if b != nil && proto == "udp" && !tt.ignore && binary.BigEndian.Uint16(b[2:])&bitTC != 0 {
				b = sendRawProto(t, addr, "tcp", pkt) // genreport retries over TCP
			}
			var tags []string
			if b == nil {
				tags = []string{"timeout"}
			} else {
				tags = judge(tt, zone, id, b, proto == "udp")
			}
			result := "ok"
			if len(tags) > 0 {
				result = strings.Join(tags, ",")
				t.Errorf("%s over %s: %s=%s (dig @server %s %s)", zone, run.transport, tt.name, result, tt.dig, zone)
			}
			report = append(report, fmt.Sprintf("%s=%s", tt.name, result))
		}
		if slices.ContainsFunc(report, func(s string) bool { return !strings.HasSuffix(s, "=ok") }) {
			t.Logf("genreport-style report for %s over %s: %s", zone, run.transport, strings.Join(report, " "))
		}
	}
}

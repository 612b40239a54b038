package geodns

// Protocol conformance checks of the kind ISC's EDNS compliance tester
// (genreport, ednscomp.isc.org) and dig make against an authoritative
// server, over real UDP and TCP. Each names the RFC section it checks.

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Header flag bits of the second 16-bit word of a DNS header.
const (
	bitQR = 1 << 15
	bitAA = 1 << 10
	bitTC = 1 << 9
	bitRD = 1 << 8
	bitRA = 1 << 7
	bitZ  = 1 << 6
	bitAD = 1 << 5
	bitCD = 1 << 4
)

// sendRawTCP sends b as one length-prefixed message on a new TCP
// connection and returns the raw response, or nil when the server closes
// the connection or says nothing within a short wait.
func sendRawTCP(t testing.TB, addr string, b []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame := binary.BigEndian.AppendUint16(nil, uint16(len(b)))
	if _, err := conn.Write(append(frame, b...)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil
	}
	resp := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, resp); err != nil {
		t.Fatalf("TCP response cut short: %v", err)
	}
	return resp
}

// sendRawUDP is sendRaw returning the response's bytes.
func sendRawUDP(t testing.TB, addr string, b []byte) []byte {
	t.Helper()
	return udpRoundTrip(t, addr, b, time.Second)
}

// sendRawProto sends b over proto and returns the raw response (nil for
// none).
func sendRawProto(t testing.TB, addr, proto string, b []byte) []byte {
	t.Helper()
	if proto == "tcp" {
		return sendRawTCP(t, addr, b)
	}
	return sendRawUDP(t, addr, b)
}

func mustUnpack(t testing.TB, b []byte) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatalf("unparsable response %x: %v", b, err)
	}
	return m
}

func flagNames(bits uint16) string {
	s := ""
	for _, f := range []struct {
		bit  uint16
		name string
	}{{bitQR, "qr"}, {bitAA, "aa"}, {bitTC, "tc"}, {bitRD, "rd"}, {bitRA, "ra"}, {bitZ, "z"}, {bitAD, "ad"}, {bitCD, "cd"}} {
		if bits&f.bit != 0 {
			s += " " + f.name
		}
	}
	return "[" + s + " ]"
}

// TestOtherOpcodes: opcodes other than QUERY get NOTIMP with the opcode
// and ID echoed and nothing else (RFC 1035 §4.1.1; RFC 1996 §3, RFC 2136
// §3, RFC 8490 §5.1 for servers without NOTIFY, UPDATE and DSO). The
// header flags are defined for QUERY only: a NOTIMP carries none of the
// query's (genreport's "opcode" and "opcodeflg" tests: no AA, TC, RD,
// RA, Z, AD or CD), on either transport.
func TestOtherOpcodes(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	allFlags := uint16(bitAA | bitTC | bitRD | bitRA | bitZ | bitAD | bitCD)
	for _, tt := range []struct {
		name   string
		opcode uint16
		qd     uint16
	}{
		{"unassigned opcode 15, header only", 15, 0},
		{"IQUERY", dns.OpcodeIQuery, 1},
		{"STATUS", dns.OpcodeStatus, 1},
		{"NOTIFY", dns.OpcodeNotify, 1},
		{"UPDATE", dns.OpcodeUpdate, 1},
		{"DSO", 6, 0},
	} {
		for _, flags := range []uint16{0, allFlags} {
			for _, proto := range []string{"udp", "tcp"} {
				t.Run(tt.name+"/"+proto+"/flags "+flagNames(flags), func(t *testing.T) {
					pkt := header(0x4242, tt.opcode<<11|flags, tt.qd, 0, 0, 0)
					if tt.qd > 0 {
						pkt = append(pkt, questionA...)
					}
					b := sendRawProto(t, addr, proto, pkt)
					if b == nil {
						t.Fatal("no response; want NOTIMP")
					}
					r := mustUnpack(t, b)
					if r.Id != 0x4242 || r.Opcode != int(tt.opcode) || r.Rcode != dns.RcodeNotImplemented {
						t.Errorf("id %#x opcode %d rcode %s; want %#x, %d, NOTIMP", r.Id, r.Opcode, dns.RcodeToString[r.Rcode], 0x4242, tt.opcode)
					}
					if got := binary.BigEndian.Uint16(b[2:]) &^ (0xF<<11 | 0xF); got != bitQR {
						t.Errorf("flags %s; want only qr", flagNames(got))
					}
					if len(r.Question)+len(r.Answer)+len(r.Ns)+len(r.Extra) != 0 {
						t.Errorf("NOTIMP carries sections:\n%v", r)
					}
				})
			}
		}
	}
}

// TestHeaderFlags: in answers to QUERY, RD and CD are copied (RFC 1035
// §4.1.1, RFC 6840 §5.9), Z is zero (RFC 1035 §4.1.1: "must be zero in
// all queries and responses"), and RA, AD and TC are the server's own:
// never RA (no recursion), never AD (no DNSSEC, RFC 6840 §5.8) and TC only
// for a UDP answer that does not fit. This holds for FORMERR answers to
// malformed queries too, on both transports.
func TestHeaderFlags(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	for _, tt := range []struct {
		name  string
		pkt   []byte
		rcode int
	}{
		{"SOA query", append(header(7, 0, 1, 0, 0, 0), []byte{3, 'c', 'd', 'n', 4, 't', 'e', 's', 't', 0, 0, 6, 0, 1}...), dns.RcodeSuccess},
		{"two questions (FORMERR)", append(append(header(7, 0, 2, 0, 0, 0), questionA...), questionA...), dns.RcodeFormatError},
		{"unparsable question (FORMERR)", append(header(7, 0, 1, 0, 0, 0), questionA[:9]...), dns.RcodeFormatError},
	} {
		for _, in := range []uint16{0, bitRD, bitCD, bitZ, bitAD, bitRA, bitTC, bitAA, bitRD | bitCD | bitZ | bitAD | bitRA | bitTC | bitAA} {
			for _, proto := range []string{"udp", "tcp"} {
				t.Run(tt.name+"/"+proto+"/"+flagNames(in), func(t *testing.T) {
					pkt := append([]byte(nil), tt.pkt...)
					binary.BigEndian.PutUint16(pkt[2:], in)
					b := sendRawProto(t, addr, proto, pkt)
					if b == nil {
						t.Fatal("no response")
					}
					r := mustUnpack(t, b)
					if r.Rcode != tt.rcode || r.Id != 7 || r.Opcode != dns.OpcodeQuery {
						t.Fatalf("id %d opcode %d rcode %s; want 7, QUERY, %s", r.Id, r.Opcode, dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
					}
					got := binary.BigEndian.Uint16(b[2:]) &^ (0xF<<11 | 0xF)
					want := uint16(bitQR) | in&(bitRD|bitCD)
					if tt.rcode == dns.RcodeSuccess {
						want |= bitAA
					}
					if got != want {
						t.Errorf("flags %s; want %s", flagNames(got), flagNames(want))
					}
				})
			}
		}
	}
}

// TestIXFRRefused: an IXFR query carries the client's SOA in the
// authority section (RFC 1995 §3). It is a well-formed query, refused
// like AXFR (no zone transfers), not a FORMERR; other queries with
// authority records stay FORMERR.
func TestIXFRRefused(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	ixfr := new(dns.Msg)
	ixfr.SetIxfr("cdn.test.", 1, "ns1.cdn.test.", "hostmaster.cdn.test.")
	for _, proto := range []string{"udp", "tcp"} {
		r := exchange(t, addr, proto, noRegion, ixfr)
		if r.Rcode != dns.RcodeRefused || len(r.Answer)+len(r.Ns) != 0 || r.Authoritative {
			t.Errorf("%s IXFR: %s, %d answers, AA %v; want REFUSED and nothing else", proto, dns.RcodeToString[r.Rcode], len(r.Answer), r.Authoritative)
		}
		q := query("cdn.test.", dns.TypeSOA)
		q.Ns = ixfr.Ns
		if r := exchange(t, addr, proto, noRegion, q); r.Rcode != dns.RcodeFormatError {
			t.Errorf("%s SOA query with an authority record: %s; want FORMERR", proto, dns.RcodeToString[r.Rcode])
		}
	}
}

// TestECSAddressOctets: the ECS address has exactly as many octets as
// the source prefix needs; too few or too many is FORMERR (RFC 7871 §6),
// whatever the transport.
func TestECSAddressOctets(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	for _, tt := range []struct {
		name  string
		data  []byte
		rcode int
	}{
		{"IPv4 /24 in 3 octets", []byte{0, 1, 24, 0, 127, 2, 0}, dns.RcodeSuccess},
		{"IPv4 /0 in 0 octets", []byte{0, 1, 0, 0}, dns.RcodeSuccess},
		{"IPv4 /17 in 3 octets", []byte{0, 1, 17, 0, 127, 2, 0}, dns.RcodeSuccess},
		{"IPv4 /24 in 4 octets", []byte{0, 1, 24, 0, 127, 2, 0, 0}, dns.RcodeFormatError},
		{"IPv4 /24 in 2 octets", []byte{0, 1, 24, 0, 127, 2}, dns.RcodeFormatError},
		{"IPv4 /0 in 4 octets", []byte{0, 1, 0, 0, 0, 0, 0, 0}, dns.RcodeFormatError},
		{"IPv6 /56 in 7 octets", []byte{0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0}, dns.RcodeSuccess},
		{"IPv6 /56 in 16 octets", append([]byte{0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8}, make([]byte, 12)...), dns.RcodeFormatError},
	} {
		q := query("www.example.test.", dns.TypeA)
		q.SetEdns0(1232, false)
		q.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: tt.data}}
		raw, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		for _, proto := range []string{"udp", "tcp"} {
			b := sendRawProto(t, addr, proto, raw)
			if b == nil {
				t.Errorf("%s %s: no response", proto, tt.name)
				continue
			}
			r := mustUnpack(t, b)
			if r.Rcode != tt.rcode {
				t.Errorf("%s %s: %s; want %s", proto, tt.name, dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if r.IsEdns0() == nil {
				t.Errorf("%s %s: no OPT in the response to an EDNS query (RFC 6891 §7)", proto, tt.name)
			}
		}
	}
}

// TestFormErrWithEDNS: a query the server can parse but not answer
// (QDCOUNT 0) that has an OPT gets its FORMERR with an OPT (RFC 6891 §7:
// responders include an OPT in responses to requests that had one).
func TestFormErrWithEDNS(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	q := new(dns.Msg)
	q.Id = 99
	q.SetEdns0(1232, true)
	raw, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"udp", "tcp"} {
		b := sendRawProto(t, addr, proto, raw)
		if b == nil {
			t.Fatalf("%s: no response", proto)
		}
		r := mustUnpack(t, b)
		opt := r.IsEdns0()
		if r.Rcode != dns.RcodeFormatError || r.Id != 99 || opt == nil || opt.Version() != 0 || !opt.Do() {
			t.Errorf("%s QDCOUNT 0 with EDNS: %s id %d OPT %v; want FORMERR, id 99, OPT version 0 with DO", proto, dns.RcodeToString[r.Rcode], r.Id, opt)
		}
	}
}

// TestTSIGUnknownKey: the server has no TSIG keys, so a signed query
// gets NOTAUTH with an unsigned TSIG carrying BADKEY (RFC 8945 §5.2.2),
// never an answer as if the signature had been checked; a TSIG that is
// not the last record is FORMERR (RFC 8945 §5.1).
func TestTSIGUnknownKey(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	const key = "client-key."
	q := query("www.example.test.", dns.TypeA)
	q.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
	for _, proto := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: proto, Timeout: 2 * time.Second, TsigSecret: map[string]string{key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}
		r, _, err := c.Exchange(q.Copy(), addr)
		if r == nil {
			t.Fatalf("%s: no response: %v", proto, err)
		}
		if r.Rcode != dns.RcodeNotAuth || len(r.Answer) != 0 {
			t.Errorf("%s: rcode %s with %d answers; want NOTAUTH and none", proto, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		ts := r.IsTsig()
		if ts == nil {
			t.Fatalf("%s: no TSIG in the response:\n%v", proto, r)
		}
		if ts.Error != dns.RcodeBadKey || ts.MACSize != 0 || ts.Hdr.Name != key || ts.OrigId != q.Id || ts.Algorithm != dns.HmacSHA256 {
			t.Errorf("%s: TSIG %v; want error BADKEY, empty MAC, key %s, original id %d", proto, ts, key, q.Id)
		}
	}

	// A TSIG before the OPT record.
	q = query("www.example.test.", dns.TypeA)
	q.Extra = append(q.Extra, &dns.TSIG{Hdr: dns.RR_Header{Name: key, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: dns.HmacSHA256, TimeSigned: uint64(time.Now().Unix()), Fudge: 300, OrigId: q.Id})
	q.SetEdns0(1232, false)
	raw, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"udp", "tcp"} {
		b := sendRawProto(t, addr, proto, raw)
		if b == nil {
			t.Fatalf("%s: no response", proto)
		}
		if r := mustUnpack(t, b); r.Rcode != dns.RcodeFormatError {
			t.Errorf("%s: TSIG not last: %s; want FORMERR", proto, dns.RcodeToString[r.Rcode])
		}
	}

	// A TSIG that cannot be interpreted (RFC 8945 §5.2) is FORMERR, and
	// the answer parses: empty RDATA (found by FuzzServeDNS: the NOTAUTH
	// then carried a TSIG without algorithm that miekg/dns could not
	// unpack; the message is in testdata/fuzz/FuzzServeDNS/tsig_empty_rdata),
	// a class other than ANY, a TTL other than 0 (§4.2).
	q = query("www.example.test.", dns.TypeA)
	q.Id = 0x1234
	base, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	base[11] = 1 // ARCOUNT
	tsigRR := func(class, ttl uint32) []byte {
		rr := []byte{1, 'k', 0, 0, byte(dns.TypeTSIG)}
		rr = binary.BigEndian.AppendUint16(rr, uint16(class))
		rr = binary.BigEndian.AppendUint32(rr, ttl)
		return rr
	}
	signed := func(class, ttl uint32) []byte {
		good := &dns.TSIG{Hdr: dns.RR_Header{Name: "k.", Rrtype: dns.TypeTSIG, Class: uint16(class), Ttl: ttl},
			Algorithm: dns.HmacSHA256, TimeSigned: uint64(time.Now().Unix()), Fudge: 300, OrigId: q.Id}
		m := q.Copy()
		m.Extra = []dns.RR{good}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		name string
		msg  []byte
	}{
		{"empty RDATA", append(append([]byte(nil), base...), append(tsigRR(dns.ClassANY, 0), 0, 0)...)},
		{"class IN", signed(dns.ClassINET, 0)},
		{"TTL 300", signed(dns.ClassANY, 300)},
	} {
		for _, proto := range []string{"udp", "tcp"} {
			b := sendRawProto(t, addr, proto, tt.msg)
			if b == nil {
				t.Fatalf("%s: %s: no response", tt.name, proto)
			}
			r := mustUnpack(t, b)
			if r.Rcode != dns.RcodeFormatError || r.Id != 0x1234 || len(r.Answer) != 0 {
				t.Errorf("%s: %s: %s id %#x; want FORMERR id 0x1234", tt.name, proto, dns.RcodeToString[r.Rcode], r.Id)
			}
		}
	}
}

// TestWildcardReplySource: a server listening on 0.0.0.0 or :: answers
// each query from the address it was sent to (RFC 2181 §4.1), or the
// client drops the answer (dig: "reply from unexpected source"). The
// kernel would pick 127.0.0.1 to answer a query sent to 127.0.5.1. The
// test binds every address of the host, which the tests otherwise never
// do, so it runs only with CDNCTL_TEST_WILDCARD=1.
func TestWildcardReplySource(t *testing.T) {
	if os.Getenv("CDNCTL_TEST_WILDCARD") != "1" {
		t.Skip("binds 0.0.0.0 and ::; set CDNCTL_TEST_WILDCARD=1 to run")
	}
	for _, bind := range []string{"0.0.0.0:0", "[::]:0"} {
		s, err := New(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Listen(bind); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx) }()
		_, port, _ := net.SplitHostPort(s.Addr())
		for _, dst := range []string{"127.0.5.1", "127.0.0.1", "::1"} {
			c := &dns.Client{Net: "udp", Timeout: time.Second}
			r, _, err := c.Exchange(query("cdn.test.", dns.TypeSOA), net.JoinHostPort(dst, port))
			if err != nil || r.Rcode != dns.RcodeSuccess {
				t.Errorf("bound to %s, query to %s: %v %v; want an answer from %s", bind, dst, err, r, dst)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestExtendedErrors: refusals and failures of EDNS queries say why with
// an Extended DNS Error (RFC 8914 §4.19 Prohibited, §4.21 Not
// Authoritative, §4.22 Not Supported), which dig prints; queries without
// EDNS get none.
func TestExtendedErrors(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	chaos := query("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	for _, tt := range []struct {
		name  string
		q     *dns.Msg
		rcode int
		ede   uint16
	}{
		{"outside the zones", query("example.com.", dns.TypeA), dns.RcodeRefused, dns.ExtendedErrorCodeNotAuthoritative},
		{"class CH", chaos, dns.RcodeRefused, dns.ExtendedErrorCodeNotSupported},
		{"AXFR", query("cdn.test.", dns.TypeAXFR), dns.RcodeRefused, dns.ExtendedErrorCodeProhibited},
	} {
		for _, proto := range []string{"udp", "tcp"} {
			q := tt.q.Copy()
			q.SetEdns0(1232, false)
			r := exchange(t, addr, proto, noRegion, q)
			var edes []*dns.EDNS0_EDE
			if opt := r.IsEdns0(); opt != nil {
				for _, o := range opt.Option {
					if e, ok := o.(*dns.EDNS0_EDE); ok {
						edes = append(edes, e)
					}
				}
			}
			if r.Rcode != tt.rcode || len(edes) != 1 || edes[0].InfoCode != tt.ede {
				t.Errorf("%s over %s: %s with EDE %v; want %s with EDE %d (%s)", tt.name, proto, dns.RcodeToString[r.Rcode], edes, dns.RcodeToString[tt.rcode], tt.ede, dns.ExtendedErrorCodeToString[tt.ede])
			}
			if r := exchange(t, addr, proto, noRegion, tt.q); r.IsEdns0() != nil {
				t.Errorf("%s over %s without EDNS: an OPT in the response", tt.name, proto)
			}
		}
	}
}

// TestTCPPipelining: queries pipelined on one TCP connection are all
// answered (RFC 7766 §6.2.1.1), however many: a server that closes a busy
// connection after so many queries loses those the client has already
// sent (dnsperf -m tcp counted them lost).
func TestTCPPipelining(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 2500
	var frames []byte
	for i := range n {
		q := query("www.example.test.", dns.TypeA)
		q.Id = uint16(i)
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		frames = binary.BigEndian.AppendUint16(frames, uint16(len(b)))
		frames = append(frames, b...)
	}
	go conn.Write(frames) // all at once, without waiting for answers
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	seen := make([]bool, n)
	for got := 0; got < n; got++ {
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			t.Fatalf("%d of %d pipelined queries answered, then: %v", got, n, err)
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(conn, b); err != nil {
			t.Fatal(err)
		}
		r := mustUnpack(t, b)
		if r.Rcode != dns.RcodeSuccess || seen[r.Id] {
			t.Fatalf("answer %d: id %d %s (seen before: %v)", got, r.Id, dns.RcodeToString[r.Rcode], seen[r.Id])
		}
		seen[r.Id] = true
	}
}

// TestRateLimitSlipKeepsOPT: the truncated "slip" answers of the rate
// limiter still carry an OPT for an EDNS query (RFC 6891 §7), with DO
// echoed (RFC 3225 §3), and nothing else.
func TestRateLimitSlipKeepsOPT(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit = 5
	_, addr := startServer(t, cfg)
	q := query("www.example.test.", dns.TypeA)
	q.SetEdns0(1232, true)
	raw, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	slips := 0
	for _, b := range burst(t, addr, netip.MustParseAddr("127.11.0.1"), raw, 200) {
		r := mustUnpack(t, b)
		if !r.Truncated {
			continue
		}
		slips++
		if opt := r.IsEdns0(); opt == nil || !opt.Do() || opt.Version() != 0 || len(r.Answer)+len(r.Ns) != 0 || len(r.Extra) != 1 {
			t.Fatalf("slip answer to an EDNS query:\n%v\nwant TC, no records, an OPT with DO", r)
		}
	}
	if slips == 0 {
		t.Fatal("no truncated answers from the rate limiter")
	}
}

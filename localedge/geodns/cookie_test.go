package geodns

import (
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestSipHash24(t *testing.T) {
	// The reference vectors: key 00..0f, message 00..(n-1).
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, tt := range []struct {
		n    int
		want uint64
	}{
		{0, 0x726fdb47dd0e0e31},
		{1, 0x74f839c593dc67fd},
		{8, 0x93f5f5799a932462},
		{15, 0xa129ca6149be45e5}, // the paper's worked example
	} {
		if got := sipHash24(&key, msg[:tt.n]); got != tt.want {
			t.Errorf("SipHash-2-4 of %d octets = %#x; want %#x", tt.n, got, tt.want)
		}
	}
}

// TestServerCookieVectors: the server cookies of RFC 9018 Appendix A.
func TestServerCookieVectors(t *testing.T) {
	for _, tt := range []struct {
		name, secret, client, clientCookie string
		ts                                 uint32
		want                               string
	}{
		{"A.1", "e5e973e5a6b2a43f48e7dc849e37bfcf", "198.51.100.100", "2464c4abcf10c957", 1559731985, "010000005cf79f111f8130c3eee29480"},
		{"A.2", "e5e973e5a6b2a43f48e7dc849e37bfcf", "198.51.100.100", "2464c4abcf10c957", 1559734385, "010000005cf7a871d4a564a1442aca77"},
		{"A.3", "e5e973e5a6b2a43f48e7dc849e37bfcf", "203.0.113.203", "fc93fc62807ddb86", 1559734700, "010000005cf7a9acf73a7810aca2381e"},
	} {
		s := &Server{}
		hex.Decode(s.cookieSecret[:], []byte(tt.secret))
		cc, _ := hex.DecodeString(tt.clientCookie)
		got := s.serverCookie(cc, [4]byte{1, 0, 0, 0}, tt.ts, netip.MustParseAddr(tt.client))
		if hex.EncodeToString(got[:]) != tt.want {
			t.Errorf("%s: server cookie %x; want %s", tt.name, got, tt.want)
		}
	}
}

func cookieQuery(name string, cookie string) *dns.Msg {
	q := query(name, dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: cookie})
	return q
}

func cookieOf(r *dns.Msg) string {
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if c, ok := o.(*dns.EDNS0_COOKIE); ok {
				return c.Cookie
			}
		}
	}
	return ""
}

// TestCookies: DNS Cookies as RFC 7873 §5.2 has a server answer them.
func TestCookies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit = 50
	_, addr := startServer(t, cfg)
	const cc = "0102030405060708"
	from := netip.MustParseAddr("127.9.0.1")

	for _, proto := range []string{"udp", "tcp"} {
		// A client cookie alone: answered, with a server cookie (§5.2.3).
		r := exchange(t, addr, proto, from, cookieQuery("www.example.test.", cc))
		got := cookieOf(r)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || len(got) != 2*(8+16) || !strings.HasPrefix(got, cc+"01000000") {
			t.Fatalf("%s: %s %d answers, cookie %q; want an answer and %s + a 16-octet version 1 server cookie", proto, dns.RcodeToString[r.Rcode], len(r.Answer), got, cc)
		}
		// A forged server cookie: answered as if there were none, with a
		// good one (§5.2.4).
		forged := cc + "01000000" + got[24:32] + "0000000000000000"
		r = exchange(t, addr, proto, from, cookieQuery("www.example.test.", forged))
		if again := cookieOf(r); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || len(again) != 48 || again[32:] == forged[32:] {
			t.Errorf("%s: forged server cookie: %s, cookie %q; want an answer with a new server cookie", proto, dns.RcodeToString[r.Rcode], again)
		}
		// A query for a cookie only, without a question (§5.4).
		q := new(dns.Msg)
		q.Id = dns.Id()
		q.SetEdns0(1232, false)
		q.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: cc}}
		raw, _ := q.Pack()
		b := sendRawProto(t, addr, proto, raw)
		if b == nil {
			t.Fatalf("%s: no response to a cookie-only query", proto)
		}
		if r := mustUnpack(t, b); r.Rcode != dns.RcodeSuccess || !strings.HasPrefix(cookieOf(r), cc) {
			t.Errorf("%s: cookie-only query: %s cookie %q; want NOERROR with a server cookie", proto, dns.RcodeToString[r.Rcode], cookieOf(r))
		}
		// Malformed lengths: FORMERR (§5.2.2).
		for _, bad := range []string{"0102030405", "010203040506070809", cc + strings.Repeat("ab", 33)} {
			r := exchange(t, addr, proto, from, cookieQuery("www.example.test.", bad))
			if r.Rcode != dns.RcodeFormatError {
				t.Errorf("%s: a %d-octet cookie: %s; want FORMERR", proto, len(bad)/2, dns.RcodeToString[r.Rcode])
			}
		}
		// No cookie, no cookie.
		if r := exchange(t, addr, proto, from, withDebug(query("www.example.test.", dns.TypeA))); cookieOf(r) != "" {
			t.Errorf("%s: cookie %q in the response to a query without one", proto, cookieOf(r))
		}
	}

	// A client that presents its valid server cookie is not rate limited
	// (50 responses per second here), however fast it asks.
	r := exchange(t, addr, "udp", from, cookieQuery("www.example.test.", cc))
	good := cookieOf(r)
	c := &dns.Client{Net: "udp", Timeout: time.Second, Dialer: &net.Dialer{LocalAddr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0))}}
	for i := range 300 {
		r, _, err := c.Exchange(cookieQuery("www.example.test.", good), addr)
		if err != nil || r.Truncated || len(r.Answer) == 0 {
			t.Fatalf("query %d with a valid server cookie: %v %v; want a full answer", i+1, err, r)
		}
		if next := cookieOf(r); next[:16] != cc || len(next) != 48 {
			t.Fatalf("query %d: cookie %q", i+1, next)
		}
	}
}

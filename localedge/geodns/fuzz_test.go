package geodns

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// FuzzServeDNS feeds arbitrary messages through the same steps as the
// server (header check, unpack, answer) and checks that every answer packs,
// keeps the query's ID and fits the transport. The seed corpus in
// testdata/fuzz/FuzzServeDNS holds well-formed and malformed queries of
// every kind the server handles.
func FuzzServeDNS(f *testing.F) {
	cfg := bigTXTConfig(12, 120)
	cfg.PoPs[1].Regions = append(cfg.PoPs[1].Regions, netip.MustParsePrefix("2001:db8::/32"))
	cfg.PoPs[2].Addrs = append(cfg.PoPs[2].Addrs, netip.MustParseAddr("::1"))
	cfg.Records = append(cfg.Records, "a.deep.example.test. A 127.0.0.11", "alias.example.test. CNAME elsewhere.example.org.")
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []*dns.Msg{
		query("www.example.test.", dns.TypeA),
		withDebug(withECS(query("www.example.test.", dns.TypeAAAA), netip.MustParsePrefix("2001:db8:1::/48"))),
		query("big.example.test.", dns.TypeTXT),
	} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false, byte(2), byte(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, tcp bool, region, host byte) {
		remote := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, region, host, 1}), 5300)
		var (
			resp *dns.Msg
			info queryInfo
			req  *dns.Msg
		)
		// The path of both transports, from raw bytes.
		resp, info = s.answerRaw(data, remote, tcp)
		req = new(dns.Msg)
		if req.Unpack(data) != nil {
			req = nil
		}
		if resp == nil {
			return
		}
		if len(data) < 12 {
			t.Fatalf("answered a %d-byte message", len(data))
		}
		if id := binary.BigEndian.Uint16(data); resp.Id != id || !resp.Response {
			t.Fatalf("response id %d QR %v; want id %d and QR", resp.Id, resp.Response, id)
		}
		b, err := resp.Pack()
		if err != nil {
			t.Fatalf("response does not pack: %v\n%v", err, resp)
		}
		limit := dns.MaxMsgSize
		if !tcp {
			limit = dns.MinMsgSize
			if req != nil && req.IsEdns0() != nil {
				limit = s.maxUDP
			}
		}
		if len(b) > limit {
			t.Fatalf("%d-byte response over a %d-byte limit", len(b), limit)
		}
		if err := new(dns.Msg).Unpack(b); err != nil {
			t.Fatalf("response does not unpack: %v", err)
		}
		if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError && len(resp.Answer) > 0 {
			t.Fatalf("rcode %s with answers", dns.RcodeToString[resp.Rcode])
		}
		for _, rr := range resp.Answer {
			if a, ok := rr.(*dns.A); ok && info.routed && info.d.pop >= 0 {
				want := s.router.pops[info.d.pop].Addrs[0]
				if got, _ := netip.AddrFromSlice(a.A); got.Unmap() != want {
					t.Fatalf("answer %v is not the chosen PoP's %v", got, want)
				}
			}
		}
	})
}

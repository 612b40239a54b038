package geodns

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func bigTXTConfig(n, size int) Config {
	cfg := DefaultConfig()
	for i := range n {
		cfg.Records = append(cfg.Records, fmt.Sprintf("big.example.test. 60 IN TXT \"%02d%s\"", i, strings.Repeat("x", size)))
	}
	return cfg
}

func TestTruncationAndTCPRetry(t *testing.T) {
	cfg := bigTXTConfig(12, 120) // about 1.6 kB: over the 1232-byte UDP cap
	cfg.Records = append(cfg.Records, bigTXTConfig(6, 100).Records...)
	for i := range 6 {
		cfg.Records[12+i] = strings.Replace(cfg.Records[12+i], "big.", "medium.", 1)
	}
	_, addr := startServer(t, cfg)

	// Over UDP without EDNS, and even with a 4096-byte EDNS buffer, the
	// big answer does not fit: an empty TC response.
	for _, bufsize := range []uint16{0, 4096} {
		q := query("big.example.test.", dns.TypeTXT)
		if bufsize > 0 {
			q.SetEdns0(bufsize, false)
		}
		r := exchange(t, addr, "udp", noRegion, q)
		if !r.Truncated || len(r.Answer) != 0 {
			t.Errorf("UDP bufsize %d: TC=%v with %d answers; want TC and none", bufsize, r.Truncated, len(r.Answer))
		}
		packed, _ := r.Pack()
		if len(packed) > DefaultMaxUDPSize {
			t.Errorf("UDP response of %d bytes", len(packed))
		}
	}
	// The client retries over TCP and gets everything.
	r := exchange(t, addr, "tcp", noRegion, query("big.example.test.", dns.TypeTXT))
	if r.Truncated || len(r.Answer) != 12 {
		t.Errorf("TCP: TC=%v, %d answers; want all 12", r.Truncated, len(r.Answer))
	}
	r = queryWithRetry(t, addr, query("big.example.test.", dns.TypeTXT))
	if r.Truncated || len(r.Answer) != 12 {
		t.Errorf("UDP then TCP: TC=%v, %d answers; want all 12", r.Truncated, len(r.Answer))
	}

	// A medium answer needs EDNS: 512 bytes are not enough, 1232 are.
	r = exchange(t, addr, "udp", noRegion, query("medium.example.test.", dns.TypeTXT))
	if !r.Truncated {
		t.Errorf("medium answer without EDNS: not truncated")
	}
	q := query("medium.example.test.", dns.TypeTXT)
	q.SetEdns0(1232, false)
	r = exchange(t, addr, "udp", noRegion, q)
	if r.Truncated || len(r.Answer) != 6 {
		t.Errorf("medium answer with EDNS 1232: TC=%v, %d answers; want all 6", r.Truncated, len(r.Answer))
	}
}

// queryWithRetry is what a stub resolver does: UDP, then TCP on TC.
func queryWithRetry(t *testing.T, addr string, q *dns.Msg) *dns.Msg {
	t.Helper()
	r := exchange(t, addr, "udp", noRegion, q)
	if r.Truncated {
		r = exchange(t, addr, "tcp", noRegion, q)
	}
	return r
}

// header builds a 12-byte DNS header.
func header(id, flags, qd, an, ns, ar uint16) []byte {
	b := make([]byte, 12)
	for i, v := range []uint16{id, flags, qd, an, ns, ar} {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	return b
}

var questionA = []byte{3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1}

func TestMalformedPackets(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())

	longLabel := append([]byte{64}, []byte(strings.Repeat("a", 64))...)
	longName := []byte{}
	for range 5 {
		longName = append(longName, 63)
		longName = append(longName, []byte(strings.Repeat("b", 63))...)
	}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	tests := []struct {
		name  string
		pkt   []byte
		rcode int // -1: no response expected
	}{
		{"empty datagram", []byte{}, -1},
		{"shorter than a header", []byte{1, 2, 3, 4, 5}, -1},
		{"a response", cat(header(1, 0x8000, 1, 0, 0, 0), questionA), -1},
		{"no question", header(2, 0, 0, 0, 0, 0), dns.RcodeFormatError},
		{"two questions", cat(header(3, 0, 2, 0, 0, 0), questionA, questionA), dns.RcodeFormatError},
		{"many questions", cat(header(4, 0, 50, 0, 0, 0), questionA), dns.RcodeFormatError},
		{"question count without question", header(5, 0, 1, 0, 0, 0), dns.RcodeFormatError},
		{"truncated question", cat(header(6, 0, 1, 0, 0, 0), questionA[:10]), dns.RcodeFormatError},
		{"label over 63 octets", cat(header(7, 0, 1, 0, 0, 0), longLabel, []byte{0, 0, 1, 0, 1}), dns.RcodeFormatError},
		{"name over 255 octets", cat(header(8, 0, 1, 0, 0, 0), longName, []byte{0, 0, 1, 0, 1}), dns.RcodeFormatError},
		{"compression pointer loop", cat(header(9, 0, 1, 0, 0, 0), []byte{0xc0, 12, 0, 1, 0, 1}), dns.RcodeFormatError},
		{"answer records in a query", cat(header(10, 0, 1, 1, 0, 0), questionA), dns.RcodeFormatError},
		{"too many additional records", cat(header(11, 0, 1, 0, 0, 3), questionA), dns.RcodeFormatError},
		{"IQUERY opcode", cat(header(12, 1<<11, 1, 0, 0, 0), questionA), dns.RcodeNotImplemented},
		{"STATUS opcode", cat(header(13, 2<<11, 1, 0, 0, 0), questionA), dns.RcodeNotImplemented},
		{"zero-length name (root)", cat(header(14, 0, 1, 0, 0, 0), []byte{0, 0, 1, 0, 1}), dns.RcodeRefused},
		{"trailing garbage", cat(header(15, 0, 1, 0, 0, 0), questionA, []byte{1, 2, 3}), dns.RcodeSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sendRaw(t, addr, tt.pkt)
			if tt.rcode < 0 {
				if r != nil {
					t.Errorf("got a response; want none:\n%v", r)
				}
				return
			}
			if r == nil {
				t.Fatalf("no response; want %s", dns.RcodeToString[tt.rcode])
			}
			if r.Rcode != tt.rcode {
				t.Errorf("rcode %s; want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if len(tt.pkt) >= 2 && r.Id != binary.BigEndian.Uint16(tt.pkt) {
				t.Errorf("id %d; want %d", r.Id, binary.BigEndian.Uint16(tt.pkt))
			}
			if tt.rcode != dns.RcodeSuccess && len(r.Answer)+len(r.Ns)+len(r.Extra) > 0 {
				t.Errorf("error response carries records:\n%v", r)
			}
		})
	}

	// Random garbage: answered with something parseable or not at all.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		pkt := make([]byte, 12+rng.IntN(100))
		for j := range pkt {
			pkt[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			// Plausible headers reach deeper into the parser.
			copy(pkt, header(uint16(i), 0, 1, 0, 0, uint16(rng.IntN(2))))
		}
		conn, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(pkt)
		conn.Close()
	}
	// Still alive and well, over both transports.
	for _, proto := range []string{"udp", "tcp"} {
		if r := exchange(t, addr, proto, region2, query("www.example.test.", dns.TypeA)); r.Rcode != dns.RcodeSuccess || len(addrsOf(r)) != 1 {
			t.Errorf("%s after garbage: %s %v", proto, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
}

func TestTCPBadInput(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	// Idle connections and garbage must not keep others from being served.
	var conns []net.Conn
	for i := range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		switch i % 4 {
		case 1:
			c.Write([]byte{0, 0}) // zero-length message
		case 2:
			c.Write([]byte{0xff, 0xff, 1, 2, 3}) // announces 64 KiB, sends 3 bytes
		case 3:
			c.Write(append([]byte{0, 12}, header(1, 0, 7, 0, 0, 0)...))
		}
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	r := exchange(t, addr, "tcp", region3, query("www.example.test.", dns.TypeA))
	if got := addrsOf(r); len(got) != 1 || got[0] != "127.0.3.1" {
		t.Errorf("TCP query beside bad connections: %v", got)
	}
	// The FORMERR on connection 3.
	conns[3].SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, err := conns[3].Read(buf)
	if err != nil || n < 14 {
		t.Fatalf("no response on the bad TCP query: %v", err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(buf[2:n]); err != nil || m.Rcode != dns.RcodeFormatError {
		t.Errorf("bad TCP query: %v %v; want FORMERR", m, err)
	}
}

// burst sends q n times from a socket bound to from, as fast as it can,
// and returns the responses that arrive (a second of silence ends it). It
// may run on any goroutine.
func burst(t *testing.T, addr string, from netip.Addr, q []byte, n int) [][]byte {
	t.Helper()
	conn, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Error(err)
		return nil
	}
	defer conn.Close()
	var got [][]byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			conn.SetReadDeadline(time.Now().Add(time.Second))
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			got = append(got, append([]byte(nil), buf[:k]...))
		}
	}()
	for range n {
		conn.Write(q)
	}
	<-done
	return got
}

// TestFlood sends a bounded burst of queries: the server answers or drops,
// never sends more than it received, never sends more bytes than needed,
// and keeps serving.
func TestFlood(t *testing.T) {
	_, addr := startServer(t, DefaultConfig())
	const senders, perSender = 4, 500
	q, _ := query("www.example.test.", dns.TypeA).Pack()
	var wg sync.WaitGroup
	var mu sync.Mutex
	responses, maxSize := 0, 0
	for i := range senders {
		wg.Go(func() {
			got := burst(t, addr, netip.AddrFrom4([4]byte{127, 6, 0, byte(i + 1)}), q, perSender)
			mu.Lock()
			defer mu.Unlock()
			responses += len(got)
			for _, r := range got {
				maxSize = max(maxSize, len(r))
			}
		})
	}
	wg.Wait()
	if responses > senders*perSender {
		t.Errorf("%d responses to %d queries", responses, senders*perSender)
	}
	if responses == 0 {
		t.Errorf("no responses at all under load")
	}
	if maxSize > 3*len(q) {
		t.Errorf("largest response %d bytes for a %d-byte query", maxSize, len(q))
	}
	if r := exchange(t, addr, "udp", region1, query("www.example.test.", dns.TypeA)); r.Rcode != dns.RcodeSuccess {
		t.Errorf("after the flood: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestRateLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit = 50
	_, addr := startServer(t, cfg)

	const n = 1000
	q, _ := query("www.example.test.", dns.TypeA).Pack()
	from := netip.MustParseAddr("127.7.0.1")
	full, truncated := 0, 0
	for _, b := range burst(t, addr, from, q, n) {
		m := new(dns.Msg)
		if m.Unpack(b) != nil {
			t.Fatalf("unparsable response %x", b)
		}
		if m.Truncated {
			truncated++
		} else {
			full++
		}
	}
	// A burst of 50 plus 50/s while sending: far fewer than n, and about
	// half of the rest slip out truncated.
	if full >= n/2 || truncated == 0 || full+truncated >= n {
		t.Errorf("rate limit 50/s: %d full and %d truncated responses to %d queries", full, truncated, n)
	}
	// Other client networks and TCP are unaffected.
	if r := exchange(t, addr, "udp", netip.MustParseAddr("127.8.0.1"), query("www.example.test.", dns.TypeA)); r.Truncated || len(r.Answer) == 0 {
		t.Errorf("another network was limited: %v", r)
	}
	if r := exchange(t, addr, "tcp", from, query("www.example.test.", dns.TypeA)); r.Truncated || len(r.Answer) == 0 {
		t.Errorf("TCP from the limited network was limited: %v", r)
	}
}

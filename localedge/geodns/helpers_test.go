package geodns

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// startServer runs a server for cfg on a free loopback port until the
// test ends.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not stop")
		}
	})
	return s, s.Addr()
}

// exchange sends m over proto ("udp" or "tcp") from the source address
// from (any when invalid) and returns the response.
func exchange(t testing.TB, addr, proto string, from netip.Addr, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, err := tryExchange(addr, proto, from, m)
	if err != nil {
		t.Fatalf("%s query %v from %v: %v", proto, m.Question, from, err)
	}
	return r
}

func tryExchange(addr, proto string, from netip.Addr, m *dns.Msg) (*dns.Msg, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from.IsValid() {
		if proto == "tcp" {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
		} else {
			d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
		}
	}
	c := &dns.Client{Net: proto, Dialer: d, Timeout: 2 * time.Second, UDPSize: 65535}
	// UDP may lose a datagram (a full socket buffer after a flood): retry
	// as a stub resolver does.
	var err error
	for range 3 {
		var r *dns.Msg
		r, _, err = c.Exchange(m, addr)
		if err == nil || proto == "tcp" {
			return r, err
		}
	}
	return nil, err
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	return m
}

// withECS adds an OPT record with an ECS option for p and the debug
// option.
func withECS(m *dns.Msg, p netip.Prefix) *dns.Msg {
	opt := ednsOf(m)
	family := uint16(1)
	if p.Addr().Is6() {
		family = 2
	}
	opt.Option = append(opt.Option, &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: family, SourceNetmask: uint8(p.Bits()),
		Address: p.Addr().AsSlice(),
	})
	return m
}

func withDebug(m *dns.Msg) *dns.Msg {
	opt := ednsOf(m)
	opt.Option = append(opt.Option, &dns.EDNS0_LOCAL{Code: DebugOption})
	return m
}

func ednsOf(m *dns.Msg) *dns.OPT {
	if opt := m.IsEdns0(); opt != nil {
		return opt
	}
	m.SetEdns0(1232, false)
	return m.IsEdns0()
}

// debugOf returns the Debug option of a response.
func debugOf(t testing.TB, r *dns.Msg) Debug {
	t.Helper()
	opt := r.IsEdns0()
	if opt == nil {
		t.Fatalf("response has no OPT record:\n%v", r)
	}
	for _, o := range opt.Option {
		if l, ok := o.(*dns.EDNS0_LOCAL); ok && l.Code == DebugOption {
			var d Debug
			if err := json.Unmarshal(l.Data, &d); err != nil {
				t.Fatalf("debug option %q: %v", l.Data, err)
			}
			return d
		}
	}
	t.Fatalf("response has no debug option:\n%v", r)
	return Debug{}
}

func ecsOf(r *dns.Msg) *dns.EDNS0_SUBNET {
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				return e
			}
		}
	}
	return nil
}

// addrsOf returns the A/AAAA addresses in the answer section.
func addrsOf(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	return out
}

var (
	region1  = netip.MustParseAddr("127.1.0.1")
	region2  = netip.MustParseAddr("127.2.0.1")
	region3  = netip.MustParseAddr("127.3.0.1")
	noRegion = netip.MustParseAddr("127.0.0.1")
)

// sendRaw sends b in one UDP datagram and returns the parsed response, or
// nil when none arrives within a short wait.
func sendRaw(t testing.TB, addr string, b []byte) *dns.Msg {
	t.Helper()
	resp := udpRoundTrip(t, addr, b, 500*time.Millisecond)
	if resp == nil {
		return nil
	}
	m := new(dns.Msg)
	if err := m.Unpack(resp); err != nil {
		t.Fatalf("unparsable response %x: %v", resp, err)
	}
	return m
}

// udpRoundTrip sends b in one UDP datagram and returns the response's
// bytes, or nil when none arrives within wait.
func udpRoundTrip(t testing.TB, addr string, b []byte, wait time.Duration) []byte {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65535)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// metricValue returns the value of the counter or gauge name with labels
// (0 when the series does not exist).
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// syncBuffer is a bytes.Buffer safe for a logger on the server's
// goroutines and a reader in the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond until it holds or 10 s pass. The server logs and
// counts a query after sending its response, so a test that has its
// response may look a moment too early.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

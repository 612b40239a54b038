package geodns

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeEdge is a real HTTP health endpoint whose status the test switches,
// as an edge's admin API marks a PoP down (contracts.md §1).
type fakeEdge struct {
	srv    *httptest.Server
	status atomic.Int32
	hits   atomic.Int64
	// ok and down count the answers by what they said, counted before
	// the answer is sent: a check in flight when the test switches the
	// status answers with the status it read, the old or the new one.
	ok, down atomic.Int64
}

func newFakeEdge(t *testing.T, name string) *fakeEdge {
	t.Helper()
	e := &fakeEdge{}
	e.status.Store(http.StatusOK)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if r.URL.Path != DefaultHealthPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		code := int(e.status.Load())
		if code == http.StatusOK {
			e.ok.Add(1)
		} else {
			e.down.Add(1)
		}
		w.WriteHeader(code)
		status := "ok"
		if code != http.StatusOK {
			status = "draining"
		}
		w.Write([]byte(`{"pop":"` + name + `","role":"edge","status":"` + status + `"}`))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *fakeEdge) url() string { return e.srv.URL + DefaultHealthPath }

// fastHealth checks often, so state changes show within a fraction of a
// second.
var fastHealth = HealthConfig{Interval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond, Fall: 2, Rise: 2}

// waitForPoP queries until the answer comes from wantPoP (or the deadline
// passes) and returns the last debug data.
func waitForPoP(t *testing.T, addr string, from netip.Addr, wantPoP string) Debug {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var d Debug
	for {
		r := exchange(t, addr, "udp", from, withDebug(query("www.example.test.", dns.TypeA)))
		if r.Rcode == dns.RcodeSuccess {
			d = debugOf(t, r)
			if d.PoP == wantPoP {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("from %s: still %q (rcode %s, %s); want %s", from, d.PoP, dns.RcodeToString[r.Rcode], d.Detail, wantPoP)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFailoverAndRecovery(t *testing.T) {
	edges := []*fakeEdge{newFakeEdge(t, "pop1"), newFakeEdge(t, "pop2"), newFakeEdge(t, "pop3")}
	cfg := DefaultConfig()
	cfg.PoPs = DefaultPoPs(3, edges[0].url(), edges[1].url(), edges[2].url())
	cfg.Health = fastHealth
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, addr := startServer(t, cfg)

	waitForPoP(t, addr, region2, "pop2")

	// pop2 reports draining: its clients move to the next best PoP, and
	// the others are unaffected.
	edges[1].status.Store(http.StatusServiceUnavailable)
	d := waitForPoP(t, addr, region2, "pop1")
	if d.FailoverFrom != "pop2" {
		t.Errorf("failover debug = %+v; want failover_from pop2", d)
	}
	if s.Healthy("pop2") {
		t.Errorf("Healthy(pop2) = true while its endpoint answers 503")
	}
	if got := metricValue(t, reg, "cdnctl_dns_pop_healthy", map[string]string{"pop": "pop2"}); got != 0 {
		t.Errorf("cdnctl_dns_pop_healthy{pop2} = %v; want 0", got)
	}
	// Once down, never answered: many queries, none lands on pop2.
	for range 50 {
		r := exchange(t, addr, "udp", region2, query("www.example.test.", dns.TypeA))
		for _, a := range addrsOf(r) {
			if a == "127.0.2.1" {
				t.Fatalf("answered with pop2's address while it is down")
			}
		}
	}
	waitForPoP(t, addr, region3, "pop3")

	// It recovers: its clients come back.
	edges[1].status.Store(http.StatusOK)
	d = waitForPoP(t, addr, region2, "pop2")
	if d.FailoverFrom != "" {
		t.Errorf("after recovery debug = %+v; want no failover", d)
	}

	// A PoP whose edge is gone altogether (connection refused).
	edges[2].srv.Close()
	waitForPoP(t, addr, region3, "pop1")

	// Every PoP down: SERVFAIL rather than a dead address.
	edges[0].status.Store(http.StatusServiceUnavailable)
	edges[1].status.Store(http.StatusServiceUnavailable)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := exchange(t, addr, "udp", region1, query("www.example.test.", dns.TypeA))
		if r.Rcode == dns.RcodeServerFailure {
			if len(r.Answer) != 0 {
				t.Errorf("SERVFAIL with answers %v", r.Answer)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("all PoPs down: rcode %s %v; want SERVFAIL", dns.RcodeToString[r.Rcode], r.Answer)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// With EDNS, the SERVFAIL says why (RFC 8914).
	q := query("www.example.test.", dns.TypeA)
	q.SetEdns0(1232, false)
	r := exchange(t, addr, "udp", region1, q)
	var ede *dns.EDNS0_EDE
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				ede = e
			}
		}
	}
	if r.Rcode != dns.RcodeServerFailure || ede == nil || !strings.Contains(ede.ExtraText, "PoP") {
		t.Errorf("all PoPs down, EDNS query: %s EDE %v; want SERVFAIL with an EDE naming the PoPs", dns.RcodeToString[r.Rcode], ede)
	}
	// Static data does not depend on PoPs.
	if r := exchange(t, addr, "udp", region1, query("cdn.test.", dns.TypeSOA)); r.Rcode != dns.RcodeSuccess {
		t.Errorf("SOA with every PoP down: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestFailoverNearestByLocation(t *testing.T) {
	edges := []*fakeEdge{newFakeEdge(t, "sin"), newFakeEdge(t, "iad"), newFakeEdge(t, "fra")}
	cfg := DefaultConfig()
	cfg.PoPs = DefaultPoPs(3, edges[0].url(), edges[1].url(), edges[2].url())
	cfg.PoPs[0].Name, cfg.PoPs[0].Location = "sin", &Location{Lat: 1.35, Lon: 103.8}
	cfg.PoPs[1].Name, cfg.PoPs[1].Location = "iad", &Location{Lat: 38.9, Lon: -77.4}
	cfg.PoPs[2].Name, cfg.PoPs[2].Location = "fra", &Location{Lat: 50.1, Lon: 8.7}
	// Clients in 127.9/16 are in Ireland: no PoP serves them by region.
	cfg.Locations = []Location{{Network: netip.MustParsePrefix("127.9.0.0/16"), Lat: 53.3, Lon: -6.3}}
	cfg.Health = fastHealth
	_, addr := startServer(t, cfg)

	waitForPoP(t, addr, region2, "iad")
	ireland := netip.MustParseAddr("127.9.0.1")
	if d := waitForPoP(t, addr, ireland, "fra"); d.Reason != ReasonNearest || d.Network != "127.9.0.0/16" {
		t.Errorf("Ireland: %+v; want nearest by 127.9.0.0/16", d)
	}

	// Virginia's PoP fails: Frankfurt is nearer to it than Singapore.
	edges[1].status.Store(http.StatusServiceUnavailable)
	if d := waitForPoP(t, addr, region2, "fra"); d.FailoverFrom != "iad" {
		t.Errorf("failover = %+v; want from iad", d)
	}
	// Frankfurt fails too: Ireland's clients go to the next nearest.
	edges[2].status.Store(http.StatusServiceUnavailable)
	if d := waitForPoP(t, addr, ireland, "sin"); d.FailoverFrom != "fra" {
		t.Errorf("Ireland failover = %+v; want from fra", d)
	}
}

func TestHealthThresholds(t *testing.T) {
	e := newFakeEdge(t, "pop1")
	cfg := DefaultConfig()
	cfg.PoPs = DefaultPoPs(2, e.url())
	// The only failed checks must be the edge's 503 answers: a check that
	// times out fails too, and a check's timeout is at most the interval.
	// 10 ms was too short on a loaded machine (a loopback request under
	// the race detector can take longer); 300 ms makes the test take
	// about 3 s.
	cfg.Health = HealthConfig{Interval: 300 * time.Millisecond, Timeout: 300 * time.Millisecond, Fall: 3, Rise: 4}
	s, _ := startServer(t, cfg)
	waitHits(t, e, 2)

	// Every failed check is a 503 answer: being marked down takes at
	// least Fall of them. (Counting requests since the switch would miss a
	// check in flight at the switch that read the new status.)
	e.status.Store(http.StatusServiceUnavailable)
	waitHealthy(t, s, "pop1", false)
	if n := e.down.Load(); n < 3 {
		t.Errorf("marked down after %d failing checks; want at least fall=3", n)
	}
	ok1 := e.ok.Load()
	e.status.Store(http.StatusOK)
	waitHealthy(t, s, "pop1", true)
	if n := e.ok.Load() - ok1; n < 4 {
		t.Errorf("marked up after %d passing checks; want at least rise=4", n)
	}
	if !s.Healthy("pop2") {
		t.Errorf("pop2 has no health URL: always healthy")
	}
	if s.Healthy("nope") {
		t.Errorf("Healthy(unknown PoP) = true")
	}
}

func waitHealthy(t *testing.T, s *Server, pop string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Healthy(pop) != want {
		if time.Now().After(deadline) {
			t.Fatalf("Healthy(%s) still %v", pop, !want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitHits(t *testing.T, e *fakeEdge, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.hits.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("health endpoint hit %d times; want %d", e.hits.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

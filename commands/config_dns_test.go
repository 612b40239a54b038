package commands

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/localedge/geodns"
	"github.com/cdnctl/cdnctl/localedge/resolver"
)

func TestDNSConfigFromFile(t *testing.T) {
	p := writeConfig(t, `dns:
  listen: 127.0.0.53:1053
  zone: cdn.shop.test.
  zones: [shop.test.]
  hosts:
    www.shop.test: www.cdn.shop.test
  records:
    - 'shop.test. 300 IN TXT "hello"'
  ttl: 20s
  default_pop: pop2
  locations:
    - {network: 10.0.0.0/8, lat: 53.3, lon: -6.3}
  health: {interval: 500ms, fall: 3}
  rate_limit: 100
  query_log: false
`)
	env := map[string]string{"CDNCTL_DNS_HEALTH_RISE": "5"}
	cfg, err := LoadConfig(p, true, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	gc, err := cfg.DNS.geoDNSConfig(geodns.DefaultPoPs(3), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if gc.Zone != "cdn.shop.test." || gc.Hosts["www.shop.test"] != "www.cdn.shop.test" || gc.TTL != 20*time.Second {
		t.Errorf("zone/hosts/ttl = %q %v %v", gc.Zone, gc.Hosts, gc.TTL)
	}
	if gc.Health.Interval != 500*time.Millisecond || gc.Health.Fall != 3 || gc.Health.Rise != 5 || gc.Health.Timeout != time.Second {
		t.Errorf("health = %+v; want interval 500ms, fall 3, rise 5 (env), timeout 1s (default)", gc.Health)
	}
	if gc.DefaultPoP != "pop2" || gc.RateLimit != 100 || gc.QueryLog != nil {
		t.Errorf("default %q, rate %d, query log %v", gc.DefaultPoP, gc.RateLimit, gc.QueryLog)
	}
	if len(gc.NSAddrs) != 1 || gc.NSAddrs[0] != netip.MustParseAddr("127.0.0.53") {
		t.Errorf("NS address %v; want the listening address", gc.NSAddrs)
	}
	if len(gc.Locations) != 1 || gc.Locations[0].Network != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("locations %+v", gc.Locations)
	}
	for yaml, want := range map[string]int{"": geodns.DefaultQueryLogRate, "  query_log_rate: 500\n": 500, "  query_log_rate: -1\n": -1} {
		cfg, err := LoadConfig(writeConfig(t, "dns:\n"+yaml), true, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		gc, err := cfg.DNS.geoDNSConfig(geodns.DefaultPoPs(3), slog.New(slog.DiscardHandler), nil)
		if err != nil || gc.QueryLog == nil || gc.QueryLogRate != want {
			t.Errorf("%q: query log rate %d (%v); want %d", yaml, gc.QueryLogRate, err, want)
		}
	}
	if got := localedge.ClientAddr("0.0.0.0:5353"); got != "127.0.0.1:5353" {
		t.Errorf("localedge.ClientAddr(0.0.0.0:5353) = %s; want 127.0.0.1:5353", got)
	}
}

func TestDNSConfigErrors(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{"dns:\n  listen: 5353\n", `dns.listen "5353"`},
		{"dns:\n  ttl: 500ms\n", "dns.ttl"},
		{"dns:\n  policy: random\n", `dns.policy "random"`},
		{"dns:\n  max_udp_size: 100\n", "dns.max_udp_size"},
		{"dns:\n  locations: [{network: 10/8}]\n", "dns.locations[0].network"},
		{"dns:\n  hosts: {www.other.test: x.cdn.test}\n", "config dns: dns: host www.other.test.: outside the zones"},
		{"dns:\n  records: ['x.example.test. A 300.1.1.1']\n", `config dns: dns: record "x.example.test. A 300.1.1.1"`},
		{"dns:\n  default_pop: pop9\n", `default PoP "pop9"`},
		{"dns:\n  query_log_rate: 0\n", "dns.query_log_rate 0: want lines per second (1 or more), or -1 to log every query"},
	}
	for _, tt := range tests {
		cfg, err := LoadConfig(writeConfig(t, tt.yaml), true, noEnv)
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		_, err = cfg.DNS.geoDNSConfig(geodns.DefaultPoPs(3), nil, nil)
		var usage *UsageError
		if err == nil || !strings.Contains(err.Error(), tt.want) || !asUsage(err, &usage) {
			t.Errorf("%q: error %v; want a usage error containing %q", tt.yaml, err, tt.want)
		}
	}
}

func asUsage(err error, target **UsageError) bool {
	u, ok := err.(*UsageError)
	*target = u
	return ok
}

// startTopologyWithDNS runs the default local topology on free ports over
// edgetest's origin, with the GeoDNS of dns attached, until the test ends.
func startTopologyWithDNS(t *testing.T, dns DNSConfig) (*localedge.Topology, *geodns.Server) {
	t.Helper()
	cfg := localedge.DefaultTopologyConfig(true)
	cfg.Origin.Handler = edgetest.Origin()
	cfg.Token = "test-token"
	top, err := localedge.NewTopology(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := top.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	s, err := dns.startGeoDNS(top, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- top.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("topology: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("topology did not stop")
		}
	})
	return top, s
}

// TestGeoDNSWithTopology resolves the customer hostname from two regions,
// gets two PoPs, fetches through each, and follows a PoP marked down
// through the admin API.
func TestGeoDNSWithTopology(t *testing.T) {
	dnsCfg := defaultDNSConfig()
	dnsCfg.Health.Interval = 50 * time.Millisecond
	top, _ := startTopologyWithDNS(t, dnsCfg)
	info := top.Info()
	if info.DNS == nil || info.DNS.Zone != "cdn.test." || !strings.HasPrefix(info.DNS.Addr, "127.0.0.1:") {
		t.Fatalf("topology info dns = %+v; want the server's address and zone", info.DNS)
	}
	ports := map[netip.Addr]string{}
	popOf := map[netip.Addr]string{}
	for _, p := range info.PoPs {
		ap := netip.MustParseAddrPort(p.Addr)
		ports[ap.Addr()] = strconv.Itoa(int(ap.Port()))
		popOf[ap.Addr()] = p.Name
	}

	ctx := context.Background()
	fetch := func(from string) (pop string, served string) {
		t.Helper()
		r := &resolver.Resolver{Server: info.DNS.Addr, LocalAddr: netip.MustParseAddr(from), Ports: ports}
		addrs, err := r.LookupAddrs(ctx, "www.example.test")
		if err != nil || len(addrs) != 1 {
			t.Fatalf("from %s: %v %v", from, addrs, err)
		}
		client := &http.Client{Transport: r.Transport(), Timeout: 10 * time.Second}
		resp, err := client.Get("http://www.example.test/index.html")
		if err != nil {
			t.Fatalf("from %s: GET: %v", from, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("from %s: status %d", from, resp.StatusCode)
		}
		return popOf[addrs[0]], resp.Header.Get("X-Served-By")
	}
	for _, tt := range []struct{ from, want string }{{"127.1.0.1", "pop1"}, {"127.2.0.1", "pop2"}} {
		pop, served := fetch(tt.from)
		if pop != tt.want || !strings.HasSuffix(served, tt.want) {
			t.Errorf("from %s: DNS chose %s, served by %q; want %s", tt.from, pop, served, tt.want)
		}
	}

	// pop2 is marked down through the admin API: its health endpoint
	// answers 503, and the GeoDNS sends its region elsewhere.
	req, _ := http.NewRequest(http.MethodPost, info.Admin.URL+"/api/v1/pops/pop2/down", nil)
	req.Header.Set("Authorization", "Bearer "+top.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := (&resolver.Resolver{Server: info.DNS.Addr, LocalAddr: netip.MustParseAddr("127.2.0.1")}).Lookup(ctx, "www.example.test", 1)
		if err != nil {
			t.Fatal(err)
		}
		if a.PoP != nil && a.PoP.PoP != "pop2" {
			if a.PoP.FailoverFrom != "pop2" {
				t.Errorf("failover answer %+v; want failover_from pop2", a.PoP)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("region 2 still answered with pop2 after it was marked down")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The DNS metrics are on the topology's admin /metrics.
	req, _ = http.NewRequest(http.MethodGet, info.Admin.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+top.Token())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`cdnctl_dns_queries_total{proto="udp",rcode="NOERROR"}`, `cdnctl_dns_pop_healthy{pop="pop2"} 0`, `cdnctl_dns_answers_total{pop="pop2",reason="region"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestGeoDNSTopologyErrors(t *testing.T) {
	c := defaultDNSConfig()
	c.Weights = map[string]int{"pop9": 2}
	if _, err := c.topologyPoPs(localedge.TopologyInfo{PoPs: []localedge.PoPInfo{{Name: "pop1", Role: localedge.RoleEdge, Addr: "127.0.1.1:1", URL: "http://127.0.1.1:1"}}}); err == nil || !strings.Contains(err.Error(), `dns.weights: "pop9"`) {
		t.Errorf("unknown PoP in weights: %v", err)
	}
	c = defaultDNSConfig()
	pops, err := c.topologyPoPs(localedge.TopologyInfo{PoPs: []localedge.PoPInfo{
		{Name: "pop1", Role: localedge.RoleEdge, Addr: "127.0.1.1:8081", URL: "http://127.0.1.1:8081", Regions: []string{"127.1.0.0/16"}, Location: &localedge.Location{Lat: 1, Lon: 2}},
		{Name: "shield", Role: localedge.RoleShield, Addr: "127.0.0.1:8090", URL: "http://127.0.0.1:8090"},
	}})
	if err != nil || len(pops) != 1 || pops[0].HealthURL != "http://127.0.1.1:8081/.cdnctl/health" || pops[0].Location == nil || pops[0].Regions[0].String() != "127.1.0.0/16" {
		t.Errorf("topologyPoPs = %+v, %v; want pop1 only (the shield is no PoP for clients), with its health URL, region and location", pops, err)
	}
}

// TestServeDNSPortTaken: a taken DNS port is a clear error, and the
// topology bound before it is released.
func TestServeDNSPortTaken(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	taken := pc.LocalAddr().String()
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := admin.Addr().String()
	admin.Close()
	code, _, errOut := runCLI(t, nil, "serve", "--upstream", "http://127.0.0.1:1", "--dns", taken, "--admin", adminAddr,
		"--edge", "pop1=127.0.1.1:0", "--edge", "pop2=127.0.2.1:0", "--edge", "pop3=127.0.3.1:0", "--shield-addr", "127.0.0.1:0")
	if code != ExitFailure || !strings.Contains(errOut, "dns: cannot listen on "+taken+": the address is already in use") {
		t.Fatalf("taken DNS port: exit %d, stderr %q", code, errOut)
	}
	// The admin address is free again.
	ln, err := net.Listen("tcp", adminAddr)
	if err != nil {
		t.Fatalf("admin address still bound after the failed start: %v", err)
	}
	ln.Close()

	code, _, errOut = runCLI(t, nil, "serve", "--dns", "5353")
	if code != ExitUsage || !strings.Contains(errOut, `dns.listen "5353"`) {
		t.Errorf("--dns 5353: exit %d, stderr %q; want a usage error", code, errOut)
	}
}

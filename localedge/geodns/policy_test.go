package geodns

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

func TestTrieLongestPrefixAndScope(t *testing.T) {
	var tr prefixTrie[string]
	for _, p := range []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "2001:db8::/32", "2001:db8:ff00::/40"} {
		tr.insert(netip.MustParsePrefix(p), p)
	}
	tests := []struct {
		addr      string
		bits      int
		wantPath  string // most specific first
		wantScope int
	}{
		{"10.1.2.3", -1, "10.1.2.0/24 10.1.0.0/16 10.0.0.0/8 0.0.0.0/0", 24},
		{"10.1.3.3", -1, "10.1.0.0/16 10.0.0.0/8 0.0.0.0/0", 24},
		{"10.1.128.0", -1, "10.1.0.0/16 10.0.0.0/8 0.0.0.0/0", 17},
		{"10.1.2.0", 20, "10.1.0.0/16 10.0.0.0/8 0.0.0.0/0", 20},
		{"10.9.0.0", -1, "10.0.0.0/8 0.0.0.0/0", 13},
		{"192.0.2.1", -1, "0.0.0.0/0", 1},
		{"::ffff:10.1.2.9", -1, "10.1.2.0/24 10.1.0.0/16 10.0.0.0/8 0.0.0.0/0", 24},
		{"2001:db8:ff01::1", -1, "2001:db8:ff00::/40 2001:db8::/32", 40},
		{"2001:db8:1::1", -1, "2001:db8::/32", 33},
		{"2001:db9::1", -1, "", 32},
	}
	for _, tt := range tests {
		m := tr.lookup(netip.MustParseAddr(tt.addr), tt.bits, nil)
		var got []string
		for _, h := range m.path {
			if h.prefix.String() != h.val {
				t.Errorf("lookup(%s): hit prefix %s carries value %s", tt.addr, h.prefix, h.val)
			}
			got = append(got, h.val)
		}
		if strings.Join(got, " ") != tt.wantPath || m.scope != tt.wantScope {
			t.Errorf("lookup(%s/%d) = %q scope %d; want %q scope %d", tt.addr, tt.bits, strings.Join(got, " "), m.scope, tt.wantPath, tt.wantScope)
		}
	}
}

func TestWeightedSpread(t *testing.T) {
	pops := DefaultPoPs(3)
	shared := netip.MustParsePrefix("10.0.0.0/8")
	for i := range pops {
		pops[i].Regions = []netip.Prefix{shared}
	}
	pops[0].Weight = 2 // pop1 gets half, the others a quarter each
	r := newRouter(pops, 0, nil, PolicyWeighted, nil)
	counts := map[int]int{}
	const n = 4000
	for i := range n {
		client := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 7}), 32)
		d := r.route(client, "source")
		counts[d.pop]++
		// Consistent: the same /24 always gets the same PoP.
		again := r.route(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 200}), 32), "source")
		if again.pop != d.pop {
			t.Fatalf("10.%d.%d.0/24 split between PoPs %d and %d", byte(i>>8), byte(i), d.pop, again.pop)
		}
		if d.scope < 24 {
			t.Fatalf("scope %d for a hashed choice; want at least 24", d.scope)
		}
	}
	if c := counts[0]; c < n*40/100 || c > n*60/100 {
		t.Errorf("weight 2 of 4: pop1 got %d of %d; want about half", c, n)
	}
	for _, i := range []int{1, 2} {
		if c := counts[i]; c < n*15/100 || c > n*35/100 {
			t.Errorf("weight 1 of 4: pop%d got %d of %d; want about a quarter", i+1, c, n)
		}
	}
	// A PoP going down moves only its own clients.
	before := make([]int, 256)
	for i := range before {
		before[i] = r.route(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 1}), 32), "source").pop
	}
	r.healthy[2].Store(false)
	for i := range before {
		after := r.route(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 1}), 32), "source").pop
		if after == 2 || (before[i] != 2 && after != before[i]) {
			t.Fatalf("10.0.%d.0/24: PoP %d → %d when pop3 went down", i, before[i], after)
		}
	}
}

func TestLeastLoaded(t *testing.T) {
	pops := DefaultPoPs(3)
	shared := netip.MustParsePrefix("10.0.0.0/8")
	for i := range pops {
		pops[i].Regions = []netip.Prefix{shared}
	}
	load := map[string]float64{"pop1": 30, "pop2": 5, "pop3": 10}
	r := newRouter(pops, 0, nil, PolicyLeastLoaded, func(p string) (float64, bool) { l, ok := load[p]; return l, ok })
	client := netip.MustParsePrefix("10.1.2.3/32")
	if d := r.route(client, "source"); d.pop != 1 {
		t.Errorf("least loaded = pop%d; want pop2", d.pop+1)
	}
	r.healthy[1].Store(false)
	if d := r.route(client, "source"); d.pop != 2 {
		t.Errorf("least loaded with pop2 down = pop%d; want pop3", d.pop+1)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no PoPs", func(c *Config) { c.PoPs = nil }, "no PoPs"},
		{"duplicate PoP", func(c *Config) { c.PoPs[1].Name = "pop1" }, "listed twice"},
		{"PoP without address", func(c *Config) { c.PoPs[0].Addrs = nil }, "no address"},
		{"unknown default PoP", func(c *Config) { c.DefaultPoP = "pop9" }, `default PoP "pop9"`},
		{"bad location", func(c *Config) { c.PoPs[0].Location = &Location{Lat: 91} }, "location"},
		{"bad zone", func(c *Config) { c.Zone = "bad..zone" }, "zone"},
		{"duplicate zone", func(c *Config) { c.Zones = append(c.Zones, "CDN.test") }, "listed twice"},
		{"host outside zones", func(c *Config) { c.Hosts["www.other.test"] = "x.cdn.test" }, "outside the zones"},
		{"host at apex", func(c *Config) { c.Hosts["example.test"] = "x.cdn.test" }, "apex"},
		{"record outside zones", func(c *Config) { c.Records = []string{"a.other.test. A 127.0.0.1"} }, "outside the zones"},
		{"record syntax", func(c *Config) { c.Records = []string{"a.example.test. A not-an-ip"} }, `record "a.example.test. A not-an-ip"`},
		{"SOA record", func(c *Config) { c.Records = []string{"example.test. SOA a. b. 1 2 3 4 5"} }, "generated"},
		{"CNAME and data", func(c *Config) { c.Records = []string{"www.example.test. TXT \"x\""} }, "CNAME cannot coexist"},
		{"static A on a CDN name", func(c *Config) { c.Records = []string{"www.example.cdn.test. A 127.0.0.9"} }, "CDN name cannot also"},
		{"CNAME loop", func(c *Config) {
			c.Records = []string{"a.example.test. CNAME b.example.test.", "b.example.test. CNAME a.example.test."}
		}, "CNAME loop"},
		{"CDN name outside the CDN zone", func(c *Config) { c.CDNNames = []string{"x.example.test"} }, "inside the CDN zone"},
		{"bad policy", func(c *Config) { c.Policy = "random" }, "policy"},
		{"UDP size", func(c *Config) { c.MaxUDPSize = 100 }, "UDP size"},
		{"location without network", func(c *Config) { c.Locations = []Location{{Lat: 1, Lon: 1}} }, "location 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestQueryLogAndMetrics(t *testing.T) {
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.QueryLog = slog.New(slog.NewTextHandler(&logs, nil))
	cfg.Registerer = reg
	_, addr := startServer(t, cfg)

	exchange(t, addr, "udp", region2, query("www.example.test.", dns.TypeA))
	exchange(t, addr, "tcp", region1, withECS(query("www.example.test.", dns.TypeA), netip.MustParsePrefix("127.3.4.0/24")))
	exchange(t, addr, "udp", region1, query("nope.cdn.test.", dns.TypeA))
	exchange(t, addr, "udp", region1, query("example.com.", dns.TypeA))

	eventually(t, "4 query log lines", func() bool { return strings.Count(logs.String(), "\n") >= 4 })
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("query log has %d lines; want 4:\n%s", len(lines), logs.String())
	}
	// A query is logged after its response is sent, so the lines of
	// queries on different transports may come in either order: each
	// query must have a line of its own with everything it should say.
	used := make([]bool, len(lines))
	for _, want := range [][]string{
		{"client=127.2.0.1:", "proto=udp", "name=www.example.test.", "type=A", "rcode=NOERROR", "pop=pop2", `reason="source 127.2.0.1/32 in region 127.2.0.0/16"`, "127.0.2.1"},
		{"client=127.1.0.1:", "proto=tcp", "ecs=127.3.4.0/24/0", "pop=pop3", "ecs 127.3.4.0/24 in region 127.3.0.0/16"},
		{"proto=udp", "name=nope.cdn.test.", "rcode=NXDOMAIN"},
		{"proto=udp", "name=example.com.", "rcode=REFUSED"},
	} {
		found := false
		for i, line := range lines {
			if used[i] {
				continue
			}
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("no query log line has all of %q:\n%s", want, logs.String())
		}
	}

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"cdnctl_dns_queries_total", map[string]string{"proto": "udp", "rcode": "NOERROR"}, 1},
		{"cdnctl_dns_queries_total", map[string]string{"proto": "tcp", "rcode": "NOERROR"}, 1},
		{"cdnctl_dns_queries_total", map[string]string{"proto": "udp", "rcode": "NXDOMAIN"}, 1},
		{"cdnctl_dns_queries_total", map[string]string{"proto": "udp", "rcode": "REFUSED"}, 1},
		{"cdnctl_dns_answers_total", map[string]string{"pop": "pop2", "reason": "region"}, 1},
		{"cdnctl_dns_answers_total", map[string]string{"pop": "pop3", "reason": "region"}, 1},
		{"cdnctl_dns_answers_total", map[string]string{"pop": "pop1", "reason": "region"}, 0},
		{"cdnctl_dns_pop_healthy", map[string]string{"pop": "pop1"}, 1},
	} {
		if got := metricValue(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v; want %v", c.name, c.labels, got, c.want)
		}
	}

	// The registry is the caller's: a second server on it is an error,
	// not a panic.
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("second registration: %v; want a metrics error", err)
	}
}

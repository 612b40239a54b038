package commands

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/geodns"
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
	if got := clientAddr("0.0.0.0:5353"); got != "127.0.0.1:5353" {
		t.Errorf("clientAddr(0.0.0.0:5353) = %s; want 127.0.0.1:5353", got)
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

package resolver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/cdnctl/cdnctl/localedge/geodns"
	"github.com/cdnctl/cdnctl/localedge/geodns/geodnstest"
)

func startDNS(t *testing.T, cfg geodns.Config) string {
	t.Helper()
	_, addr := geodnstest.Start(t, cfg)
	return addr
}

func TestLookupByRegion(t *testing.T) {
	addr := startDNS(t, geodns.DefaultConfig())
	ctx := context.Background()
	tests := []struct {
		name    string
		r       *Resolver
		wantIP  string
		wantPoP string
		scope   int
	}{
		{"source 127.1", &Resolver{Server: addr, LocalAddr: netip.MustParseAddr("127.1.0.9")}, "127.0.1.1", "pop1", -1},
		{"source 127.2", &Resolver{Server: addr, LocalAddr: netip.MustParseAddr("127.2.0.9")}, "127.0.2.1", "pop2", -1},
		{"ECS 127.3", &Resolver{Server: addr, Subnet: netip.MustParsePrefix("127.3.1.0/24")}, "127.0.3.1", "pop3", 16},
		{"ECS wins over source", &Resolver{Server: addr, LocalAddr: netip.MustParseAddr("127.1.0.9"), Subnet: netip.MustParsePrefix("127.2.0.0/24")}, "127.0.2.1", "pop2", 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.r.Lookup(ctx, "www.example.test", dns.TypeA)
			if err != nil {
				t.Fatal(err)
			}
			if a.Rcode != dns.RcodeSuccess || len(a.Records) != 2 {
				t.Fatalf("rcode %s records %v; want a CNAME and an A", dns.RcodeToString[a.Rcode], a.Records)
			}
			if _, ok := a.Records[0].(*dns.CNAME); !ok {
				t.Errorf("first record %v; want the CNAME", a.Records[0])
			}
			if len(a.Addrs) != 1 || a.Addrs[0].String() != tt.wantIP {
				t.Errorf("addrs %v; want %s", a.Addrs, tt.wantIP)
			}
			if a.PoP == nil || a.PoP.PoP != tt.wantPoP {
				t.Errorf("PoP %+v; want %s", a.PoP, tt.wantPoP)
			}
			if a.Scope != tt.scope {
				t.Errorf("scope %d; want %d", a.Scope, tt.scope)
			}
			if a.TTL() != 30*time.Second {
				t.Errorf("TTL %v; want 30s", a.TTL())
			}
			addrs, err := tt.r.LookupAddrs(ctx, "www.example.test")
			if err != nil || len(addrs) != 1 || addrs[0].String() != tt.wantIP {
				t.Errorf("LookupAddrs = %v, %v; want [%s]", addrs, err, tt.wantIP)
			}
		})
	}

	r := &Resolver{Server: addr}
	if _, err := r.LookupAddrs(ctx, "nope.cdn.test"); err == nil || !strings.Contains(err.Error(), "NXDOMAIN") {
		t.Errorf("LookupAddrs(nope) = %v; want an NXDOMAIN error", err)
	}
	if _, err := r.LookupAddrs(ctx, "example.com"); err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Errorf("LookupAddrs(example.com) = %v; want a REFUSED error", err)
	}
	if _, err := (&Resolver{Server: "127.0.0.1:1", Timeout: 200 * time.Millisecond}).Lookup(ctx, "www.example.test", dns.TypeA); err == nil {
		t.Errorf("Lookup at a closed port: no error")
	}
}

func TestTruncatedRetriesOverTCP(t *testing.T) {
	cfg := geodns.DefaultConfig()
	for i := range 20 {
		cfg.Records = append(cfg.Records, fmt.Sprintf("big.example.test. IN TXT \"%02d%s\"", i, strings.Repeat("y", 150)))
	}
	addr := startDNS(t, cfg)
	a, err := (&Resolver{Server: addr}).Lookup(context.Background(), "big.example.test", dns.TypeTXT)
	if err != nil {
		t.Fatal(err)
	}
	if !a.TCP || len(a.Records) != 20 {
		t.Errorf("TCP %v, %d records; want all 20 over TCP", a.TCP, len(a.Records))
	}
}

// listenSamePort starts one HTTP server per address, all on one port (as
// PoPs answering the same URL).
func listenSamePort(t *testing.T, addrs ...string) (port int) {
	t.Helper()
	for range 20 {
		var ls []net.Listener
		l, err := net.Listen("tcp", addrs[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		port = l.Addr().(*net.TCPAddr).Port
		ok := true
		for _, a := range addrs[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		if !ok {
			for _, l := range ls {
				l.Close()
			}
			continue
		}
		for i, l := range ls {
			name := fmt.Sprintf("pop%d", i+1)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Served-By", name)
				fmt.Fprintf(w, "host=%s", r.Host)
			})}
			go srv.Serve(l)
			t.Cleanup(func() { srv.Close() })
		}
		return port
	}
	t.Fatalf("no common free port on %v", addrs)
	return 0
}

func TestTransportConnectsToChosenPoP(t *testing.T) {
	addr := startDNS(t, geodns.DefaultConfig())
	port := listenSamePort(t, "127.0.1.1", "127.0.2.1", "127.0.3.1")
	url := fmt.Sprintf("http://www.example.test:%d/index.html", port)
	for _, tt := range []struct {
		r    *Resolver
		want string
	}{
		{&Resolver{Server: addr, LocalAddr: netip.MustParseAddr("127.1.0.1")}, "pop1"},
		{&Resolver{Server: addr, Subnet: netip.MustParsePrefix("127.2.0.0/16")}, "pop2"},
		{&Resolver{Server: addr, Subnet: netip.MustParsePrefix("127.3.0.0/24")}, "pop3"},
	} {
		client := &http.Client{Transport: tt.r.Transport(), Timeout: 5 * time.Second}
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Served-By"); got != tt.want {
			t.Errorf("served by %q; want %s", got, tt.want)
		}
		if want := fmt.Sprintf("host=www.example.test:%d", port); string(body) != want {
			t.Errorf("body %q; want %q (the Host header is the URL's)", body, want)
		}
	}
	// An unknown host fails with the DNS error.
	client := &http.Client{Transport: (&Resolver{Server: addr}).Transport(), Timeout: 5 * time.Second}
	if _, err := client.Get(fmt.Sprintf("http://nope.example.test:%d/", port)); err == nil || !strings.Contains(err.Error(), "NXDOMAIN") {
		t.Errorf("GET unknown host: %v; want NXDOMAIN", err)
	}
}

func TestNetResolver(t *testing.T) {
	addr := startDNS(t, geodns.DefaultConfig())
	r := (&Resolver{Server: addr, LocalAddr: netip.MustParseAddr("127.3.0.7")}).NetResolver()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := r.LookupHost(ctx, "www.example.test.")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"127.0.3.1"}) {
		t.Errorf("LookupHost = %v; want [127.0.3.1]", got)
	}
}

func TestTransportPortsPerPoP(t *testing.T) {
	addr := startDNS(t, geodns.DefaultConfig())
	// Each PoP on a port of its own, as in the local topology.
	ports := map[netip.Addr]string{}
	for i := 1; i <= 3; i++ {
		ip := netip.AddrFrom4([4]byte{127, 0, byte(i), 1})
		p := listenSamePort(t, ip.String())
		ports[ip] = strconv.Itoa(p)
	}
	for _, tt := range []struct {
		from string
		want string
	}{{"127.1.0.1", "127.0.1.1"}, {"127.3.0.1", "127.0.3.1"}} {
		r := &Resolver{Server: addr, LocalAddr: netip.MustParseAddr(tt.from), Ports: ports}
		client := &http.Client{Transport: r.Transport(), Timeout: 5 * time.Second}
		// The URL's port is not any PoP's: the map decides.
		resp, err := client.Get("http://www.example.test:1/")
		if err != nil {
			t.Fatalf("from %s: %v", tt.from, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("from %s: status %d", tt.from, resp.StatusCode)
		}
		conn, err := r.DialContext(context.Background(), "tcp", "www.example.test:1")
		if err != nil {
			t.Fatal(err)
		}
		if got := conn.RemoteAddr().(*net.TCPAddr).AddrPort(); got.Addr().String() != tt.want || strconv.Itoa(int(got.Port())) != ports[got.Addr()] {
			t.Errorf("from %s: dialled %v; want %s on its own port %s", tt.from, got, tt.want, ports[netip.MustParseAddr(tt.want)])
		}
		conn.Close()
	}
}

package probe_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/localedge/geodns"
	"github.com/cdnctl/cdnctl/localedge/geodns/geodnstest"
	"github.com/cdnctl/cdnctl/providers/probe"
)

// startLocal runs a topology and a GeoDNS server whose PoPs are its edges,
// health-checked quickly.
func startLocal(t *testing.T) (*edgetest.Env, string) {
	t.Helper()
	env := edgetest.Start(t, nil)
	cfg := geodns.DefaultConfig()
	for i := range cfg.PoPs {
		cfg.PoPs[i].HealthURL = env.PoP(t, cfg.PoPs[i].Name).URL + "/.cdnctl/health"
	}
	cfg.Health = geodns.HealthConfig{Interval: 50 * time.Millisecond, Timeout: 2 * time.Second, Fall: 3, Rise: 1} // not flapping on a loaded machine
	_, addr := geodnstest.Start(t, cfg)
	return env, addr
}

const url = "http://" + edgetest.Host + "/assets/app.css"

func TestProbeLocalTopologyThroughGeoDNS(t *testing.T) {
	env, dnsAddr := startLocal(t)
	local, err := probe.LocalTargets(env.Info, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(local.Targets) != 3 || local.Targets[1].Region != netip.MustParsePrefix("127.2.0.0/16") || local.Targets[1].Addr != "" {
		t.Fatalf("targets = %+v; want the 3 edges, by region", local.Targets)
	}
	p := &probe.Prober{Resolver: dnsAddr, Locate: local.Locate}
	ctx := t.Context()

	rep, err := p.Probe(ctx, url, local.Targets)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		result probe.Outcome
		cached bool
	}{{probe.Miss, false}, {probe.Miss, true}, {probe.Miss, true}}
	for i, r := range rep.Results {
		name := local.Targets[i].Name
		if r.Error != "" {
			t.Fatalf("%s: %s", name, r.Error)
		}
		if r.PoP != name || r.DNS == nil || r.DNS.PoP != name || r.DNS.Addrs[0] != strings.Split(env.PoP(t, name).Addr, ":")[0] {
			t.Errorf("%s: reached %s via DNS %+v; want its own PoP", name, r.PoP, r.DNS)
		}
		if r.Addr != env.PoP(t, name).Addr {
			t.Errorf("%s: connected to %s; want %s", name, r.Addr, env.PoP(t, name).Addr)
		}
		if r.Status != 200 || r.CacheControl != "public, max-age=31536000, immutable" || r.ETag == "" || r.ContentType != "text/css" {
			t.Errorf("%s: %d %q %q %q", name, r.Status, r.CacheControl, r.ETag, r.ContentType)
		}
		// The first PoP fills the shield; the next ones miss at the edge
		// and hit the shield.
		if r.Verdict.Result != want[i].result || r.Verdict.Cached != want[i].cached {
			t.Errorf("%s: verdict %s (cached %v); want %s (cached %v)", name, r.Verdict.Summary, r.Verdict.Cached, want[i].result, want[i].cached)
		}
		if r.Headers["X-Served-By"] != "shield, "+name {
			t.Errorf("%s: X-Served-By %q", name, r.Headers["X-Served-By"])
		}
		if r.Timing.TotalMs <= 0 || r.Timing.FirstByteMs <= 0 || r.Timing.FirstByteMs > r.Timing.TotalMs {
			t.Errorf("%s: timing %+v", name, r.Timing)
		}
		if len(r.SHA256) != 64 || r.Size == 0 {
			t.Errorf("%s: body %d bytes, sha256 %q", name, r.Size, r.SHA256)
		}
	}
	if !rep.SameContent || rep.Cached != 2 {
		t.Errorf("report: same content %v, cached %d; want true, 2", rep.SameContent, rep.Cached)
	}

	// Again: every edge has it now.
	rep, err = p.Probe(ctx, url, local.Targets)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		// The stored response keeps the shield's entry from when it was
		// fetched; the edge's own entry comes last.
		last := r.Verdict.Layers[len(r.Verdict.Layers)-1]
		if r.Verdict.Result != probe.Hit || r.Age == nil || last.Cache != r.Target || last.TTL == nil || *last.TTL <= 0 {
			t.Errorf("%s: second probe %s, Age %v; want a hit with a ttl and an Age", r.Target, r.Verdict.Summary, r.Age)
		}
	}

	// pop2 goes down: its clients are sent elsewhere, and the probe says so.
	admin := &adminclient.Client{BaseURL: env.AdminURL, Token: env.Token}
	if _, err := admin.SetPoPHealth(ctx, "pop2", false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep, err = p.Probe(ctx, url, local.Targets[1:2])
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.PoP != "pop2" {
			if r.Note == "" || !strings.Contains(r.Note, "pop2") || r.Error != "" {
				t.Errorf("failover result = %+v; want a note naming pop2", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GeoDNS still sends pop2's clients to pop2 after it went down")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestProbeEdgesByAddress(t *testing.T) {
	env := edgetest.Start(t, nil)
	pop1 := env.PoP(t, "pop1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	host, port, _ := net.SplitHostPort(pop1.Addr)

	p := &probe.Prober{Method: http.MethodHead, Header: http.Header{"Accept-Encoding": {"identity"}}}
	rep, err := p.Probe(t.Context(), "http://"+edgetest.Host+":"+port+"/index.html", []probe.Target{
		{Name: "by-host-port", Addr: pop1.Addr},
		{Name: "by-ip", Addr: host}, // takes the URL's port
		{Name: "dead", Addr: dead},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := rep.Results[0], rep.Results[1], rep.Results[2]
	if a.Error != "" || a.Status != 200 || a.Verdict.Result != probe.Miss || a.SHA256 != "" || a.PoP != "pop1" {
		t.Errorf("HEAD by host:port = %+v", a)
	}
	if b.Error != "" || b.Addr != pop1.Addr || b.Verdict.Result != probe.Hit {
		t.Errorf("by IP = %+v; want a hit at %s", b, pop1.Addr)
	}
	if !strings.Contains(c.Error, "connection refused") || !strings.Contains(c.Error, dead) {
		t.Errorf("dead edge error = %q", c.Error)
	}
	if rep.SameContent {
		t.Errorf("HEAD probes claim the same content")
	}

	for _, bad := range []struct {
		url     string
		targets []probe.Target
	}{
		{"ftp://x/", []probe.Target{{Name: "a", Addr: pop1.Addr}}},
		{"http://x/", nil},
		{"http://x/", []probe.Target{{Name: "r", Region: netip.MustParsePrefix("127.2.0.0/16")}}},
	} {
		if _, err := (&probe.Prober{}).Probe(t.Context(), bad.url, bad.targets); err == nil {
			t.Errorf("Probe(%q, %v) = nil error", bad.url, bad.targets)
		}
	}
	if _, err := probe.LocalTargets(env.Info, []string{"pop9"}, false); err == nil || !strings.Contains(err.Error(), "pop1, pop2, pop3, shield") {
		t.Errorf("LocalTargets(pop9) = %v; want an error listing the PoPs", err)
	}
	local, err := probe.LocalTargets(env.Info, []string{"shield", "pop3"}, true)
	if err != nil || len(local.Targets) != 2 || local.Targets[0].Name != "pop3" || local.Targets[1].Addr != env.PoP(t, "shield").Addr {
		t.Errorf("LocalTargets(shield, pop3) = %+v, %v", local, err)
	}
}

// A real CDN's edge over TLS, reached by address with the site's name for
// SNI and Host, answering like Cloudflare.
func TestProbeTLSEdge(t *testing.T) {
	var sawHost, sawSNI string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawHost, sawSNI = r.Host, r.TLS.ServerName
		w.Header().Set("CF-Cache-Status", "HIT")
		w.Header().Set("CF-Ray", "8a1b2c3d4e5f6789-FRA")
		w.Header().Set("Age", "120")
		w.Header().Set("Cache-Control", "public, max-age=14400")
		w.Header().Set("Server-Timing", "cfRequestDuration;dur=12.5, cdn-cache;desc=HIT")
		w.Write([]byte("hello from the edge"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	p := &probe.Prober{Insecure: true}
	rep, err := p.Probe(t.Context(), "https://www.example.com/app.css", []probe.Target{{Name: "fra", Addr: addr}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	if sawHost != "www.example.com" || sawSNI != "www.example.com" {
		t.Errorf("edge saw Host %q, SNI %q; want www.example.com for both", sawHost, sawSNI)
	}
	if r.Proto != "HTTP/2.0" || r.Timing.TLSMs <= 0 || r.Timing.ConnectMs <= 0 {
		t.Errorf("proto %s, timing %+v; want HTTP/2 with connect and TLS times", r.Proto, r.Timing)
	}
	if r.Verdict.Result != probe.Hit || r.Verdict.CDN != "cloudflare" || r.Verdict.Layers[0].Cache != "cloudflare FRA" || *r.Age != 120 {
		t.Errorf("verdict %+v, age %v", r.Verdict, r.Age)
	}
	if len(r.ServerTiming) != 2 || r.ServerTiming[1].Desc != "HIT" {
		t.Errorf("server timing = %+v", r.ServerTiming)
	}
	if sum := sha256.Sum256([]byte("hello from the edge")); r.SHA256 != hex.EncodeToString(sum[:]) || r.Size != 19 {
		t.Errorf("body: %d bytes, sha256 %q", r.Size, r.SHA256)
	}

	// Without -k the self-signed certificate is refused, and said so.
	rep, err = (&probe.Prober{}).Probe(t.Context(), "https://www.example.com/", []probe.Target{{Name: "fra", Addr: addr}})
	if err != nil || !strings.Contains(rep.Results[0].Error, "certificate") {
		t.Errorf("untrusted certificate: %+v, %v", rep.Results[0].Error, err)
	}
}

package prewarm_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/hashing"
	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/localedge/geodns"
	"github.com/cdnctl/cdnctl/localedge/geodns/geodnstest"
	"github.com/cdnctl/cdnctl/providers/prewarm"
)

// startLocal runs a topology and a GeoDNS server whose PoPs are its edges
// (health-checked quickly), and returns the topology's description with
// the DNS server in it.
func startLocal(t *testing.T) (*edgetest.Env, localedge.TopologyInfo) {
	t.Helper()
	env := edgetest.Start(t, nil)
	cfg := geodns.DefaultConfig()
	for i := range cfg.PoPs {
		cfg.PoPs[i].HealthURL = env.PoP(t, cfg.PoPs[i].Name).URL + localedge.HealthPath
	}
	// A PoP counts as down after 3 failed checks in a row, each given
	// 2 s: on a loaded machine a single slow check must not turn the
	// GeoDNS's answers into SERVFAIL (every PoP down).
	cfg.Health = geodns.HealthConfig{Interval: 50 * time.Millisecond, Timeout: 2 * time.Second, Fall: 3, Rise: 1}
	_, addr := geodnstest.Start(t, cfg)
	info := env.Info
	info.DNS = &localedge.DNSInfo{Addr: addr, Zone: "cdn.test."}
	return env, info
}

func TestLocalEdgesThroughGeoDNS(t *testing.T) {
	env, info := startLocal(t)
	edges, err := prewarm.LocalEdges(t.Context(), info, edgetest.Host)
	if err != nil {
		t.Fatal(err)
	}
	if len(edges) != 3 {
		t.Fatalf("edges = %+v; want the 3 edge PoPs", edges)
	}
	for i, e := range edges {
		name := []string{"pop1", "pop2", "pop3"}[i]
		if e.Name != name || e.Addr != env.PoP(t, name).Addr || e.Via != "dns" || e.Region == "" {
			t.Errorf("edge %d = %+v; want %s at %s found through DNS", i, e, name, env.PoP(t, name).Addr)
		}
	}

	// Without a DNS server: the PoPs' own addresses.
	info.DNS = nil
	edges, err = prewarm.LocalEdges(t.Context(), info, edgetest.Host)
	if err != nil || len(edges) != 3 || edges[0].Via != "topology" || edges[0].Addr != env.PoP(t, "pop1").Addr {
		t.Errorf("edges without DNS = %+v, %v; want the topology's addresses", edges, err)
	}
}

func TestFailoverSendsARegionElsewhere(t *testing.T) {
	env, info := startLocal(t)
	admin := &adminclient.Client{BaseURL: env.AdminURL, Token: env.Token}
	if _, err := admin.SetPoPHealth(t.Context(), "pop2", false); err != nil {
		t.Fatal(err)
	}
	// Poll until the GeoDNS has seen pop2 fail its health check.
	deadline := time.Now().Add(10 * time.Second)
	for {
		edges, err := prewarm.LocalEdges(t.Context(), info, edgetest.Host)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(edges, func(e prewarm.Edge) bool { return e.Name == "pop2" }) {
			if len(edges) != 2 {
				t.Errorf("edges with pop2 down = %+v; want the 2 healthy PoPs once each", edges)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pop2 still answered 10s after it was marked down: %+v", edges)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWarm(t *testing.T) {
	env, info := startLocal(t)
	edges, err := prewarm.LocalEdges(t.Context(), info, edgetest.Host)
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{"http://" + edgetest.Host + "/index.html", "http://" + edgetest.Host + "/assets/app.css"}
	var calls int
	var w prewarm.Warmer
	w.OnRequest = func(string, prewarm.Request) { calls++ }
	w.Concurrency = 1 // one request at a time per PoP…
	w.Rate = 1000     // …paced, so OnRequest (3 PoPs in parallel) needs a lock
	var mu sync.Mutex
	w.OnRequest = func(string, prewarm.Request) { mu.Lock(); calls++; mu.Unlock() }
	rep, err := w.Warm(t.Context(), urls, edges)
	if err != nil {
		t.Fatal(err)
	}
	// The page varies on Accept-Encoding: 3 variants; the style sheet
	// does not: 1 request.
	if rep.URLs != 2 || rep.Requests != 12 || rep.Errors != 0 || len(rep.Pops) != 3 || calls != 12 {
		t.Fatalf("report = %+v (%d calls); want 4 requests at each of 3 PoPs, no error", rep, calls)
	}
	for _, p := range rep.Pops {
		if p.Requests != 4 || p.Misses != 4 || p.Hits != 0 || p.Bytes == 0 || p.P50Ms <= 0 || p.P99Ms < p.P50Ms {
			t.Errorf("first warm at %s = %+v; want 4 misses, bytes, latencies", p.Name, p)
		}
	}
	rep, err = w.Warm(t.Context(), urls, edges)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Pops {
		if p.Hits != 4 || p.Misses != 0 {
			t.Errorf("second warm at %s = %+v; want 4 hits", p.Name, p)
		}
	}
	// Every PoP holds every variant now.
	for _, pop := range []string{"pop1", "pop2", "pop3"} {
		for _, enc := range []string{"br", "gzip", "identity"} {
			r := env.Get(t, pop, "/index.html", "Accept-Encoding", enc)
			if !strings.Contains(r.Header.Get("Cache-Status"), pop+"; hit") {
				t.Errorf("GET /index.html (%s) via %s: %q; want a hit", enc, pop, r.Header.Get("Cache-Status"))
			}
		}
	}
}

func TestWarmReportsFailures(t *testing.T) {
	_, info := startLocal(t)
	info.DNS = nil
	edges, err := prewarm.LocalEdges(t.Context(), info, edgetest.Host)
	if err != nil {
		t.Fatal(err)
	}
	dead := prewarm.Edge{Name: "dead", Addr: "127.0.0.1:1", Via: "address"}
	w := prewarm.Warmer{Timeout: 5 * time.Second}
	rep, err := w.Warm(t.Context(), []string{"http://" + edgetest.Host + "/missing.html"}, []prewarm.Edge{edges[0], dead})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 2 || rep.Pops[0].Errors != 1 || rep.Pops[1].Errors != 1 {
		t.Fatalf("report = %+v; want one failure at each PoP", rep)
	}
	if f := rep.Pops[0].Failures[0]; f.Status != 404 || !strings.Contains(f.Error, "404") {
		t.Errorf("404 failure = %+v", f)
	}
	if f := rep.Pops[1].Failures[0]; f.Status != 0 || !strings.Contains(f.Error, "refused") {
		t.Errorf("dead PoP failure = %+v; want connection refused", f)
	}
}

func TestWarmStopsWhenCancelled(t *testing.T) {
	_, info := startLocal(t)
	info.DNS = nil
	edges, _ := prewarm.LocalEdges(t.Context(), info, edgetest.Host)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	urls := make([]string, 50)
	for i := range urls {
		urls[i] = "http://" + edgetest.Host + "/p" + strings.Repeat("x", i)
	}
	rep, err := (&prewarm.Warmer{}).Warm(ctx, urls, edges)
	if err == nil || rep == nil || rep.Requests != 0 {
		t.Errorf("cancelled warm: %+v, %v; want no request and the context's error", rep, err)
	}
}

func TestParseEdge(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
		ok         bool
	}{
		{"iad=203.0.113.10", "iad 203.0.113.10:443", true},
		{"fra=198.51.100.7:8443", "fra 198.51.100.7:8443", true},
		{"127.0.1.1:8081", "127.0.1.1:8081 127.0.1.1:8081", true},
		{"v6=[2001:db8::1]:443", "v6 [2001:db8::1]:443", true},
		{"iad=edge.example.com", "", false},
		{"=1.2.3.4", "", false},
		{"", "", false},
	} {
		e, err := prewarm.ParseEdge(tc.spec, "443")
		if (err == nil) != tc.ok {
			t.Errorf("ParseEdge(%q) error = %v; want ok %v", tc.spec, err, tc.ok)
			continue
		}
		if got := e.Name + " " + e.Addr; tc.ok && got != tc.want {
			t.Errorf("ParseEdge(%q) = %q; want %q", tc.spec, got, tc.want)
		}
	}
}

func TestURLs(t *testing.T) {
	base, err := prewarm.ParseBase("https://www.example.com/docs")
	if err != nil {
		t.Fatal(err)
	}
	got := prewarm.KeyURLs(base, []string{"index.html", "blog/index.html", "css/a.1234abcd.css", "index.html"})
	want := []string{
		"https://www.example.com/docs/index.html", "https://www.example.com/docs/",
		"https://www.example.com/docs/blog/index.html", "https://www.example.com/docs/blog/",
		"https://www.example.com/docs/css/a.1234abcd.css",
	}
	if !slices.Equal(got, want) {
		t.Errorf("KeyURLs = %q; want %q", got, want)
	}
	m := &hashing.Manifest{Files: map[string]hashing.Entry{
		"index.html": {Path: "index.html"},
		"css/a.css":  {Path: "css/a.1234abcd.css", Fingerprinted: true},
	}}
	assets, _ := prewarm.ManifestURLs(m, base, prewarm.Assets)
	if !slices.Equal(assets, []string{"https://www.example.com/docs/css/a.1234abcd.css"}) {
		t.Errorf("ManifestURLs(assets) = %q", assets)
	}
	if _, err := prewarm.ParseBase("www.example.com"); err == nil {
		t.Error("ParseBase without a scheme: no error")
	}
	if err := prewarm.CheckURLs([]string{"/relative"}); err == nil {
		t.Error("CheckURLs(/relative): no error")
	}
	u, _ := url.Parse(want[0])
	if u.Host != "www.example.com" {
		t.Fatal(u)
	}
}

// TestWarmTLS: through an edge address, over TLS, the URL's host is the
// TLS server name (SNI) and the Host header.
// TestWarmFollowsSiteRedirects: a static host's canonical redirect leads
// to the page, which is warmed too (each hop a request); a redirect to
// another site is not followed.
func TestWarmFollowsSiteRedirects(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/about.html":
			http.Redirect(w, r, "/about", http.StatusPermanentRedirect)
		case "/away":
			http.Redirect(w, r, "https://other.example/", http.StatusMovedPermanently)
		default:
			w.Header().Set("X-Cache", "MISS")
			w.Write([]byte("page"))
		}
	}))
	t.Cleanup(srv.Close)
	edge, err := prewarm.ParseEdge("pop="+strings.TrimPrefix(srv.URL, "http://"), "80")
	if err != nil {
		t.Fatal(err)
	}
	w := prewarm.Warmer{Concurrency: 1}
	rep, err := w.Warm(t.Context(), []string{"http://www.example.test/about.html", "http://www.example.test/away"}, []prewarm.Edge{edge})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 3 || rep.Misses != 1 || rep.Errors != 0 {
		t.Errorf("report = %+v; want 3 requests (the redirect, the page, the other site's redirect), 1 miss", rep)
	}
	if want := []string{"/about.html", "/about", "/away"}; !slices.Equal(paths, want) {
		t.Errorf("paths requested = %q; want %q", paths, want)
	}
}

func TestWarmTLS(t *testing.T) {
	var mu sync.Mutex
	var sni, host []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sni, host = append(sni, r.TLS.ServerName), append(host, r.Host)
		mu.Unlock()
		w.Header().Set("X-Cache", "Hit from cloudfront")
		w.Write([]byte("ok"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	edge, err := prewarm.ParseEdge("iad="+strings.TrimPrefix(srv.URL, "https://"), "443")
	if err != nil {
		t.Fatal(err)
	}
	w := prewarm.Warmer{Insecure: true}
	rep, err := w.Warm(t.Context(), []string{"https://www.example.com/app.css", "https://www.example.com/"}, []prewarm.Edge{edge})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 2 || rep.Hits != 2 || rep.Errors != 0 {
		t.Errorf("report = %+v; want 2 hits (CloudFront X-Cache)", rep)
	}
	for i := range sni {
		if sni[i] != "www.example.com" || host[i] != "www.example.com" {
			t.Errorf("request %d: SNI %q, Host %q; want www.example.com", i, sni[i], host[i])
		}
	}
	// Without Insecure, the test server's certificate is refused.
	rep, _ = (&prewarm.Warmer{}).Warm(t.Context(), []string{"https://www.example.com/"}, []prewarm.Edge{edge})
	if rep.Errors != 1 || !strings.Contains(rep.Pops[0].Failures[0].Error, "certificate") {
		t.Errorf("untrusted certificate: %+v", rep.Pops[0])
	}
}

package localedge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startTopology runs the default topology on free ports over a small
// origin handler, stopping it at the end of the test.
func startTopology(t *testing.T, mod func(*TopologyConfig)) *Topology {
	t.Helper()
	cfg := DefaultTopologyConfig(true)
	cfg.Origin.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		switch {
		case strings.HasSuffix(r.URL.Path, ".css"):
			w.Header().Set("Content-Type", "text/css")
			w.Header().Set("Cache-Tag", "css")
		default:
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Surrogate-Key", "html")
		}
		fmt.Fprintf(w, "page %s", r.URL.Path)
	})
	cfg.Origin.Dir = "/srv/site"
	if mod != nil {
		mod(&cfg)
	}
	top, err := NewTopology(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := top.Start(ctx); err != nil {
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
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("topology did not stop")
		}
	})
	return top
}

// api calls the admin API; token "" sends none.
func api(t *testing.T, top *Topology, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, top.Info().Admin.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestTopologyServesThroughShield(t *testing.T) {
	top := startTopology(t, nil)
	info := top.Info()
	if len(info.PoPs) != 4 || info.PoPs[3].Role != RoleShield || info.PoPs[0].Regions[0] != "127.1.0.0/16" {
		t.Fatalf("topology = %+v", info)
	}
	for i, p := range info.PoPs[:3] {
		if !strings.HasPrefix(p.Addr, fmt.Sprintf("127.0.%d.1:", i+1)) {
			t.Errorf("%s listens on %s; want 127.0.%d.1", p.Name, p.Addr, i+1)
		}
	}
	host := "www.example.test"
	r, body := get(t, info.PoPs[0].URL+"/index.html", "Host", host)
	if body != "page /index.html" || r.Header.Get("X-Served-By") != "shield, pop1" {
		t.Errorf("pop1 = %q, X-Served-By %q", body, r.Header.Get("X-Served-By"))
	}
	r, _ = get(t, info.PoPs[1].URL+"/index.html", "Host", host)
	if cs := r.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "shield; hit") {
		t.Errorf("pop2 Cache-Status = %q; want a shield hit", cs)
	}
	r, body = get(t, info.PoPs[0].URL+HealthPath)
	if r.StatusCode != 200 || body != `{"pop":"pop1","role":"edge","status":"ok"}`+"\n" {
		t.Errorf("health = %d %q", r.StatusCode, body)
	}
	r, body = get(t, info.PoPs[3].URL+HealthPath)
	if r.StatusCode != 200 || body != `{"pop":"shield","role":"shield","status":"ok"}`+"\n" {
		t.Errorf("shield health = %q", body)
	}
}

func TestAdminAPI(t *testing.T) {
	top := startTopology(t, nil)
	tok := top.Token()
	info := top.Info()
	host := "www.example.test"
	for _, p := range info.PoPs[:3] {
		for _, path := range []string{"/index.html", "/about/", "/assets/site.css"} {
			get(t, p.URL+path, "Host", host)
		}
	}

	// Authentication.
	r, b := api(t, top, "GET", "/api/v1/stats", "", "")
	if r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") != `Bearer realm="cdnctl"` || !strings.Contains(string(b), `"error":`) {
		t.Errorf("no token = %d %q %s", r.StatusCode, r.Header.Get("WWW-Authenticate"), b)
	}
	if r, _ := api(t, top, "GET", "/api/v1/stats", tok+"x", ""); r.StatusCode != 401 {
		t.Errorf("wrong token = %d", r.StatusCode)
	}
	// The scheme name is case-insensitive (RFC 9110 §11.1).
	for _, auth := range []string{"bearer " + tok, "BEARER " + tok, "Bearer  " + tok} {
		req, _ := http.NewRequest("GET", top.Info().Admin.URL+"/api/v1/stats", nil)
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("Authorization %q... = %d; want 200", auth[:8], resp.StatusCode)
		}
	}
	for _, auth := range []string{"Basic " + tok, tok, "Bearer"} {
		req, _ := http.NewRequest("GET", top.Info().Admin.URL+"/api/v1/stats", nil)
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization without the Bearer scheme = %d; want 401", resp.StatusCode)
		}
	}
	if r, _ := api(t, top, "GET", "/metrics", "", ""); r.StatusCode != 401 {
		t.Errorf("metrics without token = %d", r.StatusCode)
	}
	if r, b := api(t, top, "GET", "/healthz", "", ""); r.StatusCode != 200 || string(b) != `{"status":"ok"}`+"\n" {
		t.Errorf("healthz = %d %s", r.StatusCode, b)
	}

	// Topology.
	r, b = api(t, top, "GET", "/api/v1/topology", tok, "")
	var ti TopologyInfo
	if err := json.Unmarshal(b, &ti); err != nil || r.StatusCode != 200 || len(ti.PoPs) != 4 || ti.Token != "" || ti.Origin.Dir != "/srv/site" {
		t.Errorf("topology = %d %s", r.StatusCode, b)
	}

	// Stats.
	_, b = api(t, top, "GET", "/api/v1/stats", tok, "")
	var st StatsResponse
	if err := json.Unmarshal(b, &st); err != nil || len(st.PoPs) != 4 {
		t.Fatalf("stats = %s", b)
	}
	if s := st.PoPs[0]; s.Name != "pop1" || s.Requests != 3 || s.Misses != 3 || s.Entries != 3 || s.CapacityBytes != DefaultMemoryCapacity {
		t.Errorf("pop1 stats = %+v", s)
	}
	if s := st.PoPs[3]; s.Role != "shield" || s.Hits != 6 || s.OriginFetches != 3 {
		t.Errorf("shield stats = %+v", s)
	}

	// Entries and one entry.
	_, b = api(t, top, "GET", "/api/v1/entries?q=tag:css&sort=size&order=desc&limit=10", tok, "")
	var page EntryPage
	if err := json.Unmarshal(b, &page); err != nil || page.Total != 4 || len(page.Entries) != 4 {
		t.Errorf("entries tag:css = %s", b)
	}
	_, b = api(t, top, "GET", "/api/v1/entries?pop=pop2", tok, "")
	json.Unmarshal(b, &page)
	if page.Total != 3 || page.Entries[0].Pop != "pop2" {
		t.Errorf("entries of pop2 = %s", b)
	}
	for _, bad := range []string{"?sort=colour", "?order=up", "?limit=5000", "?offset=-1", "?q=colour:red"} {
		if r, b := api(t, top, "GET", "/api/v1/entries"+bad, tok, ""); r.StatusCode != 400 || !strings.Contains(string(b), `"error"`) {
			t.Errorf("entries%s = %d %s; want 400", bad, r.StatusCode, b)
		}
	}
	if r, _ := api(t, top, "GET", "/api/v1/entries?pop=nope", tok, ""); r.StatusCode != 404 {
		t.Errorf("entries of unknown pop = %d", r.StatusCode)
	}
	key := "http://www.example.test/index.html"
	r, b = api(t, top, "GET", "/api/v1/entry?pop=pop1&key="+key, tok, "")
	var d EntryDetail
	if err := json.Unmarshal(b, &d); err != nil || r.StatusCode != 200 || len(d.PopsHolding) != 4 || d.Variants[0].Headers.Get("Content-Type") != "text/html" || d.Variants[0].FreshnessLifetimeS != 60 {
		t.Errorf("entry = %d %s", r.StatusCode, b)
	}
	if r, _ := api(t, top, "GET", "/api/v1/entry?key=http://nope/", tok, ""); r.StatusCode != 404 {
		t.Errorf("missing entry = %d", r.StatusCode)
	}

	// Purge.
	r, b = api(t, top, "POST", "/api/v1/purge", tok, `{"urls":["/index.html"],"pops":["pop1","shield"]}`)
	var pr PurgeResponse
	if err := json.Unmarshal(b, &pr); err != nil || r.StatusCode != 200 || pr.Purged != 2 || len(pr.PoPs) != 2 || len(pr.ID) != 36 {
		t.Errorf("purge = %d %s", r.StatusCode, b)
	}
	r, _ = get(t, info.PoPs[0].URL+"/index.html", "Host", host)
	if xcache(r) != "MISS" {
		t.Errorf("pop1 after purge: %q", xcache(r))
	}
	r, _ = get(t, info.PoPs[1].URL+"/index.html", "Host", host)
	if xcache(r) != "HIT" {
		t.Errorf("pop2 (not targeted) after purge: %q", xcache(r))
	}
	_, b = api(t, top, "POST", "/api/v1/purge", tok, `{"tags":["css"],"soft":true}`)
	if err := json.Unmarshal(b, &pr); err != nil || pr.Purged != 4 || !pr.Soft || len(pr.PoPs) != 4 {
		t.Errorf("soft purge by tag = %s", b)
	}
	_, b = api(t, top, "POST", "/api/v1/purge", tok, `{"tags":["no-such-tag"]}`)
	if err := json.Unmarshal(b, &pr); err != nil || pr.Purged != 0 {
		t.Errorf("purge of an unknown tag = %s", b)
	}
	for _, tt := range []struct{ body, want string }{
		{`{}`, "no target"},
		{``, "empty request body"},
		{`{"urlz":["/"]}`, `unknown field "urlz"`},
		{`{"urls":"/"}`, `"urls"`},
		{`{"urls":["index.html"]}`, "urls[0]"},
		{`{"all":true,"pops":["pop9"]}`, "pops[0]"},
		{`{"all":tru}`, "malformed JSON"},
	} {
		r, b := api(t, top, "POST", "/api/v1/purge", tok, tt.body)
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		if r.StatusCode != 400 || !strings.Contains(e.Error, tt.want) {
			t.Errorf("purge %s = %d %s; want 400 mentioning %s", tt.body, r.StatusCode, b, tt.want)
		}
	}
	if r, _ := api(t, top, "GET", "/api/v1/purge", tok, ""); r.StatusCode != 405 {
		t.Errorf("GET purge = %d; want 405", r.StatusCode)
	}

	// PoPs down and up.
	r, b = api(t, top, "POST", "/api/v1/pops/pop2/down", tok, "")
	if r.StatusCode != 200 || string(b) != `{"name":"pop2","healthy":false}`+"\n" {
		t.Errorf("down = %d %s", r.StatusCode, b)
	}
	if r, body := get(t, info.PoPs[1].URL+HealthPath); r.StatusCode != 503 || !strings.Contains(body, "draining") {
		t.Errorf("pop2 health while down = %d %s", r.StatusCode, body)
	}
	api(t, top, "POST", "/api/v1/pops/pop2/up", tok, "")
	if r, _ := get(t, info.PoPs[1].URL+HealthPath); r.StatusCode != 200 {
		t.Errorf("pop2 health after up = %d", r.StatusCode)
	}
	if r, _ := api(t, top, "POST", "/api/v1/pops/pop9/down", tok, ""); r.StatusCode != 404 {
		t.Errorf("unknown pop down = %d", r.StatusCode)
	}

	// Metrics.
	r, b = api(t, top, "GET", "/metrics", tok, "")
	if r.StatusCode != http.StatusOK {
		t.Errorf("metrics = %d", r.StatusCode)
	}
	for _, want := range []string{
		`cdnctl_edge_requests_total{pop="pop1",role="edge"} 4`,
		`cdnctl_edge_hits_total{pop="shield",role="shield"}`,
		`cdnctl_edge_capacity_bytes{pop="pop3",role="edge"}`,
		`cdnctl_edge_fill_budget_bytes{pop="pop1",role="edge"} 8.388608e+06`,
		`cdnctl_edge_fill_bytes{pop="pop1",role="edge"} 0`,
		`cdnctl_edge_send_timeouts_total{pop="pop1",role="edge"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestTopologyPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.2.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := DefaultTopologyConfig(true)
	cfg.Origin.URL = "http://127.0.0.1:1"
	cfg.PoPs[1].Addr = ln.Addr().String()
	top, err := NewTopology(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = top.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "pop2: cannot listen on "+ln.Addr().String()+": the address is already in use") {
		t.Fatalf("Start with a taken port = %v", err)
	}
	// Nothing else was left listening: the same topology on free ports
	// starts.
	for _, p := range top.PoPs() {
		if p.ln != nil {
			if c, err := net.Dial("tcp", p.ln.Addr().String()); err == nil {
				c.Close()
				t.Errorf("%s still listening after the failed start", p.Name)
			}
		}
	}
	for _, bad := range []func(*TopologyConfig){
		func(c *TopologyConfig) { c.PoPs = nil },
		func(c *TopologyConfig) { c.PoPs[1].Name = "pop1" },
		func(c *TopologyConfig) { c.PoPs[0].Addr = "nope" },
		func(c *TopologyConfig) { c.PoPs[0].Regions = []string{"127.1/16"} },
		func(c *TopologyConfig) { c.Origin.URL = "ftp://x" },
		func(c *TopologyConfig) { c.Origin = OriginConfig{} },
		func(c *TopologyConfig) { c.PoPs[0].Name = "pop 1" },
	} {
		cfg := DefaultTopologyConfig(true)
		cfg.Origin.URL = "http://127.0.0.1:1"
		bad(&cfg)
		if _, err := NewTopology(cfg); err == nil {
			t.Errorf("NewTopology(%+v) = nil error", cfg)
		}
	}
}

func TestTopologyGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	cfg := DefaultTopologyConfig(true)
	cfg.Shield = nil
	cfg.Origin.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	cfg.Cache.Dir = t.TempDir()
	top, err := NewTopology(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := top.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- top.Run(ctx) }()
	result := make(chan string, 1)
	go func() {
		_, body := get(t, top.Info().PoPs[0].URL+"/slow")
		result <- body
	}()
	<-started
	cancel() // SIGINT arrives while a request is in flight
	waitFor(t, "draining health", func() bool { return !top.PoPs()[0].Proxy.Healthy() })
	close(release)
	if body := <-result; body != "finished" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

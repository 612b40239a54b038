// Package edgetest starts a local edge topology (package localedge) for the
// tests of the packages that use one: the admin API client, the inspector,
// probe. Everything listens on free loopback ports and stops with the test.
package edgetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/localca"
)

// Host is the Host header the helpers send: the default customer hostname
// of the local topology (contracts §4).
const Host = "www.example.test"

// Env is a running topology.
type Env struct {
	Topology *localedge.Topology
	Info     localedge.TopologyInfo
	AdminURL string
	Token    string
	// Client sends requests to the PoPs (no keep-alive reuse across tests).
	Client *http.Client
}

// Start runs the default topology (pop1..pop3 on 127.0.i.1, a shield, the
// admin API) on free ports over Origin(), after mod (when not nil) has
// changed its configuration, until the test ends.
func Start(t testing.TB, mod func(*localedge.TopologyConfig)) *Env {
	t.Helper()
	cfg := localedge.DefaultTopologyConfig(true)
	cfg.Origin.Handler = Origin()
	cfg.Token = "edgetest-token"
	if mod != nil {
		mod(&cfg)
	}
	top, err := localedge.NewTopology(cfg)
	if err != nil {
		t.Fatalf("edgetest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := top.Start(ctx); err != nil {
		cancel()
		t.Fatalf("edgetest: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- top.Run(ctx) }()
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}
	t.Cleanup(func() {
		cancel()
		tr.CloseIdleConnections()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("edgetest: Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("edgetest: topology did not stop")
		}
	})
	info := top.Info()
	return &Env{
		Topology: top,
		Info:     info,
		AdminURL: info.Admin.URL,
		Token:    top.Token(),
		Client:   &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
}

// HTTPS turns on HTTPS at the edges of cfg, with a new CA in a temporary
// folder (for Start's mod): the certificate names Host and
// www.example.cdn.test besides the PoPs.
func HTTPS(t testing.TB, cfg *localedge.TopologyConfig) *localca.CA {
	t.Helper()
	ca, _, err := localca.LoadOrCreate(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatalf("edgetest: %v", err)
	}
	cfg.HTTPS = &localedge.HTTPSConfig{CA: ca, Names: []string{Host, "www.example.cdn.test"}}
	return ca
}

// PoP returns the description of the named PoP.
func (e *Env) PoP(t testing.TB, name string) localedge.PoPInfo {
	t.Helper()
	for _, p := range e.Info.PoPs {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("edgetest: no PoP %q", name)
	return localedge.PoPInfo{}
}

// Response is what Get read.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Get requests path through the named PoP with Host: Host (kv are extra
// header names and values) and reads the whole answer.
func (e *Env) Get(t testing.TB, pop, path string, kv ...string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.PoP(t, pop).URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = Host
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.EqualFold(kv[i], "Host") {
			req.Host = kv[i+1]
			continue
		}
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("edgetest: GET %s via %s: %v", path, pop, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("edgetest: GET %s via %s: %v", path, pop, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// Fill requests every path through every named PoP, so each caches them
// (and the shield too).
func (e *Env) Fill(t testing.TB, pops []string, paths ...string) {
	t.Helper()
	for _, pop := range pops {
		for _, p := range paths {
			e.Get(t, pop, p)
		}
	}
}

// SitePaths are the paths Origin answers with cacheable responses.
var SitePaths = []string{
	"/index.html", "/about/", "/assets/app.css", "/assets/site.css",
	"/assets/app.js", "/img/logo.png", "/missing.html",
}

// Origin is a small site: HTML (Vary: Accept-Encoding, tagged html),
// CSS (tagged css and assets), JS (tagged assets), PNG, a cacheable 404
// for paths ending in "missing.html", and uncacheable /api/ answers. Every
// body names its path, so each object has its own content.
func Origin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		p := r.URL.Path
		status := http.StatusOK
		switch {
		case strings.HasPrefix(p, "/api/"):
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Type", "application/json")
		case strings.HasSuffix(p, "missing.html"):
			h.Set("Cache-Control", "public, max-age=30")
			h.Set("Content-Type", "text/html")
			status = http.StatusNotFound
		case strings.HasSuffix(p, ".css"):
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			h.Set("Content-Type", "text/css")
			h.Set("Cache-Tag", "css,assets")
		case strings.HasSuffix(p, ".js"):
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			h.Set("Content-Type", "text/javascript")
			h.Set("Cache-Tag", "assets")
		case strings.HasSuffix(p, ".png"):
			h.Set("Cache-Control", "public, max-age=86400")
			h.Set("Content-Type", "image/png")
		default:
			h.Set("Cache-Control", "public, max-age=300, stale-while-revalidate=60")
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Vary", "Accept-Encoding")
			h.Set("Surrogate-Key", "html")
		}
		h.Set("ETag", fmt.Sprintf(`"%x"`, len(p)*7919+int(p[len(p)-1])))
		w.WriteHeader(status)
		fmt.Fprintf(w, "content of %s\n%s", p, strings.Repeat("x", 64*len(p)))
	})
}

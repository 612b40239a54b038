package localedge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cdnctl/cdnctl/localedge/edgerules"
	"github.com/cdnctl/cdnctl/localedge/ratelimit"
)

// BenchmarkServeHitEdgeLogic is BenchmarkServeHit with each edge-logic
// feature on, to compare with "off" side by side: what rules that match
// (a request and a response header), a rate limit that lets every request
// through, and ESI on for a response that is not an ESI page cost a hit.
func BenchmarkServeHitEdgeLogic(b *testing.B) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"abc"`)
		w.Write(make([]byte, 1024))
	}))
	defer o.Close()
	rules, err := edgerules.Compile([]edgerules.Spec{
		{Path: "/obj/*", RequestHeaders: &edgerules.HeaderOps{Remove: []string{"Cookie"}}},
		{ResponseHeaders: &edgerules.HeaderOps{Set: map[string]string{"X-Frame-Options": "DENY"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	limiter := func() *ratelimit.Limiter {
		l, err := ratelimit.New(ratelimit.Config{Rate: 1e12, Burst: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	for _, c := range []struct {
		name string
		mod  func(*Proxy)
	}{
		{"off", func(*Proxy) {}},
		{"rules", func(p *Proxy) { p.Rules = rules }},
		{"ratelimit", func(p *Proxy) { p.RateLimit = limiter() }},
		{"esi", func(p *Proxy) { p.ESI = &ESIOptions{} }},
		{"all", func(p *Proxy) { p.Rules, p.RateLimit, p.ESI = rules, limiter(), &ESIOptions{} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := &Proxy{Name: "pop1", Upstream: mustURL(o.URL)}
			c.mod(p)
			defer p.Close()
			req := httptest.NewRequest("GET", "http://www.example.test/obj/1k", nil)
			req.RemoteAddr = "127.1.0.9:40000"
			w := &nopWriter{h: http.Header{}}
			p.ServeHTTP(w, req)
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				p.ServeHTTP(w, req)
			}
			if w.h.Get("X-Cache") != "HIT" {
				b.Fatalf("not a hit: %v", w.h)
			}
		})
	}
}

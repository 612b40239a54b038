package localedge

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// nopWriter is a ResponseWriter that drops the response, so the benchmark
// measures the cache's own work on a hit.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkServeHit is the hit path of ServeHTTP without the network: key,
// lookup, freshness, headers, body.
func BenchmarkServeHit(b *testing.B) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"abc"`)
		w.Write(make([]byte, 1024))
	}))
	defer o.Close()
	p := &Proxy{Name: "pop1", Upstream: mustURL(o.URL)}
	defer p.Close()
	req := httptest.NewRequest("GET", "http://www.example.test/obj/1k", nil)
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
}

// BenchmarkServeHitBrowser is a hit for a request with the fields a
// browser sends: what the screening of request fields costs on a hit.
func BenchmarkServeHitBrowser(b *testing.B) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"abc"`)
		w.Write(make([]byte, 1024))
	}))
	defer o.Close()
	p := &Proxy{Name: "pop1", Upstream: mustURL(o.URL)}
	defer p.Close()
	req := httptest.NewRequest("GET", "http://www.example.test/obj/1k", nil)
	for name, v := range map[string]string{
		"User-Agent":                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		"Accept":                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Language":           "en-US,en;q=0.9",
		"Accept-Encoding":           "gzip, deflate, br, zstd",
		"Connection":                "keep-alive",
		"Cookie":                    "session=abc; _ga=GA1.1.1",
		"Sec-Fetch-Dest":            "document",
		"Sec-Fetch-Mode":            "navigate",
		"Sec-Fetch-Site":            "none",
		"Upgrade-Insecure-Requests": "1",
	} {
		req.Header.Set(name, v)
	}
	orig := req.Header.Clone()
	w := &nopWriter{h: http.Header{}}
	p.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		for name, v := range orig {
			req.Header[name] = v
		}
		p.ServeHTTP(w, req)
	}
	if w.h.Get("X-Cache") != "HIT" {
		b.Fatalf("not a hit: %v", w.h)
	}
}

package edgecompress

import (
	"net/http"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	all := DefaultEncodings
	tests := []struct {
		ae        []string
		encodings []string
		want      string
	}{
		{nil, all, "identity"},                           // no field: identity, as curl expects
		{[]string{""}, all, "identity"},                  // empty: no coding wanted
		{[]string{"gzip, deflate, br, zstd"}, all, "br"}, // Chrome: equal weights, br first
		{[]string{"gzip, deflate, br"}, all, "br"},       // Safari
		{[]string{"gzip, deflate"}, all, "gzip"},         // older clients
		{[]string{"zstd"}, all, "zstd"},                  // curl -H 'Accept-Encoding: zstd'
		{[]string{"gzip;q=1, br;q=0.5"}, all, "gzip"},    // q-values decide
		{[]string{"br;q=0.2, zstd;q=0.8, gzip;q=0.5"}, all, "zstd"},
		{[]string{"br;q=0, gzip"}, all, "gzip"},                // q=0 excludes
		{[]string{"*"}, all, "br"},                             // * stands for every coding
		{[]string{"*;q=0.5, br;q=0"}, all, "zstd"},             // * for those not listed
		{[]string{"identity"}, all, "identity"},                // identity only
		{[]string{"identity, gzip;q=0.5"}, all, "identity"},    // identity preferred
		{[]string{"gzip;q=0.5, identity;q=0.5"}, all, "gzip"},  // a coding beats identity at equal weight
		{[]string{"*;q=0"}, all, "identity"},                   // nothing acceptable: identity, not 406
		{[]string{"x-gzip"}, all, "gzip"},                      // x-gzip is gzip
		{[]string{"GZIP", "Br;q=0.9"}, all, "gzip"},            // several lines, case-insensitive
		{[]string{"gzip;q=2, br;q=0.1"}, all, "br"},            // invalid weight: member ignored
		{[]string{"br, gzip"}, []string{"gzip", "br"}, "gzip"}, // ties: the configured order
		{[]string{"br"}, []string{"gzip"}, "identity"},         // br not produced
		{[]string{"deflate"}, all, "identity"},                 // deflate is not produced
		{[]string{"br, zstd, gzip;q=0.9"}, all, "br"},          // canonical form from the edge
		{[]string{"gzip, br;q=0.9, zstd;q=0.9"}, all, "gzip"},  // canonical ordered form
	}
	for _, tt := range tests {
		if got := Negotiate(tt.ae, tt.encodings); got != tt.want {
			t.Errorf("Negotiate(%q, %q) = %q; want %q", tt.ae, tt.encodings, got, tt.want)
		}
	}
}

func TestEligible(t *testing.T) {
	p := DefaultPolicy()
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		status int
		h      http.Header
		length int64
		why    string
	}{
		{"html", 200, hdr("Content-Type", "text/html; charset=utf-8"), 5000, ""},
		{"js 404", 404, hdr("Content-Type", "text/javascript"), 5000, ""},
		{"403", 403, hdr("Content-Type", "application/json"), 1000, ""},
		{"smallest", 200, hdr("Content-Type", "text/css"), 1000, ""},
		{"largest", 200, hdr("Content-Type", "text/css"), 10_000_000, ""},
		{"too small", 200, hdr("Content-Type", "text/css"), 999, NotSize},
		{"too large", 200, hdr("Content-Type", "text/css"), 10_000_001, NotSize},
		{"unknown length", 200, hdr("Content-Type", "text/css"), -1, NotLength},
		{"image", 200, hdr("Content-Type", "image/png"), 5000, NotType},
		{"no type", 200, hdr(), 5000, NotType},
		{"bad type", 200, hdr("Content-Type", "text/"), 5000, NotType},
		{"svg", 200, hdr("Content-Type", "image/svg+xml"), 5000, ""},
		{"wasm", 200, hdr("Content-Type", "application/wasm"), 5000, ""},
		{"upper case type", 200, hdr("Content-Type", "TEXT/HTML"), 5000, ""},
		{"206", 206, hdr("Content-Type", "text/css", "Content-Range", "bytes 0-99/5000"), 100, NotStatus},
		{"500", 500, hdr("Content-Type", "text/html"), 5000, NotStatus},
		{"304", 304, hdr("Content-Type", "text/html"), 5000, NotStatus},
		{"content range on 200", 200, hdr("Content-Type", "text/css", "Content-Range", "bytes 0-4999/5000"), 5000, NotPartial},
		{"precompressed", 200, hdr("Content-Type", "text/css", "Content-Encoding", "br"), 5000, NotEncoded},
		{"encoded gzip", 200, hdr("Content-Type", "text/css", "Content-Encoding", "gzip"), 5000, NotEncoded},
		{"identity encoding", 200, hdr("Content-Type", "text/css", "Content-Encoding", "identity"), 5000, ""},
		{"no-transform", 200, hdr("Content-Type", "text/css", "Cache-Control", "public, No-Transform, max-age=60"), 5000, NotTransform},
		{"no-transform second line", 200, hdr("Content-Type", "text/css", "Cache-Control", "public", "Cache-Control", "no-transform"), 5000, NotTransform},
	}
	for _, tt := range tests {
		ok, why := p.Eligible(tt.status, tt.h, tt.length)
		if ok != (tt.why == "") || why != tt.why {
			t.Errorf("%s: Eligible = %v, %q; want %v, %q", tt.name, ok, why, tt.why == "", tt.why)
		}
	}
	wild := p
	wild.Types = []string{"text/*"}
	if ok, _ := wild.Eligible(200, hdr("Content-Type", "text/x-anything"), 5000); !ok {
		t.Errorf("text/* does not match text/x-anything")
	}
	if ok, _ := wild.Eligible(200, hdr("Content-Type", "application/json"), 5000); ok {
		t.Errorf("text/* matches application/json")
	}
}

func TestTransform(t *testing.T) {
	h := http.Header{
		"Content-Type":   {"text/css"},
		"Content-Length": {"5000"},
		"Etag":           {`"abc"`},
		"Vary":           {"Origin"},
		"Content-Digest": {"sha-256=:x:"},
		"Accept-Ranges":  {"bytes"},
	}
	Transform(h, "br")
	if got := h.Get("Content-Encoding"); got != "br" {
		t.Errorf("Content-Encoding = %q", got)
	}
	if got := strings.Join(h.Values("Vary"), ", "); got != "Origin, Accept-Encoding" {
		t.Errorf("Vary = %q", got)
	}
	if got := h.Get("ETag"); got != `W/"abc"` {
		t.Errorf("ETag = %q; want the weak form", got)
	}
	for _, name := range []string{"Content-Length", "Content-Digest"} {
		if _, ok := h[name]; ok {
			t.Errorf("%s kept: it describes the uncompressed bytes", name)
		}
	}
	if h.Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges removed")
	}

	weak := http.Header{"Etag": {`W/"abc"`}, "Vary": {"accept-encoding"}}
	Transform(weak, "gzip")
	if got := weak.Get("ETag"); got != `W/"abc"` {
		t.Errorf("weak ETag became %q", got)
	}
	if got := weak.Values("Vary"); len(got) != 1 {
		t.Errorf("Vary = %q: Accept-Encoding added twice", got)
	}
	star := http.Header{"Vary": {"*"}}
	AddVary(star)
	if got := star.Values("Vary"); len(got) != 1 || got[0] != "*" {
		t.Errorf("Vary: * became %q", got)
	}
}

func TestPolicyCheck(t *testing.T) {
	if err := DefaultPolicy().Check(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	bad := []struct {
		mutate func(*Policy)
		want   string
	}{
		{func(p *Policy) { p.Encodings = []string{"deflate"} }, `"deflate" is not a coding`},
		{func(p *Policy) { p.Encodings = nil }, "name at least one of br, zstd, gzip"},
		{func(p *Policy) { p.Encodings = []string{"br", "br"} }, "listed twice"},
		{func(p *Policy) { p.MinSize, p.MaxSize = 2000, 1000 }, "max_size 1000 is smaller than min_size 2000"},
		{func(p *Policy) { p.MinSize = -1 }, "min_size -1"},
		{func(p *Policy) { p.Types = []string{"html"} }, `"html" is not a media type`},
		{func(p *Policy) { p.Types = []string{"Text/HTML"} }, "lower case"},
		{func(p *Policy) { p.Types = nil }, "at least one media type"},
	}
	for _, tt := range bad {
		p := DefaultPolicy()
		tt.mutate(&p)
		err := p.Check()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check() = %v; want an error containing %q", err, tt.want)
		}
	}
}

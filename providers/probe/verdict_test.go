package probe

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func i64(n int64) *int64 { return &n }

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		name   string
		source string // where the sample comes from
		header []string
		want   Verdict
	}{
		{
			name:   "rfc9211 minimal hit",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", "ExampleCache; hit"},
			want: Verdict{Result: Hit, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "ExampleCache", Result: Hit, Raw: "ExampleCache; hit"}},
				Summary: "HIT at ExampleCache"},
		},
		{
			name:   "rfc9211 hit with ttl",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", "ExampleCache; hit; ttl=376"},
			want: Verdict{Result: Hit, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "ExampleCache", Result: Hit, Raw: "ExampleCache; hit; ttl=376", TTL: i64(376)}},
				Summary: "HIT at ExampleCache (ttl 376s)"},
		},
		{
			name:   "rfc9211 stale hit",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", "ExampleCache; hit; ttl=-412"},
			want: Verdict{Result: Stale, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "ExampleCache", Result: Stale, Raw: "ExampleCache; hit; ttl=-412", TTL: i64(-412)}},
				Summary: "STALE at ExampleCache (ttl -412s)"},
		},
		{
			name:   "rfc9211 complete miss",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", "ExampleCache; fwd=uri-miss"},
			want: Verdict{Result: Miss, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "ExampleCache", Result: Miss, Raw: "ExampleCache; fwd=uri-miss", Fwd: "uri-miss"}},
				Summary: "MISS at ExampleCache"},
		},
		{
			name:   "rfc9211 validated miss",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", "ExampleCache; fwd=stale; fwd-status=304"},
			want: Verdict{Result: Revalidated, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "ExampleCache", Result: Revalidated, Raw: "ExampleCache; fwd=stale; fwd-status=304", Fwd: "stale", FwdStatus: 304}},
				Summary: "REVALIDATED at ExampleCache"},
		},
		{
			name:   "rfc9211 collapsed miss",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", "ExampleCache; fwd=uri-miss; collapsed"},
			want: Verdict{Result: Miss, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "ExampleCache", Result: Miss, Raw: "ExampleCache; fwd=uri-miss; collapsed", Fwd: "uri-miss", Collapsed: true}},
				Summary: "MISS at ExampleCache"},
		},
		{
			name:   "rfc9211 collapse attempted",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", "ExampleCache; fwd=uri-miss; collapsed=?0"},
			want: Verdict{Result: Miss, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "ExampleCache", Result: Miss, Raw: "ExampleCache; fwd=uri-miss; collapsed=?0", Fwd: "uri-miss"}},
				Summary: "MISS at ExampleCache"},
		},
		{
			name:   "rfc9211 two layers",
			source: "RFC 9211 §4",
			header: []string{"Cache-Status", `OriginCache; hit; ttl=1100, "CDN Company Here"; hit; ttl=545`},
			want: Verdict{Result: Hit, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers: []Layer{
					{Cache: "OriginCache", Result: Hit, Raw: "OriginCache; hit; ttl=1100", TTL: i64(1100)},
					{Cache: "CDN Company Here", Result: Hit, Raw: `"CDN Company Here"; hit; ttl=545`, TTL: i64(545)},
				},
				Summary: "HIT at CDN Company Here (ttl 545s), HIT at OriginCache (ttl 1100s)"},
		},
		{
			name:   "rfc9211 three layers on three field lines",
			source: "RFC 9211 §4",
			header: []string{
				"Cache-Status", "ReverseProxyCache; hit",
				"Cache-Status", "ForwardProxyCache; fwd=uri-miss; collapsed; stored",
				"Cache-Status", "BrowserCache; fwd=uri-miss",
			},
			want: Verdict{Result: Miss, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers: []Layer{
					{Cache: "ReverseProxyCache", Result: Hit, Raw: "ReverseProxyCache; hit"},
					{Cache: "ForwardProxyCache", Result: Miss, Raw: "ForwardProxyCache; fwd=uri-miss; collapsed; stored", Fwd: "uri-miss", Collapsed: true, Stored: true},
					{Cache: "BrowserCache", Result: Miss, Raw: "BrowserCache; fwd=uri-miss", Fwd: "uri-miss"},
				},
				Summary: "MISS at BrowserCache, MISS at ForwardProxyCache, HIT at ReverseProxyCache"},
		},
		{
			name:   "cdnctl edge miss behind a shield hit",
			source: "cdnctl localedge (contracts §1)",
			header: []string{"Cache-Status", "shield; hit; ttl=57, pop2; fwd=uri-miss; fwd-status=200; stored"},
			want: Verdict{Result: Miss, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers: []Layer{
					{Cache: "shield", Result: Hit, Raw: "shield; hit; ttl=57", TTL: i64(57)},
					{Cache: "pop2", Result: Miss, Raw: "pop2; fwd=uri-miss; fwd-status=200; stored", Fwd: "uri-miss", FwdStatus: 200, Stored: true},
				},
				Summary: "MISS at pop2, HIT at shield (ttl 57s)"},
		},
		{
			name:   "bypass with a detail",
			source: "RFC 9211 §2.2, §2.8",
			header: []string{"Cache-Status", `pop1; fwd=method; detail="POST"`},
			want: Verdict{Result: Bypass, CDN: "cache-status", Source: "Cache-Status",
				Layers:  []Layer{{Cache: "pop1", Result: Bypass, Raw: `pop1; fwd=method; detail="POST"`, Fwd: "method", Detail: "POST"}},
				Summary: "BYPASS at pop1"},
		},
		{
			name:   "cloudflare hit",
			source: "developers.cloudflare.com/cache/concepts/cache-responses/",
			header: []string{"CF-Cache-Status", "HIT", "CF-Ray", "230b030023ae2822-SJC"},
			want: Verdict{Result: Hit, Cached: true, CDN: "cloudflare", Source: "CF-Cache-Status",
				Layers:  []Layer{{Cache: "cloudflare SJC", Result: Hit, Raw: "HIT"}},
				Summary: "HIT at cloudflare SJC"},
		},
		{
			name:   "cloudflare updating",
			source: "developers.cloudflare.com/cache/concepts/revalidation/",
			header: []string{"CF-Cache-Status", "UPDATING"},
			want: Verdict{Result: Stale, Cached: true, CDN: "cloudflare", Source: "CF-Cache-Status",
				Layers: []Layer{{Cache: "cloudflare", Result: Stale, Raw: "UPDATING"}}, Summary: "STALE at cloudflare"},
		},
		{
			name:   "cloudflare dynamic",
			source: "developers.cloudflare.com/cache/concepts/cache-responses/",
			header: []string{"CF-Cache-Status", "DYNAMIC"},
			want: Verdict{Result: Uncacheable, CDN: "cloudflare", Source: "CF-Cache-Status",
				Layers: []Layer{{Cache: "cloudflare", Result: Uncacheable, Raw: "DYNAMIC"}}, Summary: "UNCACHEABLE at cloudflare"},
		},
		{
			name:   "cloudfront hit",
			source: "docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html",
			header: []string{"X-Cache", "Hit from cloudfront", "X-Amz-Cf-Pop", "IAD89-C1", "Via", "1.1 e93599ff228cc924153b1db5ec11dc55.cloudfront.net (CloudFront)"},
			want: Verdict{Result: Hit, Cached: true, CDN: "cloudfront", Source: "X-Cache",
				Layers:  []Layer{{Cache: "cloudfront IAD89-C1", Result: Hit, Raw: "Hit from cloudfront"}},
				Summary: "HIT at cloudfront IAD89-C1"},
		},
		{
			name:   "cloudfront refresh hit",
			source: "repost.aws/knowledge-center/cloudfront-custom-object-caching",
			header: []string{"X-Cache", "RefreshHit from cloudfront"},
			want: Verdict{Result: Revalidated, Cached: true, CDN: "cloudfront", Source: "X-Cache",
				Layers: []Layer{{Cache: "cloudfront", Result: Revalidated, Raw: "RefreshHit from cloudfront"}}, Summary: "REVALIDATED at cloudfront"},
		},
		{
			name:   "cloudfront error",
			source: "docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html",
			header: []string{"X-Cache", "Error from cloudfront"},
			want: Verdict{Result: Error, CDN: "cloudfront", Source: "X-Cache",
				Layers: []Layer{{Cache: "cloudfront", Result: Error, Raw: "Error from cloudfront"}}, Summary: "ERROR at cloudfront"},
		},
		{
			name:   "fastly shielded hit",
			source: "fastly.com/documentation/guides/full-site-delivery/caching/checking-cache",
			header: []string{"X-Served-By", "cache-jfk1041-JFK, cache-ord1720-ORD", "X-Cache", "HIT, HIT", "X-Cache-Hits", "1, 7"},
			want: Verdict{Result: Hit, Cached: true, CDN: "fastly", Source: "X-Cache",
				Layers: []Layer{
					{Cache: "cache-jfk1041-JFK", Result: Hit, Raw: "HIT", Hits: i64(1)},
					{Cache: "cache-ord1720-ORD", Result: Hit, Raw: "HIT", Hits: i64(7)},
				},
				Summary: "HIT at cache-ord1720-ORD, HIT at cache-jfk1041-JFK"},
		},
		{
			name:   "fastly edge miss, shield hit",
			source: "fastly.com/documentation/reference/http/http-headers/X-Cache/",
			header: []string{"X-Served-By", "cache-iad-kiad7000041-IAD, cache-lcy-eglc8600041-LCY", "X-Cache", "HIT, MISS", "X-Cache-Hits", "3, 0"},
			want: Verdict{Result: Miss, Cached: true, CDN: "fastly", Source: "X-Cache",
				Layers: []Layer{
					{Cache: "cache-iad-kiad7000041-IAD", Result: Hit, Raw: "HIT", Hits: i64(3)},
					{Cache: "cache-lcy-eglc8600041-LCY", Result: Miss, Raw: "MISS", Hits: i64(0)},
				},
				Summary: "MISS at cache-lcy-eglc8600041-LCY, HIT at cache-iad-kiad7000041-IAD"},
		},
		{
			name:   "fastly restart adds an entry without a node",
			source: "fastly.com/documentation/reference/http/http-headers/X-Cache/",
			header: []string{"X-Served-By", "cache-sea1927-SEA, cache-ams4133-AMS", "X-Cache", "MISS, HIT, HIT", "X-Cache-Hits", "3, 16"},
			want: Verdict{Result: Hit, Cached: true, CDN: "fastly", Source: "X-Cache",
				Layers: []Layer{
					{Result: Miss, Raw: "MISS"},
					{Cache: "cache-sea1927-SEA", Result: Hit, Raw: "HIT", Hits: i64(3)},
					{Cache: "cache-ams4133-AMS", Result: Hit, Raw: "HIT", Hits: i64(16)},
				},
				Summary: "HIT at cache-ams4133-AMS, HIT at cache-sea1927-SEA, MISS"},
		},
		{
			name:   "akamai",
			source: "techdocs.akamai.com Pragma debug headers (akamai-x-cache-on)",
			header: []string{"X-Cache", "TCP_MEM_HIT from a23-62-45-69.deploy.akamaitechnologies.com (AkamaiGHost/10.6.3-43210) (-)"},
			want: Verdict{Result: Hit, Cached: true, CDN: "akamai", Source: "X-Cache",
				Layers:  []Layer{{Cache: "a23-62-45-69.deploy.akamaitechnologies.com", Result: Hit, Raw: "TCP_MEM_HIT from a23-62-45-69.deploy.akamaitechnologies.com (AkamaiGHost/10.6.3-43210) (-)"}},
				Summary: "HIT at a23-62-45-69.deploy.akamaitechnologies.com"},
		},
		{
			name:   "akamai refresh miss",
			source: "techdocs.akamai.com Pragma debug headers (akamai-x-cache-on)",
			header: []string{"X-Cache", "TCP_REFRESH_MISS from a184-51-199-8.deploy.akamaitechnologies.com (AkamaiGHost/10.6.3-43210) (-)"},
			want: Verdict{Result: Expired, CDN: "akamai", Source: "X-Cache",
				Layers:  []Layer{{Cache: "a184-51-199-8.deploy.akamaitechnologies.com", Result: Expired, Raw: "TCP_REFRESH_MISS from a184-51-199-8.deploy.akamaitechnologies.com (AkamaiGHost/10.6.3-43210) (-)"}},
				Summary: "EXPIRED at a184-51-199-8.deploy.akamaitechnologies.com"},
		},
		{
			name:   "varnish or squid x-cache",
			source: "Squid X-Cache",
			header: []string{"X-Cache", "MISS from proxy.example.net"},
			want: Verdict{Result: Miss, CDN: "x-cache", Source: "X-Cache",
				Layers: []Layer{{Result: Miss, Raw: "MISS from proxy.example.net"}}, Summary: "MISS"},
		},
		{
			name:   "cache-status wins over x-cache",
			source: "RFC 9211 §1 (replaces ad hoc fields)",
			header: []string{"X-Cache", "MISS", "Cache-Status", "edge; hit"},
			want: Verdict{Result: Hit, Cached: true, CDN: "cache-status", Source: "Cache-Status",
				Layers: []Layer{{Cache: "edge", Result: Hit, Raw: "edge; hit"}}, Summary: "HIT at edge"},
		},
		{
			name:   "malformed cache-status falls back",
			source: "RFC 8941 §4.2: a field that fails to parse is ignored",
			header: []string{"Cache-Status", "edge; hit; ttl=-", "CF-Cache-Status", "MISS"},
			want: Verdict{Result: Miss, CDN: "cloudflare", Source: "CF-Cache-Status",
				Layers:   []Layer{{Cache: "cloudflare", Result: Miss, Raw: "MISS"}},
				Summary:  "MISS at cloudflare",
				Warnings: []string{`Cache-Status "edge; hit; ttl=-": at byte 16: malformed number "-" (ignored, RFC 8941 §4.2)`}},
		},
		{
			name:   "nothing",
			header: []string{"Cache-Control", "max-age=60"},
			want:   Verdict{Summary: "no cache status header"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i+1 < len(tt.header); i += 2 {
				h.Add(tt.header[i], tt.header[i+1])
			}
			got := Decode(h)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode(%v) (sample: %s) mismatch (-want +got):\n%s", tt.header, tt.source, diff)
			}
		})
	}
}

func TestParseSFListErrors(t *testing.T) {
	for _, bad := range []string{
		`a; hit,`, `a;;`, `"unterminated`, `a; Hit`, `a; ttl=1.`, `a; x=?2`, `a b`, `a; k="\x"`, `1234567890123456`,
	} {
		if _, err := parseSFList([]string{bad}); err == nil {
			t.Errorf("parseSFList(%q) = nil error", bad)
		}
	}
	m, err := parseSFList([]string{`a;k=:cHJldGVuZA==:;d=1.5, (b c);x, "q\"s"`})
	if err != nil || len(m) != 3 || len(m[1].Inner) != 2 || m[2].Value != `q"s` {
		t.Fatalf("parseSFList = %+v, %v", m, err)
	}
	if v, _ := m[0].param("d"); v != 1.5 {
		t.Errorf("decimal param = %v", v)
	}
}

func TestParseServerTiming(t *testing.T) {
	// Samples: W3C Server Timing §2 examples, Cloudflare's cfRequestDuration
	// and the cdn-cache metric Fastly and Shopify send.
	got := ParseServerTiming([]string{
		`miss, db;dur=53, app;dur=47.2`,
		`cdn-cache; desc=HIT, edge; dur=1`,
		`cfRequestDuration;dur=31.000166, total;dur=123.4;desc="Total Response Time"`,
	})
	f := func(x float64) *float64 { return &x }
	want := []ServerTiming{
		{Name: "miss"}, {Name: "db", Dur: f(53)}, {Name: "app", Dur: f(47.2)},
		{Name: "cdn-cache", Desc: "HIT"}, {Name: "edge", Dur: f(1)},
		{Name: "cfRequestDuration", Dur: f(31.000166)}, {Name: "total", Dur: f(123.4), Desc: "Total Response Time"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseServerTiming mismatch (-want +got):\n%s", diff)
	}
	if got := ParseServerTiming([]string{`bad name;dur=1, ok`}); len(got) != 1 || got[0].Name != "ok" {
		t.Errorf("malformed metric kept: %+v", got)
	}
}

package localedge

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cdnctl/cdnctl/localedge/edgerules"
)

func compileRules(t *testing.T, specs ...edgerules.Spec) *edgerules.Rules {
	t.Helper()
	rs, err := edgerules.Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestEdgeRulesOverHTTP(t *testing.T) {
	o := newOrigin(t, nil)
	o.handle("/index.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Server", "origin/1")
		io.WriteString(w, "spa env="+r.Header.Get("X-Env")+" cookie="+r.Header.Get("Cookie")+" q="+r.URL.RawQuery)
	})
	rules := compileRules(t,
		edgerules.Spec{Path: "/*",
			RequestHeaders:  &edgerules.HeaderOps{Set: map[string]string{"X-Env": "dev"}, Remove: []string{"Cookie"}},
			ResponseHeaders: &edgerules.HeaderOps{Add: map[string]string{"Strict-Transport-Security": "max-age=300"}, Remove: []string{"Server"}}},
		edgerules.Spec{Path: "/app/*", Rewrite: "/index.html"},
		edgerules.Spec{Name: "legacy", Host: "www.example.com", Path: "/docs/:page", Redirect: &edgerules.RedirectSpec{To: "https://docs.example.com/:page", Status: 308}},
		edgerules.Spec{Path: "/maintenance", Respond: &edgerules.RespondSpec{Status: 503, Body: "back soon\n"}},
	)
	_, srv := newProxy(t, o.URL, nil, func(p *Proxy) { p.Rules = rules })

	// The rewrite happens before the cache key: two client paths share one
	// stored response, fetched once; the client's own X-Env and cookie
	// never reach the origin, so they cannot change what others get.
	resp, body := get(t, srv.URL+"/app/settings?tab=1", "X-Env", "attacker", "Cookie", "session=a")
	if resp.StatusCode != 200 || body != "spa env=dev cookie= q=tab=1" {
		t.Fatalf("GET /app/settings = %d %q; want 200 from /index.html with the rule's X-Env and no cookie", resp.StatusCode, body)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, `detail="rule 0 request-headers, rule 1 rewrite"`) {
		t.Errorf("Cache-Status = %q; want the rules in the detail", cs)
	}
	resp, body = get(t, srv.URL+"/app/billing?tab=1")
	if xcache(resp) != "HIT" || body != "spa env=dev cookie= q=tab=1" {
		t.Errorf("GET /app/billing = %s %q; want a hit on the rewritten key", xcache(resp), body)
	}
	if n := o.count("/index.html"); n != 1 {
		t.Errorf("origin fetches of /index.html = %d; want 1", n)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "pop1; hit; ttl=") || !strings.HasSuffix(cs, `; detail="rule 0 request-headers, rule 1 rewrite"`) {
		t.Errorf("hit Cache-Status = %q; want a hit with the rules in its detail", cs)
	}
	// Response rules apply to every response and never to what is stored:
	// a hit has the field once, without the removed one.
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=300" {
		t.Errorf("Strict-Transport-Security = %q; want one line", got)
	}
	if got := resp.Header.Get("Server"); got != "" {
		t.Errorf("Server = %q; want it removed", got)
	}

	// Redirect with captures, only on its host.
	resp, _ = get(t, srv.URL+"/docs/install?v=2", "Host", "www.example.com")
	if resp.StatusCode != 308 || resp.Header.Get("Location") != "https://docs.example.com/install?v=2" {
		t.Errorf("redirect = %d %q; want 308 to https://docs.example.com/install?v=2", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cs := resp.Header.Get("Cache-Status"); cs != `pop1; fwd=bypass; detail="rule 2 (legacy) redirect"` {
		t.Errorf("redirect Cache-Status = %q", cs)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=300" {
		t.Errorf("redirect Strict-Transport-Security = %q; want the response rule applied", got)
	}
	resp, _ = get(t, srv.URL+"/docs/install", "Host", "other.example.com")
	if resp.StatusCode != 404 {
		t.Errorf("GET /docs/install on another host = %d; want the origin's 404", resp.StatusCode)
	}

	// Fixed response, HEAD without a body.
	resp, body = get(t, srv.URL+"/maintenance")
	if resp.StatusCode != 503 || body != "back soon\n" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("fixed response = %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	resp, body = do(t, http.MethodHead, srv.URL+"/maintenance")
	if resp.StatusCode != 503 || body != "" {
		t.Errorf("HEAD fixed response = %d %q; want 503 without a body", resp.StatusCode, body)
	}
	if n := o.count("/maintenance") + o.count("/docs/install"); n != 1 {
		t.Errorf("origin requests for answered paths = %d; want only the other host's", n)
	}
}

func TestAddCacheStatusDetail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"pop1; hit; ttl=5", `pop1; hit; ttl=5; detail="rule 1 rewrite"`},
		{"shield; fwd=uri-miss; stored, pop1; fwd=uri-miss; fwd-status=200", `shield; fwd=uri-miss; stored, pop1; fwd=uri-miss; fwd-status=200; detail="rule 1 rewrite"`},
		{"pop1; fwd=miss; detail=upstream-error", `pop1; fwd=miss; detail="upstream-error; rule 1 rewrite"`},
		{`pop1; fwd=miss; detail="a \"b\""`, `pop1; fwd=miss; detail="a \"b\"; rule 1 rewrite"`},
		{"pop10; hit", "pop10; hit"},
		{"pop1, pop10; hit", "pop1, pop10; hit"},
		{"pop1", `pop1; detail="rule 1 rewrite"`},
		{"other; hit", "other; hit"},
	}
	for _, tt := range tests {
		if got := addCacheStatusDetail(tt.in, "pop1", "rule 1 rewrite"); got != tt.want {
			t.Errorf("addCacheStatusDetail(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

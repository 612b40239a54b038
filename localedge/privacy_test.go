package localedge

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSharedForRequest(t *testing.T) {
	for _, tt := range []struct {
		name     string
		req      http.Header
		resp     http.Header
		listed   bool
		ok       bool
		reason   string
		response bool // the reason comes from the response: hit-for-miss
	}{
		{"plain", http.Header{}, http.Header{"Cache-Control": {"max-age=60"}}, false, true, "", false},
		{"set-cookie public", http.Header{}, http.Header{"Cache-Control": {"public, max-age=60"}, "Set-Cookie": {"s=1"}}, false, false, "set-cookie", true},
		{"set-cookie listed path", http.Header{}, http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"s=1"}}, true, false, "set-cookie", true},
		{"cookie, max-age", http.Header{"Cookie": {"s=1"}}, http.Header{"Cache-Control": {"max-age=60"}}, false, false, "cookie", false},
		{"cookie, no directives", http.Header{"Cookie": {"s=1"}}, http.Header{}, false, false, "cookie", false},
		{"cookie, public", http.Header{"Cookie": {"s=1"}}, http.Header{"Cache-Control": {"public, max-age=60"}}, false, true, "", false},
		{"cookie, s-maxage", http.Header{"Cookie": {"s=1"}}, http.Header{"Cache-Control": {"s-maxage=60"}}, false, true, "", false},
		{"cookie, CDN-Cache-Control", http.Header{"Cookie": {"s=1"}}, http.Header{"Cdn-Cache-Control": {"max-age=60"}}, false, true, "", false},
		{"cookie, listed path", http.Header{"Cookie": {"s=1"}}, http.Header{"Cache-Control": {"max-age=60"}}, true, true, "", false},
		{"empty cookie", http.Header{"Cookie": {" "}}, http.Header{"Cache-Control": {"max-age=60"}}, false, true, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, source := SelectDirectives(tt.resp, defaultTargetedFields)
			ok, reason := sharedForRequest(tt.req, tt.resp, d, source, tt.listed)
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("sharedForRequest = %v, %q; want %v, %q", ok, reason, tt.ok, tt.reason)
			}
			if !ok && marksHitForMiss(reason) != tt.response {
				t.Errorf("marksHitForMiss(%q) = %v; want %v", reason, !tt.response, tt.response)
			}
		})
	}
}

func TestMarksHitForMiss(t *testing.T) {
	for reason, want := range map[string]bool{
		"no-store": true, "private": true, "set-cookie": true, "uncacheable-status": true, "vary-star": true,
		"request-no-store": false, "authorization": false, "cookie": false, "too-large": false, "purged-during-fetch": false,
	} {
		if got := marksHitForMiss(reason); got != want {
			t.Errorf("marksHitForMiss(%q) = %v; want %v", reason, got, want)
		}
	}
}

func TestGeneratedByCache(t *testing.T) {
	for _, tt := range []struct {
		cs   []string
		want bool
	}{
		{nil, false},
		{[]string{"shield; fwd=bypass; detail=loop"}, true},
		{[]string{"shield; fwd=miss; detail=upstream-error"}, true},
		{[]string{"shield; fwd=uri-miss; fwd-status=200; stored"}, false},
		{[]string{"shield; hit; ttl=30"}, false},
		{[]string{"origin-cache; hit, shield; fwd=bypass; detail=too-many-fields"}, true},
		{[]string{"shield; fwd=bypass", "other; fwd=uri-miss; fwd-status=404"}, false},
		{[]string{"shield"}, false},
	} {
		if got := generatedByCache(http.Header{"Cache-Status": tt.cs}); got != tt.want {
			t.Errorf("generatedByCache(%q) = %v; want %v", tt.cs, got, tt.want)
		}
	}
}

func TestSeparateFields(t *testing.T) {
	h := http.Header{"Set-Cookie": {"s=1"}, "X-User": {"ann"}, "X-Public": {"p"}}
	d := ParseCacheControl([]string{`max-age=60, private="X-User", no-cache="Set-Cookie"`})
	own := separateFields(h, d)
	if own.Get("Set-Cookie") != "s=1" || own.Get("X-User") != "ann" || len(own) != 2 {
		t.Errorf("own = %v; want Set-Cookie and X-User", own)
	}
	if len(h) != 1 || h.Get("X-Public") != "p" {
		t.Errorf("stored header = %v; want X-Public only", h)
	}
}

// sessionOrigin answers /page with a body and a Set-Cookie naming the
// session it opens (a new one per request) or the session the request
// carries, with the given Cache-Control.
func sessionOrigin(o *origin, path, cc string) {
	var n atomic.Int32
	o.handle(path, func(w http.ResponseWriter, r *http.Request) {
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		user := ""
		if c, err := r.Cookie("session"); err == nil {
			user = c.Value
		} else {
			user = fmt.Sprintf("user%d", n.Add(1))
			w.Header().Set("Set-Cookie", "session="+user)
		}
		io.WriteString(w, "page of "+user)
	})
}

// TestSetCookieNeverReplayed: a response that sets a session cookie is
// never served to another client, however cacheable it says it is (issue
// 12, High 1a).
func TestSetCookieNeverReplayed(t *testing.T) {
	for _, cc := range []string{"public, max-age=60", "max-age=60", "s-maxage=60"} {
		t.Run(cc, func(t *testing.T) {
			o := newOrigin(t, nil)
			sessionOrigin(o, "/page", cc)
			_, srv := newProxy(t, o.URL, nil, nil)
			r1, b1 := get(t, srv.URL+"/page")
			if r1.Header.Get("Set-Cookie") != "session=user1" || b1 != "page of user1" {
				t.Fatalf("first client: Set-Cookie %q body %q", r1.Header.Get("Set-Cookie"), b1)
			}
			if cs := r1.Header.Get("Cache-Status"); !strings.Contains(cs, "detail=set-cookie") || strings.Contains(cs, "stored") {
				t.Errorf("Cache-Status %q; want not stored, detail=set-cookie", cs)
			}
			r2, b2 := get(t, srv.URL+"/page")
			if r2.Header.Get("Set-Cookie") == "session=user1" || strings.Contains(b2, "user1") || xcache(r2) == "HIT" {
				t.Errorf("second client got X-Cache %q, Set-Cookie %q, body %q: the first client's session", xcache(r2), r2.Header.Get("Set-Cookie"), b2)
			}
			if o.count("/page") != 2 {
				t.Errorf("origin requests = %d; want 2", o.count("/page"))
			}
		})
	}
}

// TestPrivateSetCookieStoresTheRest: private="Set-Cookie" (and
// no-cache="Set-Cookie") let the cache store the response without the
// cookie; the client that asked still gets its own.
func TestPrivateSetCookieStoresTheRest(t *testing.T) {
	for _, cc := range []string{`public, max-age=60, private="Set-Cookie"`, `max-age=60, no-cache="Set-Cookie"`} {
		t.Run(cc, func(t *testing.T) {
			o := newOrigin(t, nil)
			o.static("/shell", 200, "shell", "Cache-Control", cc, "Set-Cookie", "session=user1")
			_, srv := newProxy(t, o.URL, nil, nil)
			r1, _ := get(t, srv.URL+"/shell")
			if r1.Header.Get("Set-Cookie") != "session=user1" {
				t.Errorf("first client's Set-Cookie = %q; want its own cookie", r1.Header.Get("Set-Cookie"))
			}
			r2, b2 := get(t, srv.URL+"/shell")
			if xcache(r2) != "HIT" || b2 != "shell" || r2.Header.Get("Set-Cookie") != "" {
				t.Errorf("second client: X-Cache %q body %q Set-Cookie %q; want a hit without the cookie", xcache(r2), b2, r2.Header.Get("Set-Cookie"))
			}
		})
	}
}

// TestCookieRequestsNotShared: the response to a request with a Cookie is
// stored only when the origin marks it for shared caches or its path is
// configured (issue 12, High 1b).
func TestCookieRequestsNotShared(t *testing.T) {
	for _, tt := range []struct {
		name, path, cc string
		shared         bool
	}{
		{"no directives", "/account", "", false},
		{"max-age", "/account", "max-age=60", false},
		{"public", "/account", "public, max-age=60", true},
		{"s-maxage", "/account", "s-maxage=60", true},
		{"listed path", "/assets/app.js", "max-age=60", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrigin(t, nil)
			sessionOrigin(o, tt.path, tt.cc)
			_, srv := newProxy(t, o.URL, nil, func(p *Proxy) {
				p.CookiePaths = []string{"/assets/"}
				p.StaleIfError = 10 * time.Second
			})
			r1, b1 := get(t, srv.URL+tt.path, "Cookie", "session=alice")
			if b1 != "page of alice" || r1.Header.Get("Set-Cookie") != "" {
				t.Fatalf("alice: body %q Set-Cookie %q", b1, r1.Header.Get("Set-Cookie"))
			}
			// Bob has no cookie: he gets alice's page only if the origin
			// said it may be shared.
			o.handle(tt.path, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
			r2, b2 := get(t, srv.URL+tt.path)
			if got := strings.Contains(b2, "alice"); got != tt.shared {
				t.Errorf("bob got alice's page = %v (status %d, Cache-Status %q); want %v", got, r2.StatusCode, r2.Header.Get("Cache-Status"), tt.shared)
			}
		})
	}
}

// TestGraceOnlyForOnceFreshResponses: the configured stale-if-error grace
// never serves a response that was stored only for validation (issue 12,
// High 1b); an explicit stale-if-error still applies.
func TestGraceOnlyForOnceFreshResponses(t *testing.T) {
	for _, tt := range []struct {
		cc    string
		stale bool
	}{
		{"", false},
		{"max-age=0", false},
		{"max-age=0, stale-if-error=60", true},
		{"max-age=1", true},
	} {
		t.Run(tt.cc, func(t *testing.T) {
			clock := newClock()
			o := newOrigin(t, clock)
			o.static("/p", 200, "private page", "Cache-Control", tt.cc)
			_, srv := newProxy(t, o.URL, clock, func(p *Proxy) { p.StaleIfError = 10 * time.Second })
			get(t, srv.URL+"/p")
			o.static("/p", 503, "down")
			clock.Advance(2 * time.Second)
			r, body := get(t, srv.URL+"/p")
			if got := body == "private page"; got != tt.stale {
				t.Errorf("served stored response = %v (status %d, Cache-Status %q); want %v", got, r.StatusCode, r.Header.Get("Cache-Status"), tt.stale)
			}
		})
	}
}

// TestRequestsCannotMakeHitForMiss: a request's own no-store,
// Authorization or Cookie, or a Via that makes the shield refuse it, does
// not turn the URL hit-for-miss: the next concurrent misses still collapse
// into one origin fetch (issue 12, Low 8).
func TestRequestsCannotMakeHitForMiss(t *testing.T) {
	for _, kv := range [][]string{
		{"Cache-Control", "no-store"},
		{"Authorization", "Bearer x"},
		{"Cookie", "session=x"},
		{"Via", "1.1 shield"},
	} {
		t.Run(kv[0], func(t *testing.T) {
			o := newOrigin(t, nil)
			release := make(chan struct{})
			var gate atomic.Bool
			o.handle("/doc", func(w http.ResponseWriter, r *http.Request) {
				if gate.Load() {
					<-release
				}
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "doc")
			})
			_, shieldSrv := newProxy(t, o.URL, nil, func(p *Proxy) { p.Name, p.Role, p.TrustForwarded = "shield", RoleShield, true })
			pop, srv := newProxy(t, shieldSrv.URL, nil, nil)
			r, _ := get(t, srv.URL+"/doc", kv...)
			if kv[0] == "Via" && r.StatusCode != http.StatusLoopDetected {
				t.Fatalf("spoofed Via: status %d; want 508 from the shield", r.StatusCode)
			}
			before := o.count("/doc")
			gate.Store(true)
			const n = 20
			var wg sync.WaitGroup
			for range n {
				wg.Add(1)
				go func() { defer wg.Done(); get(t, srv.URL+"/doc") }()
			}
			waitFor(t, "all requests at the edge", func() bool { return pop.Stats().Requests == n+1 })
			time.Sleep(50 * time.Millisecond) // let any solo fetch reach the origin
			close(release)
			wg.Wait()
			if got := o.count("/doc") - before; got != 1 {
				t.Errorf("origin fetches for %d concurrent misses = %d; want 1", n, got)
			}
		})
	}
}

package localedge

import (
	"strings"
	"testing"
	"time"
)

// TestTiers runs edge → shield → origin: the shield absorbs the second
// edge's miss, and the headers show the path (contract §1).
func TestTiers(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	o.static("/app.js", 200, "js", "Cache-Control", "max-age=300", "Surrogate-Key", "js app", "CDN-Cache-Control", "max-age=600")
	shield, shieldSrv := newProxy(t, o.URL, clock, func(p *Proxy) {
		p.Name, p.Role, p.TrustForwarded = "shield", RoleShield, true
	})
	_, pop1 := newProxy(t, shieldSrv.URL, clock, func(p *Proxy) { p.Name = "pop1" })
	pop2p, pop2 := newProxy(t, shieldSrv.URL, clock, func(p *Proxy) { p.Name = "pop2" })

	host := "www.example.test"
	r, body := get(t, pop1.URL+"/app.js", "Host", host)
	if body != "js" || r.Header.Get("X-Served-By") != "shield, pop1" {
		t.Fatalf("pop1 = %q X-Served-By %q; want js via shield, pop1", body, r.Header.Get("X-Served-By"))
	}
	if cs := r.Header.Get("Cache-Status"); cs != "shield; fwd=uri-miss; fwd-status=200; stored, pop1; fwd=uri-miss; fwd-status=200; stored" {
		t.Errorf("pop1 Cache-Status = %q", cs)
	}
	if via := r.Header.Get("Via"); via != "1.1 shield, 1.1 pop1" {
		t.Errorf("Via = %q", via)
	}
	if r.Header.Get("Surrogate-Key") != "" || r.Header.Get("CDN-Cache-Control") == "" {
		t.Errorf("edge response: Surrogate-Key %q (want stripped), CDN-Cache-Control %q (want kept)", r.Header.Get("Surrogate-Key"), r.Header.Get("CDN-Cache-Control"))
	}
	up := o.lastRequest("/app.js")
	if up.Host != host || up.Header.Get("Via") != "1.1 pop1, 1.1 shield" || up.Header.Get("X-Forwarded-Host") != host {
		t.Errorf("origin saw Host %q Via %q X-Forwarded-Host %q", up.Host, up.Header.Get("Via"), up.Header.Get("X-Forwarded-Host"))
	}
	clock.Advance(5 * time.Second)
	r, _ = get(t, pop2.URL+"/app.js", "Host", host)
	if cs := r.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "shield; hit; ttl=595") || !strings.HasSuffix(cs, "pop2; fwd=uri-miss; fwd-status=200; stored") {
		t.Errorf("pop2 Cache-Status = %q; want a shield hit then a pop2 miss", cs)
	}
	if age := r.Header.Get("Age"); age != "5" {
		t.Errorf("pop2 Age = %q; want 5 (the shield's age carried over)", age)
	}
	if o.count("/app.js") != 1 {
		t.Errorf("origin requests = %d; want 1", o.count("/app.js"))
	}
	// The edge keeps the tags for purging even though it hides them.
	if n, err := pop2p.Purge(t.Context(), PurgeRequest{Tags: []string{"app"}}); err != nil || n != 1 {
		t.Errorf("purge by tag at the edge = %d, %v; want 1", n, err)
	}
	if n, err := shield.Purge(t.Context(), PurgeRequest{Tags: []string{"js"}}); err != nil || n != 1 {
		t.Errorf("purge by tag at the shield = %d, %v; want 1", n, err)
	}
	r, _ = get(t, pop1.URL+"/app.js", "Host", host)
	if xcache(r) != "HIT" || r.Header.Get("X-Served-By") != "shield, pop1" {
		t.Errorf("pop1 hit: %q X-Served-By %q", xcache(r), r.Header.Get("X-Served-By"))
	}
}

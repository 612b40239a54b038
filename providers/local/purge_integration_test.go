package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/adminclient"
	"github.com/cdnctl/cdnctl/localedge/edgetest"
	"github.com/cdnctl/cdnctl/providers"
)

// fetch requests path through a PoP and returns its Cache-Status.
func fetch(t *testing.T, env *edgetest.Env, pop, path string) string {
	t.Helper()
	r := env.Get(t, pop, path)
	if r.Status != 200 {
		t.Fatalf("GET %s via %s: %d", path, pop, r.Status)
	}
	return r.Header.Get("Cache-Status")
}

// edgeHit reports whether the edge PoP itself (the last Cache-Status
// entry, closest to the client) served a hit.
func edgeHit(cacheStatus string) bool {
	entries := strings.Split(cacheStatus, ",")
	return strings.Contains(entries[len(entries)-1], "; hit")
}

// freshTTL reports whether the edge's Cache-Status entry has a positive
// ttl (RFC 9211 §2.3: the remaining freshness lifetime).
func freshTTL(cacheStatus string) bool {
	entries := strings.Split(cacheStatus, ",")
	for _, param := range strings.Split(entries[len(entries)-1], ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(param), "ttl="); ok {
			return !strings.HasPrefix(v, "-") && v != "0"
		}
	}
	return false
}

// TestPurgeRealTopology purges a running localedge topology (edgetest's,
// whose origin tags CSS "css") through its admin API with the local purger, as `cdnctl purge --provider local` does,
// and checks with real requests that what was purged is fetched again and
// what was not is still a hit.
func TestPurgeRealTopology(t *testing.T) {
	env := edgetest.Start(t, nil)
	edges := []string{"pop1", "pop2", "pop3"}
	paths := []string{"/index.html", "/about/", "/assets/site.css", "/assets/app.css"}
	for _, e := range edges {
		for _, p := range paths {
			fetch(t, env, e, p)
		}
		for _, p := range paths {
			if cs := fetch(t, env, e, p); !edgeHit(cs) {
				t.Fatalf("%s via %s not cached after warming: Cache-Status %q", e, p, cs)
			}
		}
	}

	p, err := NewPurger(PurgerConfig{AdminURL: env.AdminURL, Token: providers.Secret(env.Token)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	purge := func(req providers.PurgeRequest) *providers.PurgeRecord {
		t.Helper()
		rec, err := p.Plan(req)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Purge(ctx, rec); err != nil {
			t.Fatalf("Purge(%+v) = %v", req, err)
		}
		return rec
	}

	// A path: gone from the three edges and the shield; the rest stays.
	rec := purge(providers.PurgeRequest{URLs: []string{"/index.html"}})
	b := rec.Batches[0]
	if rec.Status != providers.PurgeCompleted || b.Purged == nil || *b.Purged != 4 || len(b.Pops) != 4 || len(b.ID) != 36 {
		t.Errorf("path purge record = %+v, batch %+v; want completed, 4 entries on 4 PoPs, a UUID", rec, b)
	}
	for _, e := range edges {
		if cs := fetch(t, env, e, "/index.html"); edgeHit(cs) {
			t.Errorf("%s/index.html still a hit after the purge: %q", e, cs)
		}
		if cs := fetch(t, env, e, "/about/"); !edgeHit(cs) {
			t.Errorf("%s/about/ is no longer a hit: %q", e, cs)
		}
	}

	// A tag and a prefix, in one purge of two batches.
	rec = purge(providers.PurgeRequest{Tags: []string{"css"}, Prefixes: []string{"/about/"}})
	if len(rec.Batches) != 2 || rec.Status != providers.PurgeCompleted {
		t.Fatalf("record = %+v; want 2 completed batches", rec)
	}
	if n := *rec.Batches[0].Purged + *rec.Batches[1].Purged; n != 4+2*4 {
		t.Errorf("purged %d entries; want 12 (about/ and two CSS files on 4 PoPs)", n)
	}
	for _, e := range edges {
		for _, path := range []string{"/assets/site.css", "/about/"} {
			if cs := fetch(t, env, e, path); edgeHit(cs) {
				t.Errorf("%s%s still a hit: %q", e, path, cs)
			}
		}
	}

	// One PoP only.
	one, err := NewPurger(PurgerConfig{AdminURL: env.AdminURL, Token: providers.Secret(env.Token), Pops: []string{"pop2"}})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ = one.Plan(providers.PurgeRequest{Everything: true})
	if err := one.Purge(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got := rec.Batches[0].Pops; len(got) != 2 || got[0].Name != "pop2" || got[1].Name != "shield" {
		t.Errorf("pops of a pop2 purge = %+v; want pop2 and the shield it fetches from", got)
	}
	if cs := fetch(t, env, "pop1", "/about/"); !edgeHit(cs) {
		t.Errorf("pop1 lost /about/ in a pop2 purge: %q", cs)
	}

	// Unknown PoP, wrong token: refused.
	bad, _ := NewPurger(PurgerConfig{AdminURL: env.AdminURL, Token: providers.Secret(env.Token), Pops: []string{"pop9"}})
	rec, _ = bad.Plan(providers.PurgeRequest{URLs: []string{"/x"}})
	if err := bad.Purge(ctx, rec); err == nil || !strings.Contains(err.Error(), `"pop9" is not in the topology`) {
		t.Errorf("unknown PoP: %v", err)
	}
	wrong, _ := NewPurger(PurgerConfig{AdminURL: env.AdminURL, Token: "wrong"})
	rec, _ = wrong.Plan(providers.PurgeRequest{URLs: []string{"/x"}})
	err = wrong.Purge(ctx, rec)
	if !errors.Is(err, adminclient.ErrUnauthorized) {
		t.Errorf("wrong token: %v; want adminclient.ErrUnauthorized", err)
	}
}

// TestSoftPurgeRealTopology: a soft purge keeps the entries but marks them
// stale, so the next request revalidates instead of being a plain hit.
func TestSoftPurgeRealTopology(t *testing.T) {
	env := edgetest.Start(t, nil)
	fetch(t, env, "pop1", "/index.html")
	if cs := fetch(t, env, "pop1", "/index.html"); !edgeHit(cs) {
		t.Fatalf("not cached: %q", cs)
	}
	p, err := NewPurger(PurgerConfig{AdminURL: env.AdminURL, Token: providers.Secret(env.Token)})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := p.Plan(providers.PurgeRequest{URLs: []string{"/index.html"}, Soft: true})
	if err := p.Purge(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Soft || *rec.Batches[0].Purged == 0 {
		t.Errorf("soft purge record = %+v", rec)
	}
	// Stale now: served within its grace while revalidated (ttl <= 0),
	// or fetched again; never a fresh hit.
	if cs := fetch(t, env, "pop1", "/index.html"); edgeHit(cs) && freshTTL(cs) {
		t.Errorf("after a soft purge pop1 answered a fresh hit: %q", cs)
	}
}

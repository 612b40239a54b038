package localedge

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// versionedTopology runs the default topology (three edges and the
// shield) over an origin whose bodies and ETags carry a version the test
// bumps: a purge is seen to work when an edge serves the new version. The
// origin records the Cache-Control of the requests it receives.
func versionedTopology(t *testing.T, mod func(*TopologyConfig)) (*Topology, *atomic.Int64, func() []string) {
	t.Helper()
	var version atomic.Int64
	var mu sync.Mutex
	var seen []string
	top := startTopology(t, func(c *TopologyConfig) {
		if mod != nil {
			mod(c)
		}
		c.Origin.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Header.Get("Cache-Control"))
			mu.Unlock()
			v := version.Load()
			etag := fmt.Sprintf(`"v%d"`, v)
			w.Header().Set("Cache-Control", "public, max-age=300")
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			fmt.Fprintf(w, "v%d", v)
		})
	})
	return top, &version, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestSoftPurgeReachesOrigin: after a soft purge of every PoP and the
// shield, an edge that held the object and an edge that did not both come
// to serve the origin's new version, and neither serves the old one as
// fresh in between. The edge's revalidation of a soft-purged response asks
// with Cache-Control: no-cache, so the shield validates with the origin
// rather than answering from its own soft-purge grace; a response the
// shield served from that grace is stored by the edge as soft-purged, not
// as fresh. Before, the shield answered with its copy and the edge served
// the old content, fresh, for its whole max-age.
func TestSoftPurgeReachesOrigin(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore_request_cache_control=%t", ignore), func(t *testing.T) {
			softPurgeReachesOrigin(t, ignore)
		})
	}
}

func softPurgeReachesOrigin(t *testing.T, ignoreRequestCC bool) {
	top, version, seen := versionedTopology(t, func(c *TopologyConfig) { c.Cache.IgnoreRequestCacheControl = ignoreRequestCC })
	pops := top.Info().PoPs
	host := "www.example.test"
	for _, p := range pops[:2] {
		get(t, p.URL+"/held", "Host", host)
	}
	get(t, pops[0].URL+"/other", "Host", host) // /other: pop1 holds it, pop2 does not
	before := len(seen())
	version.Store(1)
	resp, b := api(t, top, "POST", "/api/v1/purge", top.Token(), `{"urls":["/held","/other"],"soft":true}`)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"shield","purged":2`) {
		t.Fatalf("soft purge = %d %s; want the shield's entries purged", resp.StatusCode, b)
	}
	check := func(u, pop string) {
		t.Helper()
		waitFor(t, u+" to serve v1", func() bool {
			r, body := get(t, u, "Host", host)
			cs := r.Header.Get("Cache-Status")
			own := cs[strings.LastIndex(cs, pop):]
			if body != "v1" && strings.Contains(own, "; hit") && !strings.Contains(own, "detail=soft-purge-grace") {
				t.Fatalf("%s after the soft purge: %q %q; the old version served as fresh", u, body, cs)
			}
			return body == "v1"
		})
	}
	// An edge holding the object: its first request after the purge gets
	// the old version within the grace and revalidates it all the way.
	check(pops[0].URL+"/held", "pop1")
	// The shield validated pop1's revalidation with the origin because of
	// its no-cache (fwd=request), and forwarded it unless told to ignore
	// request directives.
	if r, _ := get(t, pops[0].URL+"/held", "Host", host); !strings.HasPrefix(r.Header.Get("Cache-Status"), "shield; fwd=request") {
		t.Errorf("pop1 after the purge: Cache-Status %q; want the shield's fwd=request (validated for pop1's no-cache)", r.Header.Get("Cache-Status"))
	}
	if s := seen()[before:]; !ignoreRequestCC && (len(s) == 0 || s[0] != "no-cache") {
		t.Errorf("origin requests after the purge had Cache-Control %q; want the edge's no-cache first", s)
	}
	check(pops[1].URL+"/held", "pop2")
	// An edge holding nothing, before any other edge revalidated: the
	// shield answers from its grace.
	check(pops[1].URL+"/other", "pop2")
	check(pops[0].URL+"/other", "pop1")
}

// TestPurgeOfAnEdgeReachesShield: a purge that names one edge purges the
// shield too, first: otherwise the edge would fetch the shield's old copy
// again at once.
func TestPurgeOfAnEdgeReachesShield(t *testing.T) {
	top, version, _ := versionedTopology(t, nil)
	pop1 := top.Info().PoPs[0].URL + "/page"
	host := "www.example.test"
	for _, soft := range []bool{false, true} {
		get(t, pop1, "Host", host)
		v := version.Add(1)
		body := fmt.Sprintf(`{"urls":["/page"],"pops":["pop1"],"soft":%t}`, soft)
		resp, b := api(t, top, "POST", "/api/v1/purge", top.Token(), body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"name":"shield","purged":1`) {
			t.Fatalf("purge of pop1 (soft %t) = %d %s; want the shield's entry purged too", soft, resp.StatusCode, b)
		}
		want := fmt.Sprintf("v%d", v)
		waitFor(t, fmt.Sprintf("pop1 to serve %s after a purge (soft %t)", want, soft), func() bool {
			_, body := get(t, pop1, "Host", host)
			return body == want
		})
	}
}

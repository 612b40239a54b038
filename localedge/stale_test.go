package localedge

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestStaleTimeout: when the upstream hangs, a stored response that
// stale-if-error (or the configured grace) allows is served once the stale
// timeout has passed, not after the upstream timeout; the fetch goes on and
// stores the late answer (issue 12, Medium 6).
func TestStaleTimeout(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cc    string
		grace time.Duration
		stale bool
	}{
		{"explicit stale-if-error", "max-age=1, stale-if-error=60", 0, true},
		{"configured grace", "max-age=1", 10 * time.Second, true},
		{"no grace", "max-age=1", 0, false},
		{"must-revalidate", "max-age=1, must-revalidate, stale-if-error=60", 10 * time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			o := newOrigin(t, clock)
			hang := make(chan struct{})
			var v2 atomic.Bool
			o.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
				version := "v1"
				if v2.Load() {
					<-hang
					version = "v2"
				}
				w.Header().Set("Cache-Control", tt.cc)
				io.WriteString(w, version)
			})
			_, srv := newProxy(t, o.URL, clock, func(p *Proxy) {
				p.StaleIfError = tt.grace
				p.StaleTimeout = 100 * time.Millisecond
				p.UpstreamTimeout = 30 * time.Second
			})
			get(t, srv.URL+"/slow")
			v2.Store(true)
			clock.Advance(3 * time.Second)
			if !tt.stale {
				close(hang) // the client waits for the upstream: let it answer
			}
			r, body := get(t, srv.URL+"/slow")
			cs := r.Header.Get("Cache-Status")
			if got := body == "v1" && strings.Contains(cs, "detail=stale-timeout"); got != tt.stale {
				t.Errorf("served the stale response on the stale timeout = %v (status %d, body %q, Cache-Status %q); want %v", got, r.StatusCode, body, cs, tt.stale)
			}
			if !tt.stale {
				return
			}
			close(hang)
			waitFor(t, "the late response stored", func() bool {
				r, body := get(t, srv.URL+"/slow", "Cache-Control", "only-if-cached")
				return r.StatusCode == 200 && body == "v2"
			})
		})
	}
}

// TestShieldAnswerReachesEdge: with the same upstream timeout at every
// tier, the shield's own answer when the origin hangs (here the stale
// response its grace allows) reaches the edge instead of the edge timing
// out at the same moment (issue 12, Medium 6).
func TestShieldAnswerReachesEdge(t *testing.T) {
	clock := newClock()
	o := newOrigin(t, clock)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	var hangs atomic.Bool
	o.handle("/page", func(w http.ResponseWriter, r *http.Request) {
		if hangs.Load() {
			<-hang
		}
		w.Header().Set("Cache-Control", "max-age=1")
		io.WriteString(w, "page")
	})
	top := startTopology(t, func(c *TopologyConfig) {
		c.Origin.Handler, c.Origin.URL = nil, o.URL
		c.Now = clock.Now
		c.Cache.UpstreamTimeout = time.Second
		c.Cache.StaleIfError = time.Minute
		c.Cache.StaleTimeout = -1 // only the timeouts are tested here
	})
	pop1, _ := top.PoP("pop1")
	get(t, pop1.URL()+"/page", "Host", "www.example.test")
	// pop1 no longer holds the page; the shield holds it, stale.
	if _, err := pop1.Proxy.Purge(t.Context(), PurgeRequest{All: true}); err != nil {
		t.Fatal(err)
	}
	hangs.Store(true)
	clock.Advance(5 * time.Second)
	r, body := get(t, pop1.URL()+"/page", "Host", "www.example.test")
	if r.StatusCode != 200 || body != "page" || !strings.Contains(r.Header.Get("Cache-Status"), "shield; fwd=stale") {
		t.Errorf("edge got %d %q (Cache-Status %q); want the shield's stale-if-error answer", r.StatusCode, body, r.Header.Get("Cache-Status"))
	}
}

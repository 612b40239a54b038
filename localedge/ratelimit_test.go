package localedge

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cdnctl/cdnctl/localedge/ratelimit"
)

// clientFrom is an HTTP client whose connections come from a loopback
// source address (127.x.y.z), so a test can be many clients.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		DisableCompression: true,
	}}
}

func statusOf(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestRateLimitOverHTTP: a burst over the limit from one client address
// gets exactly the bucket's size through, then 429s with Retry-After;
// another address and the other PoPs are not affected; the counters are
// on /metrics.
func TestRateLimitOverHTTP(t *testing.T) {
	clock := newClock() // no refill during the test
	top := startTopology(t, func(c *TopologyConfig) {
		c.Now = clock.Now
		c.RateLimit = &ratelimit.Config{Rate: 1, Burst: 5, Rules: []ratelimit.Rule{{Path: "/api/*", Rate: 0.5, Burst: 2}}, MaxClients: 64}
	})
	pop1, _ := top.PoP("pop1")
	base := pop1.URL()
	a := clientFrom("127.1.0.7")
	var codes []int
	for range 12 {
		resp, body := statusOf(t, a, base+"/index.html")
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			if ra := resp.Header.Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After = %q; want 1 (one token at 1/s)", ra)
			}
			if cs := resp.Header.Get("Cache-Status"); cs != "pop1; fwd=bypass; detail=rate-limited" {
				t.Errorf("429 Cache-Status = %q", cs)
			}
			if strings.Contains(body, "127.1.0.7") {
				t.Errorf("429 body %q names the client address", body)
			}
		}
	}
	want := "200 200 200 200 200 429 429 429 429 429 429 429"
	if got := strings.Trim(fmt.Sprint(codes), "[]"); got != want {
		t.Errorf("statuses of a burst of 12 = %s; want %s", got, want)
	}
	// The path rule has its own, smaller bucket: a's default bucket is
	// empty, its /api/ bucket is not.
	for i, wantCode := range []int{200, 200, 429} {
		if resp, _ := statusOf(t, a, base+"/api/users"); resp.StatusCode != wantCode {
			t.Errorf("/api/ request %d = %d; want %d", i, resp.StatusCode, wantCode)
		}
	}
	if resp, _ := statusOf(t, a, base+"/api/users"); resp.Header.Get("Retry-After") != "2" {
		t.Errorf("/api/ Retry-After = %q; want 2 (one token at 0.5/s)", resp.Header.Get("Retry-After"))
	}
	// Another client, and the same client at another PoP, are served.
	if resp, _ := statusOf(t, clientFrom("127.1.0.8"), base+"/index.html"); resp.StatusCode != 200 {
		t.Errorf("another client = %d; want 200", resp.StatusCode)
	}
	pop2, _ := top.PoP("pop2")
	if resp, _ := statusOf(t, a, pop2.URL()+"/index.html"); resp.StatusCode != 200 {
		t.Errorf("same client at pop2 = %d; want 200", resp.StatusCode)
	}
	// Time refills the bucket.
	clock.Advance(time.Second)
	if resp, _ := statusOf(t, a, base+"/index.html"); resp.StatusCode != 200 {
		t.Errorf("after 1 s = %d; want 200", resp.StatusCode)
	}

	_, m := api(t, top, "GET", "/metrics", top.Token(), "")
	for _, w := range []string{
		`cdnctl_edge_rate_limit_limited_total{pop="pop1"} 9`,
		`cdnctl_edge_rate_limit_allowed_total{pop="pop1"} 9`,
		`cdnctl_edge_rate_limit_clients{pop="pop1"} 3`,
		`cdnctl_edge_rate_limit_capacity{pop="pop1"} 64`,
		`cdnctl_edge_rate_limit_allowed_total{pop="pop2"} 1`,
	} {
		if !strings.Contains(string(m), w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if strings.Contains(string(m), `rate_limit_allowed_total{pop="shield"}`) {
		t.Errorf("the shield has a rate limit; want edges only")
	}
}

// TestRateLimitBoundedOverHTTP: many client addresses through one PoP
// never hold more buckets than the table's size.
func TestRateLimitBoundedOverHTTP(t *testing.T) {
	top := startTopology(t, func(c *TopologyConfig) {
		c.RateLimit = &ratelimit.Config{Rate: 100, Burst: 100, MaxClients: 64}
	})
	pop1, _ := top.PoP("pop1")
	for i := range 300 {
		c := clientFrom(fmt.Sprintf("127.1.%d.%d", i/250, 1+i%250))
		if resp, _ := statusOf(t, c, pop1.URL()+"/x.css"); resp.StatusCode != 200 {
			t.Fatalf("client %d = %d; want 200", i, resp.StatusCode)
		}
		c.CloseIdleConnections()
	}
	s := pop1.Proxy.RateLimit.Stats()
	if s.Clients > s.Capacity || s.Capacity != 64 || s.Evictions < 300-64 {
		t.Errorf("stats = %+v; want at most 64 buckets and the rest evicted", s)
	}
}

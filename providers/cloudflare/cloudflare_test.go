package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/providers"
)

const (
	testZone  = "023e105f4ecef8ad9ca31a8372d0c353"
	testToken = "cf-test-token-Y2RuY3Rs"
)

func newTestPurger(t *testing.T, f *fakeAPI, mutate func(*Config)) *Purger {
	t.Helper()
	cfg := Config{
		ZoneID:    testZone,
		Hostnames: []string{"www.example.com", "example.com"},
		Token:     testToken,
		BaseURL:   f.baseURL(),
		Rate:      -1, // the tests of pacing turn it on
		Retry:     providers.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func purge(t *testing.T, p *Purger, req providers.PurgeRequest) (*providers.PurgeRecord, error) {
	t.Helper()
	rec, err := p.Plan(req)
	if err != nil {
		t.Fatalf("Plan(%+v) = %v", req, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rec, p.Purge(ctx, rec)
}

func urls(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://www.example.com/assets/f%03d.js", i)
	}
	return out
}

func TestPurgeFilesInBatches(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	f.maxFiles = 30
	p := newTestPurger(t, f, nil)
	in := urls(75)
	rec, err := purge(t, p, providers.PurgeRequest{URLs: in})
	if err != nil {
		t.Fatalf("Purge = %v", err)
	}
	reqs, purged, _ := f.snapshot()
	var sizes []int
	for _, r := range reqs {
		if r.Kind != "files" {
			t.Errorf("request kind %q; want files", r.Kind)
		}
		sizes = append(sizes, len(r.Items))
	}
	if diff := cmp.Diff([]int{30, 30, 15}, sizes); diff != "" {
		t.Errorf("request sizes mismatch (-want +got):\n%s", diff)
	}
	for _, u := range in {
		if purged["files:"+u] != 1 {
			t.Errorf("%s purged %d times; want 1", u, purged["files:"+u])
		}
	}
	if rec.Status != providers.PurgeCompleted || len(rec.Batches) != 3 {
		t.Fatalf("record status %s with %d batches; want completed with 3", rec.Status, len(rec.Batches))
	}
	for i, b := range rec.Batches {
		if b.Status != providers.PurgeCompleted || b.ID != testZone || !strings.HasSuffix(b.RequestID, "-SJC") || b.Attempts != 1 {
			t.Errorf("batch %d = %+v; want completed, ID, CF-Ray, 1 attempt", i, b)
		}
	}
	if rec.Provider != "cloudflare" || rec.Target != testZone {
		t.Errorf("record names %s/%s; want cloudflare/%s", rec.Provider, rec.Target, testZone)
	}
}

func TestPurgeEachKind(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	p := newTestPurger(t, f, func(c *Config) { c.OriginPath = "/site" })
	_, err := purge(t, p, providers.PurgeRequest{
		URLs:     []string{"/index.html", "https://example.com/a%20b.css?v=2", "/index.html"},
		Keys:     []string{"site/blog/index.html"},
		Prefixes: []string{"/assets/", "https://www.example.com/img/", "example.com/fonts"},
		Tags:     []string{"css", "product:42"},
		Hosts:    []string{"WWW.example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs, _, _ := f.snapshot()
	want := []fakeRequest{
		{Kind: "files", Items: []string{
			"https://www.example.com/index.html", "https://example.com/index.html",
			"https://example.com/a%20b.css?v=2",
			"https://www.example.com/blog/index.html", "https://example.com/blog/index.html",
			"https://www.example.com/blog/", "https://example.com/blog/",
		}},
		{Kind: "prefixes", Items: []string{"www.example.com/assets/", "example.com/assets/", "www.example.com/img/", "example.com/fonts"}},
		{Kind: "tags", Items: []string{"css", "product:42"}},
		{Kind: "hosts", Items: []string{"www.example.com"}},
	}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

func TestPurgeEverything(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	p := newTestPurger(t, f, nil)
	rec, err := purge(t, p, providers.PurgeRequest{Everything: true, URLs: []string{"/x"}})
	if err != nil {
		t.Fatal(err)
	}
	reqs, _, _ := f.snapshot()
	if diff := cmp.Diff([]fakeRequest{{Kind: "everything"}}, reqs); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	if len(rec.Notes) != 1 || !rec.Everything {
		t.Errorf("record = %+v; want everything with a note about the redundant item", rec)
	}
}

func TestPurgeFilesWithHeaders(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	p := newTestPurger(t, f, nil)
	hdr := map[string]string{"CF-Device-Type": "mobile", "Accept-Language": "de"}
	if _, err := purge(t, p, providers.PurgeRequest{URLs: []string{"https://www.example.com/"}, Headers: hdr}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []map[string]any{{"url": "https://www.example.com/", "headers": map[string]string{"CF-Device-Type": "mobile", "Accept-Language": "de"}}}
	if diff := cmp.Diff(want, f.headers); diff != "" {
		t.Errorf("files with headers mismatch (-want +got):\n%s", diff)
	}
}

// TestRefusedBeforeAnyRequest: what the API cannot do, or a malformed
// item, fails in Plan (or before the first request) and sends nothing.
func TestRefusedBeforeAnyRequest(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	p := newTestPurger(t, f, nil)
	noHosts := newTestPurger(t, f, func(c *Config) { c.Hostnames = nil })
	tests := []struct {
		name    string
		p       *Purger
		req     providers.PurgeRequest
		wantErr error
		want    string
	}{
		{"soft", p, providers.PurgeRequest{URLs: []string{"/a"}, Soft: true}, providers.ErrNotSupported, "soft purge"},
		{"nothing", p, providers.PurgeRequest{}, providers.ErrInvalidPurge, "nothing to purge"},
		{"relative", p, providers.PurgeRequest{URLs: []string{"index.html"}}, providers.ErrInvalidPurge, `"index.html"`},
		{"ftp", p, providers.PurgeRequest{URLs: []string{"ftp://www.example.com/a"}}, providers.ErrInvalidPurge, "absolute http(s) URL"},
		{"fragment", p, providers.PurgeRequest{URLs: []string{"/a#top"}}, providers.ErrInvalidPurge, "fragment"},
		{"foreign host", p, providers.PurgeRequest{URLs: []string{"https://evil.example.net/a"}}, providers.ErrInvalidPurge, "not one of this CDN's hostnames"},
		{"path without hostnames", noHosts, providers.PurgeRequest{URLs: []string{"/a"}}, providers.ErrInvalidPurge, "set hostnames"},
		{"prefix with query", p, providers.PurgeRequest{Prefixes: []string{"/a?x"}}, providers.ErrInvalidPurge, "query string"},
		{"tag with comma", p, providers.PurgeRequest{Tags: []string{"a,b"}}, providers.ErrInvalidPurge, "commas"},
		{"host with path", p, providers.PurgeRequest{Hosts: []string{"www.example.com/x"}}, providers.ErrInvalidPurge, "bare hostname"},
		{"headers without URLs", p, providers.PurgeRequest{Tags: []string{"a"}, Headers: map[string]string{"CF-IPCountry": "US"}}, providers.ErrInvalidPurge, "name the URLs"},
		{"key outside origin path", newTestPurger(t, f, func(c *Config) { c.OriginPath = "site" }), providers.PurgeRequest{Keys: []string{"other/a.css"}}, providers.ErrInvalidPurge, "outside the origin path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Plan(tt.req)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan = %v; want %v mentioning %q", err, tt.wantErr, tt.want)
			}
		})
	}
	// No token: Plan works (dry run), Purge refuses before sending.
	noToken := newTestPurger(t, f, func(c *Config) { c.Token = "" })
	rec, err := noToken.Plan(providers.PurgeRequest{URLs: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := noToken.Purge(context.Background(), rec); err == nil || !strings.Contains(err.Error(), TokenEnv) {
		t.Errorf("Purge without a token = %v; want an error naming %s", err, TokenEnv)
	}
	if reqs, _, statuses := f.snapshot(); len(reqs) != 0 || len(statuses) != 0 {
		t.Errorf("the fake received %d requests; want none", len(statuses))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ZoneID: "example.com"},
		{ZoneID: testZone, BatchSize: 501},
		{ZoneID: testZone, BatchSize: -1},
		{ZoneID: testZone, BaseURL: "api.cloudflare.com"},
		{ZoneID: testZone, Hostnames: []string{"https://www.example.com"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error; want one", cfg)
		}
	}
}

func TestRetriesServerErrorsAndRateLimits(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	f.inject(
		fault{status: http.StatusServiceUnavailable},
		fault{status: http.StatusBadGateway, raw: "<html>bad gateway</html>"},
		fault{status: http.StatusTooManyRequests, retryAfter: "1"},
	)
	var delays []time.Duration
	p := newTestPurger(t, f, func(c *Config) {
		c.Retry.OnRetry = func(_ int, d time.Duration, _ error) { delays = append(delays, d) }
	})
	rec, err := purge(t, p, providers.PurgeRequest{Tags: []string{"css"}})
	if err != nil {
		t.Fatalf("Purge = %v; want success after retries", err)
	}
	if b := rec.Batches[0]; b.Attempts != 4 || b.Status != providers.PurgeCompleted {
		t.Errorf("batch = %+v; want completed after 4 attempts", b)
	}
	_, _, statuses := f.snapshot()
	if diff := cmp.Diff([]int{503, 502, 429, 200}, statuses); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	if len(delays) != 3 || delays[2] < time.Second {
		t.Errorf("retry delays = %v; want 3, the last one at least the 1s Retry-After", delays)
	}
}

func TestGivesUpAndReportsTheBatch(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	f.inject(fault{status: 500}, fault{status: 500}, fault{status: 500})
	p := newTestPurger(t, f, func(c *Config) { c.Retry.Attempts = 3 })
	rec, err := purge(t, p, providers.PurgeRequest{Hosts: []string{"www.example.com"}})
	var pe *providers.PurgeError
	if !errors.As(err, &pe) || !slices.Equal(pe.NotPurged, []string{"www.example.com"}) {
		t.Fatalf("Purge = %v; want a PurgeError naming www.example.com", err)
	}
	if rec.Status != providers.PurgeFailed || rec.Batches[0].Attempts != 3 || !strings.Contains(rec.Batches[0].Error, "HTTP 500") {
		t.Errorf("record = %+v; want failed after 3 attempts with the HTTP status", rec)
	}
}

// TestPartialFailureNamesItems: one batch is rejected; the others are
// purged; the error and the record name exactly the rejected batch's items.
func TestPartialFailureNamesItems(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	in := urls(70)
	f.reject[in[45]] = true // in the second batch of 30
	p := newTestPurger(t, f, nil)
	rec, err := purge(t, p, providers.PurgeRequest{URLs: in})
	var pe *providers.PurgeError
	if !errors.As(err, &pe) {
		t.Fatalf("Purge = %v; want a *PurgeError", err)
	}
	if diff := cmp.Diff(in[30:60], pe.NotPurged); diff != "" {
		t.Errorf("NotPurged mismatch (-want +got):\n%s", diff)
	}
	if pe.Failed != 1 || pe.Total != 3 || !strings.Contains(err.Error(), "not in this zone") {
		t.Errorf("error = %v; want 1 of 3 batches failed with the API's message", err)
	}
	if rec.Status != providers.PurgePartial {
		t.Errorf("record status = %s; want partial", rec.Status)
	}
	want := []providers.PurgeStatus{providers.PurgeCompleted, providers.PurgeFailed, providers.PurgeCompleted}
	for i, b := range rec.Batches {
		if b.Status != want[i] {
			t.Errorf("batch %d status = %s; want %s", i, b.Status, want[i])
		}
	}
	if rec.Batches[1].Attempts != 1 {
		t.Errorf("a 400 was retried: %d attempts", rec.Batches[1].Attempts)
	}
	_, purged, _ := f.snapshot()
	for i, u := range in {
		wantN := 1
		if i >= 30 && i < 60 {
			wantN = 0
		}
		if purged["files:"+u] != wantN {
			t.Errorf("%s purged %d times; want %d", u, purged["files:"+u], wantN)
		}
	}
}

func TestAuthErrorIsNotRetried(t *testing.T) {
	f := newFakeAPI(t, testZone, "another-token")
	p := newTestPurger(t, f, nil)
	rec, err := purge(t, p, providers.PurgeRequest{Tags: []string{"a"}})
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "Authentication error") {
		t.Errorf("Purge = %v; want HTTP 403 Authentication error", err)
	}
	if rec.Batches[0].Attempts != 1 {
		t.Errorf("attempts = %d; want 1", rec.Batches[0].Attempts)
	}
	// The token never appears in what cdnctl prints.
	js, _ := json.Marshal(rec)
	if strings.Contains(err.Error(), testToken) || strings.Contains(string(js), testToken) {
		t.Errorf("the token leaked into the error or the record")
	}
}

// virtualClock is a clock that only moves when the token bucket sleeps, so
// pacing is tested without depending on the machine's speed.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *virtualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *virtualClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return nil
}

// tagList returns n distinct tags.
func tagList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("tag-%03d", i)
	}
	return out
}

// TestPacingAvoids429: tags, hosts and prefixes are limited per request. A
// client paced like the account's bucket is never throttled; one that is
// not gets 429s, waits Retry-After and still purges everything.
func TestPacingAvoids429(t *testing.T) {
	const rate, burst = 5.0 / 60, 3 // the Free plan's 5 per minute
	clk := &virtualClock{t: time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)}
	f := newFakeAPI(t, testZone, testToken)
	f.maxItems = 5
	f.now = clk.Now
	f.limit(rate, burst)
	p := newTestPurger(t, f, func(c *Config) { c.BatchSize, c.Rate, c.Burst, c.Now = 5, rate, burst, clk.Now })
	p.bucket.Sleep = clk.Sleep
	rec, err := purge(t, p, providers.PurgeRequest{Tags: tagList(40)})
	if err != nil {
		t.Fatal(err)
	}
	_, _, statuses := f.snapshot()
	for _, s := range statuses {
		if s != 200 {
			t.Errorf("paced client got HTTP %d; statuses %v", s, statuses)
			break
		}
	}
	if len(rec.Batches) != 8 {
		t.Errorf("%d batches; want 8", len(rec.Batches))
	}
	// 3 at once, then one every 12 s.
	if got, want := clk.Now().Sub(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)), 5*12*time.Second; got < want-time.Second || got > want+time.Second {
		t.Errorf("8 paced requests took %v of virtual time; want about %v", got, want)
	}

	g := newFakeAPI(t, testZone, testToken)
	g.maxItems = 5
	g.limit(40, 2)
	g.retryAfter = "1"
	q := newTestPurger(t, g, func(c *Config) { c.BatchSize, c.Rate = 5, -1 })
	in := tagList(20)
	if _, err := purge(t, q, providers.PurgeRequest{Tags: in}); err != nil {
		t.Fatalf("unpaced client: %v", err)
	}
	_, purged, statuses := g.snapshot()
	if !slices.Contains(statuses, 429) {
		t.Errorf("unpaced client was never throttled: %v (the fake's bucket is off?)", statuses)
	}
	for _, tag := range in {
		if purged["tags:"+tag] != 1 {
			t.Errorf("%s purged %d times; want 1", tag, purged["tags:"+tag])
		}
	}
}

// TestURLsArePacedPerURL: single-file purges are limited in URLs per
// second, not in requests, so 1,000 URLs on the Free plan (800 a second)
// wait a fraction of a second, not the ~108 s of 5 requests a minute; and
// they do not use up the request bucket that tags need.
func TestURLsArePacedPerURL(t *testing.T) {
	start := time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)
	clk := &virtualClock{t: start}
	f := newFakeAPI(t, testZone, testToken)
	f.now = clk.Now
	f.limitURLs(DefaultURLRate, DefaultURLRate)
	f.limit(DefaultRate, 1)
	p := newTestPurger(t, f, func(c *Config) { c.BatchSize, c.Rate, c.Burst, c.Now = 100, 0, 1, clk.Now })
	p.urlBucket.Sleep, p.bucket.Sleep = clk.Sleep, clk.Sleep
	rec, err := purge(t, p, providers.PurgeRequest{URLs: urls(1000), Tags: []string{"css"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, statuses := f.snapshot()
	for _, s := range statuses {
		if s != 200 {
			t.Fatalf("paced client got HTTP %d; statuses %v", s, statuses)
		}
	}
	if len(rec.Batches) != 11 {
		t.Errorf("%d batches; want 10 of 100 URLs and 1 of tags", len(rec.Batches))
	}
	// 800 URLs at once, the other 200 a quarter of a second later; the
	// tag request had its own token.
	if got := clk.Now().Sub(start); got < 200*time.Millisecond || got > 300*time.Millisecond {
		t.Errorf("1,000 URLs and a tag took %v of virtual time; want about 250ms", got)
	}
}

func TestCancelSkipsRemainingBatches(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	f.maxFiles = 10
	ctx, cancel := context.WithCancel(context.Background())
	p := newTestPurger(t, f, func(c *Config) { c.BatchSize = 10 })
	rec, err := p.Plan(providers.PurgeRequest{URLs: urls(30)})
	if err != nil {
		t.Fatal(err)
	}
	// The first batch goes through; the user interrupts while the second
	// is in flight (its outcome is unknown: failed); the third is never
	// sent (skipped).
	n := 0
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n++; n == 2 {
			_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client going away
			cancel()
			<-r.Context().Done()
			return
		}
		f.serve(w, r)
	})
	err = p.Purge(ctx, rec)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Purge = %v; want context.Canceled", err)
	}
	var pe *providers.PurgeError
	if !errors.As(err, &pe) || len(pe.NotPurged) != 20 {
		t.Errorf("Purge = %v; want 20 items not purged", err)
	}
	if rec.Batches[0].Status != providers.PurgeCompleted || rec.Batches[1].Status != providers.PurgeFailed || rec.Batches[2].Status != providers.PurgeSkipped {
		t.Errorf("batch statuses %s %s %s; want completed failed skipped", rec.Batches[0].Status, rec.Batches[1].Status, rec.Batches[2].Status)
	}
	if n != 2 {
		t.Errorf("the fake got %d requests; want 2", n)
	}
}

// TestBatchLimitsPerKind: batch_size above 100 applies to URLs only
// (Enterprise purges up to 500 URLs per request); tags, hosts and prefixes
// go at most 100 per request on every plan.
func TestBatchLimitsPerKind(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	f.maxFiles = 500 // Enterprise
	var hosts, prefixes []string
	for i := range 260 {
		hosts = append(hosts, fmt.Sprintf("h%03d.example.com", i))
		prefixes = append(prefixes, fmt.Sprintf("www.example.com/p%03d/", i))
	}
	p := newTestPurger(t, f, func(c *Config) { c.BatchSize = 300; c.Hostnames = append([]string{"www.example.com"}, hosts...) })
	if _, err := purge(t, p, providers.PurgeRequest{URLs: urls(300), Tags: tagList(300), Hosts: hosts, Prefixes: prefixes}); err != nil {
		t.Fatal(err)
	}
	reqs, _, _ := f.snapshot()
	sizes := map[string][]int{}
	for _, r := range reqs {
		sizes[r.Kind] = append(sizes[r.Kind], len(r.Items))
	}
	want := map[string][]int{"files": {300}, "tags": {100, 100, 100}, "hosts": {100, 100, 60}, "prefixes": {100, 100, 60}}
	if diff := cmp.Diff(want, sizes); diff != "" {
		t.Errorf("items per request (-want +got):\n%s", diff)
	}
}

// TestOneFormPerPrefixAndURL: a prefix or URL typed raw or encoded, as a
// path or a URL, is sent in the one percent-encoded form the cache keys on.
func TestOneFormPerPrefixAndURL(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	p := newTestPurger(t, f, func(c *Config) { c.Hostnames = []string{"www.example.com"} })
	_, err := purge(t, p, providers.PurgeRequest{
		Prefixes: []string{"/a b/", "https://www.example.com/a b/", "www.example.com/a%20b/", "https://WWW.example.com/a%20b/", "/café/"},
		URLs:     []string{"/x y.css", "https://www.example.com/x%20y.css", "https://www.example.com/x y.css"},
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs, _, _ := f.snapshot()
	want := []fakeRequest{
		{Kind: "files", Items: []string{"https://www.example.com/x%20y.css"}},
		{Kind: "prefixes", Items: []string{"www.example.com/a%20b/", "www.example.com/caf%C3%A9/"}},
	}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestHostsAndTokenChecks(t *testing.T) {
	f := newFakeAPI(t, testZone, testToken)
	p := newTestPurger(t, f, nil)
	if _, err := p.Plan(providers.PurgeRequest{Hosts: []string{"static.example.net"}}); !errors.Is(err, providers.ErrInvalidPurge) || !strings.Contains(err.Error(), "not one of this CDN's hostnames (www.example.com, example.com)") {
		t.Errorf("Plan(--host on a host the zone does not serve) = %v; want refused naming the hostnames", err)
	}
	if _, err := p.Plan(providers.PurgeRequest{CPCodes: []int{1}}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Plan(CP codes) = %v; want not supported", err)
	}
	q := newTestPurger(t, f, func(c *Config) { c.Token, c.TokenEnv = "", "MY_CF_TOKEN" })
	rec, _ := q.Plan(providers.PurgeRequest{Tags: []string{"a"}})
	if err := q.Purge(context.Background(), rec); err == nil || !strings.Contains(err.Error(), "set MY_CF_TOKEN") || strings.Contains(err.Error(), TokenEnv) {
		t.Errorf("Purge with token_env MY_CF_TOKEN unset = %v; want it to name MY_CF_TOKEN, not %s", err, TokenEnv)
	}
}

func TestCheckTags(t *testing.T) {
	if err := CheckTags([]string{"css", "product:42"}); err != nil {
		t.Errorf("CheckTags(valid) = %v", err)
	}
	for _, bad := range []string{"café", "a b", "a,b", ""} {
		if err := CheckTags([]string{bad}); err == nil || !strings.Contains(err.Error(), "Cloudflare cache tag") {
			t.Errorf("CheckTags(%q) = %v; want Cloudflare's rule", bad, err)
		}
	}
	big := make([]string, 1100)
	for i := range big {
		big[i] = fmt.Sprintf("tag-number-%04d", i)
	}
	if err := CheckTags(big); err == nil || !strings.Contains(err.Error(), "Cache-Tag header") {
		t.Errorf("CheckTags(1,100 tags) = %v; want the 16 KB header limit", err)
	}
}

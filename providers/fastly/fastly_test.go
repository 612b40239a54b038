package fastly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cdnctl/cdnctl/providers"
	"github.com/cdnctl/cdnctl/providers/fastly/fastlytest"
)

const (
	testService = "SU1Z0isxPaozGVKXdv0eY"
	testToken   = "fastly-test-token-Y2RuY3Rs"
)

func newTestPurger(t *testing.T, f *fastlytest.Server, mutate func(*Config)) *Purger {
	t.Helper()
	cfg := Config{
		ServiceID: testService,
		Hostnames: []string{"www.example.com", "example.com"},
		Token:     testToken,
		BaseURL:   f.URL,
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return rec, p.Purge(ctx, rec)
}

func TestPurgeURLsKeysAndTags(t *testing.T) {
	f := fastlytest.New(t, testService, testToken)
	p := newTestPurger(t, f, func(c *Config) { c.OriginPath = "/site" })
	rec, err := purge(t, p, providers.PurgeRequest{
		URLs: []string{"/index.html", "https://WWW.example.com/a b.css?v=2", "https://www.example.com/a%20b.css?v=2"},
		Keys: []string{"site/blog/index.html"},
		Tags: []string{"pages", "product:42"},
		Soft: true,
	})
	if err != nil {
		t.Fatalf("Purge = %v", err)
	}
	var got []fastlytest.Purge
	for _, pu := range f.Purges() {
		pu.ID = ""
		got = append(got, pu)
	}
	slices.SortFunc(got, func(a, b fastlytest.Purge) int { return strings.Compare(a.Kind+a.Item, b.Kind+b.Item) })
	want := []fastlytest.Purge{
		{Kind: "key", Item: "pages", Soft: true},
		{Kind: "key", Item: "product:42", Soft: true},
		{Kind: "url", Item: "example.com/blog/", Soft: true},
		{Kind: "url", Item: "example.com/blog/index.html", Soft: true},
		{Kind: "url", Item: "example.com/index.html", Soft: true},
		{Kind: "url", Item: "www.example.com/a%20b.css?v=2", Soft: true},
		{Kind: "url", Item: "www.example.com/blog/", Soft: true},
		{Kind: "url", Item: "www.example.com/blog/index.html", Soft: true},
		{Kind: "url", Item: "www.example.com/index.html", Soft: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("purges applied (-want +got):\n%s", diff)
	}
	if rec.Status != providers.PurgeCompleted || len(rec.Batches) != 8 {
		t.Fatalf("record %s with %d batches; want completed with 7 URL batches and 1 key batch", rec.Status, len(rec.Batches))
	}
	ids := map[string]bool{}
	for _, pu := range f.Purges() {
		ids[pu.ID] = true
	}
	for i, b := range rec.Batches {
		switch b.Kind {
		case providers.KindFiles:
			if len(b.Items) != 1 || !ids[b.ID] || b.Status != providers.PurgeCompleted || b.Attempts != 1 {
				t.Errorf("URL batch %d = %+v; want one URL, the purge ID the API gave, completed in 1 attempt", i, b)
			}
		case providers.KindTags:
			if len(b.ItemIDs) != 2 || !ids[b.ItemIDs["pages"]] || !ids[b.ItemIDs["product:42"]] {
				t.Errorf("key batch item IDs = %v; want each key's purge ID", b.ItemIDs)
			}
		default:
			t.Errorf("batch %d kind %q", i, b.Kind)
		}
	}
	if bodies := f.BatchBodies(); len(bodies) != 1 || bodies[0] != `{"surrogate_keys":["pages","product:42"]}` {
		t.Errorf("batch purge bodies = %q; want one JSON body with both keys", bodies)
	}
	raw, _ := json.Marshal(rec)
	if strings.Contains(string(raw), testToken) {
		t.Error("the token is in the record")
	}
}

func TestKeysGoIn256KeyBatches(t *testing.T) {
	f := fastlytest.New(t, testService, testToken)
	p := newTestPurger(t, f, nil)
	tags := make([]string, 600)
	for i := range tags {
		tags[i] = fmt.Sprintf("k%03d", i)
	}
	rec, err := purge(t, p, providers.PurgeRequest{Tags: append(tags, "k000")})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range rec.Batches {
		sizes = append(sizes, len(b.Items))
	}
	if !slices.Equal(sizes, []int{256, 256, 88}) {
		t.Errorf("batch sizes %v; want 256, 256, 88 (600 distinct keys)", sizes)
	}
	if n := len(f.Purges()); n != 600 {
		t.Errorf("%d keys purged; want 600", n)
	}
}

func TestPurgeAll(t *testing.T) {
	f := fastlytest.New(t, testService, testToken)
	p := newTestPurger(t, f, nil)
	rec, err := purge(t, p, providers.PurgeRequest{Everything: true, URLs: []string{"/x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Purges(); len(got) != 1 || got[0].Kind != "all" {
		t.Errorf("purges = %+v; want one purge_all", got)
	}
	if len(rec.Notes) != 1 || rec.Batches[0].Kind != providers.KindEverything || rec.Batches[0].Status != providers.PurgeCompleted {
		t.Errorf("record = %+v; want one completed everything batch and a note on the item it covers", rec)
	}

	_, err = p.Plan(providers.PurgeRequest{Everything: true, Soft: true})
	if !errors.Is(err, providers.ErrNotSupported) || !strings.Contains(err.Error(), "constant key") {
		t.Errorf("Plan(soft everything) = %v; want not supported, suggesting a constant key", err)
	}
}

func TestRefusedBeforeAnyRequest(t *testing.T) {
	f := fastlytest.New(t, testService, testToken)
	p := newTestPurger(t, f, nil)
	for _, c := range []struct {
		req  providers.PurgeRequest
		is   error
		want string
	}{
		{providers.PurgeRequest{Prefixes: []string{"/assets/"}}, providers.ErrNotSupported, "purge by prefix"},
		{providers.PurgeRequest{Hosts: []string{"www.example.com"}}, providers.ErrNotSupported, "purge by host"},
		{providers.PurgeRequest{CPCodes: []int{12345}}, providers.ErrNotSupported, "CP code"},
		{providers.PurgeRequest{URLs: []string{"/x"}, Headers: map[string]string{"Accept-Language": "fr"}}, providers.ErrNotSupported, "header variant"},
		{providers.PurgeRequest{Tags: []string{"two words"}}, providers.ErrInvalidPurge, "printable ASCII without spaces"},
		{providers.PurgeRequest{Tags: []string{"café"}}, providers.ErrInvalidPurge, "printable ASCII without spaces"},
		{providers.PurgeRequest{Tags: []string{strings.Repeat("k", 1025)}}, providers.ErrInvalidPurge, "1 to 1024 characters"},
		{providers.PurgeRequest{URLs: []string{"https://static.example.net/x"}}, providers.ErrInvalidPurge, "not one of this CDN's hostnames"},
		{providers.PurgeRequest{}, providers.ErrInvalidPurge, "nothing to purge"},
	} {
		_, err := p.Plan(c.req)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Plan(%+v) = %v; want %v containing %q", c.req, err, c.is, c.want)
		}
	}
	if s := f.Statuses(); len(s) != 0 {
		t.Errorf("refused purges sent %d requests", len(s))
	}
}

func TestErrorsAndRetries(t *testing.T) {
	t.Run("5xx and 429 are retried", func(t *testing.T) {
		f := fastlytest.New(t, testService, testToken)
		p := newTestPurger(t, f, nil)
		f.Inject(fastlytest.Fault{Status: 503}, fastlytest.Fault{Status: 429, RetryAfter: "0", Reset: time.Millisecond}, fastlytest.Fault{Status: 502, Body: "<html>bad gateway</html>"})
		rec, err := purge(t, p, providers.PurgeRequest{Tags: []string{"pages"}})
		if err != nil || rec.Batches[0].Attempts != 4 {
			t.Errorf("Purge = %v after %d attempts; want success on the 4th", err, rec.Batches[0].Attempts)
		}
	})
	t.Run("the rate limit window is past the deadline", func(t *testing.T) {
		f := fastlytest.New(t, testService, testToken)
		f.HourlyLimit = 1
		p := newTestPurger(t, f, nil)
		if _, err := purge(t, p, providers.PurgeRequest{Everything: true}); err != nil {
			t.Fatal(err)
		}
		rec, _ := p.Plan(providers.PurgeRequest{Everything: true})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := p.Purge(ctx, rec)
		var pe *providers.PurgeError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "HTTP 429") || !strings.Contains(err.Error(), "deadline") || time.Since(start) > 2*time.Second {
			t.Errorf("Purge past the hourly limit = %v after %v; want a 429 given up at once (the window resets after the deadline)", err, time.Since(start))
		}
		if !slices.Equal(pe.NotPurged, []string{"everything"}) {
			t.Errorf("not purged = %v; want everything", pe.NotPurged)
		}
	})
	t.Run("scope and auth errors are not retried", func(t *testing.T) {
		f := fastlytest.New(t, testService, testToken)
		f.Scopes = []string{fastlytest.ScopePurgeSelect}
		p := newTestPurger(t, f, func(c *Config) { c.TokenEnv = "MY_FASTLY_TOKEN" })
		rec, err := purge(t, p, providers.PurgeRequest{Everything: true})
		if err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "purge_all") || !strings.Contains(err.Error(), "MY_FASTLY_TOKEN") || rec.Batches[0].Attempts != 1 {
			t.Errorf("purge_all without the scope = %v (%d attempts); want a 403 naming the scope and the variable, 1 attempt", err, rec.Batches[0].Attempts)
		}
		bad := newTestPurger(t, f, func(c *Config) { c.Token = "wrong" })
		_, err = purge(t, bad, providers.PurgeRequest{Tags: []string{"a"}})
		if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "Provided credentials are missing or invalid") {
			t.Errorf("a wrong token = %v; want the API's 401 message", err)
		}
	})
	t.Run("a missing token names the variable", func(t *testing.T) {
		f := fastlytest.New(t, testService, testToken)
		p := newTestPurger(t, f, func(c *Config) { c.Token, c.TokenEnv = "", "MY_FASTLY_TOKEN" })
		rec, _ := p.Plan(providers.PurgeRequest{Tags: []string{"a"}})
		if err := p.Purge(context.Background(), rec); err == nil || !strings.Contains(err.Error(), "set MY_FASTLY_TOKEN") {
			t.Errorf("Purge without a token = %v; want it to name MY_FASTLY_TOKEN", err)
		}
		if len(f.Statuses()) != 0 {
			t.Error("a request was sent without a token")
		}
	})
}

func TestPartialFailureIsReportedPerBatch(t *testing.T) {
	f := fastlytest.New(t, testService, testToken)
	p := newTestPurger(t, f, func(c *Config) { c.Concurrency = 1; c.Hostnames = []string{"www.example.com"} })
	f.Inject(fastlytest.Fault{Status: http.StatusBadRequest})
	rec, err := purge(t, p, providers.PurgeRequest{URLs: []string{"/a", "/b", "/c"}, Tags: []string{"t"}})
	var pe *providers.PurgeError
	if !errors.As(err, &pe) || pe.Failed != 1 || pe.Total != 4 || !slices.Equal(pe.NotPurged, []string{"https://www.example.com/a"}) {
		t.Fatalf("Purge = %v; want 1 of 4 batches failed, /a not purged", err)
	}
	if rec.Status != providers.PurgePartial || rec.Batches[0].Status != providers.PurgeFailed || rec.Batches[1].Status != providers.PurgeCompleted {
		t.Errorf("record %s, batches %s %s; want partial, failed then completed", rec.Status, rec.Batches[0].Status, rec.Batches[1].Status)
	}
}

func TestRateLimitResetIsHonoured(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p, err := New(Config{ServiceID: testService, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	resp := &http.Response{StatusCode: 429, Header: http.Header{}}
	resp.Header.Set("Fastly-RateLimit-Remaining", "0")
	resp.Header.Set("Fastly-RateLimit-Reset", fmt.Sprint(now.Add(90*time.Second).Unix()))
	resp.Header.Set("Retry-After", "30")
	var re *providers.RetryableError
	if err := p.failure(resp, []byte(`{"msg":"Too many requests"}`)); !errors.As(err, &re) || re.After != 90*time.Second {
		t.Errorf("failure(429, reset in 90 s, Retry-After 30) = %v; want retryable after 90 s", err)
	}
	resp.Header.Del("Fastly-RateLimit-Reset")
	if err := p.failure(resp, nil); !errors.As(err, &re) || re.After != 30*time.Second {
		t.Errorf("failure(429, Retry-After 30) = %v; want retryable after 30 s", err)
	}
}

func TestCheckKeys(t *testing.T) {
	if err := CheckKeys([]string{"a", "b:c", "~x!"}); err != nil {
		t.Errorf("CheckKeys(valid) = %v", err)
	}
	many := make([]string, 20)
	for i := range many {
		many[i] = strings.Repeat(fmt.Sprint(i%10), 1000)
	}
	if err := CheckKeys(many); err == nil || !strings.Contains(err.Error(), "16384") {
		t.Errorf("CheckKeys(20 keys of 1000 bytes) = %v; want the 16 KiB header limit", err)
	}
	if err := CheckKeys([]string{"ok", "café"}); err == nil || !strings.Contains(err.Error(), "Fastly surrogate key is printable ASCII") {
		t.Errorf("CheckKeys(café) = %v; want Fastly's rule", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{ServiceID: ""},
		{ServiceID: "has space"},
		{ServiceID: testService, BaseURL: "ftp://api.fastly.com"},
		{ServiceID: testService, Hostnames: []string{"https://www.example.com"}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}
